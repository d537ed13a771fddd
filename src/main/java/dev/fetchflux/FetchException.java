package dev.fetchflux;

import java.net.URI;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Why one input failed: which input (index and URL), how many attempts were made, what kind of failure
 * it was, and the original exception as the {@linkplain #getCause() cause} with its stack trace intact.
 *
 * <p>The message starts with the request, for example
 * {@code #17 GET http://127.0.0.1:8080/a: connection refused}, so a log line alone says which input died.
 * Earlier failed attempts (when retries are on) are attached as {@linkplain #getSuppressed() suppressed}
 * exceptions. The exception's own stack trace is not filled in: it would only show reactor's internals;
 * the cause's trace is the one that tells the story.
 */
public final class FetchException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, coarsely; the cause has the details. */
  public enum Kind {
    /** The input is not an absolute http(s) URL, or not a supported request type. */
    INVALID_REQUEST("invalid request"),
    /** The host name did not resolve. */
    DNS("unknown host"),
    /** Nothing listens on the port (TCP RST on connect). */
    CONNECT_REFUSED("connection refused"),
    /** The TCP connect did not finish within the connect timeout. */
    CONNECT_TIMEOUT("connect timed out"),
    /** The TLS handshake failed (untrusted certificate, protocol mismatch, ...). */
    TLS("TLS handshake failed"),
    /** The connection was reset or closed before a complete response was read. */
    CONNECTION_RESET("connection reset"),
    /** The body ended before the length the server announced (or its last chunk). */
    TRUNCATED_BODY("body truncated"),
    /** Nothing was read for longer than the read (idle) timeout. */
    READ_TIMEOUT("read timed out"),
    /** The whole request took longer than its total deadline. */
    DEADLINE("deadline exceeded"),
    /** The (decoded) body is larger than the body limit. */
    BODY_TOO_LARGE("body too large"),
    /** A redirect led back to a URL already visited. */
    REDIRECT_LOOP("redirect loop"),
    /** More redirects than allowed. */
    TOO_MANY_REDIRECTS("too many redirects"),
    /** A redirect was refused (https to http, bad Location header, ...). */
    REDIRECT_REFUSED("redirect refused"),
    /** The server answered with a status the fetcher was told to treat as a failure. */
    HTTP_STATUS("HTTP error status"),
    /** The server broke the HTTP protocol (invalid status line, oversized headers, ...). */
    PROTOCOL("protocol error"),
    /** Anything else; see the cause. */
    OTHER("failed");

    private final String description;

    Kind(String description) {
      this.description = description;
    }

    /** A short lower-case phrase for messages, such as {@code connection refused}. */
    public String description() {
      return description;
    }
  }

  private final long index;
  private final String url;
  private final @Nullable URI uri;
  private final String method;
  private final Kind kind;
  private final int attempts;
  private final int status;

  /**
   * Creates an exception for input {@code index}.
   *
   * @param status the HTTP status for {@link Kind#HTTP_STATUS}, else 0
   * @param detail appended to the kind's description, may be empty
   */
  public FetchException(
      long index,
      String url,
      @Nullable URI uri,
      String method,
      Kind kind,
      int attempts,
      int status,
      String detail,
      @Nullable Throwable cause) {
    super(message(index, method, url, kind, detail), cause, true, false);
    this.index = index;
    this.url = Objects.requireNonNull(url, "url");
    this.uri = uri;
    this.method = Objects.requireNonNull(method, "method");
    this.kind = Objects.requireNonNull(kind, "kind");
    this.attempts = attempts;
    this.status = status;
  }

  private static String message(long index, String method, String url, Kind kind, String detail) {
    String d = detail.isEmpty() ? kind.description() : kind.description() + ": " + detail;
    return "#" + index + " " + method + " " + url + ": " + d;
  }

  /** Zero-based position of the input. */
  public long index() {
    return index;
  }

  /** The input as given (for a malformed input, its text). */
  public String url() {
    return url;
  }

  /** The parsed URI, or {@code null} when the input could not be parsed. */
  public @Nullable URI uri() {
    return uri;
  }

  public String method() {
    return method;
  }

  public Kind kind() {
    return kind;
  }

  /** Attempts made (0 when the request never started). */
  public int attempts() {
    return attempts;
  }

  /** The HTTP status for {@link Kind#HTTP_STATUS}, otherwise 0. */
  public int status() {
    return status;
  }
}
