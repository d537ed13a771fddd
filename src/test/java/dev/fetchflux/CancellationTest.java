package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.Await;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServerExtension;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/**
 * Fail-fast, {@code take(n)} and {@code dispose()} stop the work behind them: the server sees the
 * requests in flight abandoned (their connections closed) and no new ones.
 */
@Timeout(60)
class CancellationTest {

  @RegisterExtension final TestServerExtension server = new TestServerExtension();

  private void awaitServerIdle() {
    Await.until(
        "the server has no request in flight",
        () -> server.get().inFlight() == 0,
        () -> "in flight: " + server.get().inFlight());
  }

  @Test
  void fetchOrFailEndsWithTheFirstFailureAndCancelsTheRest() {
    int c = 8;
    Flux<String> urls =
        Flux.range(0, 40)
            .map(
                i -> {
                  if (i < 4) {
                    return server.url("/echo?i=" + i);
                  }
                  return i == 4 ? server.url("/reset") : server.url("/stall?i=" + i);
                });
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(c).build()) {
      StepVerifier.create(fetcher.fetchOrFail(urls))
          .expectNextMatches(ok -> ok.index() == 0 && ok.body().asString().endsWith("?i=0"))
          .expectNextMatches(ok -> ok.index() == 1)
          .expectNextMatches(ok -> ok.index() == 2)
          .expectNextMatches(ok -> ok.index() == 3)
          .expectErrorSatisfies(
              e -> {
                assertThat(e).isInstanceOf(FetchException.class);
                FetchException f = (FetchException) e;
                assertThat(f.index()).isEqualTo(4);
                assertThat(f.uri()).isEqualTo(server.uri("/reset"));
                assertThat(f.kind()).isEqualTo(Kind.CONNECTION_RESET);
                assertThat(f.getCause()).isInstanceOf(IOException.class);
                assertThat(f.getMessage()).startsWith("#4 GET " + server.url("/reset"));
              })
          .verify(Results.WAIT);
    }

    awaitServerIdle();
    int stalls = server.requests("/stall").size();
    // Only what the in-flight limit let through was ever sent, and every stalled one was abandoned
    // (the reset one too: its reply never completed).
    assertThat(server.requests()).hasSizeLessThanOrEqualTo(5 + c);
    assertThat(server.abandoned()).isEqualTo(stalls + 1);
  }

  @Test
  void fetchOrFailReportsTheFirstFailureInInputOrderNotInTime() {
    // Input 2 fails at once, input 1 only after 300 ms: the error is input 1's.
    server.route("/slow-ok", Reply.ok("ok").withDelay(Duration.ofMillis(100)));
    server.route("/late-failure", Reply.truncated(1000, 10).withDelay(Duration.ofMillis(300)));
    try (Fetcher fetcher = Fetcher.builder().build()) {
      Flux<String> urls =
          Flux.just(
              server.url("/slow-ok"),
              server.url("/late-failure"),
              server.url("/reset"),
              server.url("/echo"));

      StepVerifier.create(fetcher.fetchOrFail(urls))
          .expectNextMatches(ok -> ok.index() == 0)
          .expectErrorSatisfies(
              e -> {
                FetchException f = (FetchException) e;
                assertThat(f.index()).isEqualTo(1);
                assertThat(f.kind()).isEqualTo(Kind.TRUNCATED_BODY);
              })
          .verify(Results.WAIT);
    }
  }

  @Test
  void fetchOrFailCompletesWhenEverythingSucceeds() {
    try (Fetcher fetcher = Fetcher.builder().build()) {
      StepVerifier.create(fetcher.fetchOrFail(Flux.range(0, 5).map(i -> server.url("/echo?" + i))))
          .expectNextCount(5)
          .expectComplete()
          .verify(Results.WAIT);
    }
  }

  @Test
  void takeOnAMillionLazyUrlsPullsOnlyABoundedNumber() {
    AtomicLong generated = new AtomicLong();
    Flux<String> million =
        Flux.range(0, 1_000_000)
            .doOnNext(i -> generated.incrementAndGet())
            .map(i -> server.url("/echo?i=" + i));
    int c = 8;
    int w = 16;
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(c).reorderWindow(w).build()) {
      StepVerifier.create(fetcher.fetch(million).take(10))
          .thenConsumeWhile(r -> true, r -> assertThat(r.isSuccess()).isTrue())
          .expectComplete()
          .verify(Results.WAIT);
    }

    // Input is pulled only as admission allows: at most W past the ten taken.
    assertThat(generated.get()).isBetween(10L, 10L + w);
    awaitServerIdle();
    assertThat(server.requests().size()).isLessThanOrEqualTo(10 + w);
  }

  @Test
  void disposeAbortsRequestsInFlightAndClosesTheirConnections() {
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(5).build()) {
      Disposable subscription =
          fetcher.fetch(Flux.range(0, 20).map(i -> server.url("/stall?i=" + i))).subscribe();
      Await.until("five requests in flight", () -> server.get().inFlight() == 5);

      subscription.dispose();

      awaitServerIdle();
      assertThat(server.abandoned()).isEqualTo(5);
      Await.until(
          "their connections are closed",
          () -> server.get().connectionsOpen() == 0,
          () -> server.get().connectionsOpen());
      assertThat(server.requests()).hasSize(5);
    }
  }

  @Test
  void takeAbortsTheRequestsStillInFlight() {
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(6).build()) {
      Flux<String> urls =
          Flux.range(0, 10)
              // The first three answer after 300 ms, so that the stalling requests admitted beside
              // them have reached the server when take(3) cancels them (with an instant answer,
              // take(3) could end before any was sent: nothing to abort, on a loaded machine).
              .map(i -> i < 3 ? server.url("/delay/300?i=" + i) : server.url("/stall?i=" + i));

      StepVerifier.create(fetcher.fetch(urls).take(3))
          .expectNextCount(3)
          .expectComplete()
          .verify(Results.WAIT);

      awaitServerIdle();
      assertThat(server.abandoned()).isEqualTo(server.requests("/stall").size()).isPositive();
    }
  }

  @Test
  void cancellingFetchOneAbortsItsRequest() {
    try (Fetcher fetcher = Fetcher.builder().build()) {
      Disposable subscription = fetcher.fetchOne(server.url("/stall")).subscribe();
      Await.until("the request is in flight", () -> server.get().inFlight() == 1);

      subscription.dispose();

      awaitServerIdle();
      assertThat(server.abandoned()).isEqualTo(1);
    }
  }
}
