package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Await;
import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

@Timeout(30)
class FetcherStatsTest {

  @Test
  void statsShowTheBacklogBehindASlowHeadAndDrainToZero() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlight(4).build()) {
      List<String> urls =
          Flux.range(0, 9)
              .map(i -> server.url(i == 0 ? "/delay/1500" : "/bytes/100?i=" + i))
              .collectList()
              .block();

      Sinks.One<List<FetchResult>> all = Sinks.one();
      Disposable run =
          fetcher.fetch(Flux.fromIterable(urls)).collectList().subscribe(all::tryEmitValue);

      FetcherStats during = awaitStats(fetcher, s -> s.waiting() == 8);
      assertThat(during.inFlight()).isEqualTo(1);
      assertThat(during.waitingBytes()).isGreaterThanOrEqualTo(8 * 100);
      assertThat(during.emitted()).isZero();

      List<FetchResult> results = all.asMono().block(Duration.ofSeconds(10));
      assertThat(results).hasSize(9);
      FetcherStats after = fetcher.stats();
      assertThat(after.inFlight()).isZero();
      assertThat(after.waiting()).isZero();
      assertThat(after.waitingBytes()).isZero();
      assertThat(after.emitted()).isEqualTo(9);
      assertThat(after.succeeded()).isEqualTo(9);
      assertThat(after.failed()).isZero();
      run.dispose();
    }
  }

  @Test
  void cancellingAStreamReleasesItsGauges() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlight(3).build()) {
      Disposable run =
          fetcher
              .fetch(Flux.just(server.url("/stall"), server.url("/echo"), server.url("/stall")))
              .subscribe();
      awaitStats(fetcher, s -> s.inFlight() == 2 && s.waiting() == 1);

      run.dispose();

      FetcherStats after = fetcher.stats();
      assertThat(after.inFlight()).isZero();
      assertThat(after.waiting()).isZero();
    }
  }

  @Test
  void perHostFiguresShowRequestsQueuedForTheHostsLimitAndInFlightToIt() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlight(6).maxInFlightPerHost(2).build()) {
      Disposable run =
          fetcher.fetch(Flux.range(0, 6).map(i -> server.url("/stall?i=" + i))).subscribe();

      FetcherStats during =
          awaitStats(
              fetcher,
              s ->
                  s.hosts().size() == 1
                      && s.hosts().get(0).inFlight() == 2
                      && s.hosts().get(0).queued() == 4);
      FetcherStats.Host host = during.hosts().get(0);
      assertThat(host.host()).isEqualTo("127.0.0.1");
      assertThat(host.rateLimit()).isZero();
      assertThat(host.throttled()).isFalse();
      assertThat(during.inFlight()).isEqualTo(6); // the call's view: queued ones hold a C slot

      run.dispose();
      assertThat(fetcher.stats().hosts()).isEmpty();
    }
  }

  @Test
  void withoutPerHostLimitsNoHostIsTracked() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxRequestsPerSecond(1000).build()) {
      Disposable run = fetcher.fetch(Flux.just(server.url("/stall"))).subscribe();
      awaitStats(fetcher, s -> s.inFlight() == 1);
      assertThat(fetcher.stats().hosts()).isEmpty();
      run.dispose();
    }
  }

  @Test
  void everyRepeatedAttemptCountsAsARetry() {
    RetryPolicy twoRetries =
        RetryPolicy.builder()
            .maxAttempts(3)
            .backoff(Duration.ofMillis(5), Duration.ofMillis(20))
            .build();
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().retry(twoRetries).build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.just(server.url("/status/503"), server.url("/echo")))
              .collectList()
              .block(Duration.ofSeconds(10));

      assertThat(results).hasSize(2);
      assertThat(fetcher.stats().retries()).isEqualTo(2);
    }
  }

  private static FetcherStats awaitStats(Fetcher fetcher, Predicate<FetcherStats> condition) {
    Await.until("the stats match", () -> condition.test(fetcher.stats()), fetcher::stats);
    return fetcher.stats();
  }
}
