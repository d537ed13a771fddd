package dev.fetchflux.internal;

import dev.fetchflux.FetchException.Kind;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.DoubleSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The pure decisions of the retry loop: whether an attempt's outcome may be retried and how long to
 * wait first. No I/O and no clock of its own (callers pass elapsed time and "now"), so it is tested
 * exhaustively without waiting, and the loop that uses it runs in virtual time.
 */
public final class RetrySchedule {

  /** RFC 9110 §5.6.7: recipients must accept IMF-fixdate, the obsolete RFC 850 form and asctime. */
  private static final List<DateTimeFormatter> HTTP_DATES =
      List.of(
          DateTimeFormatter.RFC_1123_DATE_TIME,
          new DateTimeFormatterBuilder()
              .appendPattern("EEEE, dd-MMM-")
              .appendValueReduced(ChronoField.YEAR, 2, 2, 1970)
              .appendPattern(" HH:mm:ss 'GMT'")
              .toFormatter(Locale.US)
              .withZone(ZoneOffset.UTC),
          DateTimeFormatter.ofPattern("EEE MMM ppd HH:mm:ss yyyy", Locale.US)
              .withZone(ZoneOffset.UTC));

  private final int maxAttempts;
  private final long baseNanos;
  private final long maxNanos;
  private final Set<Integer> statuses;
  private final boolean nonIdempotent;
  private final @Nullable Duration budget;
  private final DoubleSupplier jitter;

  /**
   * @param maxAttempts attempts per input, the first included
   * @param base the delay cap before the first retry
   * @param max the largest delay, also the cap on {@code Retry-After}
   * @param statuses response statuses to retry
   * @param nonIdempotent whether non-idempotent requests are retried after resets and statuses
   * @param budget no attempt starts later than this after the first, or {@code null}
   * @param jitter uniform random numbers in [0, 1)
   */
  public RetrySchedule(
      int maxAttempts,
      Duration base,
      Duration max,
      Set<Integer> statuses,
      boolean nonIdempotent,
      @Nullable Duration budget,
      DoubleSupplier jitter) {
    this.maxAttempts = maxAttempts;
    this.baseNanos = saturatedNanos(base);
    this.maxNanos = saturatedNanos(max);
    this.statuses = Set.copyOf(statuses);
    this.nonIdempotent = nonIdempotent;
    this.budget = budget;
    this.jitter = jitter;
  }

  /** Whether more than one attempt is ever made. */
  public boolean enabled() {
    return maxAttempts > 1;
  }

  /**
   * Whether a failed attempt may be repeated: a failed connect (nothing was sent) for any method; a
   * reset before any response byte for idempotent requests (or all, when configured).
   *
   * @param responseStarted whether the status line of a response had arrived
   */
  public boolean retryable(Kind kind, boolean responseStarted, boolean idempotent) {
    switch (kind) {
      case CONNECT_REFUSED:
      case CONNECT_TIMEOUT:
        return true;
      case CONNECTION_RESET:
        return !responseStarted && (idempotent || nonIdempotent);
      default:
        return false;
    }
  }

  /** Whether a response with {@code status} may be retried. */
  public boolean retryableStatus(int status, boolean idempotent) {
    return statuses.contains(status) && (idempotent || nonIdempotent);
  }

  /**
   * The wait before the next attempt, or {@code null} when no further attempt may start: the attempts
   * are used up, or the wait would end past the retry budget.
   *
   * @param attemptsMade attempts made so far (at least 1)
   * @param elapsed time since the first attempt started
   * @param retryAfter the server's {@code Retry-After}, or {@code null}; replaces the backoff, capped at
   *     the maximum delay
   */
  public @Nullable Duration nextDelay(
      int attemptsMade, Duration elapsed, @Nullable Duration retryAfter) {
    if (attemptsMade >= maxAttempts) {
      return null;
    }
    Duration delay =
        retryAfter != null
            ? Duration.ofNanos(Math.min(saturatedNanos(retryAfter), maxNanos))
            : backoff(attemptsMade);
    if (budget != null && elapsed.plus(delay).compareTo(budget) > 0) {
      return null;
    }
    return delay;
  }

  /**
   * Full-jitter exponential backoff before retry {@code retry} (1 for the first): uniform in
   * {@code [0, min(max, base × 2^(retry-1)))}.
   */
  public Duration backoff(int retry) {
    if (retry < 1) {
      throw new IllegalArgumentException("retry < 1: " + retry);
    }
    int shift = retry - 1;
    long cap = shift >= 62 || baseNanos > (maxNanos >> shift) ? maxNanos : baseNanos << shift;
    double r = jitter.getAsDouble();
    if (!(r >= 0 && r < 1)) {
      r = 0;
    }
    return Duration.ofNanos((long) (cap * r));
  }

  /**
   * Parses a {@code Retry-After} value: delta-seconds, or an HTTP-date measured from the response's
   * {@code Date} header when it has one (so a skewed local clock does not matter) and from
   * {@code nowMillis} otherwise. A date in the past means no wait.
   *
   * @return the requested wait, or {@code null} when the value is absent or invalid
   */
  public static @Nullable Duration parseRetryAfter(
      @Nullable String value, @Nullable String dateHeader, long nowMillis) {
    if (value == null) {
      return null;
    }
    String v = value.strip();
    if (v.isEmpty()) {
      return null;
    }
    if (isDigits(v)) {
      long seconds;
      try {
        seconds = Long.parseLong(v);
      } catch (NumberFormatException tooLarge) {
        seconds = Long.MAX_VALUE;
      }
      return Duration.ofSeconds(seconds);
    }
    Long at = parseHttpDate(v);
    if (at == null) {
      return null;
    }
    Long base = dateHeader == null ? null : parseHttpDate(dateHeader.strip());
    long from = base != null ? base : nowMillis;
    return Duration.ofMillis(Math.max(0, at - from));
  }

  /** Epoch milliseconds of an HTTP-date in any of its three forms, or {@code null}. */
  static @Nullable Long parseHttpDate(String s) {
    for (DateTimeFormatter f : HTTP_DATES) {
      try {
        return ZonedDateTime.parse(s, f).toInstant().toEpochMilli();
      } catch (DateTimeParseException e) {
        // try the next form
      }
    }
    return null;
  }

  private static boolean isDigits(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }
}
