package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Each builder rule rejects a bad value with a message naming the option and the value. */
class FetcherBuilderTest {

  @Test
  void maxInFlight_belowOne() {
    assertThatThrownBy(() -> Fetcher.builder().maxInFlight(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxInFlight < 1: 0");
  }

  @Test
  void reorderWindow_belowOne() {
    assertThatThrownBy(() -> Fetcher.builder().reorderWindow(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("reorderWindow < 1: 0");
  }

  @Test
  void reorderWindow_smallerThanMaxInFlight() {
    assertThatThrownBy(() -> Fetcher.builder().maxInFlight(8).reorderWindow(4).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("reorderWindow (4) must be >= maxInFlight (8)");
  }

  @Test
  void reorderWindowBytes_negative() {
    assertThatThrownBy(() -> Fetcher.builder().reorderWindowBytes(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("reorderWindowBytes < 0: -1");
  }

  @Test
  void maxBodyMemory_negative() {
    assertThatThrownBy(() -> Fetcher.builder().maxBodyMemory(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxBodyMemory < 0: -1");
  }

  @Test
  void maxBodySize_negativeOrBeyondAnArray() {
    assertThatThrownBy(() -> Fetcher.builder().maxBodySize(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxBodySize < 0: -1");
    assertThatThrownBy(() -> Fetcher.builder().maxBodySize(Integer.MAX_VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("maxBodySize > ");
  }

  @Test
  void timeouts_mustBePositive() {
    assertThatThrownBy(() -> Fetcher.builder().connectTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("connectTimeout must be positive: PT0S");
    assertThatThrownBy(() -> Fetcher.builder().readTimeout(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("readTimeout must be positive: PT-1S");
    assertThatThrownBy(() -> Fetcher.builder().requestTimeout(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("requestTimeout");
  }

  @Test
  void maxRedirects_negative() {
    assertThatThrownBy(() -> Fetcher.builder().maxRedirects(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRedirects < 0: -1");
  }

  @Test
  void eventLoopThreads_belowOne() {
    assertThatThrownBy(() -> Fetcher.builder().eventLoopThreads(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("eventLoopThreads < 1: 0");
  }

  @Test
  void insecure_excludesTrustManagerFactory() throws Exception {
    javax.net.ssl.TrustManagerFactory tmf =
        javax.net.ssl.TrustManagerFactory.getInstance(
            javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init((java.security.KeyStore) null);
    assertThatThrownBy(() -> Fetcher.builder().insecure(true).trustManagerFactory(tmf).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("insecure and trustManagerFactory exclude each other");
  }

  // ---- header injection (reactor-netty would send these as they are) ---------------------------

  @Test
  void header_valueWithCrLfIsRejectedNamingTheHeader() {
    assertThatThrownBy(() -> Fetcher.builder().header("X-Note", "a\r\nInjected: yes"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("header X-Note value has a control character (0xd) at 1")
        .hasMessageContaining("a\\r\\nInjected: yes");
  }

  @Test
  void header_valueWithBareLineFeedIsRejected() {
    assertThatThrownBy(() -> Fetcher.builder().header("X-Note", "a\nb"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("(0xa)");
  }

  @Test
  void header_nameThatIsNotATokenIsRejected() {
    assertThatThrownBy(() -> Fetcher.builder().header("X Note", "v"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("header name \"X Note\" has an invalid character at 1");
  }

  @Test
  void requestHeader_valueWithCrLfIsRejected() {
    assertThatThrownBy(
            () ->
                FetchRequest.builder(java.net.URI.create("http://127.0.0.1/"))
                    .header("Cookie", "a=1\r\nX-Evil: 1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("header Cookie value has a control character");
  }

  @Test
  void userAgent_withCrLfIsRejected() {
    assertThatThrownBy(() -> Fetcher.builder().userAgent("ua\r\nX-Evil: 1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("header User-Agent value has a control character");
  }

  @Test
  void sensitiveHeader_nameThatIsNotATokenIsRejected() {
    assertThatThrownBy(() -> Fetcher.builder().sensitiveHeader("X:Key"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid character");
  }

  @Test
  void tabInAHeaderValueIsAllowed() {
    assertThatCode(() -> Fetcher.builder().header("X-Note", "a\tb")).doesNotThrowAnyException();
  }
}
