package dev.fetchflux.internal;

import java.util.ArrayDeque;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.concurrent.Queues;
import reactor.util.context.Context;

/**
 * The ordering and admission stage: maps each input to a {@code Mono} and merges the results, in input
 * order or in completion order, under two separate limits.
 *
 * <p>{@code flatMapSequential(f, C)} counts an inner that has finished but is not yet at the head against
 * its concurrency, so one slow element at the head lets the next {@code C - 1} finish and then stalls all
 * work. This stage keeps the two quantities apart:
 *
 * <ul>
 *   <li><b>in flight</b> ({@code maxInFlight}, C): inners subscribed and not yet finished;
 *   <li><b>window</b> ({@code window}, W ≥ C): inputs admitted and not yet emitted downstream, whether in
 *       flight or finished and waiting for the head. Also bounded by {@code maxWaitingBytes}, the summed
 *       weight of finished results that wait.
 * </ul>
 *
 * <p>An input is admitted while fewer than C are in flight, fewer than W are admitted-but-unemitted and
 * the waiting results weigh at most {@code maxWaitingBytes}. Upstream is requested only for inputs that
 * can be admitted now, so a lazy source is pulled at most W ahead of the output. A finished result is
 * always accepted (it is never made to wait for demand it cannot get), so the head can never be starved:
 * when nothing is waiting the byte condition holds trivially and the head is admitted.
 *
 * <p>All state except the two queues is touched only inside {@link Main#drain()}, which is serialised by a
 * work-in-progress counter (the queue-drain pattern used throughout reactor-core). Inner results arrive
 * on whatever thread completes them (a Netty event loop) and only enqueue and signal; nothing blocks.
 *
 * <p>An inner that signals {@code onError} (or completes empty) terminates the whole stage with that error
 * after cancelling everything else: callers that want a result per input map failures to values before
 * they reach this stage, as {@code Fetcher} does.
 *
 * <p>Nothing is lost after the end either, in the manner of reactor-core's own operators: once the stage
 * is cancelled or terminated, every result still waiting, every input not admitted, and every result
 * that arrives late (an inner that finished as the cancel came) goes to {@link Operators#onDiscard}, and
 * an error that arrives late to {@link Operators#onErrorDropped}, each exactly once; the subscriber's
 * discard hook releases what they hold ({@code Fetcher} installs one for response bodies).
 *
 * <p>The ordered ring that holds finished results by index starts small and doubles as results wait for
 * the head, up to the window, so a very large window costs memory only when it is used.
 */
public final class OrderedAdmission<T, R> extends Flux<R> {

  /** Maps an input and its zero-based index to the {@code Mono} that produces its result. */
  @FunctionalInterface
  public interface Mapper<T, R> {
    Mono<R> apply(long index, T input);
  }

  /**
   * When a result stops counting as in flight, for results that are made before their work is done
   * (a streamed response, made at its headers, whose body is still on the wire): the stage calls
   * {@link #whenSettled} as the result arrives, and keeps its slot in flight until {@code settled}
   * runs (exactly once; from any thread; at once if the work is done).
   */
  @FunctionalInterface
  public interface Settle<R> {
    void whenSettled(R value, Runnable settled);
  }

  private final Publisher<? extends T> source;
  private final Mapper<? super T, ? extends R> mapper;
  private final int maxInFlight;
  private final int window;
  private final long maxWaitingBytes;
  private final ToLongFunction<? super R> weigher;
  private final boolean ordered;
  private final AdmissionMetrics metrics;
  private final @Nullable Settle<? super R> settle;

  private OrderedAdmission(
      Publisher<? extends T> source,
      Mapper<? super T, ? extends R> mapper,
      int maxInFlight,
      int window,
      long maxWaitingBytes,
      ToLongFunction<? super R> weigher,
      boolean ordered,
      AdmissionMetrics metrics,
      @Nullable Settle<? super R> settle) {
    this.metrics = metrics;
    this.settle = settle;
    this.source = source;
    this.mapper = mapper;
    this.maxInFlight = maxInFlight;
    this.window = window;
    this.maxWaitingBytes = maxWaitingBytes;
    this.weigher = weigher;
    this.ordered = ordered;
  }

  /**
   * Creates the stage.
   *
   * @param ordered {@code true} to emit by input index, {@code false} to emit in completion order
   * @throws IllegalArgumentException if {@code maxInFlight < 1}, {@code window < maxInFlight} or
   *     {@code maxWaitingBytes < 0}
   */
  public static <T, R> Flux<R> create(
      Publisher<? extends T> source,
      Mapper<? super T, ? extends R> mapper,
      int maxInFlight,
      int window,
      long maxWaitingBytes,
      ToLongFunction<? super R> weigher,
      boolean ordered) {
    return create(
        source,
        mapper,
        maxInFlight,
        window,
        maxWaitingBytes,
        weigher,
        ordered,
        new AdmissionMetrics());
  }

  /** Like {@link #create(Publisher, Mapper, int, int, long, ToLongFunction, boolean)}, reporting
   * to {@code metrics}. */
  public static <T, R> Flux<R> create(
      Publisher<? extends T> source,
      Mapper<? super T, ? extends R> mapper,
      int maxInFlight,
      int window,
      long maxWaitingBytes,
      ToLongFunction<? super R> weigher,
      boolean ordered,
      AdmissionMetrics metrics) {
    return create(
        source, mapper, maxInFlight, window, maxWaitingBytes, weigher, ordered, metrics, null);
  }

  /**
   * Like {@link #create(Publisher, Mapper, int, int, long, ToLongFunction, boolean,
   * AdmissionMetrics)}, where a result leaves the in-flight count when {@code settle} says, not when
   * it arrives ({@code null}: when it arrives).
   */
  public static <T, R> Flux<R> create(
      Publisher<? extends T> source,
      Mapper<? super T, ? extends R> mapper,
      int maxInFlight,
      int window,
      long maxWaitingBytes,
      ToLongFunction<? super R> weigher,
      boolean ordered,
      AdmissionMetrics metrics,
      @Nullable Settle<? super R> settle) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight < 1: " + maxInFlight);
    }
    if (window < maxInFlight) {
      throw new IllegalArgumentException(
          "window (" + window + ") must be >= maxInFlight (" + maxInFlight + ")");
    }
    if (maxWaitingBytes < 0) {
      throw new IllegalArgumentException("maxWaitingBytes < 0: " + maxWaitingBytes);
    }
    return new OrderedAdmission<T, R>(
        Objects.requireNonNull(source, "source"),
        Objects.requireNonNull(mapper, "mapper"),
        maxInFlight,
        window,
        maxWaitingBytes,
        Objects.requireNonNull(weigher, "weigher"),
        ordered,
        Objects.requireNonNull(metrics, "metrics"),
        settle);
  }

  @Override
  public void subscribe(CoreSubscriber<? super R> actual) {
    source.subscribe(new Main<T, R>(actual, this));
  }

  static final class Main<T, R> implements CoreSubscriber<T>, Subscription {

    private final CoreSubscriber<? super R> actual;
    private final Mapper<? super T, ? extends R> mapper;
    private final int maxInFlight;
    private final int window;
    private final long maxWaitingBytes;
    private final ToLongFunction<? super R> weigher;
    private final boolean ordered;
    private final AdmissionMetrics metrics;
    private final @Nullable Settle<? super R> settle;

    /** Results that arrived before their work was done and have settled since (see Settle). */
    private volatile long settled;

    @SuppressWarnings("rawtypes")
    private static final AtomicLongFieldUpdater<Main> SETTLED =
        AtomicLongFieldUpdater.newUpdater(Main.class, "settled");

    /** Finished results held (slots or ready queue); for the metrics. */
    private long waitingCount;

    /** Received from upstream, not yet admitted; single producer (onNext), single consumer (drain). */
    private final Queue<T> inputs = Queues.<T>unbounded(16).get();

    /**
     * Finished inners, each holding its result; many producers (event loops), single consumer
     * (drain). The inner itself is queued, not a record of its index and value: one object less per
     * result.
     */
    private final Queue<Inner<R>> done = Queues.<Inner<R>>unboundedMultiproducer().get();

    /**
     * Inners in flight, to cancel them all. A concurrent set rather than reactor's
     * {@code Disposables.composite()}: that one is a synchronised {@code LinkedList} whose
     * {@code remove} scans up to C entries on every completion (a quarter of the CPU samples of the
     * stage in a JFR profile, see docs/benchmarks.md).
     */
    private final Set<Inner<R>> active = ConcurrentHashMap.newKeySet();

    private volatile boolean activeDisposed;

    private @Nullable Subscription upstream;

    private volatile int wip;

    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<Main> WIP =
        AtomicIntegerFieldUpdater.newUpdater(Main.class, "wip");

    private volatile long requested;

    @SuppressWarnings("rawtypes")
    private static final AtomicLongFieldUpdater<Main> REQUESTED =
        AtomicLongFieldUpdater.newUpdater(Main.class, "requested");

    private volatile boolean cancelled;

    /** Set by drain() when it signalled the end or saw the cancel; read by late inner signals. */
    private volatile boolean terminated;

    private volatile boolean upstreamDone;
    private @Nullable Throwable upstreamError;

    /** Stands in {@link #innerError} for an error already signalled or dropped. */
    private static final Throwable REPORTED =
        new Throwable("already reported", null, false, false) {
          private static final long serialVersionUID = 1L;
        };

    private volatile @Nullable Throwable innerError;

    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<Main, Throwable> INNER_ERROR =
        AtomicReferenceFieldUpdater.newUpdater(Main.class, Throwable.class, "innerError");

    // ---- state owned by drain() ----
    /** Index the next admitted input gets; also the number admitted so far. */
    private long admitted;

    /** Results emitted downstream so far (in ordered mode also the index of the head). */
    private long emitted;

    /** Requested from upstream and not yet admitted (received and queued, or still to come). */
    private long pendingInput;

    private int inFlight;
    private long waitingBytes;

    /**
     * Ordered mode: finished results by index modulo its length, which covers every index from the
     * head to the last admitted; grows (doubling, up to the window) as more are admitted.
     */
    private @Nullable Object @Nullable [] slots;

    /** Unordered mode: finished results in completion order. */
    private final @Nullable ArrayDeque<R> ready;

    Main(CoreSubscriber<? super R> actual, OrderedAdmission<T, R> parent) {
      this.actual = actual;
      this.mapper = parent.mapper;
      this.maxInFlight = parent.maxInFlight;
      this.window = parent.window;
      this.maxWaitingBytes = parent.maxWaitingBytes;
      this.weigher = parent.weigher;
      this.ordered = parent.ordered;
      this.metrics = parent.metrics;
      this.settle = parent.settle;
      this.slots = ordered ? new Object[initialRing(maxInFlight, window)] : null;
      this.ready = ordered ? null : new ArrayDeque<>();
    }

    @Override
    public Context currentContext() {
      return actual.currentContext();
    }

    @Override
    public void onSubscribe(Subscription s) {
      if (Operators.validate(upstream, s)) {
        upstream = s;
        actual.onSubscribe(this);
        drain();
      }
    }

    @Override
    public void onNext(T t) {
      if (upstreamDone) {
        Operators.onNextDropped(t, actual.currentContext());
        return;
      }
      inputs.offer(t);
      drain();
    }

    @Override
    public void onError(Throwable t) {
      if (upstreamDone) {
        Operators.onErrorDropped(t, actual.currentContext());
        return;
      }
      upstreamError = t;
      upstreamDone = true;
      drain();
    }

    @Override
    public void onComplete() {
      if (upstreamDone) {
        return;
      }
      upstreamDone = true;
      drain();
    }

    @Override
    public void request(long n) {
      if (Operators.validate(n)) {
        Operators.addCap(REQUESTED, this, n);
        drain();
      }
    }

    @Override
    public void cancel() {
      if (cancelled) {
        return;
      }
      cancelled = true;
      Subscription s = upstream;
      if (s != null) {
        s.cancel();
      }
      disposeActive();
      drain();
    }

    private void disposeActive() {
      activeDisposed = true;
      for (Inner<R> inner : active) {
        inner.dispose();
      }
      active.clear();
    }

    /** Tracks {@code inner}; false if the stage was cancelled meanwhile (then it must not start). */
    private boolean track(Inner<R> inner) {
      active.add(inner);
      if (activeDisposed) {
        active.remove(inner);
        return false;
      }
      return true;
    }

    void innerDone(Inner<R> inner) {
      active.remove(inner);
      Settle<? super R> s = settle;
      if (s != null) {
        AtomicBoolean once = new AtomicBoolean();
        s.whenSettled(
            Objects.requireNonNull(inner.value),
            () -> {
              if (once.compareAndSet(false, true)) {
                SETTLED.incrementAndGet(this);
                drain();
              }
            });
      }
      done.offer(inner);
      drain();
    }

    void innerFailed(Inner<R> inner, Throwable error) {
      active.remove(inner);
      // After the end, or behind the first error, an error has nowhere to go: drain() hands an
      // error
      // that slips in as the stage ends to onErrorDropped too.
      if (terminated || !INNER_ERROR.compareAndSet(this, null, error)) {
        Operators.onErrorDropped(error, actual.currentContext());
      }
      drain();
    }

    private void drain() {
      if (WIP.getAndIncrement(this) != 0) {
        return;
      }
      int missed = 1;
      for (; ; ) {
        if (terminated || cancelled) {
          // Over: whatever arrived since (a late result, an input) is discarded, not kept.
          terminated = true;
          clearAll();
          dropLateError();
        } else {
          Throwable failure = innerError;
          if (failure != null) {
            terminate();
            INNER_ERROR.set(this, REPORTED);
            actual.onError(failure);
            continue;
          }
          collectFinished();
          collectSettled();
          emitReady();
          if (cancelled) {
            continue;
          }
          admit();
          if (innerError != null) {
            // The mapper threw: terminate now, as no later signal may come to call drain() again.
            continue;
          }
          requestUpstream();

          if (upstreamDone
              && inputs.isEmpty()
              && inFlight == 0
              && emitted == admitted
              && done.isEmpty()) {
            Throwable e = upstreamError;
            terminated = true;
            if (e != null) {
              actual.onError(e);
            } else {
              actual.onComplete();
            }
            continue;
          }
        }

        missed = WIP.addAndGet(this, -missed);
        if (missed == 0) {
          return;
        }
      }
    }

    /** An inner error that came after the end (or raced it) goes to onErrorDropped, once. */
    private void dropLateError() {
      Throwable e = innerError;
      if (e != null && e != REPORTED && INNER_ERROR.compareAndSet(this, e, REPORTED)) {
        Operators.onErrorDropped(e, actual.currentContext());
      }
    }

    /** Results whose work ended since the last look leave the in-flight count (see Settle). */
    private void collectSettled() {
      if (settle != null && settled != 0) {
        long n = SETTLED.getAndSet(this, 0);
        inFlight -= (int) n;
        metrics.inFlight.add(-n);
      }
    }

    private void collectFinished() {
      Inner<R> d;
      while ((d = done.poll()) != null) {
        R value = d.take();
        if (settle == null) {
          inFlight--;
          metrics.inFlight.decrement();
        }
        long w = Math.max(0, weigher.applyAsLong(value));
        waitingBytes += w;
        waitingCount++;
        metrics.waiting.increment();
        metrics.waitingBytes.add(w);
        if (ordered) {
          Object[] ring = slots;
          ring[(int) (d.index % ring.length)] = value;
        } else {
          ready.offer(value);
        }
      }
    }

    @SuppressWarnings("unchecked")
    private void emitReady() {
      long r = requested;
      long e = 0;
      while (e != r && !cancelled) {
        R next;
        if (ordered) {
          Object[] ring = slots;
          int slot = (int) (emitted % ring.length);
          next = (R) ring[slot];
          if (next == null) {
            break;
          }
          ring[slot] = null;
        } else {
          next = ready.poll();
          if (next == null) {
            break;
          }
        }
        long w = Math.max(0, weigher.applyAsLong(next));
        waitingBytes -= w;
        waitingCount--;
        metrics.waiting.decrement();
        metrics.waitingBytes.add(-w);
        metrics.emitted.increment();
        emitted++;
        e++;
        actual.onNext(next);
      }
      if (e != 0 && r != Long.MAX_VALUE) {
        REQUESTED.addAndGet(this, -e);
      }
    }

    private boolean windowHasRoom() {
      return inFlight < maxInFlight
          && admitted - emitted < window
          && (waitingBytes <= maxWaitingBytes || admitted == emitted);
    }

    private void admit() {
      while (windowHasRoom() && !cancelled) {
        T input = inputs.poll();
        if (input == null) {
          return;
        }
        pendingInput--;
        if (ordered && admitted - emitted == slots.length) {
          growRing();
        }
        long index = admitted++;
        Mono<? extends R> mono;
        try {
          mono = Objects.requireNonNull(mapper.apply(index, input), "mapper returned null");
        } catch (Throwable t) {
          Operators.onDiscard(input, currentContext());
          INNER_ERROR.compareAndSet(this, null, Operators.onOperatorError(t, currentContext()));
          return;
        }
        Inner<R> inner = new Inner<>(this, index);
        inFlight++;
        metrics.inFlight.increment();
        metrics.admitted.increment();
        if (track(inner)) {
          mono.subscribe(inner);
        }
      }
    }

    /** Doubles the ring (up to the window), moving each waiting result to its new slot. */
    private void growRing() {
      Object[] old = slots;
      Object[] grown = new Object[(int) Math.min(window, 2L * old.length)];
      for (long i = emitted; i < admitted; i++) {
        grown[(int) (i % grown.length)] = old[(int) (i % old.length)];
      }
      slots = grown;
    }

    /** The ring's first size: room for twice the in-flight limit (a few slow heads), at least 16. */
    static int initialRing(int maxInFlight, int window) {
      return (int) Math.min(window, Math.max(16L, 2L * maxInFlight));
    }

    private void requestUpstream() {
      Subscription s = upstream;
      if (s == null || upstreamDone || cancelled) {
        return;
      }
      long slots = 0;
      if (windowHasRoom()) {
        slots = Math.min(maxInFlight - inFlight, window - (admitted - emitted));
      }
      long want = slots - pendingInput;
      if (want > 0) {
        pendingInput += want;
        s.request(want);
      }
    }

    private void terminate() {
      terminated = true;
      Subscription s = upstream;
      if (s != null) {
        s.cancel();
      }
      disposeActive();
      clearAll();
    }

    @SuppressWarnings("unchecked")
    private void clearAll() {
      // Whatever is still counted is abandoned now.
      metrics.inFlight.add(-inFlight);
      metrics.waiting.add(-waitingCount);
      metrics.waitingBytes.add(-waitingBytes);
      inFlight = 0;
      waitingCount = 0;
      waitingBytes = 0;
      Context ctx = actual.currentContext();
      Operators.onDiscardQueueWithClear(inputs, ctx, null);
      Inner<R> d;
      while ((d = done.poll()) != null) {
        Operators.onDiscard(d.take(), ctx);
      }
      Object[] ring = slots;
      if (ring != null) {
        for (int i = 0; i < ring.length; i++) {
          if (ring[i] != null) {
            Operators.onDiscard((R) ring[i], ctx);
            ring[i] = null;
          }
        }
      }
      if (ready != null) {
        Operators.onDiscardQueueWithClear(ready, ctx, null);
      }
    }
  }

  static final class Inner<R> implements CoreSubscriber<R>, Disposable {
    private final Main<?, R> parent;
    final long index;
    private boolean finished;

    /**
     * The result, from {@link #onNext} until drain takes it; published to drain by the done queue's
     * offer and poll.
     */
    private @Nullable R value;

    private volatile @Nullable Subscription subscription;

    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<Inner, Subscription> SUBSCRIPTION =
        AtomicReferenceFieldUpdater.newUpdater(Inner.class, Subscription.class, "subscription");

    Inner(Main<?, R> parent, long index) {
      this.parent = parent;
      this.index = index;
    }

    @Override
    public Context currentContext() {
      return parent.currentContext();
    }

    @Override
    public void onSubscribe(Subscription s) {
      if (Operators.setOnce(SUBSCRIPTION, this, s)) {
        s.request(Long.MAX_VALUE);
      }
    }

    @Override
    public void onNext(R value) {
      if (finished) {
        Operators.onNextDropped(value, currentContext());
        return;
      }
      finished = true;
      this.value = value;
      parent.innerDone(this);
    }

    /** The result, once: the inner is not kept by anything after drain took it. */
    R take() {
      R v = value;
      value = null;
      return Objects.requireNonNull(v);
    }

    @Override
    public void onError(Throwable t) {
      if (finished) {
        Operators.onErrorDropped(t, currentContext());
        return;
      }
      finished = true;
      parent.innerFailed(this, t);
    }

    @Override
    public void onComplete() {
      if (!finished) {
        finished = true;
        parent.innerFailed(
            this, new IllegalStateException("mapper produced no value for index " + index));
      }
    }

    @Override
    public void dispose() {
      Operators.terminate(SUBSCRIPTION, this);
    }

    @Override
    public boolean isDisposed() {
      return subscription == Operators.cancelledSubscription();
    }
  }
}
