package dev.fetchflux.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;

/**
 * Resolves the proxy's host name when the channel connects to it, on the event loop and without
 * blocking.
 *
 * <p>Netty's proxy handlers swap the target address for the proxy's and connect to that, which must
 * be resolved by then. reactor-netty resolves a proxy given by name with a blocking JDK lookup each
 * time it builds its {@code ProxyProvider}, that is per connection, possibly on an event loop. So
 * the provider gets the proxy's unresolved address and this handler, sitting between the proxy
 * handler and the socket, resolves it (honouring {@code --resolve} rules) just in time.
 */
final class ProxyConnectResolver extends ChannelOutboundHandlerAdapter {

  static final String NAME = "fetchflux.proxyConnectResolver";

  private final RoutingResolverGroup names;
  private final String proxyName;

  ProxyConnectResolver(RoutingResolverGroup names, String proxyName) {
    this.names = names;
    this.proxyName = proxyName;
  }

  @Override
  public void connect(
      ChannelHandlerContext ctx,
      SocketAddress remote,
      SocketAddress local,
      ChannelPromise promise) {
    if (!(remote instanceof InetSocketAddress address) || !address.isUnresolved()) {
      ctx.connect(remote, local, promise);
      return;
    }
    names
        .lookup(address.getHostString(), address.getPort(), ctx.executor())
        .addListener(
            (Future<List<InetSocketAddress>> f) -> {
              if (f.isSuccess()) {
                ctx.connect(f.getNow().get(0), local, promise);
              } else {
                promise.tryFailure(new ProxyHostUnknownException(proxyName, f.cause()));
              }
            });
  }
}
