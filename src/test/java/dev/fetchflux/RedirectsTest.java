package dev.fetchflux;

import static dev.fetchflux.support.Results.assertFailure;
import static dev.fetchflux.support.Results.fetchAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.Certificates;
import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.net.URI;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Redirects: followed up to a limit, loops caught, no downgrade, secrets kept to their origin. */
@Timeout(60)
class RedirectsTest {

  private TestServer server;
  private Fetcher fetcher;

  @BeforeEach
  void start() {
    server = TestServer.start();
    fetcher = Fetcher.builder().maxRedirects(3).build();
  }

  @AfterEach
  void stop() {
    fetcher.close();
    server.close();
  }

  private FetchResult.Success success(FetchResult result) {
    assertThat(result).isInstanceOf(FetchResult.Success.class);
    return (FetchResult.Success) result;
  }

  @Test
  void redirectsAreFollowedToTheFinalUri() {
    FetchResult.Success ok = success(fetchAll(fetcher, server.url("/redirect/3")).get(0));

    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.redirects()).isEqualTo(3);
    assertThat(ok.uri()).isEqualTo(server.uri("/redirect/3"));
    assertThat(ok.finalUri()).isEqualTo(server.uri("/redirect/0"));
    assertThat(ok.body().asString()).isEqualTo("/redirect/0");
    assertThat(server.requests())
        .extracting(RecordedRequest::path)
        .containsExactly("/redirect/3", "/redirect/2", "/redirect/1", "/redirect/0");
  }

  @Test
  void moreRedirectsThanTheLimitIsAFailureNotTheLast3xx() {
    String url = server.url("/redirect/4");

    FetchResult.Failure f =
        assertFailure(fetchAll(fetcher, url).get(0), 0, url, Kind.TOO_MANY_REDIRECTS);

    assertThat(f.error().getMessage()).contains("more than 3 redirects");
    // The original request and three redirects; the fourth Location is not followed.
    assertThat(server.requests()).hasSize(4);
  }

  @Test
  void redirectToItselfIsALoop() {
    String url = server.url("/loop");

    assertFailure(fetchAll(fetcher, url).get(0), 0, url, Kind.REDIRECT_LOOP);

    assertThat(server.requests()).hasSize(1);
  }

  @Test
  void redirectBackToAVisitedUrlIsALoop() {
    server.route("/a", Reply.redirect(302, "/b"));
    server.route("/b", Reply.redirect(307, server.url("/a")));
    String url = server.url("/a");

    FetchResult.Failure f =
        assertFailure(fetchAll(fetcher, url).get(0), 0, url, Kind.REDIRECT_LOOP);

    assertThat(f.error().getMessage()).contains(url);
    assertThat(server.requests()).extracting(RecordedRequest::path).containsExactly("/a", "/b");
  }

  @Test
  void withRedirectsOffThe3xxIsTheResult() {
    try (Fetcher literal = Fetcher.builder().followRedirects(false).build()) {
      FetchResult.Success ok = success(fetchAll(literal, server.url("/redirect/2")).get(0));

      assertThat(ok.status()).isEqualTo(302);
      assertThat(ok.headers().first("Location")).isEqualTo("/redirect/1");
      assertThat(ok.redirects()).isZero();
    }
  }

  @Test
  void redirectToAnotherSchemeIsRefused() {
    server.route("/ftp", Reply.redirect(302, "ftp://127.0.0.1/file"));
    String url = server.url("/ftp");

    FetchResult.Failure f =
        assertFailure(fetchAll(fetcher, url).get(0), 0, url, Kind.REDIRECT_REFUSED);

    assertThat(f.error().getMessage()).contains("ftp://127.0.0.1/file");
  }

  @Test
  void httpsToHttpRedirectIsRefusedUnlessAllowed() {
    try (TestServer secure =
            TestServer.builder()
                .https(Certificates.serverKey(), Certificates.serverChain())
                .start();
        Fetcher strict =
            Fetcher.builder().trustManagerFactory(Certificates.trustingTestCa()).build();
        Fetcher lenient =
            Fetcher.builder()
                .trustManagerFactory(Certificates.trustingTestCa())
                .allowHttpsToHttpRedirect(true)
                .build()) {
      secure.route("/down", Reply.redirect(302, server.url("/echo")));
      String url = secure.url("/down");

      FetchResult.Failure f =
          assertFailure(fetchAll(strict, url).get(0), 0, url, Kind.REDIRECT_REFUSED);
      assertThat(f.error().getMessage()).contains("https to http");
      assertThat(server.requests()).isEmpty();

      FetchResult.Success ok = success(fetchAll(lenient, url).get(0));
      assertThat(ok.finalUri()).isEqualTo(server.uri("/echo"));
      assertThat(server.requests()).hasSize(1);
    }
  }

  @Test
  void seeOtherAfterPostBecomesGetWithoutBody() {
    server.route("/form", Reply.redirect(303, "/done"));
    server.route("/done", Reply.ok("done"));
    FetchRequest post =
        FetchRequest.builder(server.uri("/form"))
            .method("POST")
            .header("Content-Type", "text/plain")
            .body(Body.of("payload"))
            .build();

    FetchResult.Success ok = success(fetchAll(fetcher, post).get(0));

    assertThat(ok.body().asString()).isEqualTo("done");
    RecordedRequest done = server.requests("/done").get(0);
    assertThat(done.method()).isEqualTo("GET");
    assertThat(done.body().isEmpty()).isTrue();
    assertThat(done.headers().contains("Content-Type")).isFalse();
  }

  @Test
  void temporaryRedirectKeepsMethodAndBody() {
    server.route("/upload", Reply.redirect(307, "/upload-here"));
    server.route("/upload-here", Reply.ok("stored"));
    FetchRequest post =
        FetchRequest.builder(server.uri("/upload")).method("POST").body(Body.of("payload")).build();

    success(fetchAll(fetcher, post).get(0));

    RecordedRequest moved = server.requests("/upload-here").get(0);
    assertThat(moved.method()).isEqualTo("POST");
    assertThat(moved.body().asString()).isEqualTo("payload");
  }

  // ---- sensitive headers -----------------------------------------------------------------------

  @Test
  void sensitiveRequestHeadersAreStrippedOnRedirectToAnotherOrigin() {
    try (TestServer other = TestServer.start();
        Fetcher marking = Fetcher.builder().sensitiveHeader("X-Api-Key").build()) {
      URI landing = other.uri("/landing");
      server.route("/away", Reply.redirect(302, landing.toString()));
      FetchRequest request =
          FetchRequest.builder(server.uri("/away"))
              .header("Authorization", "Bearer secret")
              .header("Cookie", "session=1")
              .header("Proxy-Authorization", "Basic cA==")
              .header("X-Api-Key", "key")
              .header("X-Trace", "trace-1")
              .build();

      FetchResult.Success ok = success(fetchAll(marking, request).get(0));

      assertThat(ok.finalUri()).isEqualTo(landing);
      RecordedRequest first = server.requests("/away").get(0);
      assertThat(first.headers().first("Authorization")).isEqualTo("Bearer secret");
      assertThat(first.headers().first("X-Api-Key")).isEqualTo("key");
      RecordedRequest landed = other.requests("/landing").get(0);
      assertThat(landed.headers().contains("Authorization")).isFalse();
      assertThat(landed.headers().contains("Cookie")).isFalse();
      assertThat(landed.headers().contains("Proxy-Authorization")).isFalse();
      assertThat(landed.headers().contains("X-Api-Key")).isFalse();
      assertThat(landed.headers().first("X-Trace")).isEqualTo("trace-1");
    }
  }

  @Test
  void sensitiveRequestHeadersStayOnRedirectWithinTheOrigin() {
    try (Fetcher marking = Fetcher.builder().sensitiveHeader("X-Api-Key").build()) {
      FetchRequest request =
          FetchRequest.builder(server.uri("/redirect/1"))
              .header("Authorization", "Bearer secret")
              .header("Cookie", "session=1")
              .header("X-Api-Key", "key")
              .build();

      success(fetchAll(marking, request).get(0));

      RecordedRequest landed = server.requests("/redirect/0").get(0);
      assertThat(landed.headers().first("Authorization")).isEqualTo("Bearer secret");
      assertThat(landed.headers().first("Cookie")).isEqualTo("session=1");
      assertThat(landed.headers().first("X-Api-Key")).isEqualTo("key");
    }
  }

  @Test
  void headersStayStrippedAfterComingBackToTheFirstOrigin() {
    // origin -> other -> origin again: once a secret has left for another origin's redirect it is
    // not sent again, even back home (curl behaves the same way).
    try (TestServer other = TestServer.start()) {
      server.route("/out", Reply.redirect(302, other.url("/bounce")));
      other.route("/bounce", Reply.redirect(302, server.url("/home")));
      server.route("/home", Reply.ok("home"));
      FetchRequest request =
          FetchRequest.builder(server.uri("/out")).header("Authorization", "Bearer secret").build();

      success(fetchAll(fetcher, request).get(0));

      assertThat(other.requests("/bounce").get(0).headers().contains("Authorization")).isFalse();
      assertThat(server.requests("/home").get(0).headers().contains("Authorization")).isFalse();
    }
  }
}
