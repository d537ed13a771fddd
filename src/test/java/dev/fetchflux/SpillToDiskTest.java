package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.support.Await;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

@Timeout(30)
class SpillToDiskTest {

  @TempDir Path dir;

  @Test
  void bodiesPastTheThresholdLandInFilesWithTheServedBytes() throws Exception {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().spillThreshold(64 * 1024).spillDirectory(dir).build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.just(server.url("/bytes/1000"), server.url("/bytes/3000000")))
              .collectList()
              .block(Duration.ofSeconds(20));

      FetchResult.Success small = (FetchResult.Success) results.get(0);
      FetchResult.Success big = (FetchResult.Success) results.get(1);
      assertThat(small.body().isInMemory()).isTrue();
      assertThat(big.body().isInMemory()).isFalse();
      assertThat(big.body().file()).hasParent(dir);
      assertThat(big.body().size()).isEqualTo(3_000_000);
      assertThat(big.body().toByteArray()).isEqualTo(Reply.pattern(3_000_000));

      big.body().release();
      assertThat(big.body().file()).doesNotExist();
      assertThatThrownBy(() -> big.body().toByteArray())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("released");
    }
  }

  @Test
  void bodyOverTheLimitLeavesNoSpillFileBehind() throws Exception {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .spillThreshold(1024)
                .spillDirectory(dir)
                .maxBodySize(100_000)
                .compression(true)
                .build()) {
      server.route("/big", Reply.closeDelimited(Reply.pattern(500_000)));
      FetchResult r = fetcher.fetchOne(server.url("/big")).block(Duration.ofSeconds(20));

      assertThat(r)
          .isInstanceOfSatisfying(
              FetchResult.Failure.class,
              f -> assertThat(f.kind()).isEqualTo(FetchException.Kind.BODY_TOO_LARGE));
      // The spill file is deleted off the event loop: wait for that, boundedly.
      Await.until("the spill directory is empty", () -> listFiles(dir) == 0);
    }
  }

  @Test
  void bodiesPastTheFetchersBodyMemoryLandInFilesWithoutAThreshold() throws Exception {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxBodyMemory(256 * 1024).spillDirectory(dir).build()) {
      // Each alone is past the fetcher's body memory: whole, or collected from streaming mode.
      FetchResult r = fetcher.fetchOne(server.url("/bytes/1000000")).block(Duration.ofSeconds(20));
      Body collected =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/bytes/1000000")),
                  s -> ((StreamedResult.Success) s).body().toBody())
              .blockLast(Duration.ofSeconds(20));
      for (Body body : List.of(((FetchResult.Success) r).body(), collected)) {
        assertThat(body.isInMemory()).isFalse();
        assertThat(body.file()).hasParent(dir);
        assertThat(body.toByteArray()).isEqualTo(Reply.pattern(1_000_000));
        body.release();
      }
      // A small body still fits: the memory was given back by the two above.
      FetchResult small = fetcher.fetchOne(server.url("/bytes/1000")).block(Duration.ofSeconds(20));
      assertThat(((FetchResult.Success) small).body().isInMemory()).isTrue();
      assertThat(listFiles(dir)).isZero();
    }
  }

  private static long listFiles(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
