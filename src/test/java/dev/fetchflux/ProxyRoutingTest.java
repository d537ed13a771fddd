package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.ProxyTestServers.HttpProxy;
import dev.fetchflux.ProxyTestServers.Socks5Proxy;
import dev.fetchflux.support.Ports;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import io.netty.handler.proxy.ProxyConnectException;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

/**
 * Requests through loopback proxies (see {@link ProxyTestServers}): the proxy sees the request, the
 * result is right, no_proxy bypasses it, a dead proxy is a clear failure naming it.
 */
@Timeout(30)
class ProxyRoutingTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  TestServer server;

  @BeforeEach
  void start() {
    server = TestServer.start();
    server.route("/hello", Reply.ok("hello"));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void httpUrlGoesToAnHttpProxyInAbsoluteForm() {
    try (HttpProxy proxy = HttpProxy.start();
        Fetcher fetcher = Fetcher.builder().proxy(Proxy.http("127.0.0.1", proxy.port())).build()) {
      // Only the proxy knows staging.test: the client must not resolve it.
      proxy.host("staging.test", "127.0.0.1");
      String url = "http://staging.test:" + server.port() + "/hello?x=1";

      FetchResult result = fetcher.fetchOne(url).block(WAIT);

      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Success.class, ok -> assertThat(ok.body().asString()).isEqualTo("hello"));
      assertThat(proxy.log()).containsExactly("GET " + url + " HTTP/1.1");
      assertThat(server.requests("/hello").get(0).headers().first("Host"))
          .isEqualTo("staging.test:" + server.port());
    }
  }

  @Test
  void httpProxyCredentialsGoInProxyAuthorization() {
    try (HttpProxy proxy = HttpProxy.start("ann", "s3cret:x");
        Fetcher fetcher =
            Fetcher.builder()
                .proxy(Proxy.parse("http://ann:s3cret%3Ax@127.0.0.1:" + proxy.port()))
                .build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.just(server.url("/hello"), server.url("/echo")))
              .collectList()
              .block(WAIT);

      assertThat(results).allSatisfy(r -> assertThat(r.isSuccess()).as(String.valueOf(r)).isTrue());
      String expected =
          "Basic "
              + Base64.getEncoder().encodeToString("ann:s3cret:x".getBytes(StandardCharsets.UTF_8));
      assertThat(proxy.authorizations).containsOnly(expected).hasSize(2);
    }
  }

  @Test
  void httpsUrlGoesThroughAConnectTunnelWithTlsToTheOrigin() throws Exception {
    X509Bundle cert =
        new CertificateBuilder()
            .ecp256()
            .subject("CN=staging.test")
            .addSanDnsName("staging.test")
            .setIsCertificateAuthority(true)
            .buildSelfSigned();
    try (TestServer tls =
            TestServer.builder()
                .https(cert.getKeyPair().getPrivate(), cert.getCertificate())
                .start();
        HttpProxy proxy = HttpProxy.start("ann", "pw");
        Fetcher fetcher =
            Fetcher.builder()
                .trustManagerFactory(cert.toTrustManagerFactory())
                .proxy(Proxy.http("127.0.0.1", proxy.port()).withCredentials("ann", "pw"))
                .build()) {
      proxy.host("staging.test", "127.0.0.1");
      tls.route("/hello", Reply.ok("over tls"));

      FetchResult result =
          fetcher.fetchOne("https://staging.test:" + tls.port() + "/hello").block(WAIT);

      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Success.class,
              ok -> assertThat(ok.body().asString()).isEqualTo("over tls"));
      assertThat(proxy.log()).containsExactly("CONNECT staging.test:" + tls.port() + " HTTP/1.1");
      assertThat(tls.requests("/hello").get(0).headers().first("Host"))
          .isEqualTo("staging.test:" + tls.port());
    }
  }

  @Test
  void socks5hLetsTheProxyResolveTheHostName() {
    try (Socks5Proxy proxy = Socks5Proxy.start();
        Fetcher fetcher =
            Fetcher.builder().proxy(Proxy.parse("socks5h://127.0.0.1:" + proxy.port())).build()) {
      proxy.host("staging.test", "127.0.0.1");

      FetchResult result =
          fetcher.fetchOne("http://staging.test:" + server.port() + "/hello").block(WAIT);

      assertThat(result.isSuccess()).as(String.valueOf(result)).isTrue();
      assertThat(proxy.log()).containsExactly("CONNECT DOMAIN staging.test:" + server.port());
    }
  }

  @Test
  void socks5ResolvesLocallyHonouringResolveRulesAndSendsTheAddress() {
    try (Socks5Proxy proxy = Socks5Proxy.start("ann", "pw");
        Fetcher fetcher =
            Fetcher.builder()
                .proxy(Proxy.socks5("127.0.0.1", proxy.port()).withCredentials("ann", "pw"))
                .resolve(ResolveRule.parse("staging.test:" + server.port() + ":127.0.0.1"))
                .build()) {
      FetchResult result =
          fetcher.fetchOne("http://staging.test:" + server.port() + "/hello").block(WAIT);

      assertThat(result.isSuccess()).as(String.valueOf(result)).isTrue();
      assertThat(proxy.log()).containsExactly("CONNECT IPv4 127.0.0.1:" + server.port());
      assertThat(server.requests("/hello").get(0).headers().first("Host"))
          .isEqualTo("staging.test:" + server.port());
    }
  }

  @Test
  void connectToChangesWhatATunnelAsksFor() {
    try (Socks5Proxy proxy = Socks5Proxy.start();
        Fetcher fetcher =
            Fetcher.builder()
                .proxy(Proxy.socks5h("127.0.0.1", proxy.port()))
                .connectTo(ConnectToRule.parse("api.test:80:127.0.0.1:" + server.port()))
                .build()) {
      FetchResult result = fetcher.fetchOne("http://api.test/hello").block(WAIT);

      assertThat(result.isSuccess()).as(String.valueOf(result)).isTrue();
      assertThat(proxy.log()).containsExactly("CONNECT IPv4 127.0.0.1:" + server.port());
      assertThat(server.requests("/hello").get(0).headers().first("Host")).isEqualTo("api.test");
    }
  }

  @Test
  void wrongSocksPasswordIsAFailureThatNamesTheProxyButNotThePassword() {
    try (Socks5Proxy proxy = Socks5Proxy.start("ann", "right");
        Fetcher fetcher =
            Fetcher.builder()
                .proxy(Proxy.socks5h("127.0.0.1", proxy.port()).withCredentials("ann", "wrong-pw"))
                .build()) {
      FetchResult result = fetcher.fetchOne(server.url("/hello")).block(WAIT);

      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Failure.class,
              f -> {
                assertThat(f.error().kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
                assertThat(f.error().getMessage())
                    .contains("proxy socks5h://127.0.0.1:" + proxy.port())
                    .doesNotContain("wrong-pw");
                assertThat(f.error().getCause()).isInstanceOf(ProxyConnectException.class);
              });
      assertThat(server.requests()).isEmpty();
    }
  }

  @Test
  void noProxyHostsGoDirect() {
    try (HttpProxy proxy = HttpProxy.start();
        Fetcher fetcher =
            Fetcher.builder()
                .proxy(
                    ProxySettings.of(Proxy.http("127.0.0.1", proxy.port()))
                        .withNoProxy("localhost"))
                .build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.just("http://localhost:" + server.port() + "/hello", server.url("/echo")))
              .collectList()
              .block(WAIT);

      assertThat(results).allSatisfy(r -> assertThat(r.isSuccess()).as(String.valueOf(r)).isTrue());
      assertThat(proxy.log()).containsExactly("GET " + server.url("/echo") + " HTTP/1.1");
      assertThat(server.requests()).hasSize(2);
    }
  }

  @Test
  void environmentVariablesChooseTheProxyAsCurlDoes() {
    try (HttpProxy proxy = HttpProxy.start();
        Fetcher fetcher =
            Fetcher.builder()
                .proxy(
                    ProxySettings.fromEnvironment(
                        Map.of(
                            "HTTP_PROXY", "http://127.0.0.1:1", // ignored, as curl does
                            "http_proxy", "127.0.0.1:" + proxy.port(),
                            "no_proxy", ".localhost")))
                .build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.just(server.url("/hello"), "http://localhost:" + server.port() + "/echo"))
              .collectList()
              .block(WAIT);

      assertThat(results).allSatisfy(r -> assertThat(r.isSuccess()).as(String.valueOf(r)).isTrue());
      assertThat(proxy.log()).containsExactly("GET " + server.url("/hello") + " HTTP/1.1");
    }
  }

  @Test
  void redirectFromAProxiedHostToANoProxyHostLeavesTheProxy() {
    server.route("/go", Reply.redirect(302, "http://localhost:" + server.port() + "/hello"));
    try (HttpProxy proxy = HttpProxy.start();
        Fetcher fetcher =
            Fetcher.builder()
                .proxy(
                    ProxySettings.of(Proxy.http("127.0.0.1", proxy.port()))
                        .withNoProxy("localhost"))
                .build()) {
      FetchResult result = fetcher.fetchOne(server.url("/go")).block(WAIT);

      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Success.class, ok -> assertThat(ok.body().asString()).isEqualTo("hello"));
      assertThat(proxy.log()).containsExactly("GET " + server.url("/go") + " HTTP/1.1");
    }
  }

  @Test
  void proxyGivenByNameIsResolvedWithResolveRules() {
    try (Socks5Proxy proxy = Socks5Proxy.start();
        Fetcher fetcher =
            Fetcher.builder()
                .proxy(Proxy.parse("socks5h://proxy.test:" + proxy.port()))
                .resolve(ResolveRule.parse("proxy.test:" + proxy.port() + ":127.0.0.1"))
                .build()) {
      FetchResult result = fetcher.fetchOne(server.url("/hello")).block(WAIT);

      assertThat(result.isSuccess()).as(String.valueOf(result)).isTrue();
      assertThat(proxy.log()).hasSize(1);
    }
  }

  @Test
  void deadProxyIsConnectRefusedNamingTheProxy() throws IOException {
    int dead = Ports.closedPort();
    String[] specs = {"http://u:topsecret@127.0.0.1:" + dead, "socks5://127.0.0.1:" + dead};
    for (String spec : specs) {
      Proxy proxy = Proxy.parse(spec);
      try (Fetcher fetcher = Fetcher.builder().proxy(proxy).build()) {
        for (String url : List.of(server.url("/hello"), "https://127.0.0.1:" + server.port())) {
          FetchResult result = fetcher.fetchOne(url).block(WAIT);

          assertThat(result)
              .as(spec + " " + url)
              .isInstanceOfSatisfying(
                  FetchResult.Failure.class,
                  f -> {
                    assertThat(f.error().kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
                    assertThat(f.error().getMessage())
                        .contains("proxy " + proxy)
                        .doesNotContain("topsecret");
                    assertThat(f.error().getCause()).isInstanceOf(java.net.ConnectException.class);
                  });
        }
      }
    }
    assertThat(server.requests()).isEmpty();
  }

  @Test
  void tunnelRefusedByTheProxyIsAFailureWithTheProxyAnswer() throws IOException {
    int dead = Ports.closedPort();
    try (HttpProxy proxy = HttpProxy.start();
        Fetcher fetcher = Fetcher.builder().proxy(Proxy.http("127.0.0.1", proxy.port())).build()) {
      FetchResult result = fetcher.fetchOne("https://127.0.0.1:" + dead + "/").block(WAIT);

      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Failure.class,
              f -> {
                assertThat(f.error().kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
                assertThat(f.error().getMessage())
                    .contains("proxy http://127.0.0.1:" + proxy.port())
                    .contains("502");
                // The exception reactor-netty signalled (TLS could not start) is the cause, and the
                // proxy's answer is in its chain.
                assertThat(f.error().getCause()).hasCauseInstanceOf(ProxyConnectException.class);
              });
    }
  }

  @Test
  void silentProxyIsAConnectTimeoutNamingTheProxy() throws IOException {
    // The kernel completes the TCP handshake into the backlog; nobody ever answers SOCKS.
    try (ServerSocket silent = new ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress());
        Fetcher fetcher =
            Fetcher.builder()
                .connectTimeout(Duration.ofMillis(300))
                .proxy(Proxy.socks5h("127.0.0.1", silent.getLocalPort()))
                .build()) {
      FetchResult result = fetcher.fetchOne(server.url("/hello")).block(WAIT);

      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Failure.class,
              f -> {
                assertThat(f.error().kind()).isEqualTo(FetchException.Kind.CONNECT_TIMEOUT);
                assertThat(f.error().getMessage())
                    .contains("proxy socks5h://127.0.0.1:" + silent.getLocalPort());
              });
    }
  }
}
