package dev.fetchflux.internal;

import io.netty.resolver.AbstractAddressResolver;
import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Decides where a connection goes, before any byte is sent, without blocking: applies
 * {@code --connect-to} and {@code --resolve} rules, then asks DNS (reactor-netty's non-blocking
 * resolver) only for what the rules leave open.
 *
 * <p>reactor-netty hands a resolver the URL's host and port (the same address keys its pool and
 * gives the {@code Host} header and TLS SNI), so replacing the resolver moves the socket and
 * nothing else.
 */
final class RoutingResolverGroup extends AddressResolverGroup<InetSocketAddress> {

  /** What to do with the URL's address. */
  enum Mode {
    /** Connect-to, then the fixed addresses or DNS: direct connections and SOCKS5 (local DNS). */
    RESOLVE,
    /** Connect-to, then leave the name for the proxy: HTTP {@code CONNECT} and SOCKS5H. */
    PROXY_RESOLVES,
    /** Every connection goes to the proxy: HTTP proxy with absolute-form requests. */
    TO_PROXY
  }

  private final NameRules rules;
  private final Mode mode;
  private final @Nullable InetSocketAddress proxy;
  private final String proxyName;
  private final AddressResolverGroup<InetSocketAddress> dns;

  /**
   * @param proxy the proxy's unresolved address, for {@link Mode#TO_PROXY}
   * @param proxyName the proxy as users know it (no credentials), for messages
   * @param dns the resolver for names no rule answers
   */
  RoutingResolverGroup(
      NameRules rules,
      Mode mode,
      @Nullable InetSocketAddress proxy,
      String proxyName,
      AddressResolverGroup<InetSocketAddress> dns) {
    this.rules = rules;
    this.mode = mode;
    this.proxy = proxy;
    this.proxyName = proxyName;
    this.dns = dns;
  }

  @Override
  protected AddressResolver<InetSocketAddress> newResolver(EventExecutor executor) {
    return new Resolver(executor);
  }

  /**
   * The addresses for {@code host:port}: a {@code --resolve} rule's, an IP literal's, or DNS's.
   * Completes on {@code executor}; never blocks.
   */
  Future<List<InetSocketAddress>> lookup(String host, int port, EventExecutor executor) {
    List<InetAddress> fixed = rules.fixed(host, port);
    if (fixed != null) {
      List<InetSocketAddress> out = new ArrayList<>(fixed.size());
      for (InetAddress a : fixed) {
        out.add(new InetSocketAddress(a, port));
      }
      return executor.newSucceededFuture(out);
    }
    InetAddress literal = NameRules.literal(host);
    if (literal != null) {
      return executor.newSucceededFuture(List.of(new InetSocketAddress(literal, port)));
    }
    return dns.getResolver(executor).resolveAll(InetSocketAddress.createUnresolved(host, port));
  }

  private static String hostOf(InetSocketAddress address) {
    InetAddress ip = address.getAddress();
    return address.isUnresolved() || ip == null
        ? address.getHostString()
        : NetUtil.toAddressString(ip);
  }

  private final class Resolver extends AbstractAddressResolver<InetSocketAddress> {

    Resolver(EventExecutor executor) {
      super(executor, InetSocketAddress.class);
    }

    /**
     * An address is "resolved" when it needs nothing from us. A URL with an IP address arrives
     * resolved, yet a rule may still move it; and behind an absolute-form proxy nothing is final.
     */
    @Override
    protected boolean doIsResolved(InetSocketAddress address) {
      if (mode == Mode.TO_PROXY || address.isUnresolved()) {
        return false;
      }
      String host = hostOf(address);
      return !rules.movesConnection(host, address.getPort())
          && (mode != Mode.RESOLVE || rules.fixed(host, address.getPort()) == null);
    }

    @Override
    protected void doResolve(InetSocketAddress address, Promise<InetSocketAddress> promise) {
      resolveAll(address)
          .addListener(
              (Future<List<InetSocketAddress>> f) -> {
                if (f.isSuccess()) {
                  promise.trySuccess(f.getNow().get(0));
                } else {
                  promise.tryFailure(f.cause());
                }
              });
    }

    @Override
    protected void doResolveAll(
        InetSocketAddress address, Promise<List<InetSocketAddress>> promise) {
      Future<List<InetSocketAddress>> result;
      if (mode == Mode.TO_PROXY) {
        InetSocketAddress p = proxy;
        if (p == null) {
          throw new IllegalStateException("no proxy address for mode " + mode);
        }
        result = lookup(p.getHostString(), p.getPort(), executor());
      } else {
        InetSocketAddress target = rules.connectTo(hostOf(address), address.getPort());
        if (mode == Mode.RESOLVE) {
          result = lookup(target.getHostString(), target.getPort(), executor());
        } else {
          InetAddress literal = NameRules.literal(target.getHostString());
          result =
              executor()
                  .newSucceededFuture(
                      List.of(
                          literal != null
                              ? new InetSocketAddress(literal, target.getPort())
                              : target));
        }
      }
      result.addListener(
          (Future<List<InetSocketAddress>> f) -> {
            if (f.isSuccess()) {
              promise.trySuccess(f.getNow());
            } else if (mode == Mode.TO_PROXY) {
              promise.tryFailure(new ProxyHostUnknownException(proxyName, f.cause()));
            } else {
              promise.tryFailure(f.cause());
            }
          });
    }
  }
}
