package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.StubFetcher;
import dev.fetchflux.testing.StubReply;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * One result per input whatever a {@link Transport} does: a transport that completes empty, throws
 * instead of returning a {@code Mono}, or returns {@code null} breaks its contract, and that becomes
 * a failure at the input's index naming the transport, while the rest of the stream goes on.
 */
@Timeout(30)
class TransportContractTest {

  /** Misbehaves on the path of each URL; answers 200 otherwise. */
  static final class Unruly implements Transport {
    @Override
    public Mono<Response> exchange(FetchRequest request) {
      switch (request.uri().getPath()) {
        case "/empty":
          return Mono.empty();
        case "/throw":
          throw new IllegalStateException("exchange threw");
        case "/null":
          return null;
        default:
          return Mono.just(
              new Response(
                  request.uri(), 200, Headers.empty(), Body.of("ok"), System.nanoTime(), 0));
      }
    }
  }

  @Test
  void contractBreachesBecomeFailuresAtTheirIndexAndTheStreamGoesOn() {
    try (Fetcher fetcher = Fetcher.builder().transport(new Unruly()).build()) {
      List<FetchResult> results =
          Results.fetchAll(
              fetcher,
              "http://a.test/ok",
              "http://a.test/empty",
              "http://a.test/throw",
              "http://a.test/null",
              "http://a.test/ok");
      assertThat(results.get(0).isSuccess()).isTrue();
      assertThat(results.get(4).isSuccess()).isTrue();
      for (int i = 1; i <= 3; i++) {
        FetchResult.Failure f = (FetchResult.Failure) results.get(i);
        assertThat(f.kind()).as("kind of %s", f).isEqualTo(Kind.OTHER);
        assertThat(f.error().getMessage()).contains(Unruly.class.getName());
        assertThat(f.error().getCause()).as("cause of %s", f).isNotNull();
      }
      assertThat(results.get(1).toString()).isNotNull();
      assertThat(((FetchResult.Failure) results.get(1)).error().getMessage())
          .contains("completed without a response");
      assertThat(((FetchResult.Failure) results.get(2)).error().getCause())
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("exchange threw");
      assertThat(((FetchResult.Failure) results.get(3)).error().getMessage())
          .contains("returned null");
    }
  }

  @Test
  void fetchOneOfAnEmptyExchangeIsAFailureNotAnEmptyMono() {
    try (Fetcher fetcher = Fetcher.builder().transport(new Unruly()).build()) {
      StepVerifier.create(fetcher.fetchOne("http://a.test/empty"))
          .assertNext(r -> assertThat(r.isSuccess()).isFalse())
          .expectComplete()
          .verify(Results.WAIT);
    }
  }

  /**
   * Rate limits wait on the scheduler's clock: under virtual time, five requests at one a second,
   * one at a time, take four virtual seconds (the first goes at once). On the real clock, which
   * hardly moves meanwhile, each wait would add up to the ones before (1 + 2 + 3 + 4 seconds).
   */
  @Test
  void rateLimitPacesOnTheVirtualClockItWaitsOn() {
    StubFetcher stub =
        StubFetcher.builder()
            .handler(r -> StubReply.ok("x"))
            .configure(b -> b.maxInFlight(1).maxRequestsPerSecond(1))
            .build();
    StepVerifier.withVirtualTime(
            () -> stub.fetcher().fetch(Flux.range(0, 5).map(i -> "http://api.test/" + i)))
        .expectSubscription()
        .thenAwait(Duration.ofMillis(3_999))
        .expectNextCount(4)
        .thenAwait(Duration.ofMillis(1))
        .expectNextCount(1)
        .expectComplete()
        .verify(Duration.ofSeconds(10));
  }
}
