package dev.fetchflux.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import dev.fetchflux.TransportException;
import dev.fetchflux.support.Results;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** The stub's own features: scripting, fallbacks, recording. The rest is in FetcherContract. */
@Timeout(30)
class StubFetcherTest {

  private static final Duration VERIFY = Duration.ofSeconds(5);

  private static List<FetchResult> fetchAll(StubFetcher stub, Object... inputs) {
    return stub.fetcher().fetch(Flux.just(inputs), Results::toRequest).collectList().block(VERIFY);
  }

  private static FetchResult.Success success(FetchResult r) {
    assertThat(r).isInstanceOf(FetchResult.Success.class);
    return (FetchResult.Success) r;
  }

  private static FetchResult.Failure failure(FetchResult r) {
    assertThat(r).isInstanceOf(FetchResult.Failure.class);
    return (FetchResult.Failure) r;
  }

  @Test
  void exactUrlRuleAnswersWithStatusHeadersAndBody() {
    StubFetcher stub =
        StubFetcher.builder()
            .on("http://api.test/a", StubReply.status(201, "made").withHeader("Location", "/a/1"))
            .build();

    FetchResult.Success ok = success(fetchAll(stub, "http://api.test/a").get(0));

    assertThat(ok.status()).isEqualTo(201);
    assertThat(ok.headers().first("location")).isEqualTo("/a/1");
    assertThat(ok.body().asString()).isEqualTo("made");
    assertThat(ok.finalUri()).isEqualTo(URI.create("http://api.test/a"));
    assertThat(ok.redirects()).isZero();
  }

  @Test
  void ruleWithSeveralRepliesAnswersInTurnAndRepeatsTheLast() {
    StubFetcher stub =
        StubFetcher.builder()
            .on(
                "http://api.test/flaky",
                StubReply.status(503),
                StubReply.ok("1"),
                StubReply.ok("2"))
            .configure(f -> f.maxInFlight(1))
            .build();
    String url = "http://api.test/flaky";

    List<FetchResult> results = fetchAll(stub, url, url, url, url);

    assertThat(results)
        .extracting(r -> success(r).status() + ":" + success(r).body().asString())
        .containsExactly("503:", "200:1", "200:2", "200:2");
  }

  @Test
  void exactUrlRuleWinsOverPredicateRulesWhichGoInOrder() {
    StubFetcher stub =
        StubFetcher.builder()
            .on(r -> r.uri().getHost().equals("api.test"), StubReply.ok("first predicate"))
            .on(r -> true, StubReply.ok("second predicate"))
            .on(URI.create("http://api.test/exact"), StubReply.ok("exact"))
            .build();

    List<FetchResult> results =
        fetchAll(stub, "http://api.test/exact", "http://api.test/other", "http://else.test/");

    assertThat(results)
        .extracting(r -> success(r).body().asString())
        .containsExactly("exact", "first predicate", "second predicate");
  }

  @Test
  void handlerAnswersWhatNoRuleMatchesAndNullFallsThroughToOtherwise() {
    StubFetcher stub =
        StubFetcher.builder()
            .on("http://api.test/ruled", StubReply.ok("rule"))
            .handler(
                r ->
                    r.uri().getPath().startsWith("/echo")
                        ? StubReply.ok(r.method() + " " + r.uri().getPath())
                        : null)
            .otherwise(StubReply.status(404))
            .build();

    List<FetchResult> results =
        fetchAll(stub, "http://api.test/ruled", "http://api.test/echo/x", "http://api.test/none");

    assertThat(results)
        .extracting(r -> success(r).status() + ":" + success(r).body().asString())
        .containsExactly("200:rule", "200:GET /echo/x", "404:");
    assertThat(stub.unmatched())
        .extracting(FetchRequest::uri)
        .containsExactly(URI.create("http://api.test/none"));
  }

  @Test
  void unscriptedUrlFailsNamingTheRequest() {
    StubFetcher stub = StubFetcher.builder().on("http://api.test/known", StubReply.ok("k")).build();

    List<FetchResult> results = fetchAll(stub, "http://api.test/known", "http://api.test/unknown");

    FetchResult.Failure failure = failure(results.get(1));
    assertThat(failure.index()).isEqualTo(1);
    assertThat(failure.kind()).isEqualTo(FetchException.Kind.OTHER);
    assertThat(failure.error().getMessage())
        .startsWith(
            "#1 GET http://api.test/unknown: failed: no stub reply for GET "
                + "http://api.test/unknown");
    assertThat(failure.error().getCause()).isInstanceOf(TransportException.class);
    assertThat(stub.unmatched())
        .extracting(FetchRequest::uri)
        .containsExactly(URI.create("http://api.test/unknown"));
  }

  @Test
  void handlerThatThrowsBecomesFailureOfThatRequestOnly() {
    IllegalStateException bug = new IllegalStateException("bug in the handler");
    StubFetcher stub =
        StubFetcher.builder()
            .handler(
                r -> {
                  if (r.uri().getPath().equals("/bad")) {
                    throw bug;
                  }
                  return StubReply.ok("fine");
                })
            .build();

    List<FetchResult> results = fetchAll(stub, "http://api.test/bad", "http://api.test/good");

    assertThat(failure(results.get(0)).error().getCause()).isSameAs(bug);
    assertThat(success(results.get(1)).body().asString()).isEqualTo("fine");
    assertThat(stub.inFlight()).isZero();
  }

  @Test
  void failureReplyKeepsItsKindAndErrorReplyIsClassifiedLikeARealOne() {
    StubFetcher stub =
        StubFetcher.builder()
            .on(
                "http://api.test/big",
                StubReply.failure(FetchException.Kind.BODY_TOO_LARGE, "over 1 KiB"))
            .on(
                "http://api.test/refused",
                StubReply.error(new ConnectException("Connection refused")))
            .on("http://api.test/odd", StubReply.error(new IOException("something odd")))
            .build();

    List<FetchResult> results =
        fetchAll(stub, "http://api.test/big", "http://api.test/refused", "http://api.test/odd");

    assertThat(results)
        .extracting(r -> failure(r).kind())
        .containsExactly(
            FetchException.Kind.BODY_TOO_LARGE,
            FetchException.Kind.CONNECT_REFUSED,
            FetchException.Kind.OTHER);
    assertThat(failure(results.get(0)).error().getMessage()).endsWith("body too large: over 1 KiB");
  }

  @Test
  void errorSupplierGivesEachRequestAFreshException() {
    StubFetcher stub =
        StubFetcher.builder()
            .on(r -> true, StubReply.error(() -> new ConnectException("Connection refused")))
            .build();

    List<FetchResult> results = fetchAll(stub, "http://api.test/1", "http://api.test/2");

    assertThat(failure(results.get(0)).error().getCause())
        .isNotSameAs(failure(results.get(1)).error().getCause());
  }

  @Test
  void withRedirectsReportsFinalUriAndRedirectCount() {
    URI moved = URI.create("http://api.test/new");
    StubFetcher stub =
        StubFetcher.builder()
            .on("http://api.test/old", StubReply.ok("here").withRedirects(moved, 2))
            .build();

    FetchResult.Success ok = success(fetchAll(stub, "http://api.test/old").get(0));

    assertThat(ok.finalUri()).isEqualTo(moved);
    assertThat(ok.uri()).isEqualTo(URI.create("http://api.test/old"));
    assertThat(ok.redirects()).isEqualTo(2);
  }

  @Test
  void delaysFollowVirtualTime() {
    StubFetcher stub =
        StubFetcher.builder()
            .on("http://api.test/hour", StubReply.ok("late").withDelay(Duration.ofHours(1)))
            .configure(f -> f.requestTimeout(Duration.ofHours(2)))
            .build();

    StepVerifier.withVirtualTime(() -> stub.fetcher().fetchOne("http://api.test/hour"))
        .expectSubscription()
        .expectNoEvent(Duration.ofMinutes(59))
        .thenAwait(Duration.ofMinutes(1))
        .assertNext(r -> assertThat(success(r).body().asString()).isEqualTo("late"))
        .expectComplete()
        .verify(VERIFY);
  }

  @Test
  void requestsAreRecordedInSubscriptionOrder() {
    StubFetcher stub =
        StubFetcher.builder()
            .on("http://api.test/slow", StubReply.ok("s").withDelay(Duration.ofMillis(50)))
            .handler(r -> StubReply.ok("x"))
            .build();

    fetchAll(stub, "http://api.test/slow", "http://api.test/b", "http://api.test/c");

    assertThat(stub.requests())
        .extracting(r -> r.uri().getPath())
        .containsExactly("/slow", "/b", "/c");
    assertThat(stub.requests("http://api.test/b")).hasSize(1);
  }

  @Test
  void cancelledListsOnlyExchangesCancelledBeforeTheirReply() {
    StubFetcher stub =
        StubFetcher.builder()
            .on("http://api.test/ok", StubReply.ok("ok"))
            .on(r -> r.uri().getPath().startsWith("/never"), StubReply.never())
            .build();

    StepVerifier.create(
            stub.fetcher()
                .fetch(
                    Flux.just(
                        "http://api.test/ok", "http://api.test/never1", "http://api.test/never2"))
                .take(1))
        .expectNextCount(1)
        .expectComplete()
        .verify(VERIFY);

    assertThat(stub.cancelled())
        .extracting(r -> r.uri().getPath())
        .containsExactlyInAnyOrder("/never1", "/never2");
    assertThat(stub.inFlight()).isZero();
  }

  @Test
  void exchangeCountsAsFinishedBeforeTheNextOneStarts() {
    // When a delayed reply fires, the ordering stage starts the next request in the same call
    // stack, before the finished exchange's own completion: the peak must still be the limit, not
    // one more.
    StubFetcher stub =
        StubFetcher.builder()
            .handler(r -> StubReply.ok("x").withDelay(Duration.ofSeconds(1)))
            .configure(f -> f.maxInFlight(1))
            .build();

    StepVerifier.withVirtualTime(
            () ->
                stub.fetcher()
                    .fetch(
                        Flux.just("http://api.test/1", "http://api.test/2", "http://api.test/3")))
        .thenAwait(Duration.ofSeconds(3))
        .expectNextCount(3)
        .expectComplete()
        .verify(VERIFY);

    assertThat(stub.peakInFlight()).isEqualTo(1);
    assertThat(stub.requests()).hasSize(3);
  }

  @Test
  void ownFetcherOnTheStubTransportRecordsIntoTheStub() {
    StubFetcher stub = StubFetcher.builder().handler(r -> StubReply.ok("x")).build();
    Fetcher own = Fetcher.builder().maxInFlight(2).transport(stub.transport()).build();
    Fetcher variant = stub.fetcher().toBuilder().failOnHttpError(true).build();

    own.fetchOne("http://api.test/own").block(VERIFY);
    variant.fetchOne("http://api.test/variant").block(VERIFY);

    assertThat(stub.requests())
        .extracting(r -> r.uri().getPath())
        .containsExactly("/own", "/variant");
  }

  @Test
  void scriptRejectsInvalidInputNamingIt() {
    assertThatThrownBy(() -> StubFetcher.builder().on("api.test/a", StubReply.ok("")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("api.test/a");
    assertThatThrownBy(() -> StubReply.ok("").withDelay(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("delay");
    assertThatThrownBy(() -> StubReply.status(42))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("42");
    assertThatThrownBy(() -> StubReply.never().withHeader("A", "b"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("withHeader");
    assertThatThrownBy(
            () -> StubFetcher.builder().configure(f -> f.maxInFlight(8).reorderWindow(4)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reorderWindow");
  }
}
