package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.TestServer;
import java.net.InetAddress;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * URLs are taken as curl takes them: host names with underscores (docker-compose service names,
 * some internal DNS) are fetched, internationalised host names are sent as punycode, and what is
 * really invalid still fails at its index with the reason.
 */
@Timeout(30)
class UrlsAsCurlTakesThemTest {

  private static Fetcher resolving(String host, TestServer server) {
    return Fetcher.builder()
        .resolve(new ResolveRule(host, server.port(), List.of(InetAddress.getLoopbackAddress())))
        .build();
  }

  @Test
  void hostWithUnderscoreIsFetched() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = resolving("my_service", server)) {
      String url = "http://my_service:" + server.port() + "/echo?x=1";
      FetchResult r = Results.fetchAll(fetcher, url).get(0);
      assertThat(r).as("%s", r).isInstanceOf(FetchResult.Success.class);
      FetchResult.Success ok = (FetchResult.Success) r;
      assertThat(ok.body().asString()).isEqualTo("/echo?x=1");
      assertThat(ok.url()).isEqualTo(url);
      assertThat(server.requests().get(0).headers().first("Host"))
          .isEqualTo("my_service:" + server.port());
    }
  }

  @Test
  void parsedUnderscoreHostKeepsItsHostAndPort() {
    URI uri = FetchRequest.parseUrl("http://my_service:8080/a?b");
    assertThat(FetchRequest.get(uri).host()).isEqualTo("my_service");
    assertThat(FetchRequest.get(uri).port()).isEqualTo(8080);
    assertThat(FetchRequest.get("https://some_api.internal/x").port()).isEqualTo(443);
  }

  @Test
  void internationalisedHostIsSentAsPunycode() {
    assertThat(FetchRequest.parseUrl("http://bücher.example/straße?q=ä").getHost())
        .isEqualTo("xn--bcher-kva.example");
    try (TestServer server = TestServer.start();
        Fetcher fetcher = resolving("xn--bcher-kva.example", server)) {
      FetchResult r =
          Results.fetchAll(fetcher, "http://BÜCHER.example:" + server.port() + "/echo").get(0);
      assertThat(r).as("%s", r).isInstanceOf(FetchResult.Success.class);
      assertThat(server.requests().get(0).headers().first("Host"))
          .isEqualTo("xn--bcher-kva.example:" + server.port());
    }
  }

  @Test
  void invalidUrlsFailAtTheirIndexWithTheReason() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      String good = server.url("/echo");
      for (String bad :
          List.of(
              "http://exa mple.test/",
              "http:///no-host",
              "ftp://x.test/",
              "http://a..b.test/",
              "http://-dash.test/",
              "http://x.test:99999/",
              "http://[::1/")) {
        List<FetchResult> results = Results.fetchAll(fetcher, good, bad, good);
        assertThat(results.get(0).isSuccess()).isTrue();
        assertThat(results.get(2).isSuccess()).isTrue();
        FetchResult.Failure f = (FetchResult.Failure) results.get(1);
        assertThat(f.kind()).as("%s", f).isEqualTo(Kind.INVALID_REQUEST);
        assertThat(f.url()).isEqualTo(bad);
        assertThat(f.error().getMessage()).as("%s", bad).contains(bad);
      }
    }
    assertThatThrownBy(() -> FetchRequest.parseUrl("http://a_b..c/"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a_b..c");
  }
}
