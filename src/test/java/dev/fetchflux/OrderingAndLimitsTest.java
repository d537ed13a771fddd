package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Await;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServerExtension;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** Ordering and the in-flight and window limits, seen from both ends of real sockets. */
@Timeout(60)
class OrderingAndLimitsTest {

  @RegisterExtension final TestServerExtension server = new TestServerExtension();

  private Flux<String> randomlyDelayed(int count, int maxDelayMillis, long seed) {
    Random random = new Random(seed);
    return Flux.range(0, count)
        .map(i -> server.url("/delay/" + random.nextInt(maxDelayMillis + 1) + "?i=" + i));
  }

  @Test
  void thousandUrlsWithRandomDelaysComeOutInInputOrder() {
    int count = 1000;
    int c = 32;
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(c).build()) {
      StepVerifier.create(fetcher.fetch(randomlyDelayed(count, 5, 1)))
          .thenConsumeWhile(r -> true, new OrderCheck(count)::accept)
          .expectComplete()
          .verify(Results.WAIT.multipliedBy(3));
    }
    assertThat(server.requests()).hasSize(count);
    assertThat(server.peakInFlight()).isLessThanOrEqualTo(c);
  }

  @Test
  void serverSeesCloseToTheLimitButNeverMore() {
    // Each request takes 300 ms, so the fetcher has time to fill all C slots in every wave.
    int c = 32;
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(c).build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.range(0, 3 * c).map(i -> server.url("/delay/300?i=" + i)))
              .collectList()
              .block(Results.WAIT);

      assertThat(results).hasSize(3 * c).allMatch(FetchResult::isSuccess);
    }
    assertThat(server.peakInFlight()).isLessThanOrEqualTo(c).isGreaterThanOrEqualTo(c * 3 / 4);
  }

  /** Checks each result is the next index, a success, with the body the server echoed for it. */
  private static final class OrderCheck {
    private final int count;
    private long next;

    OrderCheck(int count) {
      this.count = count;
    }

    void accept(FetchResult r) {
      assertThat(r.index()).isEqualTo(next);
      assertThat(r)
          .isInstanceOfSatisfying(
              FetchResult.Success.class,
              ok -> {
                assertThat(ok.status()).isEqualTo(200);
                assertThat(ok.body().asString()).endsWith("?i=" + next);
              });
      next++;
      assertThat(next).isLessThanOrEqualTo(count);
    }
  }

  @Test
  void resultsKeepInputOrderWhenLaterUrlFinishesFirst() {
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(4).build()) {
      server.route("/slow", Reply.ok("slow").withDelay(java.time.Duration.ofMillis(300)));
      server.route("/fast", Reply.ok("fast"));

      StepVerifier.create(
              fetcher
                  .fetch(Flux.just(server.url("/slow"), server.url("/fast")))
                  .map(r -> ((FetchResult.Success) r).body().asString()))
          .expectNext("slow", "fast")
          .expectComplete()
          .verify(Results.WAIT);
    }
  }

  @Test
  void firstIndexNumbersResultsAndFailuresFromThereInInputOrder() {
    server.route("/slow", Reply.ok("slow").withDelay(java.time.Duration.ofMillis(200)));
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(4).build()) {
      List<FetchResult> results =
          fetcher
              .fetch(
                  Flux.just(server.url("/slow"), "not a url", server.url("/echo?c")),
                  Results::toRequest,
                  41)
              .collectList()
              .block(Results.WAIT);

      assertThat(results).extracting(FetchResult::index).containsExactly(41L, 42L, 43L);
      assertThat(((FetchResult.Success) results.get(0)).body().asString()).isEqualTo("slow");
      FetchException bad = ((FetchResult.Failure) results.get(1)).error();
      assertThat(bad.index()).isEqualTo(42);
      assertThat(bad.getMessage()).startsWith("#42 GET not a url: ");
    }
  }

  @Test
  void negativeFirstIndexIsRefused() {
    try (Fetcher fetcher = Fetcher.builder().build()) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> fetcher.fetch(Flux.just(server.url("/echo")), Results::toRequest, -1))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("firstIndex < 0: -1");
    }
  }

  @Test
  void unorderedEmitsEveryInputOnceWithItsIndex() {
    int count = 100;
    Set<Long> seen = new HashSet<>();
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(16).build()) {
      StepVerifier.create(fetcher.fetchUnordered(randomlyDelayed(count, 20, 2)))
          .thenConsumeWhile(
              r -> true,
              r -> {
                assertThat(seen.add(r.index())).as("index %d once", r.index()).isTrue();
                assertThat(((FetchResult.Success) r).body().asString()).endsWith("?i=" + r.index());
              })
          .expectComplete()
          .verify(Results.WAIT);
    }
    assertThat(seen).hasSize(count);
    assertThat(server.peakInFlight()).isLessThanOrEqualTo(16);
  }

  @Test
  void neverExceedsConcurrencyLimitOfOne() {
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(1).build()) {
      List<FetchResult> results =
          fetcher.fetch(randomlyDelayed(30, 5, 3)).collectList().block(Results.WAIT);

      assertThat(results).hasSize(30);
      assertThat(server.peakInFlight()).isEqualTo(1);
    }
  }

  @Test
  void slowHeadDoesNotStopLaterRequestsWhileTheWindowHasRoom() {
    // C = 4, W = 40. The head never answers; flatMapSequential(f, 4) would send three more requests
    // and stall. Here the server must see all 30 others while the head is still pending.
    server.route("/head", Reply.stall());
    List<FetchResult> emitted = new CopyOnWriteArrayList<>();
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(4).reorderWindow(40).build()) {
      Flux<String> urls =
          Flux.concat(
              Flux.just(server.url("/head")),
              Flux.range(1, 30).map(i -> server.url("/echo?i=" + i)));
      Disposable subscription = fetcher.fetch(urls).subscribe(emitted::add);
      try {
        Await.until(
            "the server has seen the head and the 30 after it",
            () -> server.requests().size() == 31,
            () -> server.requests().size());

        assertThat(server.requests("/head")).hasSize(1);
        assertThat(server.get().inFlight()).as("only the head still pending").isEqualTo(1);
        assertThat(emitted).as("nothing passes the pending head").isEmpty();
        assertThat(server.peakInFlight()).isLessThanOrEqualTo(4);
      } finally {
        subscription.dispose();
      }
      Await.until("the head's request is abandoned", () -> server.abandoned() == 1);
    }
  }

  @Test
  void slowHeadStopsAdmissionWhenTheWindowIsFull() {
    // W = 10: the head and nine more are admitted; the tenth after the head waits for the head.
    server.route("/head", Reply.ok("head").withDelay(java.time.Duration.ofMillis(500)));
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(4).reorderWindow(10).build()) {
      Flux<String> urls =
          Flux.concat(
              Flux.just(server.url("/head")),
              Flux.range(1, 30).map(i -> server.url("/echo?i=" + i)));

      StepVerifier.create(fetcher.fetch(urls))
          .then(
              () ->
                  Await.until(
                      "the first ten requests arrived", () -> server.requests().size() == 10))
          // The head is still pending (500 ms): admission must stop at the window.
          .then(() -> assertThat(server.requests("/head")).hasSize(1))
          .then(() -> assertThat(server.requests().size()).isEqualTo(10))
          .expectNextCount(31)
          .expectComplete()
          .verify(Results.WAIT);
    }
  }
}
