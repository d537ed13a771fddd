package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.TransportException;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.publisher.Sinks;
import reactor.test.scheduler.VirtualTimeScheduler;
import reactor.test.util.RaceTestUtils;

/**
 * The one timer behind every attempt's total deadline: each attempt still fails at exactly its own
 * start plus the timeout, whatever the others do; what ends leaves the watch; a response that
 * loses to the deadline is discarded; an error names its request once.
 */
@Timeout(20)
class DeadlinesTest {
  private static final Duration T = Duration.ofSeconds(30);

  private final VirtualTimeScheduler vts = VirtualTimeScheduler.create();
  private final Deadlines deadlines = new Deadlines(T, () -> vts);

  @AfterEach
  void dispose() {
    vts.dispose();
  }

  private static FetchRequest request(int i) {
    return FetchRequest.get("http://example.test/" + i);
  }

  /** What one watched attempt ended with, and when (virtual milliseconds). */
  private final class Outcome {
    final AtomicReference<Object> value = new AtomicReference<>();
    final AtomicReference<Throwable> error = new AtomicReference<>();
    volatile long at = -1;
    Disposable subscription;

    Outcome watch(Mono<String> exchange, int index) {
      subscription =
          deadlines
              .watch(() -> exchange, index, request(index))
              .subscribe(
                  v -> {
                    value.set(v);
                    at = vts.now(TimeUnit.MILLISECONDS);
                  },
                  e -> {
                    error.set(e);
                    at = vts.now(TimeUnit.MILLISECONDS);
                  });
      return this;
    }
  }

  @Test
  void eachAttemptExpiresAtExactlyItsOwnStartPlusTheTimeout() {
    List<Outcome> outcomes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      outcomes.add(new Outcome().watch(Mono.never(), i));
      vts.advanceTimeBy(Duration.ofSeconds(10));
    }
    // Started at 0, 10 and 20 s; now at 30 s.
    assertThat(outcomes.get(0).at).isEqualTo(30_000);
    assertThat(outcomes.get(1).at).isEqualTo(-1);
    vts.advanceTimeBy(Duration.ofMillis(9_999));
    assertThat(outcomes.get(1).at).isEqualTo(-1);
    vts.advanceTimeBy(Duration.ofMillis(1));
    assertThat(outcomes.get(1).at).isEqualTo(40_000);
    vts.advanceTimeBy(Duration.ofSeconds(10));
    assertThat(outcomes.get(2).at).isEqualTo(50_000);
    for (Outcome o : outcomes) {
      assertThat(o.error.get())
          .isInstanceOfSatisfying(
              TransportException.class,
              t -> {
                assertThat(t.kind()).isEqualTo(FetchException.Kind.DEADLINE);
                assertThat(t.getMessage()).contains("no complete response within 30 s");
                assertThat(t.getCause()).isInstanceOf(TimeoutException.class);
              });
    }
    assertThat(deadlines.watched()).isZero();
  }

  @Test
  void anAttemptBehindOneThatEndedStillExpiresOnTime() {
    Sinks.One<String> first = Sinks.one();
    Outcome a = new Outcome().watch(first.asMono(), 0);
    vts.advanceTimeBy(Duration.ofSeconds(10));
    Outcome b = new Outcome().watch(Mono.never(), 1);
    vts.advanceTimeBy(Duration.ofSeconds(5));
    first.tryEmitValue("ok");
    assertThat(a.value.get()).isEqualTo("ok");
    assertThat(deadlines.watched()).isEqualTo(1);

    // The timer armed for the first attempt's 30 s finds nothing due and arms for 40 s.
    vts.advanceTimeBy(Duration.ofSeconds(15));
    assertThat(b.at).isEqualTo(-1);
    vts.advanceTimeBy(Duration.ofSeconds(10));
    assertThat(b.at).isEqualTo(40_000);
    assertThat(a.error.get()).isNull();
  }

  @Test
  void cancelledAndFinishedAttemptsLeaveTheWatch() {
    List<Sinks.One<String>> sinks = new ArrayList<>();
    List<Outcome> outcomes = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      Sinks.One<String> s = Sinks.one();
      sinks.add(s);
      outcomes.add(new Outcome().watch(s.asMono(), i));
    }
    assertThat(deadlines.watched()).isEqualTo(100);
    for (int i = 0; i < 100; i++) {
      if (i % 2 == 0) {
        sinks.get(i).tryEmitValue("v" + i);
      } else if (i % 3 == 0) {
        sinks.get(i).tryEmitError(new IllegalStateException("boom " + i));
      } else {
        outcomes.get(i).subscription.dispose();
      }
    }
    assertThat(deadlines.watched()).isZero();
    vts.advanceTimeBy(T.multipliedBy(2));
    for (Outcome o : outcomes) {
      // Nothing expired: the cancelled ones got no signal, the others their own.
      assertThat(o.error.get() instanceof TransportException).isFalse();
    }
  }

  @Test
  void anErrorNamesItsRequestOnceAndKeepsItsIdentity() {
    IllegalStateException boom = new IllegalStateException("boom");
    Outcome a = new Outcome().watch(Mono.error(boom), 17);
    Outcome b = new Outcome().watch(Mono.error(boom), 18);
    assertThat(a.error.get()).isSameAs(boom);
    assertThat(b.error.get()).isSameAs(boom);
    // One note, from the first request: a shared exception never grows with each failure.
    assertThat(boom.getSuppressed())
        .singleElement()
        .satisfies(
            s -> assertThat(s.getMessage()).isEqualTo("fetchflux #17 GET http://example.test/17"));
  }

  @Test
  void aSupplierThatThrowsIsAnErrorOfTheAttempt() {
    AtomicReference<Throwable> error = new AtomicReference<>();
    deadlines
        .<String>watch(
            () -> {
              throw new IllegalArgumentException("no exchange");
            },
            3,
            request(3))
        .subscribe(v -> {}, error::set);
    assertThat(error.get()).isInstanceOf(IllegalArgumentException.class).hasMessage("no exchange");
    assertThat(deadlines.watched()).isZero();
  }

  @Test
  void exactlyOneOfTheResponseAndTheDeadlineWinsAndALosingResponseIsDiscarded() {
    for (int round = 0; round < 2_000; round++) {
      Sinks.One<String> sink = Sinks.one();
      AtomicInteger values = new AtomicInteger();
      AtomicInteger errors = new AtomicInteger();
      List<Object> discarded = new ArrayList<>();
      deadlines
          .watch(sink::asMono, round, request(round))
          .doOnDiscard(Object.class, discarded::add)
          .subscribe(v -> values.incrementAndGet(), e -> errors.incrementAndGet());
      RaceTestUtils.race(() -> vts.advanceTimeBy(T), () -> sink.tryEmitValue("late"));
      assertThat(values.get() + errors.get()).isEqualTo(1);
      if (errors.get() == 1) {
        // The exchange was cancelled at the deadline; a value that still came is discarded.
        assertThat(discarded).isIn(List.of(), List.of("late"));
      } else {
        assertThat(discarded).isEmpty();
      }
      assertThat(deadlines.watched()).isZero();
    }
  }

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

  /**
   * What comes after a cancel or after the deadline goes to the discard hook (a response's spilled
   * body is released); {@code Mono.timeout}, which this replaced, dropped it.
   */
  @Test
  void aValueAfterACancelOrAfterTheDeadlineIsDiscarded() {
    List<Object> discarded = new CopyOnWriteArrayList<>();
    Manual cancelled = new Manual();
    Disposable d =
        deadlines
            .watch(() -> cancelled, 1, request(1))
            .doOnDiscard(Object.class, discarded::add)
            .subscribe();
    d.dispose();
    cancelled.emit("after cancel");

    Manual expired = new Manual();
    AtomicReference<Throwable> error = new AtomicReference<>();
    deadlines
        .watch(() -> expired, 2, request(2))
        .doOnDiscard(Object.class, discarded::add)
        .subscribe(v -> {}, error::set);
    vts.advanceTimeBy(T);
    assertThat(error.get()).isInstanceOf(TransportException.class);
    expired.emit("after the deadline");
    assertThat(discarded).containsExactly("after cancel", "after the deadline");
  }

  /**
   * The deadline's error comes once the connection the attempt was using is closed, so that the
   * slot it frees cannot carry a new request to the server before the close does (the server saw
   * C + 1 under load otherwise).
   */
  @Test
  void theDeadlinesErrorWaitsForTheConnectionToClose() {
    EmbeddedChannel channel = new EmbeddedChannel();
    AtomicReference<Boolean> openAtTheError = new AtomicReference<>();
    deadlines
        .watch(
            () ->
                Mono.deferContextual(
                    ctx -> {
                      ctx.get(ConnectionTrace.KEY).attach(channel);
                      return Mono.<String>never();
                    }),
            5,
            request(5))
        .subscribe(v -> {}, e -> openAtTheError.set(channel.isOpen()));
    assertThat(channel.isOpen()).isTrue();
    vts.advanceTimeBy(T);
    assertThat(openAtTheError.get()).isFalse();
  }
}
