package dev.fetchflux.internal;

import java.net.IDN;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Host names as curl takes them, on top of {@link URI}.
 *
 * <p>{@code java.net.URI} follows RFC 2396's host grammar: a name with an underscore
 * ({@code my_service}, docker-compose service names, some internal DNS) or with non-ASCII letters
 * does not parse as a host; the URI falls back to a "registry-based" authority whose
 * {@link URI#getHost()} is {@code null}. curl fetches both: underscores are common in real names,
 * and internationalised names are sent as punycode. So a URL is normalised once, where it enters
 * (the host of a non-ASCII name converted with {@link IDN#toASCII}, the rest of a non-ASCII URL
 * percent-encoded as UTF-8), and a name that is still not an RFC 2396 host is checked here
 * (labels of letters, digits, {@code -} and {@code _}, not starting or ending with {@code -}) and
 * read with {@link #host} and {@link #port} wherever the code needs them.
 */
public final class Urls {
  private Urls() {}

  /**
   * {@code uri}, with an internationalised host converted to punycode and non-ASCII characters
   * elsewhere percent-encoded; the same instance when there is nothing to change.
   *
   * @throws IllegalArgumentException naming the URL when its host or port is invalid
   */
  public static URI normalize(URI uri) {
    String host = uri.getHost();
    if (host != null) {
      checkPort(uri, uri.getPort());
      return isAscii(uri.toString()) ? uri : reparse(uri.toASCIIString(), uri);
    }
    String authority = uri.getAuthority();
    if (authority == null || authority.isEmpty()) {
      return uri; // no host: the caller reports it
    }
    Authority a = split(authority, uri);
    String ascii = a.host();
    if (!isAscii(ascii)) {
      try {
        ascii = IDN.toASCII(ascii, IDN.ALLOW_UNASSIGNED);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "URL " + quote(uri.toString()) + " has an invalid host: " + e.getMessage(), e);
      }
    }
    ascii = ascii.toLowerCase(Locale.ROOT);
    checkHostName(ascii, uri);
    StringBuilder b = new StringBuilder(uri.getScheme()).append("://");
    if (a.userInfo() != null) {
      b.append(a.userInfo()).append('@');
    }
    b.append(ascii);
    if (a.port() >= 0) {
      b.append(':').append(a.port());
    }
    if (uri.getRawPath() != null) {
      b.append(uri.getRawPath());
    }
    if (uri.getRawQuery() != null) {
      b.append('?').append(uri.getRawQuery());
    }
    if (uri.getRawFragment() != null) {
      b.append('#').append(uri.getRawFragment());
    }
    URI rebuilt = reparse(b.toString(), uri);
    return isAscii(rebuilt.toString()) ? rebuilt : reparse(rebuilt.toASCIIString(), uri);
  }

  /** The host of {@code uri}, also for host names {@link URI#getHost()} does not take; or null. */
  public static @Nullable String host(URI uri) {
    String host = uri.getHost();
    if (host != null || uri.getAuthority() == null) {
      return host;
    }
    try {
      return split(uri.getAuthority(), uri).host();
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** The port of {@code uri}: its own, or the scheme's default (443 for https, else 80). */
  public static int port(URI uri) {
    int port = uri.getPort();
    if (port == -1 && uri.getHost() == null && uri.getAuthority() != null) {
      try {
        port = split(uri.getAuthority(), uri).port();
      } catch (IllegalArgumentException e) {
        port = -1;
      }
    }
    if (port != -1) {
      return port;
    }
    return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
  }

  /**
   * What to hand reactor-netty for {@code uri}: the URI itself when {@link URI#getHost()} knows its
   * host, else a {@code scheme://host[:port]/path?query} string, which reactor-netty parses
   * itself (its {@code uri(URI)} requires {@code getHost()}).
   */
  public static boolean needsString(URI uri) {
    return uri.getHost() == null;
  }

  /** The request target string of a URI whose host {@code java.net.URI} does not take. */
  public static String requestString(URI uri) {
    StringBuilder b = new StringBuilder(uri.getScheme()).append("://").append(host(uri));
    int port = uri.getPort() != -1 ? uri.getPort() : split(uri.getAuthority(), uri).port();
    if (port >= 0) {
      b.append(':').append(port);
    }
    String path = uri.getRawPath();
    b.append(path == null || path.isEmpty() ? "/" : path);
    if (uri.getRawQuery() != null) {
      b.append('?').append(uri.getRawQuery());
    }
    return b.toString();
  }

  private record Authority(@Nullable String userInfo, String host, int port) {}

  private static Authority split(String authority, URI uri) {
    String userInfo = null;
    String hostPort = authority;
    int at = authority.lastIndexOf('@');
    if (at >= 0) {
      userInfo = authority.substring(0, at);
      hostPort = authority.substring(at + 1);
    }
    if (hostPort.startsWith("[")) {
      throw new IllegalArgumentException("URL " + quote(uri.toString()) + " has an invalid host");
    }
    String host = hostPort;
    int port = -1;
    int colon = hostPort.lastIndexOf(':');
    if (colon >= 0) {
      host = hostPort.substring(0, colon);
      String digits = hostPort.substring(colon + 1);
      if (!digits.isEmpty()) {
        if (digits.length() > 5 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
          throw new IllegalArgumentException(
              "URL " + quote(uri.toString()) + " has an invalid port " + quote(digits));
        }
        port = Integer.parseInt(digits);
        checkPort(uri, port);
      }
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException("URL " + quote(uri.toString()) + " has no host");
    }
    return new Authority(userInfo, host, port);
  }

  private static void checkPort(URI uri, int port) {
    if (port > 65535) {
      throw new IllegalArgumentException(
          "URL " + quote(uri.toString()) + " has an invalid port " + port);
    }
  }

  /** Labels of letters, digits, '-' and '_', 1 to 63 each, not starting or ending with '-'. */
  private static void checkHostName(String host, URI uri) {
    String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    if (name.isEmpty() || name.length() > 253) {
      throw invalidHost(uri, host);
    }
    int start = 0;
    while (start <= name.length()) {
      int dot = name.indexOf('.', start);
      int end = dot < 0 ? name.length() : dot;
      int len = end - start;
      if (len < 1 || len > 63 || name.charAt(start) == '-' || name.charAt(end - 1) == '-') {
        throw invalidHost(uri, host);
      }
      for (int i = start; i < end; i++) {
        char c = name.charAt(i);
        boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) {
          throw invalidHost(uri, host);
        }
      }
      if (dot < 0) {
        break;
      }
      start = dot + 1;
    }
  }

  private static IllegalArgumentException invalidHost(URI uri, String host) {
    return new IllegalArgumentException(
        "URL " + quote(uri.toString()) + " has an invalid host " + quote(host));
  }

  private static URI reparse(String text, URI original) {
    try {
      return new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "malformed URL "
              + quote(original.toString())
              + ": "
              + e.getReason()
              + " at index "
              + e.getIndex(),
          e);
    }
  }

  private static boolean isAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  private static String quote(String s) {
    return s.length() > 200 ? "'" + s.substring(0, 200) + "…'" : "'" + s + "'";
  }
}
