package dev.fetchflux.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherBuilder;
import dev.fetchflux.ResolveRule;
import dev.fetchflux.RetryPolicy;
import dev.fetchflux.support.Await;
import dev.fetchflux.testing.TestServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;

@Timeout(30)
class FetcherMetricsTest {

  @Test
  void countersFollowTheFetcherAndGaugesReturnToZero() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      new FetcherMetrics(fetcher, "t").bindTo(registry);

      fetcher
          .fetch(Flux.just(server.url("/bytes/10"), server.url("/bytes/20"), "not a url"))
          .blockLast(Duration.ofSeconds(10));

      assertThat(
              registry
                  .get("fetchflux.results")
                  .tags("fetcher", "t", "outcome", "success")
                  .functionCounter()
                  .count())
          .isEqualTo(2);
      assertThat(
              registry
                  .get("fetchflux.results")
                  .tags("outcome", "failure")
                  .functionCounter()
                  .count())
          .isEqualTo(1);
      assertThat(registry.get("fetchflux.body.bytes").functionCounter().count()).isEqualTo(30);
      assertThat(registry.get("fetchflux.admitted").functionCounter().count()).isEqualTo(3);
      assertThat(registry.get("fetchflux.in.flight").gauge().value()).isZero();
      assertThat(registry.get("fetchflux.reorder.waiting").gauge().value()).isZero();
      assertThat(registry.find("fetchflux.host.queued").gauges()).isEmpty(); // no per-host limit
    }
  }

  @Test
  void retriesAreCounted() {
    RetryPolicy retryOnce =
        RetryPolicy.builder()
            .maxAttempts(2)
            .backoff(Duration.ofMillis(5), Duration.ofMillis(5))
            .build();
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().retry(retryOnce).build()) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      new FetcherMetrics(fetcher, "t").bindTo(registry);

      fetcher.fetchOne(server.url("/status/503")).block(Duration.ofSeconds(10));

      assertThat(registry.get("fetchflux.retries").functionCounter().count()).isEqualTo(1);
    }
  }

  @Test
  void busiestHostsGetGaugesTaggedWithTheHostWhichGoAwayWhenTheHostIsIdle() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .maxInFlight(5)
                .maxInFlightPerHost(2)
                .maxRequestsPerSecondPerHost(500)
                .build();
        // A long refresh period: the test renews the set itself, at the moments it checks.
        FetcherMetrics metrics = new FetcherMetrics(fetcher, "t", 10, Duration.ofHours(1))) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      metrics.bindTo(registry);
      Disposable run =
          fetcher.fetch(Flux.range(0, 5).map(i -> server.url("/stall?i=" + i))).subscribe();
      Await.until(
          "two in flight, three queued",
          () ->
              fetcher.stats().hosts().size() == 1 && fetcher.stats().hosts().get(0).inFlight() == 2,
          fetcher::stats);

      metrics.refreshHosts();

      assertThat(
              registry
                  .get("fetchflux.host.queued")
                  .tags("fetcher", "t", "host", "127.0.0.1")
                  .gauge()
                  .value())
          .isEqualTo(3);
      assertThat(registry.get("fetchflux.host.in.flight").tag("host", "127.0.0.1").gauge().value())
          .isEqualTo(2);
      assertThat(registry.get("fetchflux.host.rate.limit").tag("host", "127.0.0.1").gauge().value())
          .isEqualTo(500);

      run.dispose();
      // Live values between refreshes (the shared snapshot is at most 100 ms old) ...
      Await.until(
          "the gauge reads 0",
          () ->
              registry.get("fetchflux.host.in.flight").tag("host", "127.0.0.1").gauge().value()
                  == 0);
      // ... and an idle host's gauges are gone at the next refresh.
      metrics.refreshHosts();
      assertThat(registry.find("fetchflux.host.queued").gauges()).isEmpty();
      assertThat(registry.find("fetchflux.host.in.flight").gauges()).isEmpty();
      assertThat(registry.find("fetchflux.host.rate.limit").gauges()).isEmpty();
    }
  }

  @Test
  void onlyTheBusiestHostsUpToTheLimitGetGauges() {
    try (TestServer server = TestServer.start()) {
      FetcherBuilder builder = Fetcher.builder().maxInFlight(8).maxInFlightPerHost(1);
      for (String name : List.of("a.test", "b.test", "c.test")) {
        builder.resolve(ResolveRule.parse(name + ":" + server.port() + ":127.0.0.1"));
      }
      try (Fetcher fetcher = builder.build();
          FetcherMetrics metrics = new FetcherMetrics(fetcher, "t", 2, Duration.ofHours(1))) {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        metrics.bindTo(registry);
        // Three host names for one server: a.test gets 4 requests, b.test 3 and c.test 1.
        List<String> urls =
            List.of("a", "a", "a", "a", "b", "b", "b", "c").stream()
                .map(n -> "http://" + n + ".test:" + server.port() + "/stall")
                .collect(Collectors.toList());
        Disposable run = fetcher.fetch(Flux.fromIterable(urls)).subscribe();
        Await.until(
            "one request of each host at the server", () -> server.inFlight() == 3, fetcher::stats);

        metrics.refreshHosts();

        assertThat(registry.find("fetchflux.host.queued").gauges())
            .extracting(g -> g.getId().getTag("host"))
            .containsExactlyInAnyOrder("a.test", "b.test");
        assertThat(registry.get("fetchflux.host.queued").tag("host", "a.test").gauge().value())
            .isEqualTo(3);
        run.dispose();
      }
    }
  }

  @Test
  void closeRemovesTheHostGaugesAndKeepsTheRest() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlightPerHost(1).build()) {
      FetcherMetrics metrics = new FetcherMetrics(fetcher, "t", 10, Duration.ofHours(1));
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      metrics.bindTo(registry);
      Disposable run = fetcher.fetch(Flux.just(server.url("/stall"))).subscribe();
      Await.until("one in flight", () -> !fetcher.stats().hosts().isEmpty(), fetcher::stats);
      metrics.refreshHosts();
      assertThat(registry.find("fetchflux.host.in.flight").gauges()).hasSize(1);

      metrics.close();

      assertThat(registry.find("fetchflux.host.in.flight").gauges()).isEmpty();
      assertThat(registry.find("fetchflux.in.flight").gauges())
          .extracting(Gauge::value)
          .containsExactly(1.0);
      run.dispose();
    }
  }

  @Test
  void hostGaugesAreRenewedByTheirOwnTimer() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlightPerHost(1).build();
        FetcherMetrics metrics = new FetcherMetrics(fetcher, "t", 10, Duration.ofMillis(20))) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      metrics.bindTo(registry);
      Disposable run = fetcher.fetch(Flux.just(server.url("/stall"))).subscribe();

      Await.until(
          "the host has a gauge",
          () -> !registry.find("fetchflux.host.in.flight").gauges().isEmpty());
      run.dispose();
      Await.until(
          "the idle host's gauge is gone",
          () -> registry.find("fetchflux.host.in.flight").gauges().isEmpty());
    }
  }

  @Test
  void invalidHostGaugeSettingsAreRefused() {
    try (Fetcher fetcher = Fetcher.builder().build()) {
      assertThatThrownBy(() -> new FetcherMetrics(fetcher, "t", -1, Duration.ofSeconds(1)))
          .hasMessage("maxHosts < 0: -1");
      assertThatThrownBy(() -> new FetcherMetrics(fetcher, "t", 1, Duration.ZERO))
          .hasMessage("hostRefresh must be positive: PT0S");
    }
  }
}
