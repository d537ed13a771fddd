package dev.fetchflux;

import java.net.URI;
import java.util.Objects;
import reactor.core.publisher.Mono;

/**
 * How a {@link Fetcher} exchanges one request: the seam between the ordering, limits and error mapping
 * (the fetcher's) and the wire (the transport's).
 *
 * <p>The default is fetchflux's reactor-netty engine. {@code dev.fetchflux.testing.StubFetcher} plugs in
 * a scripted transport, so code under test gets a real {@code Fetcher} with the real ordering stage,
 * limits, deadline and error types, and no network. Implementations follow the usual contract:
 *
 * <ul>
 *   <li>{@link #exchange} is cold and emits exactly one {@link Response} or one error;
 *   <li>cancellation aborts the exchange and releases what it holds;
 *   <li>errors are the original exceptions (the fetcher classifies them) or a
 *       {@link TransportException} for what the transport detected itself;
 *   <li>nothing blocks the calling thread.
 * </ul>
 */
public interface Transport {

  /** Exchanges {@code request}, following redirects if the transport does so. */
  Mono<Response> exchange(FetchRequest request);

  /** Releases the transport's resources; the default does nothing. */
  default Mono<Void> closeLater() {
    return Mono.empty();
  }

  /**
   * The final response of one exchange.
   *
   * @param finalUri the URI that produced it, after redirects
   * @param status HTTP status code
   * @param headers response headers
   * @param body the (decoded) body
   * @param headersNanos {@link System#nanoTime()} when the status line and headers arrived
   * @param redirects redirects followed
   */
  record Response(
      URI finalUri, int status, Headers headers, Body body, long headersNanos, int redirects) {
    public Response {
      Objects.requireNonNull(finalUri, "finalUri");
      Objects.requireNonNull(headers, "headers");
      Objects.requireNonNull(body, "body");
    }
  }
}
