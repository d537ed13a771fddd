package dev.fetchflux.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import org.jspecify.annotations.Nullable;

/**
 * Rewrites requests on a connection to an HTTP proxy into absolute form
 * ({@code GET http://host:port/path HTTP/1.1}), the way a plain-text request asks a proxy to
 * forward it (RFC 9112, section 3.2.2), and adds the proxy's credentials.
 *
 * <p>reactor-netty's own HTTP proxy support always opens a {@code CONNECT} tunnel, even for
 * {@code http://} URLs, which many proxies refuse on port 80; curl and browsers send absolute-form
 * requests instead. The connection is opened to the proxy by {@link RoutingResolverGroup}; the pool
 * still keys it by the URL's origin, so one channel only ever carries requests for {@code origin}.
 */
final class AbsoluteFormRequests extends ChannelOutboundHandlerAdapter {

  static final String NAME = "fetchflux.absoluteForm";

  private final String origin;
  private final @Nullable String proxyAuthorization;

  /**
   * @param origin {@code http://host[:port]} of the requests on this channel
   * @param proxyAuthorization the {@code Proxy-Authorization} value, or null without credentials
   */
  AbsoluteFormRequests(String origin, @Nullable String proxyAuthorization) {
    this.origin = origin;
    this.proxyAuthorization = proxyAuthorization;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof HttpRequest request && request.uri().startsWith("/")) {
      request.setUri(origin + request.uri());
      if (proxyAuthorization != null
          && !request.headers().contains(HttpHeaderNames.PROXY_AUTHORIZATION)) {
        request.headers().set(HttpHeaderNames.PROXY_AUTHORIZATION, proxyAuthorization);
      }
    }
    ctx.write(msg, promise);
  }
}
