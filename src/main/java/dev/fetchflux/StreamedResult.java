package dev.fetchflux;

import java.net.URI;
import java.util.Objects;

/**
 * The outcome of one input in {@link Fetcher#fetchStreaming streaming mode}: a {@link Success},
 * made as soon as the response's headers arrive, whose body is still arriving, or a
 * {@link FetchResult.Failure}, the same value as in the other modes (nothing usable arrived: no
 * response, a refused redirect, a status failed by {@code failOnHttpError}, ...).
 *
 * <p>A streamed success is not yet a success of the whole exchange: its body may still fail (cut
 * short, too large, past the deadline). That failure ends the body with
 * {@code onError(FetchException)} at the same index, with the same kinds and messages as a
 * {@code FetchResult.Failure} would have had; see {@link BodyStream}.
 */
public sealed interface StreamedResult permits StreamedResult.Success, FetchResult.Failure {

  /** Zero-based position of the input. */
  long index();

  /** The URL requested; see {@link FetchResult#url()}. */
  String url();

  /** Whether this is a {@link Success} (a response whose body is streaming). */
  default boolean isSuccess() {
    return this instanceof Success;
  }

  /**
   * A response whose status and headers have arrived and whose body streams through
   * {@link #body()}, in order, at the pace its consumer reads it.
   *
   * @param index zero-based position of the input
   * @param request the request as sent first (before redirects)
   * @param finalUri the URI that produced this response, after redirects
   * @param status HTTP status code
   * @param headers response headers
   * @param body the body, decoded when the server compressed it; read it once
   * @param attempts attempts made, at least 1
   * @param redirects redirects followed
   */
  record Success(
      long index,
      FetchRequest request,
      URI finalUri,
      int status,
      Headers headers,
      BodyStream body,
      int attempts,
      int redirects)
      implements StreamedResult {
    public Success {
      Objects.requireNonNull(request, "request");
      Objects.requireNonNull(finalUri, "finalUri");
      Objects.requireNonNull(headers, "headers");
      Objects.requireNonNull(body, "body");
    }

    @Override
    public String url() {
      return request.uri().toString();
    }

    /** The URI requested (before redirects). */
    public URI uri() {
      return request.uri();
    }
  }
}
