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
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.scheduler.Schedulers;

/**
 * Collects one response body: in a growable array up to the spill threshold, then in a temporary file.
 *
 * <p>Chunks arrive on an event loop, which must never block, so the file is created on
 * {@code boundedElastic} and written with an {@link AsynchronousFileChannel}, whose writes complete on
 * the channel's own threads. {@link #write} returns a {@code Mono} that completes when the chunk is
 * stored; the caller writes chunks one at a time ({@code concatMap}), so reactor-netty's backpressure
 * stops reading from the socket while the disk catches up. Not thread-safe: one writer at a time.
 *
 * <p>Once spilling, chunks are gathered into writes of {@link #SPILL_BATCH} bytes: a socket read
 * yields at most 64 KiB, and a file write per read meant a hand-off to the channel's thread and back
 * per 64 KiB (about a third of the CPU of 50 bodies of 20 MiB went to those hand-offs and their
 * wake-ups; docs/benchmarks.md, "Profile of the CLI").
 */
final class BodySink {
  /** Bytes gathered before one write to the spill file (per body being spilled). */
  static final int SPILL_BATCH = 1 << 20;

  private final long spillThreshold;
  private final Path spillDirectory;

  private byte[] memory;
  private int memorySize;

  private @Nullable Path file;
  private @Nullable AsynchronousFileChannel channel;
  private long fileSize;
  /** Spilled bytes not yet written, gathered into one write; allocated when spilling starts. */
  private byte @Nullable [] batch;
  private int batchSize;
  private boolean finished;

  BodySink(int expectedSize, long spillThreshold, Path spillDirectory) {
    this.spillThreshold = spillThreshold;
    this.spillDirectory = spillDirectory;
    int initial = expectedSize > 0 && expectedSize <= spillThreshold ? expectedSize : 256;
    this.memory = new byte[initial];
  }

  /** Bytes stored so far. */
  long size() {
    return channel == null ? memorySize : fileSize + batchSize;
  }

  /** Stores {@code chunk} (which the sink now owns). */
  Mono<Void> write(byte[] chunk) {
    if (channel != null) {
      return gather(chunk);
    }
    if ((long) memorySize + chunk.length <= spillThreshold) {
      appendToMemory(chunk);
      return Mono.empty();
    }
    return openFile().then(Mono.defer(() -> {
      byte[] held = Arrays.copyOf(memory, memorySize);
      memory = new byte[0];
      memorySize = 0;
      return writeToFile(held, held.length).then(Mono.defer(() -> gather(chunk)));
    }));
  }

  /**
   * Adds {@code chunk} to the batch, writing the batch when it is full: the returned {@code Mono}
   * completes once the batch is in the file (at once when the chunk only joined the batch), so the
   * batch array is never touched while a write of it is in progress.
   */
  private Mono<Void> gather(byte[] chunk) {
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
    byte[] b = batch;
    if (b == null) {
      b = new byte[SPILL_BATCH];
      batch = b;
    }
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

  private void appendToMemory(byte[] chunk) {
    if (memorySize + chunk.length > memory.length) {
      long grown = Math.max((long) memorySize + chunk.length, (long) memory.length * 2);
      memory = Arrays.copyOf(memory, (int) Math.min(grown, Integer.MAX_VALUE - 8));
    }
    System.arraycopy(chunk, 0, memory, memorySize, chunk.length);
    memorySize += chunk.length;
  }

  private Mono<Void> openFile() {
    return Mono.fromCallable(() -> {
          Files.createDirectories(spillDirectory);
          Path f = Files.createTempFile(spillDirectory, "fetchflux-", ".body");
          AsynchronousFileChannel ch =
              AsynchronousFileChannel.open(f, StandardOpenOption.WRITE);
          file = f;
          channel = ch;
          return f;
        })
        .subscribeOn(Schedulers.boundedElastic())
        .then();
  }

  private Mono<Void> writeToFile(byte[] bytes, int length) {
    if (length == 0) {
      return Mono.empty();
    }
    AsynchronousFileChannel ch = channel;
    if (ch == null) {
      return Mono.error(new IllegalStateException("spill file not open"));
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes, 0, length);
    return Mono.create(sink -> writeFully(ch, buf, sink));
  }

  private void writeFully(AsynchronousFileChannel ch, ByteBuffer buf, MonoSink<Void> sink) {
    ch.write(buf, fileSize, null, new CompletionHandler<Integer, @Nullable Object>() {
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
        sink.error(error);
      }
    });
  }

  /** The collected body; the sink gives up ownership of its memory or file. */
  Mono<Body> finish() {
    finished = true;
    AsynchronousFileChannel ch = channel;
    Path f = file;
    if (ch == null || f == null) {
      return Mono.just(Body.adopt(
          memorySize == memory.length ? memory : Arrays.copyOf(memory, memorySize)));
    }
    return flushBatch().then(Mono.fromCallable(() -> {
          batch = null;
          ch.close();
          return Body.adoptFile(f, fileSize);
        })
        .subscribeOn(Schedulers.boundedElastic()));
  }

  /** Drops what was collected (error or cancellation): closes and deletes the file, off the loop. */
  void abort() {
    memory = new byte[0];
    batch = null;
    AsynchronousFileChannel ch = channel;
    Path f = file;
    if (finished || ch == null || f == null) {
      return;
    }
    Schedulers.boundedElastic().schedule(() -> {
      try {
        ch.close();
        Files.deleteIfExists(f);
      } catch (IOException ignored) {
        // best effort; nothing else to tell the caller, whose request already failed
      }
    });
  }
}
