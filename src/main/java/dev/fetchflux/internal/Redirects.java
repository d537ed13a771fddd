package dev.fetchflux.internal;

import dev.fetchflux.Body;
import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.Headers;
import dev.fetchflux.TransportException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The redirect policy, applied by the engine hop by hop (reactor-netty's own following is off: it
 * returns the last 3xx of a loop as a success after about 50 hops and forwards custom secret headers
 * to other hosts). It counts hops ({@code maxRedirects}), detects loops (a visited set of method and
 * URI), refuses https to http unless allowed and schemes other than http(s), switches to GET for 303
 * (and for POST on 301/302, dropping the body), and strips {@code Authorization}, {@code Cookie},
 * {@code Proxy-Authorization} and the headers marked sensitive on a hop to another origin.
 */
final class Redirects {
  private static final Set<String> ALWAYS_SENSITIVE =
      Set.of("authorization", "cookie", "proxy-authorization");

  private final int maxRedirects;
  private final boolean allowHttpsToHttp;

  /** Lower-case names of the headers that never go to another origin. */
  private final Set<String> sensitive;

  Redirects(int maxRedirects, boolean allowHttpsToHttp, Set<String> sensitiveHeaders) {
    this.maxRedirects = maxRedirects;
    this.allowHttpsToHttp = allowHttpsToHttp;
    Set<String> s = new HashSet<>(ALWAYS_SENSITIVE);
    for (String h : sensitiveHeaders) {
      s.add(h.toLowerCase(Locale.ROOT));
    }
    this.sensitive = Set.copyOf(s);
  }

  /** The next hop: its request, and whether it goes to another origin than the one before. */
  record Hop(FetchRequest request, boolean crossesOrigin) {}

  static boolean isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }

  /** Whether {@code name} is a header that must not go to another origin. */
  boolean isSensitive(String name) {
    return sensitive.contains(name.toLowerCase(Locale.ROOT));
  }

  /**
   * The hop after {@code current} answered {@code status} with {@code location}.
   *
   * @param redirects redirects followed before this one
   * @param visited method and URI of every hop so far (for loop detection)
   * @param headersAt when the redirect's headers arrived, for the failure
   * @throws TransportException a {@code REDIRECT_REFUSED}, {@code TOO_MANY_REDIRECTS} or
   *     {@code REDIRECT_LOOP} failure
   */
  Hop next(
      FetchRequest current,
      int redirects,
      Set<String> visited,
      int status,
      String location,
      long headersAt) {
    URI next;
    try {
      next = resolve(current.uri(), location);
    } catch (IllegalArgumentException e) {
      throw new TransportException(
          Kind.REDIRECT_REFUSED,
          "invalid Location header " + truncate(location),
          status,
          headersAt,
          e);
    }
    if (redirects + 1 > maxRedirects) {
      throw new TransportException(
          Kind.TOO_MANY_REDIRECTS,
          "more than " + maxRedirects + " redirects, last to " + next,
          status,
          headersAt,
          null);
    }
    String scheme = current.uri().getScheme().toLowerCase(Locale.ROOT);
    String nextScheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(Locale.ROOT);
    if (!nextScheme.equals("http") && !nextScheme.equals("https")) {
      throw new TransportException(
          Kind.REDIRECT_REFUSED,
          "redirect to unsupported scheme: " + truncate(next.toString()),
          status,
          headersAt,
          null);
    }
    if (scheme.equals("https") && nextScheme.equals("http") && !allowHttpsToHttp) {
      throw new TransportException(
          Kind.REDIRECT_REFUSED, "https to http downgrade to " + next, status, headersAt, null);
    }
    String method = current.method();
    boolean dropBody = false;
    if (status == 303 && !method.equals("HEAD")) {
      method = "GET";
      dropBody = true;
    } else if ((status == 301 || status == 302) && method.equals("POST")) {
      method = "GET";
      dropBody = true;
    }
    if (visited.contains(method + " " + next)) {
      throw new TransportException(
          Kind.REDIRECT_LOOP,
          "back to " + next + " after " + (redirects + 1) + " redirects",
          status,
          headersAt,
          null);
    }
    Headers headers = current.headers();
    boolean crossing = !sameOrigin(current.uri(), next);
    if (crossing) {
      for (String name : headers.names()) {
        if (isSensitive(name)) {
          headers = headers.without(name);
        }
      }
    }
    if (dropBody) {
      headers = headers.without("Content-Type").without("Content-Length");
    }
    FetchRequest request =
        FetchRequest.builder(next)
            .method(method)
            .headers(headers)
            .body(dropBody ? Body.empty() : current.body())
            .build();
    return new Hop(request, crossing);
  }

  /** Whether default headers that are sensitive may go to {@code b} after {@code a}. */
  static boolean sameOrigin(URI a, URI b) {
    return a.getScheme().equalsIgnoreCase(String.valueOf(b.getScheme()))
        && String.valueOf(Urls.host(a)).equalsIgnoreCase(String.valueOf(Urls.host(b)))
        && Urls.port(a) == Urls.port(b);
  }

  private static URI resolve(URI base, String location) {
    try {
      URI loc = new URI(location.strip());
      URI next = Urls.normalize(base.resolve(loc));
      if (Urls.host(next) == null) {
        throw new IllegalArgumentException("no host in " + next);
      }
      return next;
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static String truncate(String s) {
    return s.length() > 200 ? s.substring(0, 200) + "…" : s;
  }
}
