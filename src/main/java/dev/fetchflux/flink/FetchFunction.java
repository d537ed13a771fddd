package dev.fetchflux.flink;

import dev.fetchflux.Body;
import dev.fetchflux.FetchException;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import dev.fetchflux.Timings;
import java.time.Duration;
import java.util.Collections;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Fetches one URL per element with a {@link Fetcher} per subtask and completes each element with
 * exactly one {@link FetchRecord}: a success, or an error record for any failure, Flink's own
 * timeout included.
 *
 * <pre>{@code
 * FetchOptions options = FetchOptions.builder().maxInFlight(32).window(256).build();
 * DataStream<FetchRecord> records = AsyncDataStream.orderedWait(
 *     urls,                                   // DataStream<NumberedUrl>
 *     new FetchFunction(options),
 *     options.flinkTimeout().toMillis(), TimeUnit.MILLISECONDS,
 *     options.capacity());                    // the window W; 32 requests on the wire at most
 * }</pre>
 *
 * <h2>In flight and waiting</h2>
 * At most {@link FetchOptions#maxInFlight()} (C) requests run at once per subtask. Flink's ordered
 * queue holds {@link FetchOptions#capacity()} (W) elements, running or finished and waiting for
 * the ones ahead; when W &gt; C the function starts the extra elements as slots free up, so a slow
 * URL at the head no longer stalls the subtask once C - 1 others finish (see
 * {@link FetchOptions.Builder#window(int)}).
 *
 * <h2>Threads</h2>
 * {@code asyncInvoke} only subscribes to {@link Fetcher#fetchOne(CharSequence, long)} and returns. The result
 * arrives on one of the fetcher's event loops; the function hops to its own small I/O scheduler
 * ({@link FetchOptions#ioThreads()}) before hashing and writing the body, and completes the
 * {@link ResultFuture} from there. Nothing blocks a Netty thread or Flink's task thread.
 *
 * <h2>Failures</h2>
 * A failed request is a record with {@link FetchRecord#errorKind()} and a message that keeps the
 * original cause's type and message; the fetcher's own deadline gives {@code DEADLINE}. If Flink's
 * timeout ({@link FetchOptions#flinkTimeout()}) fires first, the request is cancelled (its
 * connection closed) and the record is a {@code DEADLINE} error that says so. Retries belong to the
 * fetcher (see {@link FetchOptions.Builder#customize}), not to Flink's {@code AsyncRetryStrategy}:
 * the fetcher knows which failures are safe to repeat and reports the attempts in the record. Only
 * a body that cannot be stored fails the element exceptionally, and so the job: that is the task
 * manager's disk, not the URL, and Flink restarts from the last checkpoint.
 *
 * <h2>Lifecycle</h2>
 * {@code open} builds the fetcher (its own connection pool and
 * {@linkplain FetchOptions.Builder#eventLoopThreads(int) event loops}) and the I/O scheduler;
 * {@code close} cancels whatever is still in flight and releases both, so a restarted task leaves
 * no threads behind.
 */
public final class FetchFunction extends RichAsyncFunction<NumberedUrl, FetchRecord> {
  private static final long serialVersionUID = 1L;

  private final FetchOptions options;

  private transient @Nullable Fetcher fetcher;
  private transient @Nullable Scheduler io;
  private transient @Nullable BodyStore bodies;
  private transient @Nullable ConcurrentMap<Long, InFlight> inFlight;
  private transient @Nullable Gate gate;
  private transient @Nullable Counter succeeded;
  private transient @Nullable Counter failed;
  private transient @Nullable Counter timedOut;

  /** A function that builds its fetcher from {@code options} in each subtask. */
  public FetchFunction(FetchOptions options) {
    this.options = Objects.requireNonNull(options, "options");
  }

  /** One element between {@code asyncInvoke} and its completion. */
  private static final class InFlight {
    final Disposable.Swap request = Disposables.swap();
    final long startEpochMillis = System.currentTimeMillis();
    final long startNanos = System.nanoTime();
    volatile boolean started;
  }

  /**
   * Starts at most {@code limit} requests at once, the rest in arrival order as slots free up;
   * never blocks. Needed only when Flink's capacity (the window) is larger than maxInFlight.
   */
  private static final class Gate {
    private final int limit;
    private final AtomicInteger active = new AtomicInteger();
    // Each returns whether it took its slot (false: cancelled while waiting), so skipping a run of
    // cancelled elements is a loop here, not a recursion through release().
    private final Queue<BooleanSupplier> waiting = new ConcurrentLinkedQueue<>();

    Gate(int limit) {
      this.limit = limit;
    }

    void submit(BooleanSupplier start) {
      waiting.add(start);
      drain();
    }

    void release() {
      active.decrementAndGet();
      drain();
    }

    // Both sides change state first and check second (submit: enqueue, then look at active;
    // release: decrement, then look at the queue), so no start is left behind a free slot.
    private void drain() {
      while (true) {
        int a = active.get();
        if (a >= limit || waiting.isEmpty()) {
          return;
        }
        if (!active.compareAndSet(a, a + 1)) {
          continue;
        }
        BooleanSupplier next = waiting.poll();
        if (next == null || !next.getAsBoolean()) {
          active.decrementAndGet();
        }
      }
    }
  }

  @Override
  public void open(OpenContext context) throws Exception {
    super.open(context);
    int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    inFlight = new ConcurrentHashMap<>();
    gate = new Gate(options.maxInFlight());
    fetcher = options.newFetcher();
    io =
        Schedulers.newBoundedElastic(
            options.ioThreads(), Integer.MAX_VALUE, "fetchflux-flink-io-" + subtask, 60, true);
    bodies = options.bodyDirectory() == null ? null : new BodyStore(options.bodyDirectory());
    var metrics = getRuntimeContext().getMetricGroup().addGroup("fetchflux");
    succeeded = metrics.counter("succeeded");
    failed = metrics.counter("failed");
    timedOut = metrics.counter("timedOut");
  }

  @Override
  public void asyncInvoke(NumberedUrl input, ResultFuture<FetchRecord> resultFuture) {
    ConcurrentMap<Long, InFlight> pending = Objects.requireNonNull(inFlight, "not open");
    Fetcher f = Objects.requireNonNull(fetcher, "not open");
    Scheduler scheduler = Objects.requireNonNull(io, "not open");
    Gate slots = Objects.requireNonNull(gate, "not open");
    InFlight entry = new InFlight();
    // Registered before subscribing, so a timeout can always find (and cancel) the request.
    pending.put(input.seq(), entry);
    slots.submit(() -> start(input, resultFuture, entry, pending, f, scheduler, slots));
  }

  /** Sends the request in a slot of the gate; false if it was cancelled while waiting for one. */
  private boolean start(
      NumberedUrl input,
      ResultFuture<FetchRecord> resultFuture,
      InFlight entry,
      ConcurrentMap<Long, InFlight> pending,
      Fetcher f,
      Scheduler scheduler,
      Gate slots) {
    if (entry.request.isDisposed()) {
      return false; // timed out or closed while waiting for a slot: never sent
    }
    entry.started = true;
    entry.request.update(
        f.fetchOne(input.url(), input.seq())
            .publishOn(scheduler)
            .flatMap(result -> Mono.fromCallable(() -> toRecord(input, result)))
            // Frees the slot on every ending: result, error, or cancellation by timeout() or
            // close().
            .doFinally(signal -> slots.release())
            .subscribe(
                record -> {
                  // Whoever removes the entry completes the element: this callback or timeout().
                  if (pending.remove(input.seq(), entry)) {
                    count(record.succeeded() ? succeeded : failed);
                    resultFuture.complete(Collections.singletonList(record));
                  }
                },
                error -> {
                  if (pending.remove(input.seq(), entry)) {
                    resultFuture.completeExceptionally(error);
                  }
                }));
    return true;
  }

  @Override
  public void timeout(NumberedUrl input, ResultFuture<FetchRecord> resultFuture) {
    ConcurrentMap<Long, InFlight> pending = inFlight;
    InFlight entry = pending == null ? null : pending.remove(input.seq());
    if (entry == null) {
      return; // the result won the race and is being delivered
    }
    entry.request.dispose();
    count(timedOut);
    // The function does not know the timeout given to orderedWait, only how long it waited.
    long elapsed = System.nanoTime() - entry.startNanos;
    boolean sent = entry.started;
    resultFuture.complete(
        Collections.singletonList(
            new FetchRecord(
                input.seq(),
                input.url(),
                null,
                0,
                0,
                null,
                null,
                entry.startEpochMillis,
                0,
                millis(elapsed),
                sent ? 1 : 0,
                0,
                FetchException.Kind.DEADLINE.name(),
                FetchException.Kind.DEADLINE.description()
                    + ": Flink's async timeout fired after "
                    + TimeUnit.NANOSECONDS.toMillis(elapsed)
                    + " ms; "
                    + (sent ? "request cancelled" : "never sent (no free slot)"))));
  }

  @Override
  public void close() throws Exception {
    ConcurrentMap<Long, InFlight> pending = inFlight;
    if (pending != null) {
      pending.values().forEach(e -> e.request.dispose());
      pending.clear();
    }
    if (fetcher != null) {
      fetcher.close();
      fetcher = null;
    }
    if (io != null) {
      io.dispose();
      io = null;
    }
    super.close();
  }

  private FetchRecord toRecord(NumberedUrl input, FetchResult result) throws java.io.IOException {
    if (result instanceof FetchResult.Success ok) {
      Body body = ok.body();
      try {
        String sha256;
        String name = null;
        if (bodies != null) {
          sha256 = bodies.store(input.seq(), body);
          name = BodyStore.relativeName(input.seq());
        } else {
          sha256 = body.sha256();
        }
        Timings t = ok.timings();
        return new FetchRecord(
            input.seq(),
            input.url(),
            ok.finalUri().toString(),
            ok.status(),
            body.size(),
            sha256,
            name,
            t.start().toEpochMilli(),
            millis(t.timeToFirstByte()),
            millis(t.total()),
            ok.attempts(),
            ok.redirects(),
            null,
            null);
      } finally {
        body.release();
      }
    }
    FetchResult.Failure failure = (FetchResult.Failure) result;
    FetchException e = failure.error();
    Timings t = failure.timings();
    return new FetchRecord(
        input.seq(),
        input.url(),
        null,
        e.status(),
        0,
        null,
        null,
        t.start().toEpochMilli(),
        millis(t.timeToFirstByte()),
        millis(t.total()),
        e.attempts(),
        0,
        e.kind().name(),
        describe(e));
  }

  /**
   * The exception's message without its {@code #index METHOD url: } prefix (the record has the
   * sequence number and the URL; {@code fetchOne} numbers the request with it), followed by the
   * original cause, which a JSON line would otherwise lose.
   */
  static String describe(FetchException e) {
    String message = String.valueOf(e.getMessage());
    String prefix = "#" + e.index() + " " + e.method() + " " + e.url() + ": ";
    if (message.startsWith(prefix)) {
      message = message.substring(prefix.length());
    }
    Throwable cause = e.getCause();
    if (cause == null) {
      return message;
    }
    String causeText =
        cause.getClass().getName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
    return message + " (caused by " + causeText + ")";
  }

  private static double millis(Duration d) {
    return millis(d.toNanos());
  }

  private static double millis(long nanos) {
    // Microsecond precision is plenty for a log line and keeps the JSON short.
    return Math.round(nanos / 1_000.0) / 1_000.0;
  }

  private static void count(@Nullable Counter counter) {
    if (counter != null) {
      counter.inc();
    }
  }
}
