package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.test.StepVerifier;

/**
 * The attempt's deadline: the value, the error, or past the deadline the fallback; and what comes
 * late (after the deadline, or after a cancel) goes to the discard hook, so a response's spilled
 * body is released. {@code Mono.timeout} drops a late value instead, which nothing releases; the
 * last test pins that, as the reason this class exists.
 */
@Timeout(20)
class DeadlineTest {

  /** A source that ignores cancellation, as a response already on its way does. */
  static final class Manual extends Mono<String> {
    final AtomicReference<CoreSubscriber<? super String>> subscriber = new AtomicReference<>();

    @Override
    public void subscribe(CoreSubscriber<? super String> actual) {
      actual.onSubscribe(Operators.emptySubscription());
      subscriber.set(actual);
    }

    void emit(String value) {
      subscriber.get().onNext(value);
      subscriber.get().onComplete();
    }
  }

  private final List<Object> discarded = new CopyOnWriteArrayList<>();

  private Mono<String> deadline(Mono<String> source, Duration d) {
    return Deadline.of(source, d, () -> Mono.error(new TimeoutException("too late")))
        .doOnDiscard(Object.class, discarded::add);
  }

  @Test
  void valueBeforeTheDeadlineIsTheResult() {
    Manual source = new Manual();
    StepVerifier.withVirtualTime(() -> deadline(source, Duration.ofSeconds(1)))
        .expectSubscription()
        .then(() -> source.emit("ok"))
        .expectNext("ok")
        .expectComplete()
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void pastTheDeadlineTheFallbackDecidesAndALateValueIsDiscarded() {
    Manual source = new Manual();
    StepVerifier.withVirtualTime(() -> deadline(source, Duration.ofSeconds(1)))
        .expectSubscription()
        .expectNoEvent(Duration.ofMillis(999))
        .thenAwait(Duration.ofMillis(1))
        .expectErrorMessage("too late")
        .verify(Duration.ofSeconds(5));
    source.emit("late");
    assertThat(discarded).containsExactly("late");
  }

  @Test
  void aValueAfterTheSubscriberCancelledIsDiscarded() {
    Manual source = new Manual();
    Disposable d = deadline(source, Duration.ofSeconds(30)).subscribe();
    d.dispose();
    source.emit("after cancel");
    assertThat(discarded).containsExactly("after cancel");
  }

  @Test
  void errorsPassThrough() {
    StepVerifier.create(deadline(Mono.error(new IllegalStateException("x")), Duration.ofSeconds(5)))
        .expectErrorMessage("x")
        .verify(Duration.ofSeconds(5));
  }

  /** Why not Mono.timeout: it drops a value that comes after a cancel, without a discard. */
  @Test
  void monoTimeoutDropsALateValueWithoutDiscardingIt() {
    Manual source = new Manual();
    Disposable d =
        source
            .timeout(Duration.ofSeconds(30))
            .doOnDiscard(Object.class, discarded::add)
            .subscribe();
    d.dispose();
    source.emit("lost");
    assertThat(discarded).isEmpty();
  }
}
