package dev.fetchflux.internal;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.StreamedResult;
import dev.fetchflux.Timings;
import dev.fetchflux.Transport;
import dev.fetchflux.TransportException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * The last step of the data flow before ordering: what an attempt ended with (a response, or an
 * error) becomes a {@link FetchResult} for the input's index, with timings, the attempt count and
 * the original exception as the cause of a {@link FetchException} whose message starts with the
 * request ({@code #17 GET https://…: connection reset: …}).
 */
final class ResultMapping {
  private ResultMapping() {}

  /** When an input's first attempt started: wall clock and monotonic nanoseconds. */
  record Start(Instant wall, long nanos) {
    static Start now() {
      return new Start(Instant.now(), System.nanoTime());
    }
  }

  /** An input that never became a request: {@code cause} says why. Nothing was sent. */
  static FetchResult.Failure invalid(long index, String text, Throwable cause) {
    FetchException error =
        new FetchException(
            index,
            text,
            null,
            "GET",
            FetchException.Kind.INVALID_REQUEST,
            0,
            0,
            String.valueOf(cause.getMessage()),
            cause);
    return new FetchResult.Failure(index, text, null, error, Timings.none());
  }

  /**
   * A complete response: a success, or with {@code failOnHttpError} and a status of 400 or more an
   * {@link FetchException.Kind#HTTP_STATUS HTTP_STATUS} failure (its body released).
   */
  static FetchResult response(
      long index,
      FetchRequest req,
      Transport.Response r,
      int attempts,
      Start start,
      boolean failOnHttpError) {
    Timings timings = timings(start, r.headersNanos());
    if (failOnHttpError && r.status() >= 400) {
      Release.later(r.body());
      return statusFailure(index, req, attempts, r.status(), r.finalUri(), timings);
    }
    return new FetchResult.Success(
        index,
        req,
        r.finalUri(),
        r.status(),
        r.headers(),
        r.body(),
        timings,
        attempts,
        r.redirects());
  }

  /**
   * A failed attempt: the kind from {@link Errors#classify}, the original exception as the cause
   * (a {@link TransportException}'s own cause when it wraps one), the status and time to first
   * byte when headers had arrived, and where it happened (the redirect hop, when the transport
   * said).
   *
   * @param suffix appended to the detail, such as {@code " (attempt 1, retried)"}; empty for the
   *     final failure, which then says how many attempts there were
   */
  static FetchResult.Failure failure(
      long index, FetchRequest req, Throwable e, int attempts, Start start, String suffix) {
    Errors.Classified c = Errors.classify(e);
    Throwable cause = e;
    int status = 0;
    long headersAt = 0;
    URI at = req.uri();
    if (e instanceof TransportException f) {
      status = f.status();
      headersAt = f.headersNanos();
      if (f.getCause() != null) {
        cause = f.getCause();
      }
      if (f.uri() != null) {
        at = f.uri();
      }
    }
    String detail = c.detail() + (suffix.isEmpty() ? attemptsNote(attempts) : suffix);
    FetchException error =
        new FetchException(
            index,
            req.uri().toString(),
            req.uri(),
            req.method(),
            c.kind(),
            attempts,
            status,
            detail.strip(),
            cause);
    Timings timings =
        new Timings(
            start.wall(),
            headersAt == 0
                ? Duration.ZERO
                : Duration.ofNanos(Math.max(0, headersAt - start.nanos())),
            Duration.ofNanos(System.nanoTime() - start.nanos()));
    return new FetchResult.Failure(index, req.uri().toString(), at, error, timings);
  }

  /**
   * An attempt that will be retried, kept as a suppressed exception of the final failure.
   *
   * @param status the status of the response that will be retried, or 0 when the attempt failed
   *     with {@code e}
   */
  static FetchException retried(
      long index, FetchRequest req, int status, @Nullable Throwable e, int attempts, Start start) {
    String suffix = " (attempt " + attempts + ", retried)";
    if (status != 0) {
      return statusError(index, req, attempts, status, "status " + status + suffix);
    }
    return failure(index, req, java.util.Objects.requireNonNull(e), attempts, start, suffix)
        .error();
  }

  /** The timings of a response whose headers came at {@code headersNanos}, ending now. */
  private static Timings timings(Start start, long headersNanos) {
    return new Timings(
        start.wall(),
        Duration.ofNanos(Math.max(0, headersNanos - start.nanos())),
        Duration.ofNanos(System.nanoTime() - start.nanos()));
  }

  /** A response failed by its status ({@code failOnHttpError}), at its index. */
  private static FetchResult.Failure statusFailure(
      long index, FetchRequest req, int attempts, int status, URI finalUri, Timings timings) {
    FetchException error =
        statusError(
            index,
            req,
            attempts,
            status,
            status
                + (finalUri.equals(req.uri()) ? "" : " from " + finalUri)
                + attemptsNote(attempts));
    return new FetchResult.Failure(index, req.uri().toString(), finalUri, error, timings);
  }

  /** An {@link FetchException.Kind#HTTP_STATUS HTTP_STATUS} failure of {@code req}. */
  private static FetchException statusError(
      long index, FetchRequest req, int attempts, int status, String message) {
    return new FetchException(
        index,
        req.uri().toString(),
        req.uri(),
        req.method(),
        FetchException.Kind.HTTP_STATUS,
        attempts,
        status,
        message,
        null);
  }

  /**
   * A response whose body is streaming: a {@link StreamedResult.Success} whose body's failures are
   * translated as {@link #failure} translates an attempt's, or, with {@code failOnHttpError} and a
   * status of 400 or more, an {@link FetchException.Kind#HTTP_STATUS HTTP_STATUS} failure (its body
   * discarded, its connection closed unless the body was already whole).
   */
  static StreamedResult streamed(
      long index,
      FetchRequest req,
      StreamingTransport.Streamed r,
      int attempts,
      Start start,
      boolean failOnHttpError,
      Hold hold) {
    BodyRelay relay = r.body();
    if (failOnHttpError && r.status() >= 400) {
      relay.discard(new IllegalStateException("the response failed by its status"));
      return statusFailure(
          index, req, attempts, r.status(), r.finalUri(), timings(start, r.headersNanos()));
    }
    relay.mapFailures(e -> failure(index, req, e, attempts, start, "").error());
    return new StreamedResult.Success(
        index,
        req,
        r.finalUri(),
        r.status(),
        r.headers(),
        new StreamedBody(
            relay,
            start,
            r.headersNanos(),
            r.announced(),
            hold.collectThreshold(),
            hold.spillDirectory(),
            hold.collectMemory()),
        attempts,
        r.redirects());
  }

  private static String attemptsNote(int attempts) {
    return attempts > 1 ? " (after " + attempts + " attempts)" : "";
  }

  /** {@code 3 s} or {@code 250 ms}. */
  static String human(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + " s" : ms + " ms";
  }
}
