package dev.fetchflux.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherBuilder;
import dev.fetchflux.support.Await;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/**
 * The behaviour every {@link Fetcher} shows, whatever carries its requests: run against the real
 * reactor-netty engine and a {@link TestServer} ({@link RealFetcherContractTest}) and against
 * {@link StubFetcher} ({@link StubFetcherContractTest}). If the stub passes what the real fetcher
 * passes, a user's test written against the stub says something about production.
 *
 * <p>Each test scripts its URLs first and then asks for a {@link #fetcher}; durations are short and
 * real (virtual time does not mix with real sockets).
 */
@Timeout(30)
abstract class FetcherContract {

  static final Duration VERIFY = Duration.ofSeconds(5);
  static final Duration SLOW = Duration.ofMillis(300);

  /** Scripts {@code path} to answer 200 with {@code body} after {@code delay}; returns its URL. */
  protected abstract String ok(String path, String body, Duration delay);

  /** Scripts {@code path} to answer {@code status} (empty body) after {@code delay}; its URL. */
  protected abstract String status(String path, int status, Duration delay);

  /** A URL whose connection is refused (a {@link ConnectException} on the wire). */
  protected abstract String refused(String path);

  /** Scripts {@code path} never to answer; returns its URL. */
  protected abstract String stalled(String path);

  /** A fetcher with {@code settings} over the defaults, reaching the URLs scripted so far. */
  protected abstract Fetcher fetcher(Consumer<FetcherBuilder> settings);

  /** Requests that reached the other side (server or stub) so far. */
  protected abstract int requestsReceived();

  /** Requests the other side is working on now. */
  protected abstract int inFlightOnOtherSide();

  /** The most requests the other side worked on at once. */
  protected abstract int peakInFlight();

  /** Requests the other side saw abandoned (cancelled) before it answered. */
  protected abstract int cancelledRequests();

  private static String describe(FetchResult r) {
    if (r instanceof FetchResult.Success ok) {
      return r.index() + ":" + ok.status() + ":" + ok.body().asString();
    }
    return r.index() + ":" + ((FetchResult.Failure) r).kind();
  }

  /** Polls {@code condition} until it holds, for at most {@link #VERIFY}. */
  static void await(String what, BooleanSupplier condition) {
    Await.until(what, VERIFY, condition, () -> "");
  }

  @Test
  void resultsKeepInputOrderWhenLaterUrlFinishesFirst() {
    String slow = ok("/order/slow", "S", SLOW);
    String fast1 = ok("/order/fast1", "F1", Duration.ZERO);
    String fast2 = ok("/order/fast2", "F2", Duration.ZERO);
    Fetcher fetcher = fetcher(b -> {});

    StepVerifier.create(fetcher.fetch(Flux.just(slow, fast1, fast2)).map(FetcherContract::describe))
        .expectNext("0:200:S", "1:200:F1", "2:200:F2")
        .expectComplete()
        .verify(VERIFY);
  }

  @Test
  void unorderedEmitsEachResultWhenItCompletes() {
    String slow = ok("/unordered/slow", "S", SLOW);
    String fast = ok("/unordered/fast", "F", Duration.ZERO);
    Fetcher fetcher = fetcher(b -> {});

    StepVerifier.create(
            fetcher.fetchUnordered(Flux.just(slow, fast)).map(FetcherContract::describe))
        .expectNext("1:200:F", "0:200:S")
        .expectComplete()
        .verify(VERIFY);
  }

  @Test
  void everyInputYieldsExactlyOneResultUnderMixedFailures() {
    String a = ok("/mixed/a", "A", Duration.ZERO);
    String refused = refused("/mixed/refused");
    String error = status("/mixed/500", 500, Duration.ZERO);
    String b = ok("/mixed/b", "B", Duration.ofMillis(50));
    Fetcher fetcher = fetcher(f -> f.maxInFlight(2));

    StepVerifier.create(
            fetcher
                .fetch(Flux.just(a, refused, "not a url", error, b))
                .map(FetcherContract::describe))
        .expectNext("0:200:A", "1:CONNECT_REFUSED", "2:INVALID_REQUEST", "3:500:", "4:200:B")
        .expectComplete()
        .verify(VERIFY);
    // The invalid input never left the fetcher; the refused one never reached a server.
    assertThat(requestsReceived()).isEqualTo(3);
  }

  @Test
  void failureCarriesIndexUriAndOriginalCause() {
    String a = ok("/failure/a", "A", Duration.ZERO);
    String refused = refused("/failure/refused");
    Fetcher fetcher = fetcher(b -> {});

    List<FetchResult> results = fetcher.fetch(Flux.just(a, refused)).collectList().block(VERIFY);

    assertThat(results).hasSize(2);
    FetchResult.Failure failure = (FetchResult.Failure) results.get(1);
    assertThat(failure.index()).isEqualTo(1);
    assertThat(failure.url()).isEqualTo(refused);
    assertThat(failure.uri()).isEqualTo(URI.create(refused));
    assertThat(failure.kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
    FetchException error = failure.error();
    assertThat(error.index()).isEqualTo(1);
    assertThat(error.getMessage()).startsWith("#1 GET " + refused + ": connection refused");
    assertThat(error.getCause()).isInstanceOf(ConnectException.class);
  }

  @Test
  void fetchOrFailEmitsSuccessesThenFirstFailureAsError() {
    String a = ok("/failfast/a", "A", Duration.ZERO);
    String refused = refused("/failfast/refused");
    String c = ok("/failfast/c", "C", Duration.ZERO);
    Fetcher fetcher = fetcher(b -> {});

    StepVerifier.create(fetcher.fetchOrFail(Flux.just(a, refused, c)))
        .assertNext(ok -> assertThat(ok.body().asString()).isEqualTo("A"))
        .expectErrorSatisfies(
            e -> {
              assertThat(e).isInstanceOf(FetchException.class);
              FetchException error = (FetchException) e;
              assertThat(error.index()).isEqualTo(1);
              assertThat(error.uri()).isEqualTo(URI.create(refused));
              assertThat(error.kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
              assertThat(error.getCause()).isInstanceOf(ConnectException.class);
            })
        .verify(VERIFY);
  }

  @Test
  void fetchOrFailCancelsRequestsBehindTheFailure() {
    String a = ok("/failfast-cancel/a", "A", Duration.ZERO);
    // Fails late enough that the stalled request behind it has reached the other side.
    String failing = status("/failfast-cancel/503", 503, SLOW);
    String stalled = stalled("/failfast-cancel/stalled");
    Fetcher fetcher = fetcher(b -> b.failOnHttpError(true));

    StepVerifier.create(fetcher.fetchOrFail(Flux.just(a, failing, stalled)))
        .expectNextCount(1)
        .then(() -> await("all three requests received", () -> requestsReceived() == 3))
        .expectErrorSatisfies(
            e -> {
              FetchException error = (FetchException) e;
              assertThat(error.index()).isEqualTo(1);
              assertThat(error.kind()).isEqualTo(FetchException.Kind.HTTP_STATUS);
              assertThat(error.status()).isEqualTo(503);
            })
        .verify(VERIFY);
    await("stalled request cancelled", () -> cancelledRequests() == 1);
    await("nothing left in flight", () -> inFlightOnOtherSide() == 0);
  }

  @Test
  void neverExceedsMaxInFlight() {
    List<String> urls = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      urls.add(ok("/limit/" + i, "x" + i, Duration.ofMillis(40)));
    }
    Fetcher fetcher = fetcher(b -> b.maxInFlight(3));

    StepVerifier.create(fetcher.fetch(Flux.fromIterable(urls)))
        .expectNextCount(12)
        .expectComplete()
        .verify(VERIFY);
    // At most 3 at once, and more than one: the limit was reached, not merely respected by a
    // sequential fetch.
    assertThat(peakInFlight()).isLessThanOrEqualTo(3).isGreaterThan(1);
  }

  @Test
  void cancellingTheSubscriptionCancelsRequestsInFlight() {
    String a = ok("/cancel/a", "A", Duration.ZERO);
    String s1 = stalled("/cancel/stalled1");
    String s2 = stalled("/cancel/stalled2");
    Fetcher fetcher = fetcher(b -> {});

    StepVerifier.create(fetcher.fetch(Flux.just(a, s1, s2)))
        .assertNext(r -> assertThat(r.index()).isZero())
        .then(() -> await("all three requests received", () -> requestsReceived() == 3))
        .thenCancel()
        .verify(VERIFY);
    await("both stalled requests cancelled", () -> cancelledRequests() == 2);
    await("nothing left in flight", () -> inFlightOnOtherSide() == 0);
  }

  @Test
  void failOnHttpErrorTurnsErrorStatusIntoFailure() {
    String notFound = status("/status/404", 404, Duration.ZERO);
    Fetcher lenient = fetcher(b -> {});
    Fetcher strict = lenient.toBuilder().failOnHttpError(true).build();
    try {
      StepVerifier.create(lenient.fetchOne(notFound))
          .assertNext(r -> assertThat(((FetchResult.Success) r).status()).isEqualTo(404))
          .expectComplete()
          .verify(VERIFY);
      StepVerifier.create(strict.fetchOne(notFound))
          .assertNext(
              r -> {
                FetchResult.Failure failure = (FetchResult.Failure) r;
                assertThat(failure.kind()).isEqualTo(FetchException.Kind.HTTP_STATUS);
                assertThat(failure.error().status()).isEqualTo(404);
                assertThat(failure.uri()).isEqualTo(URI.create(notFound));
              })
          .expectComplete()
          .verify(VERIFY);
    } finally {
      strict.close();
    }
  }

  @Test
  void totalDeadlineBecomesDeadlineFailureAndCancelsTheRequest() {
    String stalled = stalled("/deadline/stalled");
    String fast = ok("/deadline/fast", "F", Duration.ZERO);
    Fetcher fetcher = fetcher(b -> b.requestTimeout(Duration.ofMillis(200)));

    StepVerifier.create(fetcher.fetch(Flux.just(stalled, fast)))
        .assertNext(
            r -> {
              FetchResult.Failure failure = (FetchResult.Failure) r;
              assertThat(failure.index()).isZero();
              assertThat(failure.kind()).isEqualTo(FetchException.Kind.DEADLINE);
              assertThat(failure.error().getCause()).isInstanceOf(TimeoutException.class);
            })
        .assertNext(r -> assertThat(describe(r)).isEqualTo("1:200:F"))
        .expectComplete()
        .verify(VERIFY);
    await("timed-out request cancelled", () -> cancelledRequests() == 1);
  }
}
