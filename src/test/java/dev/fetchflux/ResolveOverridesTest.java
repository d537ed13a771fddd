package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.TestServer;
import dev.fetchflux.testing.TestServerExtension;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;

/** curl's --resolve and --connect-to, end to end on loopback. */
@Timeout(30)
class ResolveOverridesTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension final TestServerExtension server = new TestServerExtension();

  @Test
  void resolveSendsAMadeUpHostToLoopbackAndKeepsItsHostHeader() {
    int port = server.port();
    try (Fetcher fetcher =
        Fetcher.builder()
            .resolve(ResolveRule.parse("staging.test:" + port + ":127.0.0.1"))
            .build()) {
      FetchResult result = fetcher.fetchOne("http://staging.test:" + port + "/echo").block(WAIT);

      assertThat(result).isInstanceOf(FetchResult.Success.class);
      assertThat(((FetchResult.Success) result).status()).isEqualTo(200);
      RecordedRequest seen = server.requests("/echo").get(0);
      assertThat(seen.headers().first("Host")).isEqualTo("staging.test:" + port);
    }
  }

  @Test
  void resolveKeepsTheUrlHostForTlsVerification() throws Exception {
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
        Fetcher fetcher =
            Fetcher.builder()
                .trustManagerFactory(cert.toTrustManagerFactory())
                .resolve(ResolveRule.parse("staging.test:" + tls.port() + ":127.0.0.1"))
                .build()) {
      // The certificate names staging.test only: verification passes because SNI and the host
      // check use the URL's host, not the address the rule connects to.
      FetchResult byName =
          fetcher.fetchOne("https://staging.test:" + tls.port() + "/echo").block(WAIT);
      FetchResult byAddress = fetcher.fetchOne(tls.url("/echo")).block(WAIT);

      assertThat(byName.isSuccess()).as(String.valueOf(byName)).isTrue();
      assertThat(tls.requests("/echo").get(0).headers().first("Host"))
          .isEqualTo("staging.test:" + tls.port());
      assertThat(byAddress)
          .isInstanceOfSatisfying(
              FetchResult.Failure.class,
              f -> assertThat(f.error().kind()).isEqualTo(FetchException.Kind.TLS));
    }
  }

  @Test
  void wildcardResolveAnswersForAnyHostOnItsPort() {
    int port = server.port();
    try (Fetcher fetcher =
        Fetcher.builder().resolve(ResolveRule.parse("*:" + port + ":127.0.0.1")).build()) {
      List<FetchResult> results =
          fetcher
              .fetch(
                  Flux.just("http://a.test:" + port + "/echo", "http://b.test:" + port + "/echo"))
              .collectList()
              .block(WAIT);

      assertThat(results).allMatch(FetchResult::isSuccess);
      assertThat(server.requests("/echo"))
          .extracting(r -> r.headers().first("Host"))
          .containsExactlyInAnyOrder("a.test:" + port, "b.test:" + port);
    }
  }

  @Test
  void connectToWithEmptyHostsMovesOnlyThePort() {
    // Nothing listens on port 1; the rule ":1::<port>" sends any host's port 1 to the server.
    try (Fetcher fetcher =
        Fetcher.builder().connectTo(ConnectToRule.parse(":1::" + server.port())).build()) {
      FetchResult result = fetcher.fetchOne("http://127.0.0.1:1/echo").block(WAIT);

      assertThat(result.isSuccess()).as(String.valueOf(result)).isTrue();
      assertThat(server.requests("/echo").get(0).headers().first("Host")).isEqualTo("127.0.0.1:1");
    }
  }

  @Test
  void connectToTargetIsResolvedByResolveRules() {
    int port = server.port();
    try (Fetcher fetcher =
        Fetcher.builder()
            .connectTo(ConnectToRule.parse("api.test:80:backend.test:" + port))
            .resolve(ResolveRule.parse("backend.test:" + port + ":127.0.0.1"))
            .build()) {
      FetchResult result = fetcher.fetchOne("http://api.test/echo").block(WAIT);

      assertThat(result.isSuccess()).as(String.valueOf(result)).isTrue();
      assertThat(server.requests("/echo").get(0).headers().first("Host")).isEqualTo("api.test");
    }
  }

  @Test
  void rulesThatDoNotMatchLeaveResolutionAlone() {
    int port = server.port();
    // 192.0.2.1 (TEST-NET-1) is unroutable: a rule that wrongly matched would time out or fail.
    try (Fetcher fetcher =
        Fetcher.builder()
            .connectTimeout(Duration.ofSeconds(2))
            .resolve(ResolveRule.parse("localhost:" + (port + 1) + ":192.0.2.1"))
            .resolve(ResolveRule.parse("other.test:" + port + ":192.0.2.1"))
            .connectTo(ConnectToRule.parse("127.0.0.1:" + (port + 1) + ":192.0.2.1:80"))
            .build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.just("http://localhost:" + port + "/echo", server.url("/echo")))
              .collectList()
              .block(WAIT);

      assertThat(results).allSatisfy(r -> assertThat(r.isSuccess()).as(String.valueOf(r)).isTrue());
      assertThat(server.requests("/echo")).hasSize(2);
    }
  }

  @Test
  void redirectToAnotherMadeUpHostIsResolvedByItsOwnRule() {
    try (TestServer other = TestServer.start()) {
      other.route("/landing", dev.fetchflux.testing.Reply.ok("landed"));
      server.route(
          "/go",
          dev.fetchflux.testing.Reply.redirect(
              302, "http://two.test:" + other.port() + "/landing"));
      try (Fetcher fetcher =
          Fetcher.builder()
              .resolve(ResolveRule.parse("one.test:" + server.port() + ":127.0.0.1"))
              .resolve(ResolveRule.parse("two.test:" + other.port() + ":127.0.0.1"))
              .build()) {
        FetchResult result =
            fetcher.fetchOne("http://one.test:" + server.port() + "/go").block(WAIT);

        assertThat(result)
            .isInstanceOfSatisfying(
                FetchResult.Success.class,
                ok -> assertThat(ok.body().asString()).isEqualTo("landed"));
        assertThat(other.requests("/landing").get(0).headers().first("Host"))
            .isEqualTo("two.test:" + other.port());
      }
    }
  }
}
