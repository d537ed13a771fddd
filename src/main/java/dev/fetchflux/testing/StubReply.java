package dev.fetchflux.testing;

import dev.fetchflux.Body;
import dev.fetchflux.FetchException;
import dev.fetchflux.Headers;
import dev.fetchflux.TransportException;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link StubFetcher} answers for one request: a response, an error, or nothing at all,
 * possibly after a delay.
 *
 * <p>Immutable; build one with the static factories and refine it with the {@code with...} methods:
 *
 * <pre>{@code
 * StubReply.ok("done").withDelay(Duration.ofSeconds(2));
 * StubReply.status(503).withHeader("Retry-After", "1");
 * StubReply.error(new ConnectException("Connection refused"));
 * StubReply.failure(FetchException.Kind.BODY_TOO_LARGE, "body over 32 MiB");
 * StubReply.never();
 * }</pre>
 *
 * <p>Delays run on Reactor's {@code Schedulers.parallel()} (through {@code Mono.delay}), so
 * {@code StepVerifier.withVirtualTime} controls them and a test of a one-hour delay takes no wall
 * time.
 */
public final class StubReply {

  private enum Mode {
    RESPONSE,
    ERROR,
    NEVER
  }

  private final Mode mode;
  private final int status;
  private final Headers headers;
  private final Body body;
  private final Duration delay;
  private final @Nullable Supplier<? extends Throwable> error;
  private final @Nullable URI finalUri;
  private final int redirects;

  private StubReply(
      Mode mode,
      int status,
      Headers headers,
      Body body,
      Duration delay,
      @Nullable Supplier<? extends Throwable> error,
      @Nullable URI finalUri,
      int redirects) {
    this.mode = mode;
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.delay = delay;
    this.error = error;
    this.finalUri = finalUri;
    this.redirects = redirects;
  }

  private static StubReply response(int status, Body body) {
    if (status < 100 || status > 999) {
      throw new IllegalArgumentException("status out of range 100..999: " + status);
    }
    return of(Mode.RESPONSE, status, body, null);
  }

  private static StubReply of(
      Mode mode, int status, Body body, @Nullable Supplier<? extends Throwable> error) {
    return new StubReply(mode, status, Headers.empty(), body, Duration.ZERO, error, null, 0);
  }

  /** 200 with a UTF-8 text body. */
  public static StubReply ok(String body) {
    return response(200, Body.of(body));
  }

  /** 200 with a copy of these bytes. */
  public static StubReply ok(byte[] body) {
    return response(200, Body.of(body));
  }

  /** {@code status} with an empty body. */
  public static StubReply status(int status) {
    return response(status, Body.empty());
  }

  /** {@code status} with a UTF-8 text body. */
  public static StubReply status(int status, String body) {
    return response(status, Body.of(body));
  }

  /**
   * Signals {@code error} from the transport; the fetcher classifies it as it would a real one (a
   * {@link java.net.ConnectException} becomes {@link FetchException.Kind#CONNECT_REFUSED}, a
   * {@link TransportException} keeps its kind, anything unknown is
   * {@link FetchException.Kind#OTHER}) and keeps it as the {@link FetchException}'s cause.
   *
   * <p>Every request this reply answers gets the same instance; use {@link #error(Supplier)} for a
   * fresh one each time.
   */
  public static StubReply error(Throwable error) {
    Objects.requireNonNull(error, "error");
    return error(() -> error);
  }

  /** Signals a new exception from {@code error} for each request this reply answers. */
  public static StubReply error(Supplier<? extends Throwable> error) {
    Objects.requireNonNull(error, "error");
    return of(Mode.ERROR, 0, Body.empty(), error);
  }

  /**
   * Signals a new {@link TransportException} of {@code kind}: what the real transport reports for
   * failures it detects itself (a body over the limit, a redirect loop, ...).
   */
  public static StubReply failure(FetchException.Kind kind, String detail) {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(detail, "detail");
    return error(() -> new TransportException(kind, detail));
  }

  /** Never answers: the request stays in flight until it is cancelled or the deadline passes. */
  public static StubReply never() {
    return of(Mode.NEVER, 0, Body.empty(), null);
  }

  /**
   * A copy that answers (or fails) only after {@code delay}, measured on
   * {@code Schedulers.parallel()} so that virtual time applies. Default: no delay, the reply is
   * signalled during subscription.
   */
  public StubReply withDelay(Duration delay) {
    Objects.requireNonNull(delay, "delay");
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay must not be negative: " + delay);
    }
    return new StubReply(mode, status, headers, body, delay, error, finalUri, redirects);
  }

  /**
   * A copy with one more response header.
   *
   * @throws IllegalStateException if this reply is an error or {@link #never()}
   */
  public StubReply withHeader(String name, String value) {
    requireResponse("withHeader");
    return new StubReply(
        mode, status, headers.with(name, value), body, delay, error, finalUri, redirects);
  }

  /**
   * A copy that reports having followed {@code redirects} redirects to {@code finalUri}. Default:
   * no redirect, the final URI is the request's.
   *
   * @throws IllegalStateException if this reply is an error or {@link #never()}
   */
  public StubReply withRedirects(URI finalUri, int redirects) {
    requireResponse("withRedirects");
    Objects.requireNonNull(finalUri, "finalUri");
    if (redirects < 0) {
      throw new IllegalArgumentException("redirects < 0: " + redirects);
    }
    return new StubReply(mode, status, headers, body, delay, error, finalUri, redirects);
  }

  private void requireResponse(String method) {
    if (mode != Mode.RESPONSE) {
      throw new IllegalStateException(method + " needs a response reply, not " + this);
    }
  }

  /** Whether this reply is a response (not an error, not {@link #never()}). */
  public boolean isResponse() {
    return mode == Mode.RESPONSE;
  }

  /** The status of a response reply, 0 otherwise. */
  public int status() {
    return status;
  }

  /** The headers of a response reply. */
  public Headers headers() {
    return headers;
  }

  /** The body of a response reply. */
  public Body body() {
    return body;
  }

  /** The delay before the reply; zero by default. */
  public Duration delay() {
    return delay;
  }

  boolean isNever() {
    return mode == Mode.NEVER;
  }

  /** A fresh error for an error reply; never null for one. */
  Throwable newError() {
    Supplier<? extends Throwable> s = Objects.requireNonNull(error, "not an error reply");
    return Objects.requireNonNull(s.get(), "error supplier returned null");
  }

  @Nullable URI finalUri() {
    return finalUri;
  }

  int redirects() {
    return redirects;
  }

  @Override
  public String toString() {
    String d = delay.isZero() ? "" : " after " + delay;
    switch (mode) {
      case RESPONSE:
        return "StubReply[" + status + ", " + body.size() + " bytes" + d + "]";
      case ERROR:
        return "StubReply[error" + d + "]";
      default:
        return "StubReply[never]";
    }
  }
}
