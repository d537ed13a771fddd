package dev.fetchflux;

import dev.fetchflux.internal.Urls;
import java.net.URI;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * One request: method, absolute {@code http}/{@code https} URI, headers and an optional body.
 *
 * <p>Validated on construction (a method that is an HTTP token, an absolute http(s) URI with a host,
 * headers without control characters), so a request that exists can be sent. Per-request headers are
 * added to, and replace, the fetcher's default headers of the same names.
 *
 * <pre>{@code
 * FetchRequest post = FetchRequest.builder(URI.create("https://api.example/items"))
 *     .method("POST")
 *     .header("Content-Type", "application/json")
 *     .body(Body.of("{\"name\":\"x\"}"))
 *     .build();
 * }</pre>
 *
 * @param method upper-case method, such as {@code GET}
 * @param uri absolute http or https URI
 * @param headers fields sent with this request, on top of the fetcher's defaults
 * @param body request body; empty for none
 */
public record FetchRequest(String method, URI uri, Headers headers, Body body) {

  private static final Set<String> IDEMPOTENT =
      Set.of("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE");

  public FetchRequest {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(uri, "uri");
    Objects.requireNonNull(headers, "headers");
    Objects.requireNonNull(body, "body");
    method = method.toUpperCase(Locale.ROOT);
    Headers.validateName(method);
    checkScheme(uri);
    uri = Urls.normalize(uri);
    checkUri(uri);
  }

  /** A {@code GET} of {@code uri}. */
  public static FetchRequest get(URI uri) {
    return new FetchRequest("GET", uri, Headers.empty(), Body.empty());
  }

  /**
   * A {@code GET} of {@code url}.
   *
   * @throws IllegalArgumentException if {@code url} is not an absolute http(s) URL with a host
   */
  public static FetchRequest get(String url) {
    return get(parseUrl(url));
  }

  /** A builder starting from a {@code GET} of {@code uri}. */
  public static Builder builder(URI uri) {
    return new Builder(uri);
  }

  /**
   * The URI's host, lower-case, also where {@link URI#getHost()} has none: {@code java.net.URI}
   * does not take host names with underscores ({@code my_service}), which curl and fetchflux fetch.
   */
  public String host() {
    return java.util.Objects.requireNonNull(Urls.host(uri)).toLowerCase(Locale.ROOT);
  }

  /** The URI's port, or the scheme's default: 443 for https, 80 for http. */
  public int port() {
    return Urls.port(uri);
  }

  /** Whether a retry may repeat this request safely (RFC 9110 §9.2.2). */
  public boolean isIdempotent() {
    return IDEMPOTENT.contains(method);
  }

  /**
   * Parses an absolute http(s) URL, trimming surrounding white space, as curl takes it: a host name
   * may contain underscores; an internationalised host name becomes punycode and other non-ASCII
   * characters are percent-encoded as UTF-8.
   *
   * @throws IllegalArgumentException naming the URL and what is wrong with it
   */
  public static URI parseUrl(String url) {
    Objects.requireNonNull(url, "url");
    String trimmed = url.strip();
    URI uri;
    try {
      uri = new URI(trimmed);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException(
          "malformed URL " + quote(trimmed) + ": " + e.getReason() + " at index " + e.getIndex(),
          e);
    }
    checkScheme(uri);
    uri = Urls.normalize(uri);
    checkUri(uri);
    return uri;
  }

  private static void checkScheme(URI uri) {
    String scheme = uri.getScheme();
    if (scheme == null) {
      throw new IllegalArgumentException(
          "URL " + quote(uri.toString()) + " has no scheme (http or https)");
    }
    String s = scheme.toLowerCase(Locale.ROOT);
    if (!s.equals("http") && !s.equals("https")) {
      throw new IllegalArgumentException(
          "URL " + quote(uri.toString()) + " has unsupported scheme " + scheme);
    }
  }

  private static void checkUri(URI uri) {
    String host = Urls.host(uri);
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("URL " + quote(uri.toString()) + " has no host");
    }
  }

  private static String quote(String s) {
    return s.length() > 200 ? "'" + s.substring(0, 200) + "…'" : "'" + s + "'";
  }

  /** Builds a {@link FetchRequest}. */
  public static final class Builder {
    private String method = "GET";
    private URI uri;
    private Headers headers = Headers.empty();
    private Body body = Body.empty();

    private Builder(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
    }

    /** The method; default {@code GET}. */
    public Builder method(String method) {
      this.method = Objects.requireNonNull(method, "method");
      return this;
    }

    public Builder uri(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
      return this;
    }

    /** Adds a header field; rejects control characters (see {@link Headers#with}). */
    public Builder header(String name, String value) {
      this.headers = headers.with(name, value);
      return this;
    }

    public Builder headers(Headers headers) {
      this.headers = Objects.requireNonNull(headers, "headers");
      return this;
    }

    /** The request body; default empty. */
    public Builder body(Body body) {
      this.body = Objects.requireNonNull(body, "body");
      return this;
    }

    public FetchRequest build() {
      return new FetchRequest(method, uri, headers, body);
    }
  }
}
