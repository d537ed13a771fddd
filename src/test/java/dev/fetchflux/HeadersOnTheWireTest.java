package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class HeadersOnTheWireTest {

  @Test
  void defaultHeadersAreSentAndRequestHeadersReplaceThem() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .header("X-Team", "core")
                .header("Accept", "text/plain")
                .userAgent("probe/1")
                .build()) {
      FetchRequest request =
          FetchRequest.builder(server.uri("/echo")).header("Accept", "application/json").build();

      fetcher.fetchOne(server.url("/echo")).block(Duration.ofSeconds(10));
      fetcher.fetchOne(request).block(Duration.ofSeconds(10));

      RecordedRequest plain = server.requests().get(0);
      assertThat(plain.headers().first("X-Team")).isEqualTo("core");
      assertThat(plain.headers().all("Accept")).containsExactly("text/plain");
      assertThat(plain.headers().first("User-Agent")).isEqualTo("probe/1");
      RecordedRequest own = server.requests().get(1);
      assertThat(own.headers().first("X-Team")).isEqualTo("core");
      assertThat(own.headers().all("Accept")).containsExactly("application/json");
    }
  }

  @Test
  void sensitiveDefaultHeadersDoNotFollowARedirectToAnotherOrigin() {
    try (TestServer origin = TestServer.start();
        TestServer other = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .header("Authorization", "Bearer secret")
                .header("X-Api-Key", "k")
                .header("X-Trace", "t")
                .sensitiveHeader("X-Api-Key")
                .build()) {
      URI target = other.uri("/landing");
      origin.route("/start", Reply.redirect(302, "/hop"));
      origin.route("/hop", Reply.redirect(307, target.toString()));
      other.route("/landing", Reply.ok("landed"));

      FetchResult result = fetcher.fetchOne(origin.url("/start")).block(Duration.ofSeconds(10));

      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Success.class,
              ok -> {
                assertThat(ok.finalUri()).isEqualTo(target);
                assertThat(ok.redirects()).isEqualTo(2);
              });
      RecordedRequest sameOriginHop = origin.requests("/hop").get(0);
      assertThat(sameOriginHop.headers().first("Authorization")).isEqualTo("Bearer secret");
      assertThat(sameOriginHop.headers().first("X-Api-Key")).isEqualTo("k");
      RecordedRequest landed = other.requests("/landing").get(0);
      assertThat(landed.headers().contains("Authorization")).isFalse();
      assertThat(landed.headers().contains("X-Api-Key")).isFalse();
      assertThat(landed.headers().first("X-Trace")).isEqualTo("t");
    }
  }

  @Test
  void compressionAsksForGzipAndDeflateAndDecodesGzip() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.route(
          "/z", Reply.gzip("hello, gzip".getBytes(java.nio.charset.StandardCharsets.UTF_8)));

      FetchResult result = fetcher.fetchOne(server.url("/z")).block(Duration.ofSeconds(10));

      assertThat(server.requests().get(0).headers().first("Accept-Encoding"))
          .contains("gzip")
          .contains("deflate");
      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Success.class,
              ok -> assertThat(ok.body().asString()).isEqualTo("hello, gzip"));
    }
  }

  @Test
  void withoutCompressionNoEncodingIsRequested() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().compression(false).build()) {
      fetcher.fetchOne(server.url("/echo")).block(Duration.ofSeconds(10));

      assertThat(server.requests().get(0).headers().contains("Accept-Encoding")).isFalse();
    }
  }
}
