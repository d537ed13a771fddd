package dev.fetchflux;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * One proxy server: its protocol, address and optional credentials. Immutable.
 *
 * <pre>{@code
 * Proxy corporate = Proxy.parse("http://proxy.corp.example:3128");   // like curl -x
 * Proxy tunnel = Proxy.socks5h("127.0.0.1", 1080).withCredentials("me", "secret");
 * }</pre>
 *
 * <p>How each type carries a request, as curl does:
 * <ul>
 *   <li>{@link Type#HTTP}: {@code http://} URLs are sent to the proxy in absolute form
 *       ({@code GET http://host/path HTTP/1.1}); {@code https://} URLs go through a {@code CONNECT}
 *       tunnel, TLS is end to end. Credentials travel as {@code Proxy-Authorization: Basic}.
 *   <li>{@link Type#SOCKS5}: fetchflux resolves the target host name itself (honouring
 *       {@link ResolveRule}s) and asks the proxy for the IP address.
 *   <li>{@link Type#SOCKS5H}: the proxy resolves the target host name.
 * </ul>
 *
 * <p>The password never appears in {@link #toString()} nor in any message; neither does the user
 * name. A proxy given by host name is resolved when a connection to it is opened, without blocking
 * an event loop.
 */
public final class Proxy {

  /** The port used when none is given: 1080, as curl. */
  public static final int DEFAULT_PORT = 1080;

  /** The protocol spoken to the proxy. */
  public enum Type {
    /** HTTP: absolute-form requests for {@code http://}, {@code CONNECT} for {@code https://}. */
    HTTP("http"),
    /** SOCKS5, target host names resolved locally (curl's {@code socks5://}). */
    SOCKS5("socks5"),
    /** SOCKS5, target host names resolved by the proxy (curl's {@code socks5h://}). */
    SOCKS5H("socks5h");

    private final String scheme;

    Type(String scheme) {
      this.scheme = scheme;
    }

    /** The URL scheme of this type, such as {@code socks5h}. */
    public String scheme() {
      return scheme;
    }
  }

  private final Type type;
  private final String host;
  private final int port;
  private final @Nullable String username;
  private final @Nullable String password;

  private Proxy(
      Type type, String host, int port, @Nullable String username, @Nullable String password) {
    this.type = Objects.requireNonNull(type, "type");
    this.host = checkHost(host);
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("proxy port out of range 1..65535: " + port);
    }
    this.port = port;
    if (type != Type.HTTP
        && username != null
        && password != null
        && (username.getBytes(StandardCharsets.UTF_8).length > 255
            || password.getBytes(StandardCharsets.UTF_8).length > 255)) {
      throw new IllegalArgumentException("SOCKS5 user name and password are limited to 255 bytes");
    }
    if (type == Type.HTTP && username != null && username.indexOf(':') >= 0) {
      // Basic authentication joins them with a colon: the proxy would split elsewhere.
      throw new IllegalArgumentException("HTTP proxy user name must not contain ':'");
    }
    this.username = username;
    this.password = password;
  }

  /** An HTTP proxy at {@code host:port}. */
  public static Proxy http(String host, int port) {
    return new Proxy(Type.HTTP, host, port, null, null);
  }

  /** A SOCKS5 proxy at {@code host:port}; target names are resolved locally. */
  public static Proxy socks5(String host, int port) {
    return new Proxy(Type.SOCKS5, host, port, null, null);
  }

  /** A SOCKS5 proxy at {@code host:port} that resolves target names itself. */
  public static Proxy socks5h(String host, int port) {
    return new Proxy(Type.SOCKS5H, host, port, null, null);
  }

  /**
   * Parses curl's {@code -x} syntax: {@code [scheme://][user:password@]host[:port]}.
   *
   * <p>The scheme is {@code http} (the default), {@code socks5} or {@code socks5h}; the port
   * defaults to {@value #DEFAULT_PORT}, as in curl; user and password are percent-decoded; an IPv6
   * address is written in brackets ({@code http://[::1]:3128}).
   *
   * @throws IllegalArgumentException naming what is wrong; the message never contains the password
   */
  public static Proxy parse(String spec) {
    Objects.requireNonNull(spec, "spec");
    String s = spec.strip();
    if (s.isEmpty()) {
      throw new IllegalArgumentException("empty proxy");
    }
    Type type = Type.HTTP;
    int schemeEnd = s.indexOf("://");
    if (schemeEnd >= 0) {
      String scheme = s.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
      type =
          switch (scheme) {
            case "http" -> Type.HTTP;
            case "socks5" -> Type.SOCKS5;
            case "socks5h" -> Type.SOCKS5H;
            default ->
                throw new IllegalArgumentException(
                    "unsupported proxy scheme '" + scheme + "' (supported: http, socks5, socks5h)");
          };
      s = s.substring(schemeEnd + 3);
    }
    if (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    String user = null;
    String pass = null;
    int at = s.lastIndexOf('@');
    if (at >= 0) {
      String userInfo = s.substring(0, at);
      s = s.substring(at + 1);
      int colon = userInfo.indexOf(':');
      user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
      pass = colon < 0 ? "" : decode(userInfo.substring(colon + 1));
    }
    if (s.indexOf('/') >= 0 || s.indexOf('?') >= 0 || s.indexOf('#') >= 0) {
      throw new IllegalArgumentException(
          "proxy must be [scheme://][user:password@]host[:port]: " + type.scheme() + "://" + s);
    }
    String host;
    String portText = null;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0) {
        throw new IllegalArgumentException("unclosed '[' in proxy host: " + s);
      }
      host = s.substring(1, close);
      String rest = s.substring(close + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          throw new IllegalArgumentException("unexpected text after proxy host: " + s);
        }
        portText = rest.substring(1);
      }
    } else {
      int colon = s.lastIndexOf(':');
      if (colon >= 0 && s.indexOf(':') != colon) {
        throw new IllegalArgumentException("IPv6 proxy address must be in brackets: " + s);
      }
      host = colon < 0 ? s : s.substring(0, colon);
      portText = colon < 0 ? null : s.substring(colon + 1);
    }
    int port = DEFAULT_PORT;
    if (portText != null) {
      try {
        port = Integer.parseInt(portText);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("proxy port is not a number: '" + portText + "'", e);
      }
    }
    return new Proxy(type, host, port, user, pass);
  }

  /**
   * This proxy with credentials: {@code Proxy-Authorization: Basic} for HTTP, username/password
   * authentication (RFC 1929) for SOCKS5 (each at most 255 bytes).
   *
   * @throws IllegalArgumentException for an HTTP user name with {@code ':'}, or SOCKS5 credentials
   *     that are too long
   */
  public Proxy withCredentials(String username, String password) {
    Objects.requireNonNull(username, "username");
    Objects.requireNonNull(password, "password");
    return new Proxy(type, host, port, username, password);
  }

  /** The protocol spoken to the proxy. */
  public Type type() {
    return type;
  }

  /** The proxy's host name or IP address (without brackets). */
  public String host() {
    return host;
  }

  /** The proxy's port. */
  public int port() {
    return port;
  }

  /** The user name, if credentials were given. */
  public Optional<String> username() {
    return Optional.ofNullable(username);
  }

  /** The password, if credentials were given. Never part of {@link #toString()}. */
  public Optional<String> password() {
    return Optional.ofNullable(password);
  }

  /** {@code scheme://host:port}, without credentials: safe for logs and messages. */
  @Override
  public String toString() {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return type.scheme() + "://" + h + ":" + port;
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof Proxy p
        && type == p.type
        && host.equalsIgnoreCase(p.host)
        && port == p.port
        && Objects.equals(username, p.username)
        && Objects.equals(password, p.password);
  }

  @Override
  public int hashCode() {
    return Objects.hash(type, host.toLowerCase(Locale.ROOT), port, username, password);
  }

  private static String checkHost(String host) {
    Objects.requireNonNull(host, "host");
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (h.isEmpty()) {
      throw new IllegalArgumentException("proxy host is empty");
    }
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      if (c <= ' ' || c == 0x7f || c == '/' || c == '@' || c == '[' || c == ']') {
        throw new IllegalArgumentException("invalid character in proxy host: '" + h + "'");
      }
    }
    return h;
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      // The text may hold the password: say where, not what.
      throw new IllegalArgumentException("invalid percent-encoding in proxy credentials");
    }
  }
}
