package dev.fetchflux.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.Fetcher;
import dev.fetchflux.testing.TestServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

@Timeout(30)
class FetcherMetricsTest {

  @Test
  void countersFollowTheFetcherAndGaugesReturnToZero() {
    try (TestServer server = TestServer.start(); Fetcher fetcher = Fetcher.builder().build()) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      new FetcherMetrics(fetcher, "t").bindTo(registry);

      fetcher.fetch(Flux.just(server.url("/bytes/10"), server.url("/bytes/20"), "not a url"))
          .blockLast(Duration.ofSeconds(10));

      assertThat(registry.get("fetchflux.results").tags("fetcher", "t", "outcome", "success")
          .functionCounter().count()).isEqualTo(2);
      assertThat(registry.get("fetchflux.results").tags("outcome", "failure")
          .functionCounter().count()).isEqualTo(1);
      assertThat(registry.get("fetchflux.body.bytes").functionCounter().count()).isEqualTo(30);
      assertThat(registry.get("fetchflux.admitted").functionCounter().count()).isEqualTo(3);
      assertThat(registry.get("fetchflux.in.flight").gauge().value()).isZero();
      assertThat(registry.get("fetchflux.reorder.waiting").gauge().value()).isZero();
    }
  }
}
