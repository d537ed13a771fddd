package dev.fetchflux;

import static dev.fetchflux.support.Results.fetchAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Results;
import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** What goes on the wire and what comes back: methods, bodies, headers, encodings, timings. */
@Timeout(60)
class RequestsAndResponsesTest {

  private TestServer server;
  private Fetcher fetcher;

  @BeforeEach
  void start() {
    server = TestServer.start();
    fetcher = Fetcher.builder().build();
  }

  @AfterEach
  void stop() {
    fetcher.close();
    server.close();
  }

  private static FetchResult.Success success(FetchResult result) {
    assertThat(result).isInstanceOf(FetchResult.Success.class);
    return (FetchResult.Success) result;
  }

  @Test
  void postWithBodyReachesTheServer() {
    FetchRequest post =
        FetchRequest.builder(server.uri("/items"))
            .method("post")
            .header("Content-Type", "application/json")
            .body(Body.of("{\"name\":\"x\"}"))
            .build();
    server.route("/items", Reply.status(201, "created"));

    FetchResult.Success ok = success(fetchAll(fetcher, post).get(0));

    assertThat(ok.status()).isEqualTo(201);
    assertThat(ok.request()).isEqualTo(post);
    RecordedRequest received = server.requests("/items").get(0);
    assertThat(received.method()).isEqualTo("POST");
    assertThat(received.body().asString()).isEqualTo("{\"name\":\"x\"}");
    assertThat(received.headers().first("Content-Type")).isEqualTo("application/json");
    assertThat(received.headers().first("Content-Length")).isEqualTo("12");
  }

  @Test
  void stringsUrisAndRequestsAreAllAcceptedAsInput() {
    FetchRequest put = FetchRequest.builder(server.uri("/echo?c")).method("PUT").build();

    var results =
        fetchAll(
            fetcher,
            server.url("/echo?a"),
            server.uri("/echo?b"),
            put,
            new StringBuilder(server.url("/echo?d")));

    assertThat(results)
        .extracting(r -> success(r).body().asString())
        .containsExactly("/echo?a", "/echo?b", "/echo?c", "/echo?d");
    assertThat(server.requests())
        .extracting(RecordedRequest::method)
        .containsExactlyInAnyOrder("GET", "GET", "PUT", "GET");
  }

  @Test
  void gzipBodiesAreDecoded() {
    byte[] plain = Reply.pattern(50_000);
    server.route("/zipped", Reply.gzip(plain));

    FetchResult.Success ok = success(fetchAll(fetcher, server.url("/zipped")).get(0));

    assertThat(ok.body().toByteArray()).isEqualTo(plain);
    assertThat(server.requests("/zipped").get(0).headers().first("Accept-Encoding"))
        .contains("gzip");
  }

  @Test
  void withoutCompressionNothingIsAskedForOrDecoded() {
    server.route("/zipped", Reply.gzip(Reply.pattern(1000)));
    try (Fetcher raw = Fetcher.builder().compression(false).build()) {
      FetchResult.Success ok = success(fetchAll(raw, server.url("/zipped")).get(0));

      assertThat(ok.body().toByteArray()).isEqualTo(Reply.gzipped(Reply.pattern(1000)));
      assertThat(server.requests("/zipped").get(0).headers().contains("Accept-Encoding")).isFalse();
    }
  }

  @Test
  void chunkedAndCloseDelimitedBodiesAreReadWhole() {
    server.route("/chunked", Reply.chunked(Reply.pattern(100_000), 4096));
    server.route("/until-close", Reply.closeDelimited(Reply.pattern(30_000)));

    var results = fetchAll(fetcher, server.url("/chunked"), server.url("/until-close"));

    assertThat(success(results.get(0)).body().toByteArray()).isEqualTo(Reply.pattern(100_000));
    assertThat(success(results.get(1)).body().toByteArray()).isEqualTo(Reply.pattern(30_000));
  }

  @Test
  void responseStatusAndHeadersAreKept() {
    server.route("/teapot", Reply.status(418, "short and stout").withHeader("X-Answer", "42"));

    FetchResult.Success ok = success(fetchAll(fetcher, server.url("/teapot")).get(0));

    assertThat(ok.status()).isEqualTo(418);
    assertThat(ok.headers().first("x-answer")).isEqualTo("42");
    assertThat(ok.body().asString()).isEqualTo("short and stout");
    assertThat(ok.attempts()).isEqualTo(1);
  }

  @Test
  void defaultUserAgentNamesTheLibrary() {
    fetchAll(fetcher, server.url("/echo"));

    assertThat(server.requests().get(0).headers().first("User-Agent"))
        .isEqualTo(Fetcher.DEFAULT_USER_AGENT)
        .startsWith("fetchflux/");
  }

  @Test
  void timingsAreOrderedAndWithinTheExchange() {
    server.route("/slow", Reply.ok("x").withDelay(Duration.ofMillis(100)));
    Instant before = Instant.now();

    FetchResult.Success ok = success(fetchAll(fetcher, server.url("/slow")).get(0));

    Instant after = Instant.now();
    Timings t = ok.timings();
    assertThat(t.start()).isBetween(before, after);
    // The server waited 100 ms before the status line: a lower bound, not a speed claim.
    assertThat(t.timeToFirstByte()).isGreaterThanOrEqualTo(Duration.ofMillis(100));
    assertThat(t.timeToFirstByte()).isLessThanOrEqualTo(t.total());
    assertThat(t.total()).isLessThanOrEqualTo(Duration.between(before, after));
  }

  @Test
  void fetchIsColdAndEachSubscriptionFetchesAgain() {
    Flux<FetchResult> results = fetcher.fetch(Flux.just(server.url("/echo")));
    assertThat(server.requests()).isEmpty();

    StepVerifier.create(results).expectNextCount(1).expectComplete().verify(Results.WAIT);
    StepVerifier.create(results).expectNextCount(1).expectComplete().verify(Results.WAIT);

    assertThat(server.requests()).hasSize(2);
  }

  @Test
  void fetchOneEmitsOneResultAtIndexZeroAndCompletes() {
    StepVerifier.create(fetcher.fetchOne(FetchRequest.get(URI.create(server.url("/echo?one")))))
        .assertNext(
            r -> {
              assertThat(r.index()).isZero();
              assertThat(success(r).body().asString()).isEqualTo("/echo?one");
            })
        .expectComplete()
        .verify(Results.WAIT);
  }

  @Test
  void fetchOneTurnsAFailureIntoAValue() {
    StepVerifier.create(fetcher.fetchOne("not a url"))
        .assertNext(
            r ->
                assertThat(r)
                    .isInstanceOfSatisfying(
                        FetchResult.Failure.class,
                        f -> assertThat(f.kind()).isEqualTo(FetchException.Kind.INVALID_REQUEST)))
        .expectComplete()
        .verify(Results.WAIT);
  }

  @Test
  void inputErrorArrivesAfterTheResultsBeforeIt() {
    IllegalStateException broken = new IllegalStateException("input file vanished");
    Flux<String> input =
        Flux.concat(Flux.just(server.url("/delay/100"), server.url("/echo")), Flux.error(broken));

    StepVerifier.create(fetcher.fetch(input))
        .expectNextMatches(r -> r.index() == 0 && r.isSuccess())
        .expectNextMatches(r -> r.index() == 1 && r.isSuccess())
        .expectErrorSatisfies(e -> assertThat(e).isSameAs(broken))
        .verify(Results.WAIT);
  }
}
