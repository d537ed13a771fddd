package dev.fetchflux.internal;

import dev.fetchflux.ConnectToRule;
import dev.fetchflux.ResolveRule;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The user's {@code --connect-to} and {@code --resolve} rules, ready to match: hosts compared
 * lower-case, IP addresses by value (a URL's {@code [::1]} and a rule's {@code 0:0:0:0:0:0:0:1} are
 * the same host).
 */
final class NameRules {

  static final NameRules NONE = new NameRules(List.of(), List.of());

  private final List<ResolveRule> resolve;
  private final List<ConnectToRule> connectTo;

  /** host:port to addresses; the last rule for a pair wins, as a later curl entry replaces one. */
  private final Map<String, List<InetAddress>> fixed = new HashMap<>();

  /** port to addresses for host {@code *}, tried after named hosts. */
  private final Map<Integer, List<InetAddress>> anyHost = new HashMap<>();

  NameRules(List<ResolveRule> resolve, List<ConnectToRule> connectTo) {
    this.resolve = List.copyOf(resolve);
    List<ConnectToRule> ct = new ArrayList<>();
    for (ConnectToRule r : connectTo) {
      ct.add(
          new ConnectToRule(
              r.host().isEmpty() ? "" : canonical(r.host()),
              r.port(),
              r.targetHost(),
              r.targetPort()));
    }
    this.connectTo = List.copyOf(ct);
    for (ResolveRule r : resolve) {
      if (r.host().equals(ResolveRule.ANY_HOST)) {
        anyHost.put(r.port(), r.addresses());
      } else {
        fixed.put(canonical(r.host()) + " " + r.port(), r.addresses());
      }
    }
  }

  /** The {@code --resolve} rules alone: what applies to a proxy's own host name. */
  NameRules withoutConnectTo() {
    return new NameRules(resolve, List.of());
  }

  boolean isEmpty() {
    return connectTo.isEmpty() && fixed.isEmpty() && anyHost.isEmpty();
  }

  /** Where a connection for {@code host:port} goes after {@code --connect-to}, unresolved. */
  InetSocketAddress connectTo(String host, int port) {
    String h = canonical(host);
    for (ConnectToRule r : connectTo) {
      if ((r.host().isEmpty() || r.host().equals(h)) && (r.port() == 0 || r.port() == port)) {
        String targetHost = r.targetHost().isEmpty() ? host : r.targetHost();
        int targetPort = r.targetPort() == 0 ? port : r.targetPort();
        return InetSocketAddress.createUnresolved(targetHost, targetPort);
      }
    }
    return InetSocketAddress.createUnresolved(host, port);
  }

  /** Whether a {@code --connect-to} rule moves connections for {@code host:port}. */
  boolean movesConnection(String host, int port) {
    InetSocketAddress to = connectTo(host, port);
    return to.getPort() != port || !canonical(to.getHostString()).equals(canonical(host));
  }

  /** The fixed addresses for {@code host:port}, or null when DNS decides. */
  @Nullable List<InetAddress> fixed(String host, int port) {
    List<InetAddress> addresses = fixed.get(canonical(host) + " " + port);
    return addresses != null ? addresses : anyHost.get(port);
  }

  /** {@code host} lower-cased, without brackets; an IP address in its canonical text form. */
  static String canonical(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(h);
    return ip == null ? h : NetUtil.bytesToIpAddress(ip);
  }

  /** An IP literal as a resolved address (no lookup), or null for a name. */
  static @Nullable InetAddress literal(String host) {
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(h);
    if (ip == null) {
      return null;
    }
    try {
      return InetAddress.getByAddress(ip);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
