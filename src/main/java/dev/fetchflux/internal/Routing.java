package dev.fetchflux.internal;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.Proxy;
import dev.fetchflux.ProxySettings;
import dev.fetchflux.TransportException;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.proxy.ProxyConnectException;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.util.NetUtil;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.NettyPipeline;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.LoopResources;
import reactor.netty.transport.NameResolverProvider;
import reactor.netty.transport.ProxyProvider;

/**
 * Where each request's connection goes: direct, or through the proxy {@link ProxySettings} choose
 * for its URL, with {@code --resolve} and {@code --connect-to} rules applied. One
 * {@link HttpClient} per route, all on the engine's pool and loops; reactor-netty keys pooled
 * connections by the client's resolver and proxy too, so routes never share a connection.
 *
 * <p>With no proxy and no rule the engine's client is used untouched, with reactor-netty's
 * resolver.
 */
final class Routing {

  private final ProxySettings proxies;
  private final HttpClient direct;
  private final @Nullable HttpClient forHttp;
  private final @Nullable HttpClient forHttps;
  private final @Nullable DnsAddressResolverGroup dns;

  private Routing(
      ProxySettings proxies,
      HttpClient direct,
      @Nullable HttpClient forHttp,
      @Nullable HttpClient forHttps,
      @Nullable DnsAddressResolverGroup dns) {
    this.proxies = proxies;
    this.direct = direct;
    this.forHttp = forHttp;
    this.forHttps = forHttps;
    this.dns = dns;
  }

  /**
   * The routes for {@code base}'s requests.
   *
   * @param base the engine's configured client (headers, timeouts, TLS)
   */
  static Routing create(
      HttpClient base,
      ProxySettings proxies,
      NameRules rules,
      LoopResources loops,
      Duration connectTimeout) {
    if (proxies.isDirect() && rules.isEmpty()) {
      return new Routing(proxies, base, null, null, null);
    }
    // reactor-netty's default resolver, but on this engine's loops so that close() releases it.
    DnsAddressResolverGroup dns =
        NameResolverProvider.builder()
            .build()
            .newNameResolverGroup(loops, base.configuration().isPreferNative());
    HttpClient direct =
        rules.isEmpty()
            ? base
            : base.resolver(
                new RoutingResolverGroup(rules, RoutingResolverGroup.Mode.RESOLVE, null, "", dns));
    HttpClient forHttp =
        proxies
            .httpProxy()
            .map(p -> viaProxy(base, p, false, rules, dns, connectTimeout))
            .orElse(null);
    HttpClient forHttps =
        proxies
            .httpsProxy()
            .map(p -> viaProxy(base, p, true, rules, dns, connectTimeout))
            .orElse(null);
    return new Routing(proxies, direct, forHttp, forHttps, dns);
  }

  /** The client whose connections go where {@code uri}'s request must. */
  HttpClient client(URI uri) {
    Optional<Proxy> proxy = proxies.proxyFor(uri);
    if (proxy.isEmpty()) {
      return direct;
    }
    HttpClient c = "https".equalsIgnoreCase(uri.getScheme()) ? forHttps : forHttp;
    return c != null ? c : direct;
  }

  /** Releases the DNS resolver, if this routing made one. */
  Mono<Void> closeLater() {
    DnsAddressResolverGroup d = dns;
    return d == null ? Mono.empty() : Mono.fromRunnable(d::close);
  }

  private static HttpClient viaProxy(
      HttpClient base,
      Proxy proxy,
      boolean secure,
      NameRules rules,
      DnsAddressResolverGroup dns,
      Duration connectTimeout) {
    String name = proxy.toString();
    InetSocketAddress address = InetSocketAddress.createUnresolved(proxy.host(), proxy.port());
    InetAddress literal = NameRules.literal(proxy.host());
    // An IP address needs no lookup; a name is looked up per connection by ProxyConnectResolver.
    InetSocketAddress tunnelAddress =
        literal == null ? address : new InetSocketAddress(literal, proxy.port());
    // The proxy's own name obeys --resolve (as in curl), never --connect-to.
    RoutingResolverGroup proxyNames =
        new RoutingResolverGroup(
            rules.withoutConnectTo(), RoutingResolverGroup.Mode.RESOLVE, null, name, dns);
    HttpClient c;
    if (proxy.type() == Proxy.Type.HTTP && !secure) {
      String authorization =
          proxy
              .username()
              .map(
                  u ->
                      "Basic "
                          + Base64.getEncoder()
                              .encodeToString(
                                  (u + ":" + proxy.password().orElse(""))
                                      .getBytes(StandardCharsets.UTF_8)))
              .orElse(null);
      c =
          base.resolver(
                  new RoutingResolverGroup(
                      rules, RoutingResolverGroup.Mode.TO_PROXY, address, name, dns))
              .doOnChannelInit(
                  (observer, channel, remote) ->
                      channel
                          .pipeline()
                          .addBefore(
                              NettyPipeline.ReactiveBridge,
                              AbsoluteFormRequests.NAME,
                              new AbsoluteFormRequests(origin(remote), authorization)));
    } else {
      RoutingResolverGroup.Mode mode =
          proxy.type() == Proxy.Type.SOCKS5
              ? RoutingResolverGroup.Mode.RESOLVE
              : RoutingResolverGroup.Mode.PROXY_RESOLVES;
      c =
          base.proxy(
                  spec -> {
                    ProxyProvider.Builder b =
                        spec.type(
                                proxy.type() == Proxy.Type.HTTP
                                    ? ProxyProvider.Proxy.HTTP
                                    : ProxyProvider.Proxy.SOCKS5)
                            .socketAddress(() -> tunnelAddress)
                            .connectTimeoutMillis(connectTimeout.toMillis());
                    proxy
                        .username()
                        .ifPresent(
                            u -> {
                              String password = proxy.password().orElse("");
                              b.username(u).password(user -> password);
                            });
                  })
              .resolver(new RoutingResolverGroup(rules, mode, null, name, dns))
              .doOnChannelInit(
                  (observer, channel, remote) -> {
                    if (channel.pipeline().get(NettyPipeline.ProxyHandler) != null) {
                      channel
                          .pipeline()
                          .addBefore(
                              NettyPipeline.ProxyHandler,
                              ProxyConnectResolver.NAME,
                              new ProxyConnectResolver(proxyNames, name));
                    }
                  });
    }
    return c.mapConnect(connection -> connection.onErrorMap(e -> proxyFailure(name, e)));
  }

  /** {@code http://host[:port]} of a channel's origin: the address reactor-netty pools it by. */
  private static String origin(@Nullable SocketAddress remote) {
    if (!(remote instanceof InetSocketAddress address)) {
      throw new IllegalStateException("not an internet address: " + remote);
    }
    String host =
        address.isUnresolved() || address.getAddress() == null
            ? address.getHostString()
            : NetUtil.toAddressString(address.getAddress());
    if (host.indexOf(':') >= 0) {
      host = "[" + host + "]";
    }
    return "http://"
        + host.toLowerCase(Locale.ROOT)
        + (address.getPort() == 80 ? "" : ":" + address.getPort());
  }

  /**
   * Names the proxy in a failure to reach it or to open a tunnel through it; other errors pass
   * unchanged. The exception reactor-netty signalled stays the cause: for a tunnel under TLS it is
   * an {@code SSLException} caused by the proxy's refusal, so the chain is searched.
   */
  static Throwable proxyFailure(String proxy, Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ProxyConnectException p) {
        String m = String.valueOf(p.getMessage());
        int arrow = m.indexOf(" => ");
        String what = arrow < 0 ? m : "tunnel to " + m.substring(arrow + 4);
        Kind kind = m.endsWith("timeout") ? Kind.CONNECT_TIMEOUT : Kind.CONNECT_REFUSED;
        return new TransportException(kind, "proxy " + proxy + " failed: " + what, 0, 0, e);
      }
      if (t instanceof ConnectTimeoutException) {
        return new TransportException(
            Kind.CONNECT_TIMEOUT, "proxy " + proxy + ": " + t.getMessage(), 0, 0, e);
      }
      if (t instanceof ConnectException) {
        return new TransportException(
            Kind.CONNECT_REFUSED, "proxy " + proxy + ": " + t.getMessage(), 0, 0, e);
      }
    }
    return e;
  }
}
