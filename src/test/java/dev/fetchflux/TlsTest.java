package dev.fetchflux;

import static dev.fetchflux.support.Results.assertFailure;
import static dev.fetchflux.support.Results.fetchAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.internal.HttpEngine;
import dev.fetchflux.support.Certificates;
import dev.fetchflux.support.ChildJvm;
import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.TestServer;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;

/**
 * HTTPS against servers whose certificate a private test CA issued for 127.0.0.1: verification on
 * by default, the insecure switch, a custom trust store, and HTTP/2 or HTTP/1.1 as chosen, checked
 * from the server's side; each with Netty's native TLS (BoringSSL, where it loads: the default) and
 * with the JDK's ({@code -Dfetchflux.tls.native=false}).
 */
@Timeout(60)
class TlsTest {

  // TLS servers are slow to start on a busy machine; these tests only read from them.
  private static TestServer h1;
  private static TestServer h2;

  @BeforeAll
  static void start() {
    h1 = TestServer.builder().https(Certificates.serverKey(), Certificates.serverChain()).start();
    h2 =
        TestServer.builder()
            .https(Certificates.serverKey(), Certificates.serverChain())
            .http2(true)
            .start();
  }

  @AfterAll
  static void stop() {
    h1.close();
    h2.close();
  }

  /** Which TLS engine a test's fetcher runs on. */
  enum Tls {
    NATIVE,
    JDK;

    /** {@code b} built with this choice ({@link HttpEngine#NATIVE_TLS} is read at build). */
    Fetcher build(FetcherBuilder b) {
      String before = System.getProperty(HttpEngine.NATIVE_TLS);
      System.setProperty(HttpEngine.NATIVE_TLS, Boolean.toString(this == NATIVE));
      try {
        return b.build();
      } finally {
        if (before == null) {
          System.clearProperty(HttpEngine.NATIVE_TLS);
        } else {
          System.setProperty(HttpEngine.NATIVE_TLS, before);
        }
      }
    }
  }

  @Test
  void nativeTlsIsChosenWhereItLoadsAndThePropertyTurnsItOff() {
    // netty-tcnative-boringssl-static is a (test) dependency; on a platform it has no library for,
    // the JDK's TLS is the choice either way.
    SslProvider expected = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    FetcherBuilder b = Fetcher.builder();
    String before = System.getProperty(HttpEngine.NATIVE_TLS);
    try {
      System.clearProperty(HttpEngine.NATIVE_TLS);
      assertThat(engineProvider(b)).isEqualTo(expected);
      System.setProperty(HttpEngine.NATIVE_TLS, "false");
      assertThat(engineProvider(b)).isEqualTo(SslProvider.JDK);
    } finally {
      if (before == null) {
        System.clearProperty(HttpEngine.NATIVE_TLS);
      } else {
        System.setProperty(HttpEngine.NATIVE_TLS, before);
      }
    }
  }

  /**
   * Where the native library cannot load (here Netty's own switch, {@code
   * -Dio.netty.handler.ssl.noOpenSsl=true}, read once per JVM, so in a JVM of its own), https runs
   * on the JDK's TLS with the same checks: a trusted server answers, an untrusted one is a TLS
   * failure.
   */
  @Test
  void whereNativeTlsCannotLoadTheJdksIsUsed() {
    ChildJvm.Outcome outcome =
        ChildJvm.run(
            NoNativeTls.class,
            List.of("-Dio.netty.handler.ssl.noOpenSsl=true", "-XX:TieredStopAtLevel=1"),
            0,
            Duration.ofSeconds(90));

    assertThat(outcome.exitCode()).as("%s", outcome).isZero();
    assertThat(outcome.stdout().lines())
        .as("%s", outcome)
        .containsExactly(
            "native available: false",
            "provider: JDK",
            "trusted: /echo?child",
            "untrusted: TLS PKIX path building failed");
  }

  /** The child of {@link #whereNativeTlsCannotLoadTheJdksIsUsed}. */
  static final class NoNativeTls {
    public static void main(String[] args) {
      System.out.println("native available: " + OpenSsl.isAvailable());
      System.out.println("provider: " + engineProvider(Fetcher.builder()));
      try (TestServer server =
              TestServer.builder()
                  .https(Certificates.serverKey(), Certificates.serverChain())
                  .start();
          Fetcher trusting =
              Fetcher.builder().trustManagerFactory(Certificates.trustingTestCa()).build();
          Fetcher verifying = Fetcher.builder().build()) {
        FetchResult ok = fetchAll(trusting, server.url("/echo?child")).get(0);
        System.out.println(
            "trusted: "
                + (ok instanceof FetchResult.Success s ? s.body().asString() : ok.toString()));
        FetchResult bad = fetchAll(verifying, server.url("/echo?child")).get(0);
        System.out.println(
            "untrusted: "
                + (bad instanceof FetchResult.Failure f
                    ? f.kind()
                        + (f.error().getMessage().contains("PKIX path building failed")
                            ? " PKIX path building failed"
                            : " " + f.error().getMessage())
                    : "success?"));
      }
    }
  }

  private static SslProvider engineProvider(FetcherBuilder b) {
    HttpEngine engine = new HttpEngine("tls-choice", b.config());
    try {
      return engine.tlsProvider();
    } finally {
      engine.closeLater().block(dev.fetchflux.support.Results.WAIT);
    }
  }

  private static FetchResult.Success success(FetchResult result) {
    assertThat(result).isInstanceOf(FetchResult.Success.class);
    return (FetchResult.Success) result;
  }

  private static RecordedRequest lastRequest(TestServer server, String path) {
    List<RecordedRequest> requests = server.requests(path);
    assertThat(requests).isNotEmpty();
    return requests.get(requests.size() - 1);
  }

  @ParameterizedTest
  @EnumSource(Tls.class)
  void certificateIsVerifiedByDefault(Tls tls) {
    try (Fetcher fetcher = tls.build(Fetcher.builder())) {
      String url = h1.url("/echo?default");

      FetchResult.Failure f = assertFailure(fetchAll(fetcher, url).get(0), 0, url, Kind.TLS);

      assertThat(f.error().getCause()).isInstanceOf(SSLException.class);
      // The reason, whichever engine: BoringSSL's own exception only says "General OpenSslEngine
      // problem"; the JDK trust manager's verdict is its cause.
      assertThat(f.error().getMessage()).contains("PKIX path building failed");
      assertThat(h1.requests("/echo")).noneMatch(r -> r.uri().equals("/echo?default"));
    }
  }

  @ParameterizedTest
  @EnumSource(Tls.class)
  void insecureAcceptsAnUntrustedCertificate(Tls tls) {
    try (Fetcher fetcher = tls.build(Fetcher.builder().insecure(true))) {
      FetchResult.Success ok = success(fetchAll(fetcher, h1.url("/echo?insecure")).get(0));

      assertThat(ok.body().asString()).isEqualTo("/echo?insecure");
    }
  }

  @ParameterizedTest
  @EnumSource(Tls.class)
  void customTrustManagerFactoryTrustsThePrivateCa(Tls tls) {
    try (Fetcher fetcher =
        tls.build(Fetcher.builder().trustManagerFactory(Certificates.trustingTestCa()))) {
      FetchResult.Success ok = success(fetchAll(fetcher, h1.url("/echo?trusted")).get(0));

      assertThat(ok.body().asString()).isEqualTo("/echo?trusted");
    }
  }

  @ParameterizedTest
  @EnumSource(Tls.class)
  void hostNameIsVerifiedAgainstTheCertificate(Tls tls) {
    // Trusted CA, but the certificate names 127.0.0.1, not localhost.
    try (Fetcher fetcher =
        tls.build(Fetcher.builder().trustManagerFactory(Certificates.trustingTestCa()))) {
      String url = "https://localhost:" + h1.port() + "/echo?by-name";

      FetchResult.Failure f = assertFailure(fetchAll(fetcher, url).get(0), 0, url, Kind.TLS);

      assertThat(f.error().getCause()).isInstanceOf(SSLException.class);
      assertThat(f.error().getMessage()).containsIgnoringCase("localhost");
    }
  }

  @ParameterizedTest
  @EnumSource(Tls.class)
  void http2IsNegotiatedByAlpnWhenChosen(Tls tls) {
    try (Fetcher fetcher =
        tls.build(
            Fetcher.builder()
                .protocol(HttpProtocol.HTTP_2)
                .trustManagerFactory(Certificates.trustingTestCa()))) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.range(0, 10).map(i -> h2.url("/echo?h2-" + tls + "=" + i)))
              .collectList()
              .block(dev.fetchflux.support.Results.WAIT);

      assertThat(results).hasSize(10).allMatch(FetchResult::isSuccess);
      assertThat(h2.requests("/echo"))
          .filteredOn(r -> r.uri().startsWith("/echo?h2-" + tls + "="))
          .hasSize(10)
          .allSatisfy(r -> assertThat(r.protocol()).isEqualTo("HTTP/2.0"));
    }
  }

  @ParameterizedTest
  @EnumSource(Tls.class)
  void http11IsUsedWhenChosenEvenIfTheServerOffersHttp2(Tls tls) {
    try (Fetcher fetcher =
        tls.build(
            Fetcher.builder()
                .protocol(HttpProtocol.HTTP_1_1)
                .trustManagerFactory(Certificates.trustingTestCa()))) {
      success(fetchAll(fetcher, h2.url("/echo?h11")).get(0));

      assertThat(lastRequest(h2, "/echo").protocol()).isEqualTo("HTTP/1.1");
      assertThat(lastRequest(h2, "/echo").uri()).isEqualTo("/echo?h11");
    }
  }

  @ParameterizedTest
  @EnumSource(Tls.class)
  void http2FallsBackToHttp11WhenTheServerDoesNotOfferIt(Tls tls) {
    try (Fetcher fetcher =
        tls.build(
            Fetcher.builder()
                .protocol(HttpProtocol.HTTP_2)
                .trustManagerFactory(Certificates.trustingTestCa()))) {
      success(fetchAll(fetcher, h1.url("/echo?fallback")).get(0));

      assertThat(lastRequest(h1, "/echo").uri()).isEqualTo("/echo?fallback");
      assertThat(lastRequest(h1, "/echo").protocol()).isEqualTo("HTTP/1.1");
    }
  }

  @Test
  void http2ChoiceStillSpeaksHttp11ToPlainHttp() {
    try (TestServer plain = TestServer.start();
        Fetcher fetcher = Fetcher.builder().protocol(HttpProtocol.HTTP_2).build()) {
      success(fetchAll(fetcher, plain.url("/echo")).get(0));

      assertThat(plain.requests().get(0).protocol()).isEqualTo("HTTP/1.1");
    }
  }
}
