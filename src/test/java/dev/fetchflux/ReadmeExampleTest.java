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
        // Later URLs answer first, yet the results come in input order, as soon as they can.
        Flux<String> urls =
            Flux.range(0, 100).map(i -> server.url("/delay/" + (100 - i) + "?i=" + i));
        for (FetchResult r : fetcher.fetch(urls).toIterable()) {
          String what =
              r instanceof FetchResult.Success ok
                  ? ok.status() + " " + ok.body().asString()
                  : ((FetchResult.Failure) r).error().getMessage();
          System.out.println(r.index() + " " + what);
        }
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
