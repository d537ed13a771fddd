package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.StreamedBodies;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServerExtension;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Streaming mode keeps input order, one result per input, bodies byte for byte. */
@Timeout(60)
class StreamingOrderTest {

  @RegisterExtension final TestServerExtension server = new TestServerExtension();

  private static Mono<String> readAll(StreamedResult r) {
    if (r instanceof StreamedResult.Success ok) {
      return StreamedBodies.bytes(ok.body())
          .map(b -> ok.index() + ":" + ok.status() + ":" + new String(b, StandardCharsets.UTF_8));
    }
    return Mono.just(r.index() + ":failed:" + ((FetchResult.Failure) r).kind());
  }

  @Test
  void bodiesComeInInputOrderWhenLaterUrlsAnswerFirst() {
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(8).build()) {
      Flux<String> urls =
          Flux.range(0, 20).map(i -> server.url("/delay/" + (100 - 5 * i) + "?i=" + i));
      List<String> out =
          fetcher
              .fetchStreaming(urls, StreamingOrderTest::readAll)
              .collectList()
              .block(Duration.ofSeconds(20));
      assertThat(out).hasSize(20);
      for (int i = 0; i < 20; i++) {
        assertThat(out.get(i)).isEqualTo(i + ":200:/delay/" + (100 - 5 * i) + "?i=" + i);
      }
    }
  }

  @Test
  void largeBodiesArriveByteForByte() {
    server.get().route("/big", Reply.ok(Reply.pattern(3_000_000)));
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(4).build()) {
      List<Long> sizes =
          fetcher
              .fetchStreaming(
                  Flux.range(0, 6).map(i -> server.url("/big?i=" + i)),
                  r ->
                      ((StreamedResult.Success) r)
                          .body()
                          .chunks()
                          .map(ByteBuffer::remaining)
                          .reduce(0L, (a, b) -> a + b))
              .collectList()
              .block(Duration.ofSeconds(30));
      assertThat(sizes)
          .containsExactly(3_000_000L, 3_000_000L, 3_000_000L, 3_000_000L, 3_000_000L, 3_000_000L);
    }
  }

  @Test
  void failuresArriveInTheirPlace() {
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(4).build()) {
      List<String> out =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/echo?a"), "htp:/bad", server.url("/echo?b")),
                  StreamingOrderTest::readAll)
              .collectList()
              .block(Duration.ofSeconds(20));
      assertThat(out).containsExactly("0:200:/echo?a", "1:failed:INVALID_REQUEST", "2:200:/echo?b");
    }
  }
}
