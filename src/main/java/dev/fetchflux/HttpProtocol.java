package dev.fetchflux;

/** Which HTTP version the fetcher speaks. */
public enum HttpProtocol {
  /** HTTP/1.1 over plain TCP or TLS. The default. */
  HTTP_1_1,
  /**
   * HTTP/2 over TLS, negotiated by ALPN, falling back to HTTP/1.1 when the server does not offer h2;
   * plain {@code http://} URLs use HTTP/1.1.
   */
  HTTP_2
}
