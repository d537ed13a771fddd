package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Snippets;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The retry example of docs/reliability.md, verbatim between the markers, run for real. */
@Timeout(30)
class ReliabilityDocSnippetTest {

  @Test
  void retryExampleRetriesA503UntilItSucceeds() {
    // reliability: retry
    Fetcher fetcher =
        Fetcher.builder()
            .retry(
                RetryPolicy.builder()
                    .maxAttempts(4) // 1 try + 3 retries
                    .backoff(Duration.ofMillis(200), Duration.ofSeconds(10))
                    .retryOnStatus(429, 502, 503)
                    .maxRetryTime(Duration.ofSeconds(30))
                    .build())
            .build();
    // end
    try (fetcher;
        TestServer server = TestServer.start()) {
      AtomicInteger calls = new AtomicInteger();
      server.handler(
          r -> calls.incrementAndGet() < 3 ? Reply.status(503, "busy") : Reply.ok("fine"));

      FetchResult result = fetcher.fetchOne(server.url("/flaky")).block(Duration.ofSeconds(20));

      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Success.class,
              ok -> {
                assertThat(ok.body().asString()).isEqualTo("fine");
                assertThat(ok.attempts()).isEqualTo(3);
              });
    }
  }

  @Test
  void docShowsTheTestedCode() throws IOException {
    String test =
        Files.readString(Path.of("src/test/java/dev/fetchflux/ReliabilityDocSnippetTest.java"));
    assertThat(Snippets.javaBlocks(Files.readString(Path.of("docs/reliability.md"))))
        .containsExactlyElementsOf(Snippets.markedRegions(test, "// reliability: retry", "// end"));
  }
}
