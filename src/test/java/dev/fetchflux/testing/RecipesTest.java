package dev.fetchflux.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import dev.fetchflux.RetryPolicy;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The recipes of docs/testing.md: each code block there is the code between a {@code // recipe:}
 * marker and the next {@code // end} here ({@link RecipeSnippetsTest} keeps the two identical).
 */
@Timeout(30)
class RecipesTest {

  @Test
  void orderedResults() {
    // recipe: ordered
    StubFetcher stub =
        StubFetcher.builder()
            .on("https://api.test/1", StubReply.ok("one").withDelay(Duration.ofMillis(100)))
            .on("https://api.test/2", StubReply.ok("two"))
            .on("https://api.test/3", StubReply.status(404))
            .build();

    Flux<String> results =
        stub.fetcher()
            .fetch(Flux.just("https://api.test/1", "https://api.test/2", "https://api.test/3"))
            .map(r -> r.index() + " " + ((FetchResult.Success) r).status());

    StepVerifier.create(results)
        .expectNext("0 200", "1 200", "2 404") // /1 answered last, yet comes first
        .expectComplete()
        .verify(Duration.ofSeconds(5));
    // end
  }

  @Test
  void errorSignalCarriesUriAndCause() {
    // recipe: error-signal
    StubFetcher stub =
        StubFetcher.builder()
            .on("https://api.test/ok", StubReply.ok("fine"))
            .on(
                "https://api.test/down",
                StubReply.error(new ConnectException("Connection refused")))
            .build();

    StepVerifier.create(
            stub.fetcher().fetchOrFail(Flux.just("https://api.test/ok", "https://api.test/down")))
        .assertNext(ok -> assertThat(ok.body().asString()).isEqualTo("fine"))
        .expectErrorSatisfies(
            e ->
                assertThat(e)
                    .isInstanceOfSatisfying(
                        FetchException.class,
                        error -> {
                          assertThat(error.index()).isEqualTo(1);
                          assertThat(error.uri()).isEqualTo(URI.create("https://api.test/down"));
                          assertThat(error.kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
                          assertThat(error.getCause()).isInstanceOf(ConnectException.class);
                        })
                    .hasMessage(
                        "#1 GET https://api.test/down: connection refused: Connection refused"))
        .verify(Duration.ofSeconds(5));
    // end
  }

  @Test
  void deadlineInVirtualTime() {
    // recipe: deadline
    StubFetcher stub =
        StubFetcher.builder()
            .on("https://api.test/slow", StubReply.ok("too late").withDelay(Duration.ofMinutes(5)))
            .configure(fetcher -> fetcher.requestTimeout(Duration.ofSeconds(30)))
            .build();

    StepVerifier.withVirtualTime(() -> stub.fetcher().fetchOne("https://api.test/slow"))
        .expectSubscription()
        .expectNoEvent(Duration.ofSeconds(29))
        .thenAwait(Duration.ofSeconds(1))
        .assertNext(
            r ->
                assertThat(r)
                    .isInstanceOfSatisfying(
                        FetchResult.Failure.class,
                        failure ->
                            assertThat(failure.kind()).isEqualTo(FetchException.Kind.DEADLINE)))
        .expectComplete()
        .verify(Duration.ofSeconds(5));

    assertThat(stub.cancelled()).hasSize(1); // the deadline cancelled the exchange
    // end
  }

  @Test
  void retriesInVirtualTime() {
    // recipe: retries
    StubFetcher stub =
        StubFetcher.builder()
            .on(
                "https://api.test/flaky",
                StubReply.error(() -> new ConnectException("Connection refused")),
                StubReply.error(() -> new ConnectException("Connection refused")),
                StubReply.ok("third time lucky"))
            .configure(
                fetcher ->
                    fetcher.retry(
                        RetryPolicy.builder()
                            .maxAttempts(3)
                            .backoff(Duration.ofSeconds(1), Duration.ofSeconds(30))
                            .build()))
            .build();

    StepVerifier.withVirtualTime(() -> stub.fetcher().fetchOne("https://api.test/flaky"))
        .expectSubscription()
        .thenAwait(Duration.ofSeconds(10)) // waits: up to 1 s, then up to 2 s (full jitter)
        .assertNext(
            r ->
                assertThat(r)
                    .isInstanceOfSatisfying(
                        FetchResult.Success.class,
                        ok -> {
                          assertThat(ok.body().asString()).isEqualTo("third time lucky");
                          assertThat(ok.attempts()).isEqualTo(3);
                        }))
        .expectComplete()
        .verify(Duration.ofSeconds(5));

    assertThat(stub.requests("https://api.test/flaky")).hasSize(3);
    // end
  }

  // recipe: user-code
  /** Code under test: product names with their prices, in catalogue order. */
  static Flux<String> pricedProducts(Fetcher fetcher, List<String> productUrls) {
    return fetcher
        .fetchOrFail(Flux.fromIterable(productUrls))
        .map(page -> page.body().asString())
        .flatMapSequential(
            name ->
                fetcher
                    .fetchOrFail(Mono.just("https://prices.test/" + name))
                    .map(price -> name + " " + price.body().asString()),
            8);
  }

  // end

  @Test
  void enrichingPipelineKeepsOrder() {
    // recipe: enrich
    StubFetcher stub =
        StubFetcher.builder()
            .on("https://shop.test/p/1", StubReply.ok("apple"))
            .on("https://shop.test/p/2", StubReply.ok("pear"))
            .on("https://prices.test/apple", StubReply.ok("1.20").withDelay(Duration.ofSeconds(3)))
            .on("https://prices.test/pear", StubReply.ok("0.90").withDelay(Duration.ofSeconds(1)))
            .build();

    StepVerifier.withVirtualTime(
            () ->
                pricedProducts(
                    stub.fetcher(), List.of("https://shop.test/p/1", "https://shop.test/p/2")))
        .expectSubscription()
        .expectNoEvent(Duration.ofSeconds(2)) // the pear's price is in at 1 s, but waits
        .thenAwait(Duration.ofSeconds(1))
        .expectNext("apple 1.20", "pear 0.90")
        .expectComplete()
        .verify(Duration.ofSeconds(5));
    // end
  }

  @Test
  void enrichingPipelineFailsWithTheFailingLookup() {
    StubFetcher stub =
        StubFetcher.builder()
            .on("https://shop.test/p/1", StubReply.ok("apple"))
            .on("https://prices.test/apple", StubReply.status(500))
            .configure(fetcher -> fetcher.failOnHttpError(true))
            .build();

    StepVerifier.create(pricedProducts(stub.fetcher(), List.of("https://shop.test/p/1")))
        .expectErrorSatisfies(
            e ->
                assertThat(e)
                    .isInstanceOfSatisfying(
                        FetchException.class,
                        error -> {
                          assertThat(error.uri())
                              .isEqualTo(URI.create("https://prices.test/apple"));
                          assertThat(error.status()).isEqualTo(500);
                        }))
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void cancellationReachesRequestsInFlight() {
    // recipe: cancel
    StubFetcher stub =
        StubFetcher.builder()
            .on("https://api.test/first", StubReply.ok("first"))
            .on(request -> request.uri().getPath().startsWith("/hangs"), StubReply.never())
            .build();

    StepVerifier.create(
            stub.fetcher()
                .fetch(
                    Flux.just(
                        "https://api.test/first",
                        "https://api.test/hangs/1",
                        "https://api.test/hangs/2")))
        .assertNext(r -> assertThat(r.isSuccess()).isTrue())
        .thenCancel()
        .verify(Duration.ofSeconds(5));

    assertThat(stub.cancelled())
        .extracting(FetchRequest::uri)
        .containsExactlyInAnyOrder(
            URI.create("https://api.test/hangs/1"), URI.create("https://api.test/hangs/2"));
    assertThat(stub.inFlight()).isZero();
    // end
  }
}
