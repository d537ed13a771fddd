package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

/**
 * The limits hold where they matter, at the server, also when deadlines cut requests: a request's
 * slot (in flight, per host) is given to the next one only once the cut request's connection is
 * closed. Freed at the cancel instead, the next request could reach the server before the close
 * did, and the server saw one more than the limit for an instant.
 */
@Timeout(60)
class LimitsAtTheServerTest {

  private static List<FetchResult> fetchWithStalls(Fetcher fetcher, TestServer server, int n) {
    // Warm up first (class loading, the first connection), so the deadline only cuts stalls.
    Results.fetchAll(fetcher, server.url("/echo"));
    server.resetCounters();
    List<FetchResult> results =
        fetcher
            .fetch(
                Flux.range(0, n)
                    .map(
                        i ->
                            i % 3 == 1
                                ? server.url("/stall?i=" + i)
                                : server.url("/delay/" + (5 + i % 4 * 5) + "?i=" + i)))
            .collectList()
            .block(Results.WAIT);
    assertThat(results).hasSize(n);
    for (int i = 1; i < n; i += 3) {
      FetchResult r = results.get(i);
      assertThat(r).isInstanceOf(FetchResult.Failure.class);
      assertThat(((FetchResult.Failure) r).kind()).isEqualTo(Kind.DEADLINE);
    }
    // The others answer within milliseconds; on a loaded machine one may still miss the deadline,
    // which does not matter here: what is checked is what the server saw.
    return results;
  }

  @RepeatedTest(2)
  void perHostLimitHoldsAtTheServerWhenDeadlinesCutRequests() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .maxInFlight(16)
                .maxInFlightPerHost(2)
                .requestTimeout(Duration.ofMillis(250))
                .build()) {
      fetchWithStalls(fetcher, server, 18);
      assertThat(server.peakInFlight()).isLessThanOrEqualTo(2);
    }
  }

  @RepeatedTest(2)
  void inFlightLimitHoldsAtTheServerWhenDeadlinesCutRequests() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder().maxInFlight(3).requestTimeout(Duration.ofMillis(250)).build()) {
      fetchWithStalls(fetcher, server, 18);
      assertThat(server.peakInFlight()).isLessThanOrEqualTo(3);
    }
  }
}
