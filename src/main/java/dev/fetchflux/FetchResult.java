package dev.fetchflux;

import java.net.URI;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The outcome of one input: a {@link Success} or a {@link Failure}, both carrying the input's index.
 *
 * <p>Keep-going streams deliver exactly one result per input, in its place, so a failure is a value,
 * not the end of the stream:
 *
 * <pre>{@code
 * fetcher.fetch(urls).subscribe(result -> {
 *   if (result instanceof FetchResult.Success ok) {
 *     System.out.println(ok.index() + " " + ok.status() + " " + ok.body().size());
 *   } else if (result instanceof FetchResult.Failure failed) {
 *     System.err.println(failed.error().getMessage());
 *   }
 * });
 * }</pre>
 */
public sealed interface FetchResult permits FetchResult.Success, FetchResult.Failure {

  /** Zero-based position of the input. */
  long index();

  /**
   * The URL requested, the same in a success and a failure: the input's URL as fetchflux normalised
   * it (an internationalised host in punycode, say), or, for an input that never became a request
   * ({@link FetchException.Kind#INVALID_REQUEST}), the input's own text.
   */
  String url();

  /**
   * Where the result came from: the URI of the last response (after redirects) or of the request
   * that failed; {@code null} for an input that never became a request.
   */
  @Nullable URI finalUri();

  /** Whether this is a {@link Success}. */
  default boolean isSuccess() {
    return this instanceof Success;
  }

  /**
   * A response was read completely (and, with {@code failOnHttpError}, its status is below 400).
   *
   * @param index zero-based position of the input
   * @param request the request as sent first (before redirects)
   * @param finalUri the URI that produced this response, after redirects
   * @param status HTTP status code
   * @param headers response headers
   * @param body response body, decoded when the server compressed it
   * @param timings when it started, time to first byte, total
   * @param attempts attempts made, at least 1
   * @param redirects redirects followed
   */
  record Success(
      long index,
      FetchRequest request,
      URI finalUri,
      int status,
      Headers headers,
      Body body,
      Timings timings,
      int attempts,
      int redirects)
      implements FetchResult {
    public Success {
      Objects.requireNonNull(request, "request");
      Objects.requireNonNull(finalUri, "finalUri");
      Objects.requireNonNull(headers, "headers");
      Objects.requireNonNull(body, "body");
      Objects.requireNonNull(timings, "timings");
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

  /**
   * No usable response: {@link #error()} says which input, what kind of failure and the original cause.
   * The same value in {@linkplain StreamedResult streaming mode}.
   *
   * @param index zero-based position of the input
   * @param url the URL requested (see {@link FetchResult#url()})
   * @param finalUri where it failed: the request's URI, the redirect hop's, or the URI of a response
   *     failed by status; {@code null} for an input that never became a request
   * @param error the failure, with the original exception as its cause
   * @param timings when it started and how long it took until the failure was known
   */
  record Failure(
      long index, String url, @Nullable URI finalUri, FetchException error, Timings timings)
      implements FetchResult, StreamedResult {
    public Failure {
      Objects.requireNonNull(url, "url");
      Objects.requireNonNull(error, "error");
      Objects.requireNonNull(timings, "timings");
    }

    /** {@code false}: a failure is a failure in every mode. */
    @Override
    public boolean isSuccess() {
      return false;
    }

    /** The parsed URI, or {@code null} when the input could not be parsed. */
    public @Nullable URI uri() {
      return error.uri();
    }

    public FetchException.Kind kind() {
      return error.kind();
    }

    public int attempts() {
      return error.attempts();
    }
  }
}
