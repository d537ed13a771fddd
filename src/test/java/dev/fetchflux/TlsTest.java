package dev.fetchflux;

import static dev.fetchflux.support.Results.assertFailure;
import static dev.fetchflux.support.Results.fetchAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.Certificates;
import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.TestServer;
import java.util.List;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

/**
 * HTTPS against servers whose certificate a private test CA issued for 127.0.0.1: verification on
 * by default, the insecure switch, a custom trust store, and HTTP/2 or HTTP/1.1 as chosen, checked
 * from the server's side.
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

  private static FetchResult.Success success(FetchResult result) {
    assertThat(result).isInstanceOf(FetchResult.Success.class);
    return (FetchResult.Success) result;
  }

  private static RecordedRequest lastRequest(TestServer server, String path) {
    List<RecordedRequest> requests = server.requests(path);
    assertThat(requests).isNotEmpty();
    return requests.get(requests.size() - 1);
  }

  @Test
  void certificateIsVerifiedByDefault() {
    try (Fetcher fetcher = Fetcher.builder().build()) {
      String url = h1.url("/echo?default");

      FetchResult.Failure f = assertFailure(fetchAll(fetcher, url).get(0), 0, url, Kind.TLS);

      assertThat(f.error().getCause()).isInstanceOf(SSLException.class);
      assertThat(h1.requests("/echo")).noneMatch(r -> r.uri().equals("/echo?default"));
    }
  }

  @Test
  void insecureAcceptsAnUntrustedCertificate() {
    try (Fetcher fetcher = Fetcher.builder().insecure(true).build()) {
      FetchResult.Success ok = success(fetchAll(fetcher, h1.url("/echo?insecure")).get(0));

      assertThat(ok.body().asString()).isEqualTo("/echo?insecure");
    }
  }

  @Test
  void customTrustManagerFactoryTrustsThePrivateCa() {
    try (Fetcher fetcher =
        Fetcher.builder().trustManagerFactory(Certificates.trustingTestCa()).build()) {
      FetchResult.Success ok = success(fetchAll(fetcher, h1.url("/echo?trusted")).get(0));

      assertThat(ok.body().asString()).isEqualTo("/echo?trusted");
    }
  }

  @Test
  void hostNameIsVerifiedAgainstTheCertificate() {
    // Trusted CA, but the certificate names 127.0.0.1, not localhost.
    try (Fetcher fetcher =
        Fetcher.builder().trustManagerFactory(Certificates.trustingTestCa()).build()) {
      String url = "https://localhost:" + h1.port() + "/echo?by-name";

      FetchResult.Failure f = assertFailure(fetchAll(fetcher, url).get(0), 0, url, Kind.TLS);

      assertThat(f.error().getCause()).isInstanceOf(SSLException.class);
    }
  }

  @Test
  void http2IsNegotiatedByAlpnWhenChosen() {
    try (Fetcher fetcher =
        Fetcher.builder()
            .protocol(HttpProtocol.HTTP_2)
            .trustManagerFactory(Certificates.trustingTestCa())
            .build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.range(0, 10).map(i -> h2.url("/echo?h2=" + i)))
              .collectList()
              .block(dev.fetchflux.support.Results.WAIT);

      assertThat(results).hasSize(10).allMatch(FetchResult::isSuccess);
      assertThat(h2.requests("/echo"))
          .filteredOn(r -> r.uri().startsWith("/echo?h2="))
          .hasSize(10)
          .allSatisfy(r -> assertThat(r.protocol()).isEqualTo("HTTP/2.0"));
    }
  }

  @Test
  void http11IsUsedWhenChosenEvenIfTheServerOffersHttp2() {
    try (Fetcher fetcher =
        Fetcher.builder()
            .protocol(HttpProtocol.HTTP_1_1)
            .trustManagerFactory(Certificates.trustingTestCa())
            .build()) {
      success(fetchAll(fetcher, h2.url("/echo?h11")).get(0));

      assertThat(lastRequest(h2, "/echo").protocol()).isEqualTo("HTTP/1.1");
      assertThat(lastRequest(h2, "/echo").uri()).isEqualTo("/echo?h11");
    }
  }

  @Test
  void http2FallsBackToHttp11WhenTheServerDoesNotOfferIt() {
    try (Fetcher fetcher =
        Fetcher.builder()
            .protocol(HttpProtocol.HTTP_2)
            .trustManagerFactory(Certificates.trustingTestCa())
            .build()) {
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
