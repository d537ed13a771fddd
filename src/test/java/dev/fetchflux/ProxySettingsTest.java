package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.net.URI;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Choosing a proxy: curl's -x syntax, its environment variables and its no_proxy matching. */
class ProxySettingsTest {

  private static final Proxy P = Proxy.http("proxy.example", 3128);

  private static Optional<Proxy> route(ProxySettings settings, String url) {
    return settings.proxyFor(URI.create(url));
  }

  @Test
  void parseReadsCurlProxySyntax() {
    Proxy p = Proxy.parse("socks5h://ann:p%40ss@proxy.example:1081");
    assertThat(p.type()).isEqualTo(Proxy.Type.SOCKS5H);
    assertThat(p.host()).isEqualTo("proxy.example");
    assertThat(p.port()).isEqualTo(1081);
    assertThat(p.username()).contains("ann");
    assertThat(p.password()).contains("p@ss");
  }

  @Test
  void parseDefaultsToHttpOnPort1080AsCurl() {
    assertThat(Proxy.parse("proxy.example")).isEqualTo(Proxy.http("proxy.example", 1080));
    assertThat(Proxy.parse("http://[::1]:3128/")).isEqualTo(Proxy.http("::1", 3128));
    assertThat(Proxy.parse("SOCKS5://10.0.0.1")).isEqualTo(Proxy.socks5("10.0.0.1", 1080));
  }

  @Test
  void parseRefusesWhatItCannotDo() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Proxy.parse("https://proxy:443"))
        .withMessageContaining("unsupported proxy scheme 'https'");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Proxy.parse("proxy:99999"))
        .withMessageContaining("proxy port out of range 1..65535: 99999");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Proxy.parse("proxy:http"))
        .withMessageContaining("proxy port is not a number: 'http'");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Proxy.parse(" "))
        .withMessage("empty proxy");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Proxy.parse("::1:3128"))
        .withMessageContaining("in brackets");
  }

  @Test
  void credentialsThatCannotTravelAreRefused() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Proxy.http("p", 1).withCredentials("a:b", "pw"))
        .withMessage("HTTP proxy user name must not contain ':'");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Proxy.socks5("p", 1).withCredentials("ann", "x".repeat(256)))
        .withMessage("SOCKS5 user name and password are limited to 255 bytes");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Proxy.parse("http://a%3Ab@p:1"))
        .withMessageContaining("must not contain ':'");
  }

  @Test
  void credentialsNeverAppearInTextOrErrors() {
    Proxy p = Proxy.parse("http://ann:hunter2@proxy.example:3128");
    assertThat(p.toString()).isEqualTo("http://proxy.example:3128");
    assertThat(ProxySettings.of(p).toString()).doesNotContain("hunter2").doesNotContain("ann");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Proxy.parse("http://ann:hunter2@proxy:x"))
        .withMessageNotContaining("hunter2");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ProxySettings.fromEnvironment(Map.of("https_proxy", "ann:hunter2@p:x")))
        .withMessageStartingWith("https_proxy: ")
        .withMessageNotContaining("hunter2");
  }

  @Test
  void directIsTheDefaultAndReadsNoEnvironment() {
    assertThat(ProxySettings.direct().isDirect()).isTrue();
    assertThat(route(ProxySettings.direct(), "http://example.com/")).isEmpty();
  }

  @Test
  void lowerCaseHttpProxyOnlyAsCurl() {
    ProxySettings upper = ProxySettings.fromEnvironment(Map.of("HTTP_PROXY", "proxy.example:1"));
    ProxySettings lower = ProxySettings.fromEnvironment(Map.of("http_proxy", "proxy.example:2"));

    assertThat(route(upper, "http://example.com/")).isEmpty();
    assertThat(route(lower, "http://example.com/")).contains(Proxy.http("proxy.example", 2));
    assertThat(route(lower, "https://example.com/")).isEmpty();
  }

  @Test
  void httpsProxyInEitherCaseLowerFirst() {
    ProxySettings upper = ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "up:1"));
    ProxySettings both =
        ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "up:1", "https_proxy", "low:2"));

    assertThat(route(upper, "https://example.com/")).contains(Proxy.http("up", 1));
    assertThat(route(both, "https://example.com/")).contains(Proxy.http("low", 2));
    assertThat(route(both, "http://example.com/")).isEmpty();
  }

  @Test
  void allProxyIsTheFallbackForBothSchemes() {
    ProxySettings env =
        ProxySettings.fromEnvironment(
            Map.of("ALL_PROXY", "socks5://all:1", "http_proxy", "web:2", "https_proxy", ""));

    assertThat(route(env, "http://example.com/")).contains(Proxy.http("web", 2));
    assertThat(route(env, "https://example.com/")).contains(Proxy.socks5("all", 1));
    assertThat(
            ProxySettings.fromEnvironment(Map.of("all_proxy", "a:1", "ALL_PROXY", "b:1"))
                .httpProxy())
        .contains(Proxy.http("a", 1));
  }

  @Test
  void noProxyStarBypassesEverything() {
    ProxySettings env = ProxySettings.fromEnvironment(Map.of("all_proxy", "p:1", "NO_PROXY", "*"));
    assertThat(route(env, "http://example.com/")).isEmpty();
    assertThat(route(env, "https://10.1.2.3:8443/")).isEmpty();
  }

  @Test
  void noProxyNamesMatchTheHostAndItsSubdomainsOnly() {
    ProxySettings s = ProxySettings.of(P).withNoProxy("example.com, .internal.test,*.corp");

    assertThat(route(s, "http://example.com/")).isEmpty();
    assertThat(route(s, "http://www.EXAMPLE.com./")).isEmpty();
    assertThat(route(s, "http://notexample.com/")).contains(P);
    assertThat(route(s, "http://example.com.evil/")).contains(P);
    assertThat(route(s, "http://internal.test/")).isEmpty();
    assertThat(route(s, "http://a.b.internal.test/")).isEmpty();
    assertThat(route(s, "https://git.corp/")).isEmpty();
  }

  @Test
  void noProxyAddressesAndCidrBlocksMatchIpHosts() {
    ProxySettings s = ProxySettings.of(P).withNoProxy("127.0.0.1,10.0.0.0/8,::1,fd00::/8");

    assertThat(route(s, "http://127.0.0.1:8080/")).isEmpty();
    assertThat(route(s, "http://127.0.0.2/")).contains(P);
    assertThat(route(s, "http://10.200.3.4/")).isEmpty();
    assertThat(route(s, "http://11.0.0.1/")).contains(P);
    assertThat(route(s, "http://[::1]:8080/")).isEmpty();
    assertThat(route(s, "http://[0:0:0:0:0:0:0:1]/")).isEmpty();
    assertThat(route(s, "http://[fd12::5]/")).isEmpty();
    assertThat(route(s, "http://[fe80::1]/")).contains(P);
    assertThat(route(s, "http://localhost/")).contains(P);
  }

  @Test
  void noProxyEntryWithAPortMatchesThatPortOnly() {
    ProxySettings s = ProxySettings.of(P).withNoProxy("example.com:8080,[::1]:9000");

    assertThat(route(s, "http://example.com:8080/")).isEmpty();
    assertThat(route(s, "http://example.com/")).contains(P);
    assertThat(route(s, "https://www.example.com:8080/")).isEmpty();
    assertThat(route(s, "http://[::1]:9000/")).isEmpty();
    assertThat(route(s, "http://[::1]:9001/")).contains(P);
  }

  @Test
  void withNoProxyIsStrictWhileTheEnvironmentIsForgiving() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ProxySettings.direct().withNoProxy("10.0.0.0/40"))
        .withMessage("CIDR prefix out of range in no_proxy entry: 10.0.0.0/40");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ProxySettings.direct().withNoProxy("a*b.com"))
        .withMessageContaining("a*b.com");

    ProxySettings env =
        ProxySettings.fromEnvironment(
            Map.of("all_proxy", "p:1", "no_proxy", "192.168.1.1-192.168.1.9, example.com"));
    assertThat(route(env, "http://example.com/")).isEmpty();
    assertThat(route(env, "http://192.168.1.5/")).contains(Proxy.http("p", 1));
  }

  @Test
  void curlOptionsLayerOverTheEnvironment() {
    ProxySettings env =
        ProxySettings.fromEnvironment(Map.of("http_proxy", "env:1", "no_proxy", "example.com"));
    // curl -x keeps the environment's no_proxy; --noproxy "" clears it.
    ProxySettings x = env.withProxy(Proxy.socks5h("cli", 2));
    ProxySettings cleared = x.withNoProxy("");

    assertThat(route(x, "http://example.com/")).isEmpty();
    assertThat(route(x, "https://other.test/")).contains(Proxy.socks5h("cli", 2));
    assertThat(route(cleared, "http://example.com/")).contains(Proxy.socks5h("cli", 2));
  }
}
