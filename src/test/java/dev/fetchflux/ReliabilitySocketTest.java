package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Replies;
import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServerExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;

/**
 * Retries and politeness limits over real loopback sockets: what the server observes (attempts,
 * peak in flight, arrival times). Bounds are generous; nothing here measures speed.
 */
@Timeout(30)
class ReliabilitySocketTest {

  @RegisterExtension static final TestServerExtension server = new TestServerExtension();

  private static RetryPolicy fastRetries(int attempts) {
    return RetryPolicy.builder()
        .maxAttempts(attempts)
        .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .build();
  }

  @Test
  void resetBeforeTheResponseIsRetriedAndTheServerSeesEachAttempt() {
    server.handler(
        Replies.inTurn(
            "/flaky-reset",
            Reply.resetBeforeResponse(),
            Reply.resetBeforeResponse(),
            Reply.ok("third time")));
    try (Fetcher fetcher = Fetcher.builder().retry(fastRetries(3)).build()) {
      FetchResult r = fetcher.fetchOne(server.url("/flaky-reset")).block(Duration.ofSeconds(10));
      FetchResult.Success ok = (FetchResult.Success) r;
      assertThat(ok.body().asString()).isEqualTo("third time");
      assertThat(ok.attempts()).isEqualTo(3);
      assertThat(server.requests("/flaky-reset")).hasSize(3);
    }
  }

  @Test
  void serviceUnavailableHonoursRetryAfterAndSucceeds() {
    server.handler(
        Replies.inTurn(
            "/busy", Reply.status(503, "busy").withHeader("Retry-After", "1"), Reply.ok("free")));
    RetryPolicy policy =
        RetryPolicy.builder()
            .maxAttempts(2)
            .backoff(Duration.ofMillis(5), Duration.ofSeconds(5))
            .build();
    try (Fetcher fetcher = Fetcher.builder().retry(policy).build()) {
      FetchResult.Success ok =
          (FetchResult.Success) fetcher.fetchOne(server.url("/busy")).block(Duration.ofSeconds(10));
      assertThat(ok.body().asString()).isEqualTo("free");
      assertThat(ok.attempts()).isEqualTo(2);
      List<RecordedRequest> seen = server.requests("/busy");
      assertThat(seen).hasSize(2);
      // The backoff alone would have waited at most 5 ms; the server asked for a second.
      assertThat(Duration.between(seen.get(0).received(), seen.get(1).received()))
          .isGreaterThan(Duration.ofMillis(900));
    }
  }

  @Test
  void resetAfterTheHeadersIsNotRetried() {
    server.route("/cut-after-headers", Reply.resetAfterHeaders(1000));
    try (Fetcher fetcher = Fetcher.builder().retry(fastRetries(3)).build()) {
      FetchResult.Failure f =
          (FetchResult.Failure)
              fetcher.fetchOne(server.url("/cut-after-headers")).block(Duration.ofSeconds(10));
      assertThat(f.kind()).isEqualTo(FetchException.Kind.CONNECTION_RESET);
      assertThat(f.attempts()).isEqualTo(1);
      assertThat(f.timings().timeToFirstByte()).isPositive();
      assertThat(server.requests("/cut-after-headers")).hasSize(1);
    }
  }

  @Test
  void refusedConnectIsRetriedThenReportedWithEveryAttempt() {
    String dead = "http://127.0.0.1:1/nothing-listens";
    try (Fetcher fetcher = Fetcher.builder().retry(fastRetries(3)).build()) {
      FetchResult.Failure f =
          (FetchResult.Failure) fetcher.fetchOne(dead).block(Duration.ofSeconds(10));
      assertThat(f.kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
      assertThat(f.attempts()).isEqualTo(3);
      assertThat(f.error().getSuppressed())
          .hasSize(2)
          .allSatisfy(
              s ->
                  assertThat(((FetchException) s).kind())
                      .isEqualTo(FetchException.Kind.CONNECT_REFUSED));
      assertThat(f.error().getCause()).isInstanceOf(java.net.ConnectException.class);
    }
  }

  @Test
  void perHostLimitCapsWhatTheServerSeesInFlight() {
    List<String> urls = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      urls.add(server.url("/delay/100?i=" + i));
    }
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(16).maxInFlightPerHost(3).build()) {
      List<FetchResult> results =
          fetcher.fetch(Flux.fromIterable(urls)).collectList().block(Duration.ofSeconds(20));
      assertThat(results).hasSize(24).allMatch(FetchResult::isSuccess);
      for (int i = 0; i < 24; i++) {
        assertThat(results.get(i).index()).isEqualTo(i);
      }
    }
    assertThat(server.peakInFlight()).isBetween(2, 3);
  }

  @Test
  void perHostLimitIsSharedByConcurrentFetchCalls() {
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(8).maxInFlightPerHost(2).build()) {
      Flux<FetchResult> a =
          fetcher.fetch(Flux.range(0, 8).map(i -> server.url("/delay/100?a=" + i)));
      Flux<FetchResult> b =
          fetcher.fetch(Flux.range(0, 8).map(i -> server.url("/delay/100?b=" + i)));
      List<FetchResult> all = Flux.merge(a, b).collectList().block(Duration.ofSeconds(20));
      assertThat(all).hasSize(16).allMatch(FetchResult::isSuccess);
    }
    assertThat(server.peakInFlight()).isBetween(1, 2);
  }

  @Test
  void globalRateSpacesTheRequestsTheServerReceives() {
    int n = 8;
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(8).maxRequestsPerSecond(10).build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.range(0, n).map(i -> server.url("/echo?r=" + i)))
              .collectList()
              .block(Duration.ofSeconds(20));
      assertThat(results).hasSize(n).allMatch(FetchResult::isSuccess);
    }
    List<Instant> arrivals =
        server.requests("/echo").stream().map(RecordedRequest::received).sorted().toList();
    assertThat(arrivals).hasSize(n);
    // 8 requests at 10/s are 7 intervals of 100 ms: at least 700 ms in all (allow 20 %). Without
    // the limit all 8 go out at once. (Only a lower bound: a loaded machine can only add delay.)
    assertThat(Duration.between(arrivals.get(0), arrivals.get(n - 1)))
        .isGreaterThanOrEqualTo(Duration.ofMillis(560));
  }

  @Test
  void perHostRateSpacesRequestsToOneHost() {
    int n = 6;
    try (Fetcher fetcher = Fetcher.builder().maxRequestsPerSecondPerHost(10).build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.range(0, n).map(i -> server.url("/echo?h=" + i)))
              .collectList()
              .block(Duration.ofSeconds(20));
      assertThat(results).hasSize(n).allMatch(FetchResult::isSuccess);
    }
    List<Instant> arrivals =
        server.requests("/echo").stream().map(RecordedRequest::received).sorted().toList();
    // 5 intervals of 100 ms: at least 500 ms (allow 20 %).
    assertThat(Duration.between(arrivals.get(0), arrivals.get(n - 1)))
        .isGreaterThanOrEqualTo(Duration.ofMillis(400));
  }
}
