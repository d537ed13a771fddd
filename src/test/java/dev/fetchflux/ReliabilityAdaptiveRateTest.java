package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Await;
import dev.fetchflux.support.Replies;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Adaptive politeness against a real loopback API that enforces a rate limit (a token bucket that
 * answers {@code 429} with {@code Retry-After: 1} when empty). The same batch runs without and with
 * it; what is compared is what the server counted, not how long anything took.
 *
 * <p>The limit (5 requests a second, burst 5) sits far below what even a starved client sends, so
 * the storm shows on a loaded machine too. The storm's size is C per {@code Retry-After} wave (a
 * retrying request keeps its slot while it waits), so C is small to keep the test short; what
 * adaptive politeness cannot avoid is one round of about C (the requests sent before the first
 * 429 reached the client). Each batch takes about as long as the bucket needs to let it through
 * (~4 s).
 */
@Timeout(30)
class ReliabilityAdaptiveRateTest {

  private static final int BATCH = 24;
  private static final int CONCURRENCY = 4;
  private static final Duration LATENCY = Duration.ofMillis(20);

  /** A token bucket: {@code capacity} requests at once, refilled at {@code perSecond}. */
  private static final class RateLimitedApi implements AutoCloseable {
    final TestServer server = TestServer.start();
    final AtomicInteger accepted = new AtomicInteger();
    final AtomicInteger throttled = new AtomicInteger();
    private final double capacity;
    private final double perSecond;
    private double tokens;
    private long last = System.nanoTime();

    RateLimitedApi(int capacity, int perSecond) {
      this.capacity = capacity;
      this.perSecond = perSecond;
      this.tokens = capacity;
      server.handler(
          r -> {
            if (!r.path().equals("/api")) {
              return null;
            }
            // A success takes a little while, so the client's pace is set by C and this latency
            // rather than by how busy the machine is; a refusal is cheap and immediate, as in real
            // rate limiters.
            if (take()) {
              accepted.incrementAndGet();
              return Reply.ok("ok " + r.uri()).withDelay(LATENCY);
            }
            throttled.incrementAndGet();
            return Reply.status(429, "slow down").withHeader("Retry-After", "1");
          });
    }

    private synchronized boolean take() {
      long now = System.nanoTime();
      tokens = Math.min(capacity, tokens + (now - last) / 1e9 * perSecond);
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        return true;
      }
      return false;
    }

    List<String> batch() {
      return Flux.range(0, BATCH).map(i -> server.url("/api?i=" + i)).collectList().block();
    }

    @Override
    public void close() {
      server.close();
    }
  }

  private static FetcherBuilder client() {
    return Fetcher.builder()
        .maxInFlight(CONCURRENCY)
        .retry(
            RetryPolicy.builder()
                .maxAttempts(5)
                .backoff(Duration.ofMillis(50), Duration.ofSeconds(2))
                .build());
  }

  /**
   * Opens the client's connections first (on a path outside the limit), so the batch starts at
   * full concurrency even on a slow machine, then fetches the batch.
   */
  private static Mono<List<FetchResult>> run(Fetcher fetcher, RateLimitedApi api) {
    return fetcher
        .fetch(Flux.range(0, CONCURRENCY).map(i -> api.server.url("/delay/20")))
        .then(Mono.fromRunnable(api.server::resetCounters))
        .then(fetcher.fetch(Flux.fromIterable(api.batch())).collectList());
  }

  private static long successes(List<FetchResult> results) {
    return results.stream()
        .filter(r -> r instanceof FetchResult.Success ok && ok.status() == 200)
        .count();
  }

  @Test
  void adaptiveRateFinishesARateLimitedBatchWithFarFewer429sThanPerRequestRetries() {
    try (RateLimitedApi stormApi = new RateLimitedApi(5, 5);
        RateLimitedApi adaptiveApi = new RateLimitedApi(5, 5);
        Fetcher perRequest = client().build();
        Fetcher adaptive = client().adaptiveRate(AdaptiveRate.defaults()).build()) {
      // The two batches run side by side, each against its own API (the adaptive one mostly
      // waits, so it hardly slows the other down).
      var both =
          Mono.zip(run(perRequest, stormApi), run(adaptive, adaptiveApi))
              .block(Duration.ofSeconds(25));
      List<FetchResult> results = both.getT2();
      int storm = stormApi.throttled.get();
      int calm = adaptiveApi.throttled.get();
      String figures =
          "429s with per-request retries only: " + storm + ", with adaptive rate: " + calm;

      assertThat(both.getT1()).hasSize(BATCH);
      assertThat(results).hasSize(BATCH);
      assertThat(successes(results)).isEqualTo(BATCH);
      assertThat(adaptiveApi.accepted.get()).isEqualTo(BATCH);
      // Only requests sent before the client heard of the first 429 get one (about C: those on
      // the wire, and any a slot started while that 429 was on its way); after it the host is
      // paused for the Retry-After, then paced below what the bucket refills. Per-request retries
      // instead come back together after each Retry-After, wave after wave, C at a time.
      assertThat(calm).as(figures).isLessThanOrEqualTo(2 * CONCURRENCY);
      assertThat(storm).as(figures).isGreaterThan(2 * calm);
      assertThat(adaptive.stats().retries()).isEqualTo(calm);
    }
  }

  @Test
  void withoutThrottlingAdaptiveRateChangesNothing() {
    try (RateLimitedApi api = new RateLimitedApi(1000, 1000);
        Fetcher fetcher = client().adaptiveRate(AdaptiveRate.defaults()).build()) {
      List<FetchResult> results = run(fetcher, api).block(Duration.ofSeconds(20));

      assertThat(successes(results)).isEqualTo(BATCH);
      assertThat(api.throttled.get()).isZero();
      assertThat(api.server.peakInFlight()).isEqualTo(CONCURRENCY); // not paced: all of C at once
      assertThat(fetcher.stats().retries()).isZero();
      // Permits are given back just after the last result is emitted.
      Await.until("no host is active", () -> fetcher.stats().hosts().isEmpty(), fetcher::stats);
    }
  }

  @Test
  void retriedRequestWaitsForItsHostsPauseEvenWhenItsOwnBackoffIsShorter() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .adaptiveRate(AdaptiveRate.defaults())
                // The retry's own wait is capped at 10 ms: only the host's pause can hold it back.
                .retry(
                    RetryPolicy.builder()
                        .maxAttempts(2)
                        .backoff(Duration.ofMillis(10), Duration.ofMillis(10))
                        .build())
                .build()) {
      server.handler(
          Replies.inTurn(
              "/busy", Reply.status(503, "busy").withHeader("Retry-After", "1"), Reply.ok("free")));

      FetchResult.Success ok =
          (FetchResult.Success) fetcher.fetchOne(server.url("/busy")).block(Duration.ofSeconds(10));

      assertThat(ok.attempts()).isEqualTo(2);
      assertThat(
              Duration.between(
                  server.requests().get(0).received(), server.requests().get(1).received()))
          .isGreaterThanOrEqualTo(Duration.ofMillis(900));
    }
  }
}
