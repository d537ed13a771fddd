package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Await;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

/**
 * Spilled bodies the user never receives are deleted by the library, at once, not by the garbage
 * collector's {@code Cleaner} some day: bodies waiting behind a head when the stream is cut short,
 * bodies in flight when it is, and bodies of attempts that are retried or failed by status.
 */
@Timeout(60)
class SpillCleanupTest {

  @TempDir Path spill;

  private List<Path> spilled() {
    try (Stream<Path> s = Files.list(spill)) {
      return s.toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void awaitNoSpillFile() {
    Await.until("no spill file is left", () -> spilled().isEmpty(), this::spilled);
  }

  /**
   * Twenty streams of 30 large bodies cut short with {@code take(n)}: the slow head lets the others
   * finish and wait (spilled) behind it; those, and the ones in flight, are deleted when the stream
   * is cancelled; the user releases what was taken.
   */
  @Test
  void streamsCutShortLeaveNoSpillFile() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .maxInFlight(8)
                .spillThreshold(64 * 1024)
                .spillDirectory(spill)
                .build()) {
      server.route("/slow", Reply.ok(Reply.pattern(200_000)).withDelay(Duration.ofMillis(150)));
      for (int round = 0; round < 20; round++) {
        int take = 1 + round % 4;
        List<FetchResult> taken =
            fetcher
                .fetch(
                    Flux.range(0, 30)
                        .map(
                            i ->
                                i % 10 == 0
                                    ? server.url("/slow?i=" + i)
                                    : server.url("/bytes/200000?i=" + i)))
                .take(take)
                .collectList()
                .block(Results.WAIT);
        assertThat(taken).hasSize(take);
        for (FetchResult r : taken) {
          assertThat(r.isSuccess()).as("%s", r).isTrue();
          Body body = ((FetchResult.Success) r).body();
          assertThat(body.isInMemory()).isFalse();
          assertThat(body.size()).isEqualTo(200_000);
          body.release();
        }
        awaitNoSpillFile();
      }
    }
  }

  /** The bodies of attempts that are retried, and of statuses failed by failOnHttpError. */
  @Test
  void bodiesOfRetriedAndFailedAttemptsLeaveNoSpillFile() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .spillThreshold(1024)
                .spillDirectory(spill)
                .failOnHttpError(true)
                .retry(
                    RetryPolicy.builder()
                        .maxAttempts(3)
                        .backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                        .build())
                .build()) {
      server.route("/busy", Reply.status(503, "x".repeat(10_000)));
      server.route("/gone", Reply.status(410, "y".repeat(10_000)));
      List<FetchResult> results =
          Results.fetchAll(fetcher, server.url("/busy"), server.url("/gone"));
      assertThat(results).noneMatch(FetchResult::isSuccess);
      assertThat(((FetchResult.Failure) results.get(0)).attempts()).isEqualTo(3);
      awaitNoSpillFile();
    }
  }
}
