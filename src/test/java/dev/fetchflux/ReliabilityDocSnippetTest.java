package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The code in docs/reliability.md is this test's code, and it does what the page says. */
@Timeout(30)
class ReliabilityDocSnippetTest {

  @Test
  void retryExampleRetriesAStatusFromTheListAndTheDocShowsThisCode() throws IOException {
    AtomicInteger calls = new AtomicInteger();
    try (TestServer server = TestServer.start()) {
      server.handler(r -> calls.incrementAndGet() == 1 ? Reply.status(502, "bad gateway")
          : Reply.ok("fine"));
      // reliability.md start
      Fetcher fetcher = Fetcher.builder()
          .retry(RetryPolicy.builder()
              .maxAttempts(4)                                         // 1 try + 3 retries
              .backoff(Duration.ofMillis(200), Duration.ofSeconds(10))
              .retryOnStatus(429, 502, 503)
              .maxRetryTime(Duration.ofSeconds(30))
              .build())
          .build();
      // reliability.md end
      try (fetcher) {
        FetchResult.Success ok = (FetchResult.Success)
            fetcher.fetchOne(server.url("/x")).block(Duration.ofSeconds(10));
        assertThat(ok.body().asString()).isEqualTo("fine");
        assertThat(ok.attempts()).isEqualTo(2);
      }
    }

    String test = Files.readString(
        Path.of("src/test/java/dev/fetchflux/ReliabilityDocSnippetTest.java"));
    Matcher region = Pattern.compile(
        "\\n( *)// reliability\\.md start\\n(.*?)\\n *// reliability\\.md end", Pattern.DOTALL)
        .matcher(test);
    assertThat(region.find()).isTrue();
    String indent = region.group(1);
    String tested = Pattern.compile("^" + indent, Pattern.MULTILINE).matcher(region.group(2))
        .replaceAll("");
    Matcher doc = Pattern.compile("```java\\n(.*?)\\n```", Pattern.DOTALL)
        .matcher(Files.readString(Path.of("docs/reliability.md")));
    assertThat(doc.find()).isTrue();
    assertThat(doc.group(1)).isEqualTo(tested);
  }
}
