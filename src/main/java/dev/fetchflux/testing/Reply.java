package dev.fetchflux.testing;

import dev.fetchflux.Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.zip.GZIPOutputStream;

/**
 * What {@link TestServer} does for a request: a normal response, possibly delayed, or one of the
 * failure modes real servers show (reset, truncation, stall, dribble, ...).
 *
 * <p>Immutable; build one with the static factories and refine it with the {@code with...} methods:
 *
 * <pre>{@code
 * server.route("/slow", Reply.ok("done").withDelay(Duration.ofMillis(200)));
 * server.route("/cut", Reply.truncated(1000, 10));
 * }</pre>
 */
public final class Reply {

  /** How the reply is delivered. */
  public enum Mode {
    /** A normal response with {@code Content-Length}. */
    NORMAL,
    /** A normal response in chunked transfer encoding (no {@code Content-Length}). */
    CHUNKED,
    /** Accept the request and never answer. */
    STALL,
    /** Reset the connection (TCP RST) before any response byte. */
    RESET_BEFORE_RESPONSE,
    /** Send the status line and headers, then reset. */
    RESET_AFTER_HEADERS,
    /** Announce the full length, send part of the body, then close cleanly. */
    TRUNCATED,
    /** Chunked encoding, body chunks sent, the last (zero) chunk never sent, then close. */
    CHUNKED_WITHOUT_LAST_CHUNK,
    /** No length and not chunked: the body is delimited by closing; part sent, then a reset. */
    CLOSE_DELIMITED_RESET,
    /** No length and not chunked: the whole body, then a clean close. */
    CLOSE_DELIMITED,
    /** The body one byte at a time with a pause between bytes. */
    DRIBBLE,
    /** Header lines forever (until the client gives up). */
    ENDLESS_HEADERS,
    /** A status line that is not HTTP. */
    INVALID_STATUS_LINE,
    /** Announce a length (whatever it is), send part of the body, then stall without closing. */
    STALL_AFTER
  }

  private final Mode mode;
  private final int status;
  private final Headers headers;
  private final byte[] body;
  private final Duration delay;
  private final int sendBytes;
  private final Duration interval;

  private Reply(
      Mode mode,
      int status,
      Headers headers,
      byte[] body,
      Duration delay,
      int sendBytes,
      Duration interval) {
    this.mode = mode;
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.delay = delay;
    this.sendBytes = sendBytes;
    this.interval = interval;
  }

  private static Reply of(Mode mode, int status, byte[] body) {
    return new Reply(
        mode, status, Headers.empty(), body, Duration.ZERO, body.length, Duration.ZERO);
  }

  /** 200 with a UTF-8 text body. */
  public static Reply ok(String body) {
    return status(200, body);
  }

  /** 200 with these bytes. */
  public static Reply ok(byte[] body) {
    return of(Mode.NORMAL, 200, body.clone());
  }

  /** {@code status} with a UTF-8 text body. */
  public static Reply status(int status, String body) {
    return of(Mode.NORMAL, status, body.getBytes(StandardCharsets.UTF_8));
  }

  /** {@code status} (a 3xx) with a {@code Location} header. */
  public static Reply redirect(int status, String location) {
    return of(Mode.NORMAL, status, new byte[0]).withHeader("Location", location);
  }

  /** 200 with {@code plain} gzip-compressed and {@code Content-Encoding: gzip}. */
  public static Reply gzip(byte[] plain) {
    return of(Mode.NORMAL, 200, gzipped(plain)).withHeader("Content-Encoding", "gzip");
  }

  /**
   * 200 with {@code body} in chunked transfer encoding, {@code chunkSize} bytes a chunk, so the
   * client cannot know the length before the end.
   */
  public static Reply chunked(byte[] body, int chunkSize) {
    if (chunkSize < 1) {
      throw new IllegalArgumentException("chunkSize < 1: " + chunkSize);
    }
    return new Reply(
        Mode.CHUNKED, 200, Headers.empty(), body.clone(), Duration.ZERO, chunkSize, Duration.ZERO);
  }

  /** {@code plain} gzip-compressed. */
  public static byte[] gzipped(byte[] plain) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(plain);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Accepts and never answers. */
  public static Reply stall() {
    return of(Mode.STALL, 0, new byte[0]);
  }

  /** Resets the connection before any response byte. */
  public static Reply resetBeforeResponse() {
    return of(Mode.RESET_BEFORE_RESPONSE, 0, new byte[0]);
  }

  /** Sends 200 and headers announcing a body, then resets. */
  public static Reply resetAfterHeaders(int announcedLength) {
    return new Reply(
        Mode.RESET_AFTER_HEADERS,
        200,
        Headers.empty(),
        new byte[announcedLength],
        Duration.ZERO,
        0,
        Duration.ZERO);
  }

  /** Announces {@code length} bytes, sends {@code sent} of them and closes cleanly. */
  public static Reply truncated(int length, int sent) {
    return new Reply(
        Mode.TRUNCATED, 200, Headers.empty(), pattern(length), Duration.ZERO, sent, Duration.ZERO);
  }

  /**
   * Announces {@code announcedLength} bytes in {@code Content-Length}, sends the first {@code sent}
   * of them and then stalls with the connection open: a hostile server whose header is no guide to
   * what will arrive (a client that allocates what the header says runs out of memory).
   */
  public static Reply stallAfter(long announcedLength, int sent) {
    if (announcedLength < 0 || sent < 0 || sent > announcedLength) {
      throw new IllegalArgumentException(
          "need 0 <= sent <= announcedLength: sent " + sent + ", announced " + announcedLength);
    }
    return new Reply(
            Mode.STALL_AFTER,
            200,
            Headers.empty(),
            pattern(sent),
            Duration.ZERO,
            sent,
            Duration.ZERO)
        .withHeader("Content-Length", Long.toString(announcedLength));
  }

  /** Chunked body of {@code length} bytes whose terminating chunk never comes; then closes. */
  public static Reply chunkedWithoutLastChunk(int length) {
    return of(Mode.CHUNKED_WITHOUT_LAST_CHUNK, 200, pattern(length));
  }

  /** Close-delimited body: sends {@code sent} of {@code length} bytes, then resets. */
  public static Reply closeDelimitedReset(int length, int sent) {
    return new Reply(
        Mode.CLOSE_DELIMITED_RESET,
        200,
        Headers.empty(),
        pattern(length),
        Duration.ZERO,
        sent,
        Duration.ZERO);
  }

  /** Close-delimited body sent whole, then a clean close. */
  public static Reply closeDelimited(byte[] body) {
    return of(Mode.CLOSE_DELIMITED, 200, body.clone());
  }

  /** {@code length} bytes, one every {@code interval}. */
  public static Reply dribble(int length, Duration interval) {
    return new Reply(
        Mode.DRIBBLE,
        200,
        Headers.empty(),
        pattern(length),
        Duration.ZERO,
        length,
        Objects.requireNonNull(interval, "interval"));
  }

  /** A header line every {@code interval}, forever. */
  public static Reply endlessHeaders(Duration interval) {
    return new Reply(
        Mode.ENDLESS_HEADERS, 200, Headers.empty(), new byte[0], Duration.ZERO, 0, interval);
  }

  /** Answers with a status line that is not HTTP. */
  public static Reply invalidStatusLine() {
    return of(Mode.INVALID_STATUS_LINE, 0, new byte[0]);
  }

  /** {@code length} deterministic bytes (a repeating printable pattern). */
  public static byte[] pattern(int length) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) ('a' + i % 26);
    }
    return b;
  }

  /** A copy that waits {@code delay} before answering. */
  public Reply withDelay(Duration delay) {
    return new Reply(
        mode, status, headers, body, Objects.requireNonNull(delay, "delay"), sendBytes, interval);
  }

  /** A copy with one more response header. */
  public Reply withHeader(String name, String value) {
    return new Reply(mode, status, headers.with(name, value), body, delay, sendBytes, interval);
  }

  public Mode mode() {
    return mode;
  }

  public int status() {
    return status;
  }

  public Headers headers() {
    return headers;
  }

  /** A copy of the full body (what a complete response carries). */
  public byte[] body() {
    return body.clone();
  }

  byte[] bodyUnsafe() {
    return body;
  }

  public Duration delay() {
    return delay;
  }

  int sendBytes() {
    return sendBytes;
  }

  Duration interval() {
    return interval;
  }
}
