package dev.fetchflux.testing;

import dev.fetchflux.Body;
import dev.fetchflux.Headers;
import java.time.Instant;

/**
 * A request {@link TestServer} received.
 *
 * @param method request method
 * @param uri path and query as sent, such as {@code /a?x=1}
 * @param path the path alone
 * @param headers request headers
 * @param body request body
 * @param received when the request's headers arrived
 * @param protocol the HTTP version it came over: {@code HTTP/1.1} or {@code HTTP/2.0}
 */
public record RecordedRequest(
    String method,
    String uri,
    String path,
    Headers headers,
    Body body,
    Instant received,
    String protocol) {

  /** A request that came over HTTP/1.1. */
  public RecordedRequest(
      String method, String uri, String path, Headers headers, Body body, Instant received) {
    this(method, uri, path, headers, body, received, "HTTP/1.1");
  }
}
