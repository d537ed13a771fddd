package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.TestServer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

class SmokeTest {
  @Test
  void orderedResults() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlight(16).build()) {
      Random r = new Random(1);
      List<String> urls = Flux.range(0, 300).map(i -> server.url("/delay/" + r.nextInt(30) + "?i=" + i))
          .collectList().block();
      List<FetchResult> results = fetcher.fetch(Flux.fromIterable(urls)).collectList().block(java.time.Duration.ofSeconds(30));
      assertThat(results).hasSize(300);
      for (int i = 0; i < 300; i++) {
        FetchResult.Success s = (FetchResult.Success) results.get(i);
        assertThat(s.index()).isEqualTo(i);
        assertThat(s.body().asString()).endsWith("?i=" + i);
      }
      assertThat(server.peakInFlight()).isLessThanOrEqualTo(16).isGreaterThan(8);
      List<FetchResult> bad = fetcher.fetch(Flux.just(server.url("/reset"), "nope", server.url("/truncate/100"), server.url("/loop"), server.url("/chunked-no-end/100"), server.url("/close-reset/1000"), server.url("/invalid-status"), "http://127.0.0.1:1/x")).collectList().block(java.time.Duration.ofSeconds(30));
      bad.forEach(b -> System.out.println(b instanceof FetchResult.Failure f ? f.error() + " cause=" + f.error().getCause() : b.toString()));
    }
  }
}
