package dev.fetchflux.internal;

import dev.fetchflux.Body;
import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.TransportException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.concurrent.Queues;
import reactor.util.context.Context;

/**
 * One response body between its connection and its one consumer: the head's body passes straight
 * through, at the pace the consumer asks for it; a body behind the head is held (a {@link Hold}:
 * memory within the byte budget, then a pause, then a temporary file) until its consumer comes, and
 * is then replayed from memory and file before it goes on from the connection.
 *
 * <p><b>Buffers.</b> The source lends its buffers (reactor-netty releases each after {@code onNext})
 * or gives them; the relay retains what it keeps. A buffer emitted to the consumer belongs to the
 * consumer, which must release it. Everything else the relay releases itself, on every path:
 * buffers held or arriving after the end, a spill file, its channels, the connection (a body not read
 * to its end cancels its source, and reactor-netty closes the connection).
 *
 * <p><b>Back-pressure.</b> With a consumer, the relay asks its source for at most
 * {@link #READ_AHEAD} buffers beyond what the consumer has taken, so a slow consumer stops the reads
 * (reactor-netty turns auto-read off) and TCP stops the server. Without one, it reads while the body
 * fits its {@link Hold}; past it, it pauses, and after the hold's pause it spills: further bytes go to
 * a file in writes of {@link #SPILL_BATCH} gathered buffers, reads paused while a write is behind.
 *
 * <p><b>Time.</b> With {@link Timeouts}, the relay enforces the request's total deadline and the
 * read (idle) timeout itself, on the connection's event loop, counting only the time it is waiting
 * for the server: while it has stopped reading for its consumer (or for its hold), neither clock
 * runs. reactor-netty's own idle timeout cannot tell the two apart, so the engine removes it.
 *
 * <p><b>Concurrency.</b> Signals come from the event loop (source), any thread (consumer's requests
 * and cancel), the spill worker (file operations) and timers. Each only records itself (a queue or a
 * volatile field) and calls {@link #drain()}; all other state is touched inside the drain loop, which
 * a work-in-progress counter serialises (the queue-drain pattern of reactor-core's operators).
 * File operations run on one {@code boundedElastic} worker per spilling body, in order; their
 * channels are touched by that worker only.
 */
final class BodyRelay implements Publisher<ByteBuf>, Subscription {

  /**
   * Buffers asked of the source beyond those the relay holds for its consumer; asked for again in
   * halves, so that a reader on another thread makes the event loop wake up once per half, not
   * once per buffer.
   */
  static final int READ_AHEAD = 16;

  /** Bytes gathered before one write to the spill file (as {@link BodySink#SPILL_BATCH}). */
  static final int SPILL_BATCH = 1 << 20;

  /**
   * What a held buffer costs beyond its bytes (the buffer object, its leak tracker, a slice's
   * parent): counted against the hold, so a flood of tiny buffers (a server dribbling a byte per
   * packet) is bounded like a few large ones.
   */
  static final int BUFFER_OVERHEAD = 1024;

  /** The largest read from the spill file when it is replayed. */
  static final int READ_CHUNK = 1 << 20;

  /**
   * The total deadline and the read timeout, enforced on {@code loop}.
   *
   * @param deadlineNanos {@link System#nanoTime()} past which the body fails ({@code
   *     Long.MAX_VALUE} for none), pushed back by the time spent waiting for the consumer
   * @param readTimeoutNanos longest silence while reading, 0 for none
   * @param deadlineError the failure past the deadline
   * @param readTimeoutError the failure past the read timeout
   */
  record Timeouts(
      EventExecutor loop,
      long deadlineNanos,
      long readTimeoutNanos,
      Supplier<Throwable> deadlineError,
      Supplier<Throwable> readTimeoutError) {}

  /** What a file operation on the spill worker reports back to the drain loop. */
  private record Opened() {}

  private record OpenFailed(Throwable error) {}

  private record Written(long bytes) {}

  private record WriteFailed(Throwable error) {}

  private record Read(ByteBuf data) {}

  private record ReadFailed(Throwable error) {}

  private record GraceOver() {}

  private static final Subscription CANCELLED_UPSTREAM = Operators.cancelledSubscription();

  /** Stands in {@link #actual} for a body discarded before anyone subscribed. */
  private static final Subscriber<Object> DISCARDED =
      new Subscriber<>() {
        @Override
        public void onSubscribe(Subscription s) {}

        @Override
        public void onNext(Object o) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onComplete() {}
      };

  private static final Runnable NO_LISTENER = () -> {};
  private static final Runnable FIRED = () -> {};

  private final Hold hold;
  private final @Nullable Timeouts timeouts;
  private final boolean lent;

  private volatile @Nullable Subscription upstream;

  @SuppressWarnings("rawtypes")
  private static final AtomicReferenceFieldUpdater<BodyRelay, Subscription> UPSTREAM =
      AtomicReferenceFieldUpdater.newUpdater(BodyRelay.class, Subscription.class, "upstream");

  /** Buffers from the source; one producer (the source), one consumer (the drain loop). */
  private final Queue<ByteBuf> incoming = Queues.<ByteBuf>unbounded(16).get();

  private volatile boolean upstreamDone;
  private @Nullable Throwable upstreamError;
  private volatile long lastReadNanos;

  private volatile @Nullable Subscriber<? super ByteBuf> actual;

  @SuppressWarnings("rawtypes")
  private static final AtomicReferenceFieldUpdater<BodyRelay, Subscriber> ACTUAL =
      AtomicReferenceFieldUpdater.newUpdater(BodyRelay.class, Subscriber.class, "actual");

  private volatile long requested;

  private static final AtomicLongFieldUpdater<BodyRelay> REQUESTED =
      AtomicLongFieldUpdater.newUpdater(BodyRelay.class, "requested");

  private volatile boolean cancelled;

  /** A failure that drops what is held and ends the body now (discard, spill I/O error). */
  private volatile @Nullable Throwable abort;

  /** A failure of the body itself (a timeout), delivered after what is held. */
  private volatile @Nullable Throwable failure;

  /** File operations' results, grace timers; many producers. */
  private final Queue<Object> events = Queues.unboundedMultiproducer().get();

  private volatile boolean timerDue;

  private volatile Function<Throwable, Throwable> failureMapper = Function.identity();

  private volatile int wip;

  private static final AtomicIntegerFieldUpdater<BodyRelay> WIP =
      AtomicIntegerFieldUpdater.newUpdater(BodyRelay.class, "wip");

  /** Listeners for the end of reading from the source; {@link #FIRED} once run. */
  private volatile Runnable onReceived = NO_LISTENER;

  private static final AtomicReferenceFieldUpdater<BodyRelay, Runnable> ON_RECEIVED =
      AtomicReferenceFieldUpdater.newUpdater(BodyRelay.class, Runnable.class, "onReceived");

  private volatile long receivedNanos;
  private volatile long receivedBytes;
  private volatile @Nullable Throwable receivedError;
  private volatile boolean gaveUp;

  // ---- owned by the drain loop ----
  private final ArrayDeque<ByteBuf> memory = new ArrayDeque<>();

  /** Weight ({@link #weight}) of the buffers in {@link #memory}. */
  private long memoryBytes;

  private long reserved;
  private long outstanding;
  private long emitted;
  private long bytes;
  private @Nullable Spill spill;

  /** The body's own failure, known; delivered after what is held. */
  private @Nullable Throwable error;

  private boolean sourceEnded;
  private boolean overLimit;
  private boolean graceStarted;

  /** When this body's pause began, and the hold's {@linkplain Hold#moved() movement} then. */
  private long graceSince;

  private long movedAtGrace;
  private boolean spillAllowed;
  private boolean consumerSeen;
  private boolean finished;
  private long pausedSince = -1;
  private long pausedTotal;
  private long resumedAt;
  private @Nullable ScheduledFuture<?> timer;
  private @Nullable ScheduledFuture<?> grace;

  /**
   * @param lent whether the source releases its buffers after {@code onNext} (reactor-netty's
   *     {@code receive()}), so that the relay must retain what it keeps
   * @param timeouts the deadline and read timeout to enforce, or {@code null} for none (a body
   *     that is already whole)
   */
  BodyRelay(Hold hold, @Nullable Timeouts timeouts, boolean lent) {
    this.hold = hold;
    this.timeouts = timeouts;
    this.lent = lent;
    long now = System.nanoTime();
    this.lastReadNanos = now;
    this.resumedAt = now;
  }

  /**
   * A relay over a body that is already whole (from a transport that only hands out whole bodies):
   * its bytes, read from memory or its file, go through {@code hold} like any other; the body is
   * released once read or given up.
   */
  static BodyRelay whole(Body body, Hold hold) {
    BodyRelay relay = new BodyRelay(hold, null, false);
    Flux<ByteBuf> source;
    if (body.isInMemory()) {
      source =
          body.isEmpty()
              ? Flux.empty()
              : Flux.just(body).map(b -> Unpooled.wrappedBuffer(b.asByteBuffer()));
    } else {
      Path file = java.util.Objects.requireNonNull(body.file());
      source =
          Flux.using(
                  () -> FileChannel.open(file, StandardOpenOption.READ),
                  ch ->
                      Flux.<ByteBuf>generate(
                          sink -> {
                            ByteBuf buf = Unpooled.buffer(WHOLE_CHUNK);
                            try {
                              int n = buf.writeBytes(ch, WHOLE_CHUNK);
                              if (n < 0) {
                                buf.release();
                                sink.complete();
                              } else {
                                sink.next(buf);
                              }
                            } catch (IOException e) {
                              buf.release();
                              sink.error(e);
                            }
                          }),
                  BodyRelay::closeQuietly)
              .doFinally(signal -> Release.later(body))
              .subscribeOn(Schedulers.boundedElastic());
    }
    relay.connect(source);
    return relay;
  }

  /** Buffers a whole body in a file is read in. */
  private static final int WHOLE_CHUNK = 64 * 1024;

  /** Starts reading {@code source}; call once. */
  void connect(Publisher<? extends ByteBuf> source) {
    source.subscribe(new Source());
  }

  // ---- the consumer's side ----

  @Override
  @SuppressWarnings("unchecked")
  public void subscribe(Subscriber<? super ByteBuf> s) {
    if (ACTUAL.compareAndSet(this, null, s)) {
      s.onSubscribe(this);
      drain();
      return;
    }
    Subscriber<?> current = actual;
    Operators.error(
        s,
        new IllegalStateException(
            current == DISCARDED
                ? "the body was discarded; it can no longer be read"
                : "the body is read once, and it was already read"));
  }

  @Override
  public void request(long n) {
    if (n <= 0) {
      abort =
          new IllegalArgumentException(
              "§3.9 violated: positive request amount required but it was " + n);
    } else {
      Operators.addCap(REQUESTED, this, n);
    }
    drain();
  }

  @Override
  public void cancel() {
    cancelled = true;
    drain();
  }

  /**
   * Gives the body up: before anyone subscribed, the body can no longer be read; while it is being
   * read, its consumer gets {@code onError(reason)} at once. Everything held is released, the source
   * is cancelled unless it ended. Idempotent; nothing happens once the body was delivered whole.
   */
  void discard(Throwable reason) {
    if (ACTUAL.compareAndSet(this, null, DISCARDED)) {
      cancelled = true;
    } else {
      abort = reason;
    }
    drain();
  }

  /**
   * Adds {@code mapper} to the translation of the body's own failures (not of a discard) before its
   * consumer sees them: the engine's (status and time of the headers), then the fetcher's (index,
   * URL, kind). Call before the body is handed on.
   */
  void mapFailures(Function<Throwable, ? extends Throwable> mapper) {
    Function<Throwable, Throwable> before = failureMapper;
    failureMapper = e -> mapper.apply(before.apply(e));
  }

  /** Whether a consumer has subscribed (or the body was discarded). */
  boolean claimed() {
    return actual != null;
  }

  /**
   * Runs {@code listener} once the source has ended (its last byte, its failure, or the relay's
   * giving it up), at once if it has already: the connection is then free, whatever is still held.
   */
  void whenReceived(Runnable listener) {
    for (; ; ) {
      Runnable current = onReceived;
      if (current == FIRED) {
        listener.run();
        return;
      }
      Runnable next =
          current == NO_LISTENER
              ? listener
              : () -> {
                current.run();
                listener.run();
              };
      if (ON_RECEIVED.compareAndSet(this, current, next)) {
        return;
      }
    }
  }

  /** {@link System#nanoTime()} when the source ended, or 0 while it has not. */
  long receivedNanos() {
    return receivedNanos;
  }

  /** Bytes received from the source (final once it ended). */
  long receivedBytes() {
    return receivedBytes;
  }

  /** Whether the relay gave its source up before it ended (a discard, a cancel). */
  boolean gaveUp() {
    return gaveUp;
  }

  /** How the source ended: {@code null} for its last byte (or not yet), else the failure. */
  @Nullable Throwable receivedError() {
    return receivedError;
  }

  // ---- the source's side ----

  private final class Source implements CoreSubscriber<ByteBuf> {
    @Override
    public Context currentContext() {
      return Context.empty();
    }

    @Override
    public void onSubscribe(Subscription s) {
      if (UPSTREAM.compareAndSet(BodyRelay.this, null, s)) {
        drain();
      } else {
        s.cancel();
      }
    }

    @Override
    public void onNext(ByteBuf buf) {
      lastReadNanos = System.nanoTime();
      if (lent) {
        buf.retain();
      }
      incoming.offer(buf);
      drain();
    }

    @Override
    public void onError(Throwable t) {
      upstreamError = t;
      upstreamDone = true;
      drain();
    }

    @Override
    public void onComplete() {
      upstreamDone = true;
      drain();
    }
  }

  private void cancelUpstream() {
    Subscription s = UPSTREAM.getAndSet(this, CANCELLED_UPSTREAM);
    if (s != null && s != CANCELLED_UPSTREAM) {
      s.cancel();
    }
  }

  // ---- the drain loop ----

  void drain() {
    if (WIP.getAndIncrement(this) != 0) {
      return;
    }
    int missed = 1;
    for (; ; ) {
      if (finished) {
        afterEnd();
      } else {
        step();
      }
      missed = WIP.addAndGet(this, -missed);
      if (missed == 0) {
        return;
      }
    }
  }

  private void step() {
    @SuppressWarnings("unchecked")
    Subscriber<? super ByteBuf> a = (Subscriber<? super ByteBuf>) actual;
    boolean discarded = a == DISCARDED;
    boolean consumer = a != null && !discarded;
    if (cancelled) {
      end(null, false, null);
      return;
    }
    Throwable ab = abort;
    if (ab != null) {
      end(ab, false, a);
      return;
    }
    processEvents();
    if (finished) {
      return;
    }
    boolean ended = upstreamDone;
    ByteBuf b;
    while ((b = incoming.poll()) != null) {
      if (outstanding > 0) {
        outstanding--;
      }
      place(b, consumer);
    }
    if (ended && !sourceEnded) {
      sourceEnded(upstreamError);
    }
    Throwable f = failure;
    if (f != null && !sourceEnded) {
      cancelUpstream();
      sourceEnded(f);
    }
    if (consumer && !consumerSeen) {
      consumerSeen = true;
      overLimit = false;
      if (error != null) {
        // Failed before anyone read it: the consumer gets the failure, not a part of the body.
        end(error, true, a);
        return;
      }
    }
    if (consumer) {
      emit(a);
      if (finished) {
        return;
      }
    }
    maintainSpill(consumer);
    if (finished) {
      return;
    }
    if (consumer && sourceEnded && memory.isEmpty() && spill == null) {
      end(error, true, a);
      return;
    }
    requestMore(consumer);
    checkTimers();
  }

  private void place(ByteBuf b, boolean consumer) {
    int n = b.readableBytes();
    if (n == 0 || sourceEnded) {
      b.release();
      return;
    }
    bytes += n;
    long w = weight(n);
    Spill s = spill;
    if (s != null) {
      s.add(b);
      return;
    }
    if (consumer) {
      memory.add(b);
      memoryBytes += w;
      return;
    }
    if (!overLimit && memoryBytes + w <= hold.perBody() && hold.tryReserve(w)) {
      memory.add(b);
      memoryBytes += w;
      reserved += w;
      return;
    }
    if (!spillAllowed && timeouts != null && !hold.pauseBeforeSpill().isZero()) {
      // Past the hold: keep what the source already sent, and stop reading for a while.
      memory.add(b);
      memoryBytes += w;
      overLimit = true;
      if (!graceStarted) {
        graceStarted = true;
        graceSince = System.nanoTime();
        movedAtGrace = hold.moved();
        armGrace(timeouts);
      }
      return;
    }
    startSpill().add(b);
  }

  private void armGrace(Timeouts t) {
    grace =
        t.loop()
            .schedule(
                () -> {
                  events.offer(new GraceOver());
                  drain();
                },
                hold.pauseBeforeSpill().toNanos(),
                TimeUnit.NANOSECONDS);
  }

  private void sourceEnded(@Nullable Throwable e) {
    sourceEnded = true;
    error = e;
    receivedBytes = bytes;
    receivedError = e;
    receivedNanos = System.nanoTime();
    cancelTimer();
    fireReceived();
  }

  private void fireReceived() {
    Runnable r = ON_RECEIVED.getAndSet(this, FIRED);
    if (r != FIRED) {
      r.run();
    }
  }

  private void emit(Subscriber<? super ByteBuf> a) {
    long e = emitted;
    for (; ; ) {
      if (e == requested || finished || cancelled || abort != null) {
        break;
      }
      ByteBuf next = memory.poll();
      if (next != null) {
        long w = weight(next.readableBytes());
        memoryBytes -= w;
        long r = Math.min(w, reserved);
        reserved -= r;
        hold.release(r);
        e++;
        a.onNext(next);
        continue;
      }
      Spill s = spill;
      if (s == null) {
        break;
      }
      ByteBuf read = s.ready;
      if (read != null) {
        s.ready = null;
        e++;
        a.onNext(read);
        continue;
      }
      if (s.caughtUp() && !s.writing && !s.batch.isEmpty()) {
        // All that went to the file was replayed: the rest of the batch follows it directly.
        ByteBuf direct = s.batch.remove(0);
        s.batchBytes -= direct.readableBytes();
        s.batchWeight -= weight(direct.readableBytes());
        e++;
        a.onNext(direct);
        continue;
      }
      if (s.opened && !s.reading && s.readPos < s.written) {
        startRead(s);
      }
      break;
    }
    if (e != emitted) {
      hold.moved(e - emitted);
    }
    emitted = e;
  }

  private Spill startSpill() {
    Spill s = new Spill(Schedulers.boundedElastic().createWorker());
    spill = s;
    Path dir = hold.spillDirectory();
    s.run(
        () -> {
          try {
            Files.createDirectories(dir);
            Path f = Files.createTempFile(dir, "fetchflux-", ".body");
            s.file = f;
            try {
              s.writeChannel = FileChannel.open(f, StandardOpenOption.WRITE);
            } catch (IOException | RuntimeException e) {
              Files.deleteIfExists(f);
              s.file = null;
              throw e;
            }
            events.offer(new Opened());
          } catch (IOException | RuntimeException e) {
            events.offer(new OpenFailed(e));
          }
          drain();
        });
    return s;
  }

  /** Writes a full (or final) batch; closes a replayed file. */
  private void maintainSpill(boolean consumer) {
    Spill s = spill;
    if (s == null || !s.opened) {
      return;
    }
    if (!s.writing
        && s.batchBytes > 0
        && (s.batchWeight >= SPILL_BATCH
            || (sourceEnded && !consumer)
            || (consumer && !s.caughtUp()))) {
      List<ByteBuf> batch = s.batch;
      long n = s.batchBytes;
      s.batch = new ArrayList<>();
      s.batchBytes = 0;
      s.batchWeight = 0;
      s.writing = true;
      s.run(() -> s.write(batch, n));
    }
    if (!consumer && sourceEnded && !s.writing && s.batch.isEmpty() && !s.writerClosed) {
      // Whole, and waiting: no descriptor held for it until it is replayed.
      s.writerClosed = true;
      s.run(s::closeWriter);
    }
    if (consumer
        && s.caughtUp()
        && !s.writing
        && s.batch.isEmpty()
        && memory.isEmpty()
        && s.ready == null) {
      // Replayed to the end: back to reading from the connection.
      spill = null;
      s.close();
    }
  }

  private void startRead(Spill s) {
    long pos = s.readPos;
    int n = (int) Math.min(READ_CHUNK, s.written - pos);
    s.readPos += n;
    s.reading = true;
    s.run(() -> s.read(pos, n));
  }

  private void processEvents() {
    Object ev;
    while ((ev = events.poll()) != null) {
      Spill s = spill;
      if (ev instanceof GraceOver) {
        long moved = hold.moved();
        Timeouts t = timeouts;
        if (moved != movedAtGrace
            && t != null
            && overLimit
            && !finished
            && System.nanoTime() - graceSince < Hold.MAX_PAUSE.toNanos()) {
          // The bodies being read moved on during the pause: the reader, not the network, sets
          // the pace, and a copy to disk would only add work. Pause on (the server's socket
          // buffers hold what it sends meanwhile); spill once the reader stalls, or at the
          // longest pause a server is expected to tolerate.
          movedAtGrace = moved;
          armGrace(t);
          continue;
        }
        spillAllowed = true;
        overLimit = false;
      } else if (ev instanceof Opened) {
        if (s != null) {
          s.opened = true;
        }
      } else if (ev instanceof Written w) {
        if (s != null) {
          s.writing = false;
          s.written += w.bytes();
        }
      } else if (ev instanceof Read r) {
        if (s != null) {
          s.reading = false;
          s.ready = r.data();
        } else {
          r.data().release();
        }
      } else if (ev instanceof OpenFailed f) {
        spillFailed(f.error());
      } else if (ev instanceof WriteFailed f) {
        spillFailed(f.error());
      } else if (ev instanceof ReadFailed f) {
        spillFailed(f.error());
      }
      if (finished) {
        return;
      }
    }
  }

  private void spillFailed(Throwable e) {
    Throwable wrapped =
        new TransportException(
            Kind.OTHER,
            "cannot keep the body in a temporary file in " + hold.spillDirectory() + ": " + e,
            0,
            0,
            e);
    @SuppressWarnings("unchecked")
    Subscriber<? super ByteBuf> a = (Subscriber<? super ByteBuf>) actual;
    if (!sourceEnded) {
      cancelUpstream();
      sourceEnded(wrapped);
    }
    end(wrapped, true, a == DISCARDED ? null : a);
  }

  private void requestMore(boolean consumer) {
    long want;
    Spill s = spill;
    if (sourceEnded) {
      want = 0;
    } else if (consumer) {
      want = s != null ? 0 : Math.max(0, READ_AHEAD - memory.size());
    } else if (s != null) {
      want = s.batchWeight < SPILL_BATCH ? READ_AHEAD : 0;
    } else {
      want = overLimit ? 0 : READ_AHEAD;
    }
    Subscription up = upstream;
    if (want > outstanding
        && (outstanding == 0 || want - outstanding >= READ_AHEAD / 2)
        && up != null
        && up != CANCELLED_UPSTREAM) {
      long k = want - outstanding;
      outstanding = want;
      up.request(k);
    }
    boolean paused = !sourceEnded && outstanding == 0;
    long now = 0;
    if (paused && pausedSince < 0) {
      pausedSince = System.nanoTime();
    } else if (!paused && pausedSince >= 0) {
      now = System.nanoTime();
      pausedTotal += now - pausedSince;
      pausedSince = -1;
      resumedAt = now;
    }
  }

  private void checkTimers() {
    Timeouts t = timeouts;
    if (t == null || sourceEnded) {
      return;
    }
    if (timerDue) {
      timerDue = false;
      timer = null;
    }
    if (pausedSince >= 0) {
      return; // waiting for the consumer (or the hold): the server's clocks stand still
    }
    long now = System.nanoTime();
    long deadline = saturatedAdd(t.deadlineNanos(), pausedTotal);
    long idleSince = Math.max(lastReadNanos, resumedAt);
    long idleAt =
        t.readTimeoutNanos() > 0 ? saturatedAdd(idleSince, t.readTimeoutNanos()) : Long.MAX_VALUE;
    Throwable e = null;
    if (now - deadline >= 0 && deadline != Long.MAX_VALUE) {
      e = t.deadlineError().get();
    } else if (idleAt != Long.MAX_VALUE && now - idleAt >= 0) {
      e = t.readTimeoutError().get();
    }
    if (e != null) {
      failure = e;
      cancelUpstream();
      sourceEnded(e);
      WIP.incrementAndGet(this); // one more pass: the consumer learns it now
      return;
    }
    if (timer == null) {
      long at = Math.min(deadline, idleAt);
      if (at != Long.MAX_VALUE) {
        timer =
            t.loop()
                .schedule(
                    () -> {
                      timerDue = true;
                      drain();
                    },
                    Math.max(0, at - now),
                    TimeUnit.NANOSECONDS);
      }
    }
  }

  private static long weight(int bytes) {
    return (long) bytes + BUFFER_OVERHEAD;
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }

  private void cancelTimer() {
    ScheduledFuture<?> t = timer;
    if (t != null) {
      timer = null;
      t.cancel(false);
    }
  }

  /**
   * The end: releases everything, and tells {@code a} (the consumer, if any) how it ended: {@code
   * e}, or completion when {@code e} is {@code null}; nothing when {@code a} is {@code null} or the
   * consumer cancelled. {@code bodyFailure}: {@code e} is the body's own failure, translated by the
   * {@linkplain #mapFailures mappers} (else a discard or a misuse, passed as is).
   */
  private void end(
      @Nullable Throwable e, boolean bodyFailure, @Nullable Subscriber<? super ByteBuf> a) {
    finished = true;
    if (!sourceEnded) {
      cancelUpstream();
      gaveUp = true;
      sourceEnded = true;
      receivedBytes = bytes;
      receivedNanos = System.nanoTime();
      receivedError = e;
    }
    cancelTimer();
    ScheduledFuture<?> g = grace;
    if (g != null) {
      grace = null;
      g.cancel(false);
    }
    ByteBuf b;
    while ((b = memory.poll()) != null) {
      b.release();
    }
    memoryBytes = 0;
    hold.release(reserved);
    reserved = 0;
    afterEnd();
    Spill s = spill;
    if (s != null) {
      spill = null;
      for (ByteBuf x : s.batch) {
        x.release();
      }
      s.batch.clear();
      ByteBuf r = s.ready;
      if (r != null) {
        s.ready = null;
        r.release();
      }
      s.close();
    }
    fireReceived();
    if (a != null && a != DISCARDED && !cancelled) {
      if (e != null) {
        Throwable out = e;
        if (bodyFailure) {
          try {
            out = failureMapper.apply(e);
          } catch (RuntimeException mapping) {
            mapping.addSuppressed(e);
            out = mapping;
          }
        }
        a.onError(out);
      } else {
        a.onComplete();
      }
    }
  }

  /** After the end, what still arrives is released. */
  private void afterEnd() {
    ByteBuf b;
    while ((b = incoming.poll()) != null) {
      b.release();
    }
    Object ev;
    while ((ev = events.poll()) != null) {
      if (ev instanceof Read r) {
        r.data().release();
      }
    }
  }

  /**
   * The spill file of one body. The drain loop owns the counters and flags; the file, its channels
   * and the buffers of a write or read under way belong to the worker's task, which runs them one
   * after another.
   */
  private final class Spill {
    private final Scheduler.Worker worker;
    private List<ByteBuf> batch = new ArrayList<>();
    private long batchBytes;
    private long batchWeight;
    private boolean opened;
    private boolean writerClosed;
    private boolean writing;
    private boolean reading;
    private long written;
    private long readPos;
    private @Nullable ByteBuf ready;

    // The worker's own.
    private @Nullable Path file;
    private @Nullable FileChannel writeChannel;
    private @Nullable FileChannel readChannel;

    Spill(Scheduler.Worker worker) {
      this.worker = worker;
    }

    void add(ByteBuf b) {
      batch.add(b);
      batchBytes += b.readableBytes();
      batchWeight += weight(b.readableBytes());
    }

    boolean caughtUp() {
      return opened && readPos == written && !reading && ready == null;
    }

    void run(Runnable task) {
      try {
        worker.schedule(task);
      } catch (RejectedExecutionException e) {
        task.run(); // the scheduler is shut down (JVM exit): do it here rather than leak
      }
    }

    void write(List<ByteBuf> buffers, long n) {
      try {
        FileChannel ch = writeChannel;
        if (ch == null) {
          throw new IOException("spill file not open");
        }
        ByteBuffer[] nio = nioBuffers(buffers);
        long left = n;
        while (left > 0) {
          left -= ch.write(nio);
        }
        events.offer(new Written(n));
      } catch (IOException | RuntimeException e) {
        events.offer(new WriteFailed(e));
      } finally {
        for (ByteBuf b : buffers) {
          b.release();
        }
      }
      drain();
    }

    void read(long pos, int n) {
      ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(n, n);
      try {
        FileChannel ch = readChannel;
        if (ch == null) {
          ch = FileChannel.open(java.util.Objects.requireNonNull(file), StandardOpenOption.READ);
          readChannel = ch;
        }
        ByteBuffer dst = buf.nioBuffer(0, n);
        long at = pos;
        while (dst.hasRemaining()) {
          int r = ch.read(dst, at);
          if (r < 0) {
            throw new IOException("spill file ended early at " + at);
          }
          at += r;
        }
        buf.writerIndex(n);
        events.offer(new Read(buf));
      } catch (IOException | RuntimeException e) {
        buf.release();
        events.offer(new ReadFailed(e));
      }
      drain();
    }

    void closeWriter() {
      closeQuietly(writeChannel);
      writeChannel = null;
    }

    /** Closes the channels and deletes the file after the tasks already queued, then the worker. */
    void close() {
      run(
          () -> {
            closeQuietly(writeChannel);
            closeQuietly(readChannel);
            writeChannel = null;
            readChannel = null;
            Path f = file;
            file = null;
            if (f != null) {
              try {
                Files.deleteIfExists(f);
              } catch (IOException ignored) {
                // best effort: the body is gone either way
              }
            }
            worker.dispose();
          });
    }
  }

  private static ByteBuffer[] nioBuffers(List<ByteBuf> buffers) {
    List<ByteBuffer> out = new ArrayList<>(buffers.size());
    for (ByteBuf b : buffers) {
      if (b.nioBufferCount() == 1) {
        out.add(b.nioBuffer());
      } else {
        for (ByteBuffer x : b.nioBuffers()) {
          out.add(x);
        }
      }
    }
    return out.toArray(new ByteBuffer[0]);
  }

  private static void closeQuietly(@Nullable FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // nothing more to do
      }
    }
  }
}
