package dev.fetchflux.internal;

import dev.fetchflux.Body;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.CompletionHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.scheduler.Schedulers;

/**
 * Collects one response body: in a growable array up to the spill threshold, then in a temporary file.
 *
 * <p><b>Memory follows the bytes, not the headers.</b> The array starts at most
 * {@link #INITIAL_CAPACITY_MAX} bytes, whatever {@code Content-Length} announced, and grows (doubling,
 * never past the announced length while that is still ahead) only as bytes arrive. A server that
 * announces gigabytes and sends three bytes costs a few KiB (DESIGN.md, invariant 7).
 *
 * <p><b>No blocking on the event loop.</b> Chunks arrive on an event loop, so the file is created on
 * {@code boundedElastic} and written with an {@link AsynchronousFileChannel}, whose writes complete on
 * the channel's own threads; closing and deleting happen on {@code boundedElastic} too. {@link #write}
 * returns a {@code Mono} that completes when the chunk is stored; the caller writes chunks one at a
 * time ({@code concatMap}), so reactor-netty's back-pressure stops reading from the socket while the
 * disk catches up. Once spilling, chunks are gathered into writes of {@link #SPILL_BATCH} bytes (a
 * write per 64 KiB socket read cost a third of the CPU of large bodies in hand-offs; see
 * docs/benchmarks.md, "Profile of the CLI").
 *
 * <p><b>One owner for the file, decided by CAS.</b> The sink is a small state machine, {@code OPEN →
 * FINISHING → FINISHED} or {@code OPEN | FINISHING → ABORTED}, changed only by compare-and-set, so a
 * cancellation, deadline or fail-fast ({@link #abort}, from any thread) racing {@link #finish} or the
 * opening of the spill file has exactly one winner: either the {@link Body} that {@code finish} hands
 * out owns the file, or {@code abort} closes the channel and deletes the file — never neither. The
 * open file is published through one field that whoever releases it takes with {@code getAndSet}, so
 * a file opened after an abort is released by its opener. {@link #write} and {@link #finish} are
 * called by one subscriber at a time; {@link #abort} may come from any thread at any time.
 */
final class BodySink {
  /** Bytes gathered before one write to the spill file (per body being spilled). */
  static final int SPILL_BATCH = 1 << 20;

  /** No memory budget beyond the spill threshold. */
  static final ByteBudget UNLIMITED = new ByteBudget(Long.MAX_VALUE);

  /** The largest array allocated before any byte arrives, whatever the response announced. */
  static final int INITIAL_CAPACITY_MAX = 16 * 1024;

  /** Initial capacity when the length is unknown (chunked or close-delimited bodies). */
  static final int INITIAL_CAPACITY_UNKNOWN = 256;

  private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

  private static final int OPEN = 0;
  private static final int FINISHING = 1;
  private static final int FINISHED = 2;
  private static final int ABORTED = 3;

  /** The spill file and its channel, released together. */
  private record Spill(Path file, AsynchronousFileChannel channel) {}

  private final long spillThreshold;
  private final Path spillDirectory;

  /** The announced length, a bound on growth while the body has not reached it; -1 if unknown. */
  private final long announced;

  /** The fetcher's memory for bodies being received, shared by all its sinks. */
  private final ByteBudget memoryBudget;

  /** Bytes of {@link #memoryBudget} this sink holds: its array's growth, until the bytes leave. */
  private volatile long reserved;

  private static final AtomicLongFieldUpdater<BodySink> RESERVED =
      AtomicLongFieldUpdater.newUpdater(BodySink.class, "reserved");

  private volatile int state;
  private static final AtomicIntegerFieldUpdater<BodySink> STATE =
      AtomicIntegerFieldUpdater.newUpdater(BodySink.class, "state");

  /** The open spill file, until {@link #finish} hands it to a Body or {@link #abort} releases it. */
  private volatile @Nullable Spill spill;

  private static final AtomicReferenceFieldUpdater<BodySink, Spill> SPILL =
      AtomicReferenceFieldUpdater.newUpdater(BodySink.class, Spill.class, "spill");

  // Written by the one writer only.
  private byte[] memory;
  private int memorySize;
  private boolean spilling;
  private volatile long fileSize;

  /** Spilled bytes not yet written, gathered into one write; allocated when spilling starts. */
  private byte @Nullable [] batch;

  private int batchSize;

  /**
   * @param announced the length the response announced, or -1; used as a bound on growth only
   * @param spillThreshold bytes kept in memory before spilling to a file
   * @param spillDirectory where spill files go
   */
  BodySink(long announced, long spillThreshold, Path spillDirectory) {
    this(announced, spillThreshold, spillDirectory, UNLIMITED);
  }

  /**
   * @param memoryBudget memory shared with the fetcher's other sinks: a chunk that does not fit in
   *     it sends the body to its spill file, as the spill threshold does
   */
  BodySink(long announced, long spillThreshold, Path spillDirectory, ByteBudget memoryBudget) {
    this.memoryBudget = memoryBudget;
    this.spillThreshold = spillThreshold;
    this.spillDirectory = spillDirectory;
    this.announced = announced;
    long initial =
        announced > 0
            ? Math.min(announced, INITIAL_CAPACITY_MAX)
            : announced == 0 ? 0 : INITIAL_CAPACITY_UNKNOWN;
    this.memory = new byte[(int) Math.min(initial, spillThreshold)];
  }

  /** Bytes stored so far. */
  long size() {
    return spilling ? fileSize + batchSize : memorySize;
  }

  /** Whether {@link #abort} won: the sink holds nothing any more. */
  boolean isAborted() {
    return state == ABORTED;
  }

  /** Stores {@code chunk} (which the sink now owns); does nothing once aborted. */
  Mono<Void> write(byte[] chunk) {
    if (state != OPEN) {
      return Mono.empty();
    }
    if (spilling) {
      return gather(chunk);
    }
    if ((long) memorySize + chunk.length <= spillThreshold && makeRoom(chunk.length)) {
      System.arraycopy(chunk, 0, memory, memorySize, chunk.length);
      memorySize += chunk.length;
      return Mono.empty();
    }
    return openFile()
        .then(
            Mono.defer(
                () -> {
                  if (spill == null) {
                    return Mono
                        .empty(); // aborted while the file was being opened; its opener released it
                  }
                  spilling = true;
                  byte[] held = memory;
                  int heldSize = memorySize;
                  memory = new byte[0];
                  memorySize = 0;
                  // The bytes held so far go to the file with this write: the budget is free
                  // for other bodies once it is under way (the array is only read by it).
                  releaseMemory();
                  return writeToFile(held, heldSize).then(Mono.defer(() -> gather(chunk)));
                }));
  }

  /**
   * Adds {@code chunk} to the batch, writing the batch when it is full: the returned {@code Mono}
   * completes once the batch is in the file (at once when the chunk only joined the batch), so the
   * batch array is never touched while a write of it is in progress.
   */
  private Mono<Void> gather(byte[] chunk) {
    if (batch == null) {
      if (!reserve(SPILL_BATCH)) {
        // No memory for a batch (the fetcher's budget is used up): the chunk goes to the file as
        // it is, a smaller write but no new array.
        return writeToFile(chunk, chunk.length);
      }
      batch = new byte[SPILL_BATCH];
    }
    if (chunk.length >= SPILL_BATCH) {
      // Not smaller than a batch: write what is gathered, then the chunk itself.
      return flushBatch().then(Mono.defer(() -> writeToFile(chunk, chunk.length)));
    }
    if (batchSize + chunk.length > SPILL_BATCH) {
      return flushBatch().then(Mono.fromRunnable(() -> addToBatch(chunk)));
    }
    addToBatch(chunk);
    return Mono.empty();
  }

  private void addToBatch(byte[] chunk) {
    byte[] b = Objects.requireNonNull(batch);
    System.arraycopy(chunk, 0, b, batchSize, chunk.length);
    batchSize += chunk.length;
  }

  /** Writes the gathered bytes, if any; the batch is empty again once the returned Mono completes. */
  private Mono<Void> flushBatch() {
    byte[] b = batch;
    int n = batchSize;
    if (b == null || n == 0) {
      return Mono.empty();
    }
    return writeToFile(b, n).doOnSuccess(v -> batchSize = 0);
  }

  /**
   * Makes the array hold {@code n} more bytes, growing it if needed: false, with nothing changed,
   * if the growth does not fit the fetcher's memory budget (the body then spills).
   */
  private boolean makeRoom(int n) {
    long need = (long) memorySize + n;
    if (need <= memory.length) {
      return true;
    }
    // Double, but never past what the bytes so far justify: the announced length while it is
    // still ahead (an honest header then costs no final copy), and the spill threshold.
    long target = announced >= need ? announced : MAX_ARRAY;
    long grown = Math.max(need, Math.min(Math.min(2L * memory.length, target), spillThreshold));
    int size = (int) Math.min(grown, MAX_ARRAY);
    if (!reserve(size - memory.length)) {
      return false;
    }
    memory = Arrays.copyOf(memory, size);
    return true;
  }

  /** Creates and opens the spill file off the event loop; publishes it unless aborted meanwhile. */
  private Mono<Void> openFile() {
    return Mono.<Void>fromRunnable(
            () -> {
              if (state != OPEN) {
                return;
              }
              Path f;
              try {
                Files.createDirectories(spillDirectory);
                f = Files.createTempFile(spillDirectory, "fetchflux-", ".body");
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(
                    "cannot create a spill file in " + spillDirectory, e);
              }
              AsynchronousFileChannel ch;
              try {
                ch = AsynchronousFileChannel.open(f, StandardOpenOption.WRITE);
              } catch (IOException | RuntimeException e) {
                deleteQuietly(f);
                throw new java.io.UncheckedIOException(
                    "cannot open spill file " + f,
                    e instanceof IOException io ? io : new IOException(e));
              }
              SPILL.set(this, new Spill(f, ch));
              if (state == ABORTED) {
                // abort() ran between the state check and the publication: it may have found
                // nothing
                // to release, so the opener releases (whoever takes the field first does it).
                releaseSpill(false);
              }
            })
        .subscribeOn(Schedulers.boundedElastic());
  }

  private Mono<Void> writeToFile(byte[] bytes, int length) {
    if (length == 0) {
      return Mono.empty();
    }
    Spill s = spill;
    if (s == null) {
      return Mono.empty(); // aborted: the file is gone
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes, 0, length);
    return Mono.create(sink -> writeFully(s.channel(), buf, sink));
  }

  private void writeFully(AsynchronousFileChannel ch, ByteBuffer buf, MonoSink<Void> sink) {
    ch.write(
        buf,
        fileSize,
        null,
        new CompletionHandler<Integer, @Nullable Object>() {
          @Override
          public void completed(Integer written, @Nullable Object attachment) {
            fileSize += written;
            if (buf.hasRemaining()) {
              writeFully(ch, buf, sink);
            } else {
              sink.success();
            }
          }

          @Override
          public void failed(Throwable error, @Nullable Object attachment) {
            if (state == ABORTED) {
              sink.success(); // the channel was closed under the write by abort(): nothing to
              // report
            } else {
              sink.error(error);
            }
          }
        });
  }

  /**
   * Writes every chunk, then {@linkplain #finish() finishes}: the body of a whole stream. On an error
   * or a cancellation the sink is {@linkplain #abort() aborted}; a body that was finished but can no
   * longer be delivered (the cancel came as it was handed out) is released, not left to the GC.
   */
  Mono<Body> collect(reactor.core.publisher.Flux<byte[]> chunks) {
    return chunks
        .concatMap(this::write, 2)
        .then(Mono.defer(this::finish))
        .doOnError(e -> abort())
        .doOnCancel(this::abort)
        .doOnDiscard(Body.class, Release::later);
  }

  /**
   * The collected body; the sink gives up ownership of its memory or file. Completes empty if
   * {@link #abort} won the race (then nothing is held, and nobody is listening).
   */
  Mono<Body> finish() {
    if (!STATE.compareAndSet(this, OPEN, FINISHING)) {
      return Mono.empty(); // aborted: its subscriber is gone, and an error would only be logged
    }
    if (!spilling) {
      byte[] m = memorySize == memory.length ? memory : Arrays.copyOf(memory, memorySize);
      memory = new byte[0];
      STATE.compareAndSet(this, FINISHING, FINISHED); // a memory body holds nothing to release
      // Received: its memory now belongs to the result, which the ordering stage's byte budget
      // (reorderWindowBytes) counts while it waits.
      releaseMemory();
      return Mono.just(Body.adopt(m));
    }
    // Mono.create, not fromCallable().subscribeOn(): that one drops a value computed after a
    // cancel without a discard, which would leave the file to the GC; MonoCreate hands such a
    // value to the discard hook (see collect), and the cancel itself aborts (collect's doOnCancel).
    return flushBatch()
        .then(
            Mono.<Body>create(
                out ->
                    Schedulers.boundedElastic()
                        .schedule(
                            () -> {
                              batch = null;
                              releaseMemory(); // the batch's
                              Spill s = spill;
                              if (s == null || !STATE.compareAndSet(this, FINISHING, FINISHED)) {
                                out.success(); // aborted: its subscriber is gone, and an error
                                // would only be logged
                                return;
                              }
                              SPILL.compareAndSet(this, s, null);
                              try {
                                s.channel().close();
                              } catch (IOException e) {
                                deleteQuietly(s.file());
                                out.error(e);
                                return;
                              }
                              out.success(Body.adoptFile(s.file(), fileSize));
                            })));
  }

  /**
   * Drops what was collected (error, cancellation, deadline), from any thread, at any time: unless
   * {@link #finish} already handed the body out, closes and deletes the spill file, off the caller's
   * thread. Idempotent.
   */
  void abort() {
    for (; ; ) {
      int s = state;
      if (s == FINISHED || s == ABORTED) {
        return;
      }
      if (STATE.compareAndSet(this, s, ABORTED)) {
        break;
      }
    }
    releaseMemory();
    releaseSpill(true);
  }

  /**
   * Takes {@code n} bytes of the fetcher's memory for this sink, if free. Once the sink is aborted
   * nothing stays taken: a reservation racing the abort is given back by whichever of the two
   * comes last ({@link #releaseMemory} takes the whole count at once).
   */
  private boolean reserve(long n) {
    if (!memoryBudget.tryReserve(n)) {
      return false;
    }
    RESERVED.addAndGet(this, n);
    if (state == ABORTED) {
      releaseMemory();
    }
    return true;
  }

  /** Gives back the memory this sink holds in the fetcher's budget (once: any thread). */
  private void releaseMemory() {
    memoryBudget.release(RESERVED.getAndSet(this, 0));
  }

  /** Closes and deletes the spill file if this caller is the one that takes it. */
  private void releaseSpill(boolean offThread) {
    Spill s = SPILL.getAndSet(this, null);
    if (s == null) {
      return;
    }
    Runnable release =
        () -> {
          try {
            s.channel().close();
          } catch (IOException ignored) {
            // closing is best effort; the file is deleted either way
          }
          deleteQuietly(s.file());
        };
    if (!offThread) {
      release.run();
      return;
    }
    try {
      Schedulers.boundedElastic().schedule(release);
    } catch (RejectedExecutionException e) {
      release.run(); // the scheduler is shut down (JVM exit): release here rather than leak
    }
  }

  private static void deleteQuietly(Path f) {
    try {
      Files.deleteIfExists(f);
    } catch (IOException ignored) {
      // nothing more to do: the request already failed or was cancelled
    }
  }
}
