package dev.fetchflux;

import java.util.List;
import java.util.Objects;

/**
 * Connect somewhere else for a host and port, curl's {@code --connect-to host1:port1:host2:port2}:
 * a request to {@code host1:port1} opens its connection to {@code host2:port2}.
 *
 * <pre>{@code
 * Fetcher fetcher = Fetcher.builder()
 *     .connectTo(ConnectToRule.parse("api.example.com:443:canary-3.internal:8443"))
 *     .build();
 * }</pre>
 *
 * <p>Only the connection moves: the {@code Host} header, TLS SNI and certificate checks still use
 * the URL's host. An empty {@code host1} or {@code port1} matches any host or port; an empty
 * {@code host2} or {@code port2} keeps the URL's. The first rule that matches wins. The new host is
 * then resolved like any other (so a {@link ResolveRule} for {@code host2:port2} applies). Through
 * a proxy that tunnels ({@code CONNECT}, SOCKS5) the proxy is asked for {@code host2:port2}; a
 * plain {@code http://} request through an HTTP proxy carries its URL to the proxy unchanged, so
 * the rule has no effect there.
 *
 * @param host the URL host to match (lower-cased), or {@code ""} for any host
 * @param port the URL port to match (the default ports are 80 and 443), or 0 for any port
 * @param targetHost where to connect instead, or {@code ""} to keep the URL's host
 * @param targetPort the port to connect to instead, or 0 to keep the URL's port
 */
public record ConnectToRule(String host, int port, String targetHost, int targetPort) {

  /**
   * Validates and normalizes: hosts lower-cased and without IPv6 brackets.
   *
   * @throws IllegalArgumentException if a port is out of range
   */
  public ConnectToRule {
    host = Rules.host(Objects.requireNonNull(host, "host"), "connect-to");
    targetHost = Rules.host(Objects.requireNonNull(targetHost, "targetHost"), "connect-to");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("connect-to port out of range 0..65535: " + port);
    }
    if (targetPort < 0 || targetPort > 65535) {
      throw new IllegalArgumentException(
          "connect-to target port out of range 0..65535: " + targetPort);
    }
  }

  /**
   * Parses curl's {@code host1:port1:host2:port2}; any part may be empty; IPv6 addresses are
   * written in brackets ({@code [::1]:8080:[::1]:9090}).
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static ConnectToRule parse(String spec) {
    Objects.requireNonNull(spec, "spec");
    List<String> parts = Rules.split(spec.strip(), 4, "connect-to", "host1:port1:host2:port2");
    return new ConnectToRule(
        parts.get(0),
        Rules.port(parts.get(1), "connect-to", spec),
        parts.get(2),
        Rules.port(parts.get(3), "connect-to", spec));
  }

  /** {@code host1:port1:host2:port2} as curl writes it, empty parts empty. */
  @Override
  public String toString() {
    return Rules.bracket(host)
        + ":"
        + (port == 0 ? "" : port)
        + ":"
        + Rules.bracket(targetHost)
        + ":"
        + (targetPort == 0 ? "" : targetPort);
  }
}
