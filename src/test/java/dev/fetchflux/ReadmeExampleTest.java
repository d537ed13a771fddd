package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

/** The README's first example, verbatim between the markers, run against a local server. */
@Timeout(30)
class ReadmeExampleTest {

  @Test
  void readmeExamplePrintsResultsInInputOrder() {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      // README example start
      try (TestServer server = TestServer.start();
          Fetcher fetcher = Fetcher.builder().maxInFlight(32).build()) {
        Flux<String> urls = Flux.range(0, 100) // later URLs answer first
            .map(i -> server.url("/delay/" + (100 - i) + "?i=" + i));
        fetcher.fetch(urls)
            .map(r -> r instanceof FetchResult.Success ok
                ? ok.index() + " " + ok.status() + " " + ok.body().asString()
                : ((FetchResult.Failure) r).error().getMessage())
            .doOnNext(System.out::println)
            .blockLast();
      }
      // README example end
    } finally {
      System.setOut(original);
    }
    List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(lines).hasSize(100);
    for (int i = 0; i < 100; i++) {
      assertThat(lines.get(i)).isEqualTo(i + " 200 /delay/" + (100 - i) + "?i=" + i);
    }
  }
}
