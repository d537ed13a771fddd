package dev.fetchflux;

import java.net.URI;
import org.jspecify.annotations.Nullable;

/**
 * A failure a {@link Transport} detected and classified itself (body too large, redirect loop, ...).
 *
 * <p>It travels as an error signal from the transport to the {@link Fetcher}, which turns it into a
 * {@link FetchException} of the same {@linkplain #kind() kind}. When it wraps an exception, the
 * {@code FetchException}'s cause is that original exception, never this wrapper; otherwise the cause is
 * this exception, whose stack trace shows where the problem was detected. Transports may also signal
 * any other exception (a {@code ConnectException}, say): the fetcher classifies it.
 */
public final class TransportException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final FetchException.Kind kind;
  private final int status;
  private final transient long headersNanos;
  private @Nullable URI uri;

  /**
   * @param kind what went wrong
   * @param detail a short phrase, shown after the kind's description
   * @param status the HTTP status involved, or 0
   * @param headersNanos {@link System#nanoTime()} when response headers arrived, or 0
   * @param cause the original exception, if any
   */
  public TransportException(
      FetchException.Kind kind,
      String detail,
      int status,
      long headersNanos,
      @Nullable Throwable cause) {
    super(detail, cause);
    this.kind = kind;
    this.status = status;
    this.headersNanos = headersNanos;
  }

  /** A failure of {@code kind} with a detail and nothing else known. */
  public TransportException(FetchException.Kind kind, String detail) {
    this(kind, detail, 0, 0, null);
  }

  public FetchException.Kind kind() {
    return kind;
  }

  /** The HTTP status involved, or 0. */
  public int status() {
    return status;
  }

  /** {@link System#nanoTime()} when response headers arrived, or 0 if none did. */
  public long headersNanos() {
    return headersNanos;
  }

  /**
   * The URI of the request that failed, when the transport says (after redirects it differs from
   * the input's); {@code null} means the input's own. It becomes the failure's
   * {@link FetchResult#finalUri()}.
   */
  public @Nullable URI uri() {
    return uri;
  }

  /** Records where the failure happened (see {@link #uri()}), unless already known; returns this. */
  public TransportException at(URI uri) {
    if (this.uri == null) {
      this.uri = uri;
    }
    return this;
  }
}
