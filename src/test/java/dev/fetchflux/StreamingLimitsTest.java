package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.StubFetcher;
import dev.fetchflux.testing.StubReply;
import dev.fetchflux.testing.TestServerExtension;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A streamed request counts as in flight until its body has been received, not only until its
 * headers: the server never sees more than {@code maxInFlight}, or {@code maxInFlightPerHost}, at
 * once, although results are made at the headers.
 */
@Timeout(60)
class StreamingLimitsTest {

  @RegisterExtension final TestServerExtension server = new TestServerExtension();

  private static Mono<Integer> size(StreamedResult r) {
    return ((StreamedResult.Success) r)
        .body()
        .chunks()
        .map(ByteBuffer::remaining)
        .reduce(0, Integer::sum);
  }

  @Test
  void bodiesOnTheWireNeverExceedMaxInFlight() {
    // Headers at once, then 40 bytes over about 200 ms.
    server.get().route("/slow", Reply.dribble(40, Duration.ofMillis(5)));
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(2).build()) {
      List<Integer> sizes =
          fetcher
              .fetchStreaming(
                  Flux.range(0, 8).map(i -> server.url("/slow?i=" + i)), StreamingLimitsTest::size)
              .collectList()
              .block(Duration.ofSeconds(30));
      assertThat(sizes).hasSize(8).allMatch(n -> n == 40);
      assertThat(server.get().peakInFlight()).isLessThanOrEqualTo(2);
    }
  }

  @Test
  void bodiesOnTheWireToOneHostNeverExceedMaxInFlightPerHost() {
    server.get().route("/slow", Reply.dribble(40, Duration.ofMillis(5)));
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(8).maxInFlightPerHost(2).build()) {
      List<Integer> sizes =
          fetcher
              .fetchStreaming(
                  Flux.range(0, 8).map(i -> server.url("/slow?i=" + i)), StreamingLimitsTest::size)
              .collectList()
              .block(Duration.ofSeconds(30));
      assertThat(sizes).hasSize(8).allMatch(n -> n == 40);
      assertThat(server.get().peakInFlight()).isLessThanOrEqualTo(2);
    }
  }

  @Test
  void aTransportWithoutStreamingStreamsTheBodiesItCollected() {
    StubFetcher stub =
        StubFetcher.builder()
            .on("http://api.test/a", StubReply.ok("alpha"))
            .on("http://api.test/b", StubReply.ok("beta"))
            .build();
    try (Fetcher fetcher = stub.fetcher()) {
      List<String> out =
          fetcher
              .fetchStreaming(
                  Flux.just("http://api.test/a", "http://api.test/b"),
                  r ->
                      ((StreamedResult.Success) r)
                          .body()
                          .toBody()
                          .map(b -> r.index() + " " + b.asString()))
              .collectList()
              .block(Duration.ofSeconds(10));
      assertThat(out).containsExactly("0 alpha", "1 beta");
    }
  }
}
