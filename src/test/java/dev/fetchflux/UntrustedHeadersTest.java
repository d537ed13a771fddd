package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.ChildJvm;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

/**
 * A response header never decides how much memory is taken: {@code Content-Length} is what a server
 * says, not what it sends (DESIGN.md, invariant 7). Memory grows with the bytes that arrive, and
 * responses that have no body by definition (HEAD, 204, 304) are empty whatever they announce.
 */
@Timeout(120)
class UntrustedHeadersTest {

  /**
   * 64 responses, each announcing 31,000,000 bytes, sending three and stalling, fetched 64 at a
   * time with defaults but a short deadline, in a JVM of 192 MB heap: allocating what the header
   * says would need about 2 GB. Each ends as a DEADLINE failure and nothing runs out of memory.
   */
  @Test
  void stallingResponsesAnnouncingHugeBodiesFitASmallHeap() {
    ChildJvm.Outcome outcome =
        ChildJvm.run(
            StallingHugeBodies.class,
            List.of("-Xmx192m", "-XX:+ExitOnOutOfMemoryError", "-XX:TieredStopAtLevel=1"),
            0,
            Duration.ofSeconds(90));
    assertThat(outcome.exitCode()).as("%s", outcome).isZero();
    assertThat(outcome.stdout()).as("%s", outcome).contains("results=64 DEADLINE=64");
  }

  /** The child of {@link #stallingResponsesAnnouncingHugeBodiesFitASmallHeap}. */
  static final class StallingHugeBodies {
    public static void main(String[] args) {
      int n = 64;
      try (TestServer server = TestServer.start();
          Fetcher fetcher =
              Fetcher.builder().maxInFlight(n).requestTimeout(Duration.ofSeconds(3)).build()) {
        server.route("/lie", Reply.stallAfter(31_000_000, 3));
        List<FetchResult> results =
            fetcher
                .fetch(Flux.range(0, n).map(i -> server.url("/lie?i=" + i)))
                .collectList()
                .block(Duration.ofSeconds(60));
        Map<Kind, Integer> kinds = new EnumMap<>(Kind.class);
        for (FetchResult r : results) {
          if (r instanceof FetchResult.Failure f) {
            kinds.merge(f.kind(), 1, Integer::sum);
          } else {
            System.out.println("unexpected success " + r);
          }
        }
        StringBuilder line = new StringBuilder("results=" + results.size());
        kinds.forEach((k, c) -> line.append(' ').append(k).append('=').append(c));
        System.out.println(line);
      }
    }
  }

  @Test
  void headResponseIsEmptyWhateverItsContentLengthSays() {
    try (HostileRawServer server = new HostileRawServer();
        Fetcher fetcher = Fetcher.builder().maxBodySize(1024).compression(false).build()) {
      // A 5 GB file's HEAD: the length is the file's, no body follows.
      server.script("/big", "HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\n\r\n", false);
      FetchRequest head =
          FetchRequest.builder(java.net.URI.create(server.url("/big"))).method("HEAD").build();
      List<FetchResult> results = Results.fetchAll(fetcher, head);
      assertThat(results.get(0)).isInstanceOf(FetchResult.Success.class);
      FetchResult.Success ok = (FetchResult.Success) results.get(0);
      assertThat(ok.status()).isEqualTo(200);
      assertThat(ok.headers().first("Content-Length")).isEqualTo("5000000000");
      assertThat(ok.body().isEmpty()).isTrue();
    }
  }

  @Test
  void noContentAndNotModifiedAreEmptyWhateverTheirContentLengthSays() {
    try (HostileRawServer server = new HostileRawServer();
        Fetcher fetcher = Fetcher.builder().maxBodySize(1024).compression(false).build()) {
      server.script("/204", "HTTP/1.1 204 No Content\r\nContent-Length: 999999999\r\n\r\n", false);
      server.script(
          "/304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 999999999\r\n\r\n", false);
      List<FetchResult> results = Results.fetchAll(fetcher, server.url("/204"), server.url("/304"));
      for (int i = 0; i < 2; i++) {
        assertThat(results.get(i)).as("result %d", i).isInstanceOf(FetchResult.Success.class);
        FetchResult.Success ok = (FetchResult.Success) results.get(i);
        assertThat(ok.status()).isEqualTo(i == 0 ? 204 : 304);
        assertThat(ok.body().isEmpty()).isTrue();
      }
    }
  }

  /** The limit still applies to a body that exists: an announced length past it fails at once. */
  @Test
  void announcedLengthPastTheLimitStillFailsWithoutReading() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxBodySize(1024).compression(false).build()) {
      server.route("/lie", Reply.stallAfter(31_000_000, 3));
      Results.failureBetweenGoodOnes(
          fetcher, server.url("/echo"), server.url("/lie"), Kind.BODY_TOO_LARGE);
    }
  }
}
