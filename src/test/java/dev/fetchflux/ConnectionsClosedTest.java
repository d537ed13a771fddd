package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.Await;
import dev.fetchflux.support.OpenDescriptors;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

/**
 * A connection whose response will not be read to its end is closed, not kept: a request cut by its
 * deadline, cancelled by {@code take(n)}, or failed past the body limit while decoding. Counted on
 * this process's own descriptors (Linux {@code /proc/self/fd}), a few rounds each, since the close
 * races the next request on the event loops.
 */
@Timeout(60)
class ConnectionsClosedTest {

  @BeforeEach
  void linuxOnly() {
    Assumptions.assumeTrue(OpenDescriptors.supported(), "needs /proc/self/fd");
  }

  private static void awaitNoConnectionTo(TestServer server) {
    Await.until(
        "no client connection to the server is open",
        () -> OpenDescriptors.connectionsTo(server.port()).isEmpty(),
        () -> OpenDescriptors.connectionsTo(server.port()));
  }

  @RepeatedTest(3)
  void requestsCutByTheirDeadlineCloseTheirConnections() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder().maxInFlight(8).requestTimeout(Duration.ofMillis(300)).build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.range(0, 24).map(i -> server.url("/stall?i=" + i)))
              .collectList()
              .block(Results.WAIT);
      assertThat(results)
          .hasSize(24)
          .allMatch(r -> r instanceof FetchResult.Failure f && f.kind() == Kind.DEADLINE);
      awaitNoConnectionTo(server);
    }
  }

  @RepeatedTest(3)
  void requestsCancelledByTakeCloseTheirConnections() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlight(8).build()) {
      List<FetchResult> taken =
          fetcher
              .fetch(
                  Flux.range(0, 24)
                      .map(i -> i == 0 ? server.url("/echo") : server.url("/stall?i=" + i)))
              .take(1)
              .collectList()
              .block(Results.WAIT);
      assertThat(taken).hasSize(1);
      // The first request's connection went back to the pool: only the stalled ones must close.
      Await.until(
          "the stalled requests' connections are closed",
          () -> OpenDescriptors.connectionsTo(server.port()).size() <= 1,
          () -> OpenDescriptors.connectionsTo(server.port()));
    }
  }

  @RepeatedTest(3)
  void bodyPastTheLimitWhileDecodingClosesItsConnection() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder().maxInFlight(4).maxBodySize(64 * 1024).maxIdleConnections(0).build()) {
      server.route("/bomb", Reply.gzip(new byte[4 << 20]));
      List<FetchResult> results =
          fetcher
              .fetch(Flux.range(0, 6).map(i -> server.url("/bomb?i=" + i)))
              .collectList()
              .block(Results.WAIT);
      assertThat(results)
          .hasSize(6)
          .allMatch(r -> r instanceof FetchResult.Failure f && f.kind() == Kind.BODY_TOO_LARGE);
      awaitNoConnectionTo(server);
    }
  }

  @RepeatedTest(3)
  void closingTheFetcherClosesEveryConnection() {
    TestServer server = TestServer.start();
    try {
      Fetcher fetcher = Fetcher.builder().maxInFlight(8).build();
      fetcher
          .fetch(Flux.range(0, 16).map(i -> server.url("/delay/20?i=" + i)))
          .collectList()
          .block(Results.WAIT);
      assertThat(OpenDescriptors.connectionsTo(server.port())).isNotEmpty(); // kept alive
      fetcher.close();
      awaitNoConnectionTo(server);
    } finally {
      server.close();
    }
  }

  /**
   * A thread that was interrupted (a Flink task being cancelled, an executor shutting down) still
   * closes the fetcher completely, and keeps its interrupt flag.
   */
  @RepeatedTest(2)
  void closingFromAnInterruptedThreadStillClosesEverything() {
    TestServer server = TestServer.start();
    try {
      Fetcher fetcher = Fetcher.builder().maxInFlight(4).build();
      fetcher
          .fetch(Flux.range(0, 8).map(i -> server.url("/echo?i=" + i)))
          .collectList()
          .block(Results.WAIT);
      assertThat(OpenDescriptors.connectionsTo(server.port())).isNotEmpty();
      Thread.currentThread().interrupt();
      try {
        fetcher.close();
      } finally {
        assertThat(Thread.interrupted()).as("the interrupt flag is kept").isTrue();
      }
      awaitNoConnectionTo(server);
    } finally {
      server.close();
    }
  }
}
