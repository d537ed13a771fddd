package dev.fetchflux;

import dev.fetchflux.internal.Urls;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Which {@link Proxy} each request goes through: one proxy per URL scheme ({@code http},
 * {@code https}) and a {@code no_proxy} list of hosts that always go direct. Immutable.
 *
 * <pre>{@code
 * // What curl does by default: the environment, then -x and --noproxy on top.
 * ProxySettings proxies = ProxySettings.fromEnvironment(System.getenv())
 *     .withProxy(Proxy.parse("socks5h://127.0.0.1:1080"))       // curl -x
 *     .withNoProxy("localhost,.internal.example");               // curl --noproxy
 * Fetcher fetcher = Fetcher.builder().proxy(proxies).build();
 * }</pre>
 *
 * <p>A fetcher reads no environment variable by itself: its default is {@link #direct()}. Reading
 * the environment is a call you make, {@link #fromEnvironment(Map)}, with the map of your choice.
 *
 * <p>The proxy for a request is chosen per hop, so a redirect to another host or scheme is routed
 * (or sent direct) on its own terms. {@code no_proxy} is matched against the URL's host and port.
 */
public final class ProxySettings {

  private static final ProxySettings DIRECT = new ProxySettings(null, null, NoProxy.NONE);

  private final @Nullable Proxy http;
  private final @Nullable Proxy https;
  private final NoProxy noProxy;

  private ProxySettings(@Nullable Proxy http, @Nullable Proxy https, NoProxy noProxy) {
    this.http = http;
    this.https = https;
    this.noProxy = noProxy;
  }

  /** No proxy at all: every request goes direct. A fetcher's default. */
  public static ProxySettings direct() {
    return DIRECT;
  }

  /** Every request through {@code proxy}, no exceptions. */
  public static ProxySettings of(Proxy proxy) {
    return DIRECT.withProxy(proxy);
  }

  /**
   * The proxies curl would use given these environment variables:
   * <ul>
   *   <li>{@code http://} URLs: {@code http_proxy} (lower case only: the upper-case
   *       {@code HTTP_PROXY} can be set by a request's {@code Proxy:} header in CGI programs, so
   *       curl ignores it), else {@code all_proxy}, else {@code ALL_PROXY};
   *   <li>{@code https://} URLs: {@code https_proxy}, else {@code HTTPS_PROXY}, else
   *       {@code all_proxy}, else {@code ALL_PROXY};
   *   <li>{@code no_proxy}, else {@code NO_PROXY}: hosts that go direct (see
   *       {@link #withNoProxy(String)}); entries curl could not use either are ignored.
   * </ul>
   * Empty values count as unset. Values use {@link Proxy#parse(String) curl's proxy syntax}.
   *
   * @param environment for example {@code System.getenv()}; a plain map in tests
   * @throws IllegalArgumentException if a proxy variable does not parse; the message names the
   *     variable, never its credentials
   */
  public static ProxySettings fromEnvironment(Map<String, String> environment) {
    Objects.requireNonNull(environment, "environment");
    Proxy all = proxyVariable(environment, "all_proxy", "ALL_PROXY");
    Proxy http = proxyVariable(environment, "http_proxy", null);
    Proxy https = proxyVariable(environment, "https_proxy", "HTTPS_PROXY");
    String noProxy = variable(environment, "no_proxy");
    if (noProxy == null) {
      noProxy = variable(environment, "NO_PROXY");
    }
    return new ProxySettings(
        http != null ? http : all,
        https != null ? https : all,
        noProxy == null ? NoProxy.NONE : NoProxy.parse(noProxy, false));
  }

  /** These settings with {@code proxy} for every scheme (curl's {@code -x}); no-proxy list kept. */
  public ProxySettings withProxy(Proxy proxy) {
    Objects.requireNonNull(proxy, "proxy");
    return new ProxySettings(proxy, proxy, noProxy);
  }

  /** These settings with {@code proxy} for {@code http://} URLs; {@code null}: direct. */
  public ProxySettings withHttpProxy(@Nullable Proxy proxy) {
    return new ProxySettings(proxy, https, noProxy);
  }

  /** These settings with {@code proxy} for {@code https://} URLs; {@code null}: direct. */
  public ProxySettings withHttpsProxy(@Nullable Proxy proxy) {
    return new ProxySettings(http, proxy, noProxy);
  }

  /**
   * These settings with a new no-proxy list, replacing the previous one (curl's {@code --noproxy}):
   * comma-separated; {@code *} alone matches every host; a name matches itself and its subdomains
   * ({@code example.com}, {@code .example.com} and {@code *.example.com} all match
   * {@code www.example.com}); an IP address or CIDR block ({@code 10.0.0.0/8}, {@code ::1}) matches
   * addresses written as the URL's host; {@code :port} after an entry restricts it to that port
   * ({@code [::1]:8080} for IPv6). An empty string bypasses nothing.
   *
   * @throws IllegalArgumentException naming an entry that is not one of these forms
   */
  public ProxySettings withNoProxy(String list) {
    Objects.requireNonNull(list, "list");
    return new ProxySettings(http, https, NoProxy.parse(list, true));
  }

  /** The proxy for {@code http://} URLs, if any. */
  public Optional<Proxy> httpProxy() {
    return Optional.ofNullable(http);
  }

  /** The proxy for {@code https://} URLs, if any. */
  public Optional<Proxy> httpsProxy() {
    return Optional.ofNullable(https);
  }

  /** The no-proxy list as given (normalized whitespace aside); empty when none. */
  public String noProxy() {
    return noProxy.text();
  }

  /** Whether no request can go through a proxy. */
  public boolean isDirect() {
    return http == null && https == null;
  }

  /**
   * The proxy a request to {@code uri} goes through, or empty when it goes direct (no proxy for its
   * scheme, or its host is in the no-proxy list).
   */
  public Optional<Proxy> proxyFor(URI uri) {
    String scheme = String.valueOf(uri.getScheme()).toLowerCase(Locale.ROOT);
    Proxy proxy = scheme.equals("https") ? https : scheme.equals("http") ? http : null;
    String host = Urls.host(uri);
    if (proxy == null || host == null) {
      return Optional.empty();
    }
    int port = Urls.port(uri);
    return noProxy.matches(host, port) ? Optional.empty() : Optional.of(proxy);
  }

  /** Proxies without credentials and the no-proxy list. */
  @Override
  public String toString() {
    if (isDirect()) {
      return "ProxySettings[direct]";
    }
    return "ProxySettings[http="
        + (http == null ? "direct" : http)
        + ", https="
        + (https == null ? "direct" : https)
        + (noProxy.text().isEmpty() ? "" : ", noProxy=" + noProxy.text())
        + "]";
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof ProxySettings p
        && Objects.equals(http, p.http)
        && Objects.equals(https, p.https)
        && noProxy.text().equals(p.noProxy.text());
  }

  @Override
  public int hashCode() {
    return Objects.hash(http, https, noProxy.text());
  }

  private static @Nullable Proxy proxyVariable(
      Map<String, String> env, String lower, @Nullable String upper) {
    String name = lower;
    String value = variable(env, lower);
    if (value == null && upper != null) {
      name = upper;
      value = variable(env, upper);
    }
    if (value == null) {
      return null;
    }
    try {
      return Proxy.parse(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
    }
  }

  private static @Nullable String variable(Map<String, String> env, String name) {
    String value = env.get(name);
    return value == null || value.isBlank() ? null : value;
  }
}
