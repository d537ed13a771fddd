package dev.fetchflux.internal;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.TransportException;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.util.context.Context;

/**
 * The total deadline of every attempt of one fetcher ({@code requestTimeout}), kept by one timer
 * instead of one per attempt.
 *
 * <p>{@code Mono.timeout} arms a task on {@code Schedulers.parallel()} for every attempt and cancels
 * it when the response comes: a {@code ScheduledThreadPoolExecutor} lock and heap operation each way,
 * and eight objects per attempt (the operator, its subscribers, {@code MonoDelay}, the scheduled
 * task). Here every attempt of a fetcher has the same timeout, so deadlines arrive in the order the
 * attempts start: the attempts under watch form one list in deadline order, an attempt joins it at
 * its tail and leaves it from wherever it is (both O(1), under a lock held for a few field writes),
 * and a single task, armed for the deadline of the list's head, expires whatever is due when it
 * runs and arms itself again for the new head. The timer runs on {@code Schedulers.parallel()},
 * looked up when it is armed, so virtual time in tests drives it exactly as it drove
 * {@code Mono.timeout}: an attempt fails at exactly {@code requestTimeout} of virtual time.
 *
 * <p>An attempt that expires is cancelled, and its error waits until the connection it was using is
 * closed ({@link ConnectionTrace}, put in the exchange's context): the next request cannot reach
 * the server before that close does.
 *
 * <p>The same operator names the request in any error that passes it, as reactor's
 * {@code checkpoint(description)} did, but builds the description only for an error: the original
 * exception gets one suppressed {@link RequestNote} saying {@code fetchflux #17 GET https://…}.
 */
final class Deadlines {
  private final Duration timeout;
  private final long timeoutNanos;
  private final String timeoutText;

  /** The scheduler the timer runs on and whose clock it reads, looked up on each use. */
  private final Supplier<Scheduler> timers;

  private final Object lock = new Object();

  // ---- guarded by lock ----
  private @Nullable Watch<?> head;
  private @Nullable Watch<?> tail;

  /** The armed sweep, the scheduler it runs on and when (in that scheduler's clock). */
  private @Nullable Disposable armed;

  private @Nullable Scheduler armedOn;
  private long armedFor;

  /**
   * @param timers the timer's scheduler, looked up whenever it is armed or read ({@code
   *     Schedulers::parallel}, so that virtual time, once installed, drives it)
   */
  Deadlines(Duration timeout, Supplier<Scheduler> timers) {
    this.timers = timers;
    this.timeout = timeout;
    this.timeoutNanos = saturatedNanos(timeout);
    this.timeoutText = ResultMapping.human(timeout);
  }

  /**
   * {@code exchange}, subscribed to when the returned {@code Mono} is, failing with a
   * {@link FetchException.Kind#DEADLINE} {@link TransportException} (its cause a
   * {@link TimeoutException}) unless it ends within the timeout; cancelled then. Any error it ends
   * with names request {@code index}. Cold.
   */
  <T> Mono<T> watch(Supplier<? extends Mono<? extends T>> exchange, long index, FetchRequest req) {
    return new WatchMono<>(this, exchange, index, req);
  }

  /** The error of an attempt that ran out of time (a new one each time: it gets a note). */
  private Throwable expired() {
    return new TransportException(
        FetchException.Kind.DEADLINE,
        "no complete response within " + timeoutText + " (requestTimeout)",
        0,
        0,
        new TimeoutException("requestTimeout " + timeout + " elapsed"));
  }

  /** Puts {@code w} under watch (if it is still running), with its deadline from now. */
  private void add(Watch<?> w) {
    Scheduler timer = timers.get();
    Disposable replaced = null;
    synchronized (lock) {
      if (w.state != Watch.RUNNING) {
        return;
      }
      long now = timer.now(TimeUnit.NANOSECONDS);
      w.deadline = saturatedAdd(now, timeoutNanos);
      w.linked = true;
      Watch<?> t = tail;
      w.prev = t;
      if (t == null) {
        head = w;
      } else {
        t.next = w;
      }
      tail = w;
      // Armed already for an earlier deadline on this scheduler: that run re-arms for the rest.
      if (armed == null || armedOn != timer || armedFor > w.deadline) {
        replaced = armed;
        arm(timer, now, w.deadline);
      }
    }
    if (replaced != null) {
      replaced.dispose();
    }
  }

  /**
   * Takes {@code w} off the list (it ended). The timer stays armed: when it runs for a deadline
   * that left, it only arms itself for the next one, or for none when the list is empty; so a run
   * of attempts one after another arms it about once per timeout, not once per attempt. A timer
   * left armed holds only this object, never an attempt.
   */
  private void remove(Watch<?> w) {
    synchronized (lock) {
      if (w.linked) {
        unlink(w);
      }
    }
  }

  /** How many attempts are under watch now (for tests). */
  int watched() {
    synchronized (lock) {
      int n = 0;
      for (Watch<?> w = head; w != null; w = w.next) {
        n++;
      }
      return n;
    }
  }

  private void unlink(Watch<?> w) {
    Watch<?> p = w.prev;
    Watch<?> n = w.next;
    if (p == null) {
      head = n;
    } else {
      p.next = n;
    }
    if (n == null) {
      tail = p;
    } else {
      n.prev = p;
    }
    w.prev = null;
    w.next = null;
    w.linked = false;
  }

  /** Arms the sweep on {@code timer} for {@code deadline}; under the lock. */
  private void arm(Scheduler timer, long now, long deadline) {
    armedOn = timer;
    armedFor = deadline;
    try {
      armed = timer.schedule(this::sweep, Math.max(0, deadline - now), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // The scheduler is shut down (the JVM is exiting): nothing will run a timer any more.
      armed = null;
      armedOn = null;
    }
  }

  /** The timer: expires every attempt that is due, then arms itself for the next deadline. */
  private void sweep() {
    Watch<?> due = null;
    synchronized (lock) {
      armed = null;
      armedOn = null;
      Scheduler timer = timers.get();
      long now = timer.now(TimeUnit.NANOSECONDS);
      Watch<?> h;
      while ((h = head) != null && h.deadline - now <= 0) {
        unlink(h);
        h.nextDue = due;
        due = h;
      }
      if (h != null) {
        arm(timer, now, h.deadline);
      }
    }
    while (due != null) {
      Watch<?> next = due.nextDue;
      due.nextDue = null;
      due.expire();
      due = next;
    }
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }

  /**
   * A stackless note naming the request an error belonged to, added to that error as a suppressed
   * exception (what reactor's {@code checkpoint(description)} added, without its per-request cost).
   */
  static final class RequestNote extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RequestNote(String description) {
      super(description, null, false, false);
    }
  }

  /**
   * Adds the note naming the request to {@code e}, unless it has one already: an exception object a
   * transport shares between requests (a singleton without a stack trace) keeps its first note
   * rather than growing one per failure; the failure's {@code FetchException} names its own.
   */
  static Throwable noted(Throwable e, long index, FetchRequest req) {
    for (Throwable s : e.getSuppressed()) {
      if (s instanceof RequestNote) {
        return e;
      }
    }
    e.addSuppressed(new RequestNote("fetchflux #" + index + " " + req.method() + " " + req.uri()));
    return e;
  }

  private static final class WatchMono<T> extends Mono<T> {
    private final Deadlines deadlines;
    private final Supplier<? extends Mono<? extends T>> exchange;
    private final long index;
    private final FetchRequest req;

    WatchMono(
        Deadlines deadlines,
        Supplier<? extends Mono<? extends T>> exchange,
        long index,
        FetchRequest req) {
      this.deadlines = deadlines;
      this.exchange = exchange;
      this.index = index;
      this.req = req;
    }

    @Override
    public void subscribe(CoreSubscriber<? super T> actual) {
      Mono<? extends T> source;
      try {
        source = exchange.get();
      } catch (Throwable t) {
        Exceptions.throwIfJvmFatal(t);
        Operators.error(actual, noted(t, index, req));
        return;
      }
      source.subscribe(new Watch<T>(actual, deadlines, index, req));
    }
  }

  /**
   * One attempt under watch: the subscriber between the exchange and the attempt loop, and a node
   * of the deadline list. Exactly one of the exchange's end, the deadline and a cancel wins
   * ({@link #state}); a response that loses to the deadline is discarded.
   */
  private static final class Watch<T> implements CoreSubscriber<T>, Subscription {
    static final int RUNNING = 0;
    static final int ENDED = 1;

    private final CoreSubscriber<? super T> actual;
    private final Deadlines deadlines;
    private final long index;
    private final FetchRequest req;
    private final ConnectionTrace trace = new ConnectionTrace();
    private final Context context;
    private @Nullable Subscription upstream;
    private boolean delivered;

    volatile int state;

    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<Watch> STATE =
        AtomicIntegerFieldUpdater.newUpdater(Watch.class, "state");

    // ---- list fields, guarded by the deadlines' lock ----
    long deadline;
    boolean linked;
    @Nullable Watch<?> prev;
    @Nullable Watch<?> next;

    /** Chains the watches one sweep expires (touched only by that sweep). */
    @Nullable Watch<?> nextDue;

    Watch(CoreSubscriber<? super T> actual, Deadlines deadlines, long index, FetchRequest req) {
      this.actual = actual;
      this.deadlines = deadlines;
      this.index = index;
      this.req = req;
      this.context = actual.currentContext().put(ConnectionTrace.KEY, trace);
    }

    /** The subscriber's context and the attempt's trace: the engine attaches its connection. */
    @Override
    public Context currentContext() {
      return context;
    }

    @Override
    public void onSubscribe(Subscription s) {
      if (Operators.validate(upstream, s)) {
        upstream = s;
        actual.onSubscribe(this);
        // After onSubscribe, so that an expiry can never signal before it; an exchange that ended
        // meanwhile is not added.
        deadlines.add(this);
      }
    }

    private boolean end() {
      if (STATE.compareAndSet(this, RUNNING, ENDED)) {
        deadlines.remove(this);
        return true;
      }
      return false;
    }

    @Override
    public void onNext(T t) {
      if (end()) {
        delivered = true;
        actual.onNext(t);
      } else {
        // The deadline (or a cancel) came first: nobody will read this response.
        Operators.onDiscard(t, actual.currentContext());
      }
    }

    @Override
    public void onError(Throwable e) {
      if (end()) {
        actual.onError(noted(e, index, req));
      } else {
        Operators.onErrorDropped(e, actual.currentContext());
      }
    }

    @Override
    public void onComplete() {
      if (delivered || end()) {
        actual.onComplete();
      }
    }

    /** Called by the sweep, after it took this watch off the list. */
    void expire() {
      if (STATE.compareAndSet(this, RUNNING, ENDED)) {
        Subscription s = upstream;
        if (s != null) {
          s.cancel();
        }
        Throwable e = noted(deadlines.expired(), index, req);
        trace.whenClosed(() -> actual.onError(e));
      }
    }

    @Override
    public void request(long n) {
      Subscription s = upstream;
      if (s != null) {
        s.request(n);
      }
    }

    @Override
    public void cancel() {
      end();
      Subscription s = upstream;
      if (s != null) {
        s.cancel();
      }
    }
  }
}
