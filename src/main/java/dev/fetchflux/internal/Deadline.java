package dev.fetchflux.internal;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.Disposable;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;

/**
 * A total deadline for one attempt's exchange: its value, its error, or past {@code deadline} the
 * fallback (which cancels the exchange first). Unlike {@code Mono.timeout}, nothing that arrives late
 * is lost: a response that comes after the deadline fired or after the subscriber cancelled (a
 * {@code take(n)}, a fail-fast) goes to the discard hook, which releases its spilled body;
 * {@code Mono.timeout} drops such a value with {@code onNextDropped}, which nothing releases, so its
 * file stayed on disk until a garbage collection. The timer runs on {@code Schedulers.parallel()}, so
 * it follows virtual time in tests, as {@code Mono.timeout} did.
 */
final class Deadline {
  private Deadline() {}

  /**
   * {@code source}, or past {@code deadline} the Mono {@code onTimeout} supplies (subscribed after
   * {@code source} was cancelled). Exactly one of them decides the outcome.
   */
  static <T> Mono<T> of(Mono<T> source, Duration deadline, Supplier<Mono<T>> onTimeout) {
    return Mono.create(sink -> new Race<>(sink, deadline, onTimeout).start(source));
  }

  /** The source against the timer: whoever wins the {@code decided} flag settles the sink. */
  private static final class Race<T> extends BaseSubscriber<T> {
    private final MonoSink<T> sink;
    private final Duration deadline;
    private final Supplier<Mono<T>> onTimeout;
    private final AtomicBoolean decided = new AtomicBoolean();
    private final Context context;
    private volatile @Nullable Disposable timer;

    Race(MonoSink<T> sink, Duration deadline, Supplier<Mono<T>> onTimeout) {
      this.sink = sink;
      this.deadline = deadline;
      this.onTimeout = onTimeout;
      this.context = Context.of(sink.contextView());
    }

    void start(Mono<T> source) {
      sink.onCancel(this::cancelled);
      source.subscribe(this);
      if (!decided.get()) { // a source that answered at once needs no timer
        timer =
            Schedulers.parallel().schedule(this::expired, deadline.toNanos(), TimeUnit.NANOSECONDS);
        if (decided.get()) {
          stopTimer(); // decided while the timer was being set
        }
      }
    }

    /** The subscriber's context: the engine reads the attempt's trace and hooks from it. */
    @Override
    public Context currentContext() {
      return context;
    }

    @Override
    protected void hookOnSubscribe(Subscription subscription) {
      subscription.request(1);
    }

    @Override
    protected void hookOnNext(T value) {
      if (decided.compareAndSet(false, true)) {
        stopTimer();
        sink.success(value);
      } else {
        // Late: after the deadline or a cancel. Released, not dropped.
        Operators.onDiscard(value, currentContext());
      }
    }

    @Override
    protected void hookOnComplete() {
      if (decided.compareAndSet(false, true)) {
        stopTimer();
        sink.success();
      }
    }

    @Override
    protected void hookOnError(Throwable error) {
      if (decided.compareAndSet(false, true)) {
        stopTimer();
        sink.error(error);
      } else {
        Operators.onErrorDropped(error, currentContext());
      }
    }

    private void expired() {
      if (decided.compareAndSet(false, true)) {
        dispose(); // cancels the exchange
        onTimeout.get().subscribe(sink::success, sink::error, sink::success);
      }
    }

    private void cancelled() {
      decided.set(true);
      stopTimer();
      dispose();
    }

    private void stopTimer() {
      Disposable t = timer;
      if (t != null) {
        t.dispose();
      }
    }
  }
}
