package dev.fetchflux.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** The integration recipe of docs/testing.md: a real fetcher against a real local server. */
@Timeout(30)
class RecipeIntegrationTest {

  // recipe: integration
  @RegisterExtension static TestServerExtension server = new TestServerExtension();

  @Test
  void fetchesInOrderWithinTheLimitAndReportsResets() {
    server.route("/slow", Reply.ok("slow").withDelay(Duration.ofMillis(200)));
    server.route("/fast", Reply.ok("fast"));
    server.route("/broken", Reply.resetBeforeResponse());

    try (Fetcher fetcher = Fetcher.builder().maxInFlight(2).build()) {
      Flux<String> results =
          fetcher
              .fetch(Flux.just(server.url("/slow"), server.url("/fast"), server.url("/broken")))
              .map(
                  r ->
                      r instanceof FetchResult.Success ok
                          ? r.index() + " " + ok.body().asString()
                          : r.index() + " " + ((FetchResult.Failure) r).kind());

      StepVerifier.create(results)
          .expectNext("0 slow", "1 fast", "2 CONNECTION_RESET")
          .expectComplete()
          .verify(Duration.ofSeconds(5));
    }

    assertThat(server.requests("/slow")).hasSize(1);
    assertThat(server.peakInFlight()).isLessThanOrEqualTo(2);
  }
  // end
}
