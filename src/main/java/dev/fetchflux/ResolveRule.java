package dev.fetchflux;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A fixed answer for a host name on a port, curl's {@code --resolve host:port:addr[,addr]...}: a
 * connection to {@code host:port} goes to {@code addresses} (tried in order) instead of what DNS
 * says.
 *
 * <pre>{@code
 * Fetcher fetcher = Fetcher.builder()
 *     .resolve(ResolveRule.parse("staging.example:443:10.0.0.7"))
 *     .build();
 * }</pre>
 *
 * <p>Only where connections go changes: the {@code Host} header, TLS SNI and certificate checks
 * still use the URL's host. A rule applies to names fetchflux resolves itself: the URL's host on
 * direct connections and through a {@link Proxy.Type#SOCKS5} proxy, the host given by a
 * {@link ConnectToRule}, and a proxy's own host name; not to hosts a proxy resolves for us (an HTTP
 * proxy, {@link Proxy.Type#SOCKS5H}). Host {@code *} matches every host on the port, after the
 * rules naming a host. When two rules name the same host and port, the one added last wins.
 *
 * @param host a host name (lower-cased), an IP address, or {@code *} for any host
 * @param port the port of the URL (1 to 65535), as in curl: the default ports are 80 and 443
 * @param addresses where to connect, at least one
 */
public record ResolveRule(String host, int port, List<InetAddress> addresses) {

  /** Any host, in {@link #host()}. */
  public static final String ANY_HOST = "*";

  /**
   * Validates and normalizes: host lower-cased and without IPv6 brackets, addresses copied.
   *
   * @throws IllegalArgumentException if the host is empty, the port out of range or no address
   *     given
   */
  public ResolveRule {
    host = Rules.host(Objects.requireNonNull(host, "host"), "resolve");
    if (host.isEmpty()) {
      throw new IllegalArgumentException("resolve host is empty");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("resolve port out of range 1..65535: " + port);
    }
    addresses = List.copyOf(addresses);
    if (addresses.isEmpty()) {
      throw new IllegalArgumentException("resolve needs at least one address for " + host);
    }
  }

  /**
   * Parses curl's {@code host:port:addr[,addr]...}; IPv6 addresses may be in brackets
   * ({@code example.com:443:[::1]}); addresses must be IP addresses, never names.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static ResolveRule parse(String spec) {
    Objects.requireNonNull(spec, "spec");
    String s = spec.strip();
    if (s.startsWith("+") || s.startsWith("-")) {
      throw new IllegalArgumentException(
          "resolve: the '+' (expiring) and '-' (removing) forms are not supported: " + spec);
    }
    List<String> parts = Rules.split(s, 3, "resolve", "host:port:addr[,addr]...");
    String host = parts.get(0);
    int port = Rules.port(parts.get(1), "resolve", spec);
    if (port == 0) {
      throw new IllegalArgumentException("resolve port must not be empty: " + spec);
    }
    List<InetAddress> addresses = new ArrayList<>();
    for (String a : parts.get(2).split(",")) {
      addresses.add(literal(a.strip(), spec));
    }
    return new ResolveRule(host, port, addresses);
  }

  /** {@code host:port:addr,addr} as curl writes it. */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder(Rules.bracket(host)).append(':').append(port).append(':');
    for (int i = 0; i < addresses.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append(Rules.bracket(NetUtil.toAddressString(addresses.get(i))));
    }
    return b.toString();
  }

  private static InetAddress literal(String text, String spec) {
    String t =
        text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(t);
    if (bytes == null) {
      throw new IllegalArgumentException(
          "resolve address is not an IP address: '" + text + "' in " + spec);
    }
    try {
      // From bytes: no lookup happens.
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("resolve address is not an IP address: " + text, e);
    }
  }
}
