package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.FetchException.Kind;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Set;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pure retry decisions: what is retried, the full-jitter backoff, the budget, Retry-After. */
@Timeout(10)
class ReliabilityRetryScheduleTest {

  private static RetrySchedule schedule(int attempts, double jitter) {
    return schedule(attempts, jitter, null);
  }

  private static RetrySchedule schedule(int attempts, double jitter, Duration budget) {
    DoubleSupplier fixed = () -> jitter;
    return new RetrySchedule(
        attempts,
        Duration.ofMillis(100),
        Duration.ofSeconds(1),
        Set.of(429, 503),
        false,
        budget,
        fixed);
  }

  @Test
  void backoffCapDoublesPerRetryUpToTheMaximum() {
    // With the random number just below 1 the delay sits at its cap.
    RetrySchedule s = schedule(20, 0.999_999);
    assertThat(s.backoff(1)).isBetween(Duration.ofMillis(99), Duration.ofMillis(100));
    assertThat(s.backoff(2)).isBetween(Duration.ofMillis(199), Duration.ofMillis(200));
    assertThat(s.backoff(3)).isBetween(Duration.ofMillis(399), Duration.ofMillis(400));
    assertThat(s.backoff(4)).isBetween(Duration.ofMillis(799), Duration.ofMillis(800));
    assertThat(s.backoff(5)).isBetween(Duration.ofMillis(999), Duration.ofSeconds(1));
    assertThat(s.backoff(70)).isBetween(Duration.ofMillis(999), Duration.ofSeconds(1));
  }

  @Test
  void backoffIsFullJitterBetweenZeroAndTheCap() {
    assertThat(schedule(5, 0.0).backoff(3)).isEqualTo(Duration.ZERO);
    assertThat(schedule(5, 0.25).backoff(3)).isEqualTo(Duration.ofMillis(100));
    assertThat(schedule(5, 0.5).backoff(3)).isEqualTo(Duration.ofMillis(200));
  }

  @Test
  void backoffIgnoresARandomSourceOutsideTheUnitInterval() {
    assertThat(schedule(5, 1.5).backoff(1)).isEqualTo(Duration.ZERO);
    assertThat(schedule(5, Double.NaN).backoff(1)).isEqualTo(Duration.ZERO);
  }

  @Test
  void connectFailuresAreRetriedForEveryMethod() {
    RetrySchedule s = schedule(3, 0.5);
    assertThat(s.retryable(Kind.CONNECT_REFUSED, false, false)).isTrue();
    assertThat(s.retryable(Kind.CONNECT_TIMEOUT, false, false)).isTrue();
  }

  @Test
  void resetIsRetriedOnlyBeforeTheResponseAndOnlyForIdempotentRequests() {
    RetrySchedule s = schedule(3, 0.5);
    assertThat(s.retryable(Kind.CONNECTION_RESET, false, true)).isTrue();
    assertThat(s.retryable(Kind.CONNECTION_RESET, true, true)).isFalse();
    assertThat(s.retryable(Kind.CONNECTION_RESET, false, false)).isFalse();
    RetrySchedule all =
        new RetrySchedule(3, Duration.ZERO, Duration.ZERO, Set.of(503), true, null, () -> 0);
    assertThat(all.retryable(Kind.CONNECTION_RESET, false, false)).isTrue();
  }

  @Test
  void otherFailuresAreFinal() {
    RetrySchedule s = schedule(3, 0.5);
    for (Kind k :
        new Kind[] {
          Kind.DNS,
          Kind.TLS,
          Kind.DEADLINE,
          Kind.READ_TIMEOUT,
          Kind.TRUNCATED_BODY,
          Kind.BODY_TOO_LARGE,
          Kind.REDIRECT_LOOP,
          Kind.PROTOCOL,
          Kind.OTHER
        }) {
      assertThat(s.retryable(k, false, true)).as(k.name()).isFalse();
    }
  }

  @Test
  void configuredStatusesAreRetriedForIdempotentRequestsOnly() {
    RetrySchedule s = schedule(3, 0.5);
    assertThat(s.retryableStatus(503, true)).isTrue();
    assertThat(s.retryableStatus(429, true)).isTrue();
    assertThat(s.retryableStatus(500, true)).isFalse();
    assertThat(s.retryableStatus(503, false)).isFalse();
  }

  @Test
  void noDelayOnceTheAttemptsAreUsedUp() {
    RetrySchedule s = schedule(3, 0.5);
    assertThat(s.nextDelay(1, Duration.ZERO, null)).isEqualTo(Duration.ofMillis(50));
    assertThat(s.nextDelay(2, Duration.ZERO, null)).isEqualTo(Duration.ofMillis(100));
    assertThat(s.nextDelay(3, Duration.ZERO, null)).isNull();
  }

  @Test
  void retryAfterReplacesTheBackoffAndIsCappedAtTheMaximumDelay() {
    RetrySchedule s = schedule(3, 0.5);
    assertThat(s.nextDelay(1, Duration.ZERO, Duration.ofMillis(700)))
        .isEqualTo(Duration.ofMillis(700));
    assertThat(s.nextDelay(1, Duration.ZERO, Duration.ofHours(2))).isEqualTo(Duration.ofSeconds(1));
    assertThat(s.nextDelay(1, Duration.ZERO, Duration.ofSeconds(Long.MAX_VALUE)))
        .isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void noAttemptStartsPastTheBudget() {
    RetrySchedule s = schedule(10, 0.5, Duration.ofSeconds(2));
    assertThat(s.nextDelay(2, Duration.ofMillis(1800), null)).isEqualTo(Duration.ofMillis(100));
    assertThat(s.nextDelay(2, Duration.ofMillis(1901), null)).isNull();
    assertThat(s.nextDelay(1, Duration.ofMillis(1500), Duration.ofSeconds(1))).isNull();
  }

  @Test
  void retryAfterInSecondsIsParsed() {
    assertThat(RetrySchedule.parseRetryAfter("120", null, 0)).isEqualTo(Duration.ofSeconds(120));
    assertThat(RetrySchedule.parseRetryAfter(" 0 ", null, 0)).isEqualTo(Duration.ZERO);
    assertThat(RetrySchedule.parseRetryAfter("99999999999999999999999", null, 0))
        .isEqualTo(Duration.ofSeconds(Long.MAX_VALUE));
  }

  @Test
  void retryAfterDateIsMeasuredFromTheResponseDateHeader() {
    // The local clock (nowMillis) is an hour off; the server's Date header is what counts.
    Instant date = Instant.parse("2026-03-01T12:00:00Z");
    long skewedNow = date.plusSeconds(3600).toEpochMilli();
    assertThat(
            RetrySchedule.parseRetryAfter(
                "Sun, 01 Mar 2026 12:00:07 GMT", "Sun, 01 Mar 2026 12:00:00 GMT", skewedNow))
        .isEqualTo(Duration.ofSeconds(7));
  }

  @Test
  void retryAfterDateWithoutADateHeaderIsMeasuredFromNow() {
    Instant now = Instant.parse("2026-03-01T12:00:00Z");
    String in90s =
        DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC).format(now.plusSeconds(90));
    assertThat(RetrySchedule.parseRetryAfter(in90s, null, now.toEpochMilli()))
        .isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void retryAfterAcceptsTheObsoleteDateForms() {
    long base = Instant.parse("1994-11-06T08:49:30Z").toEpochMilli();
    assertThat(RetrySchedule.parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", null, base))
        .isEqualTo(Duration.ofSeconds(7));
    assertThat(RetrySchedule.parseRetryAfter("Sun Nov  6 08:49:37 1994", null, base))
        .isEqualTo(Duration.ofSeconds(7));
  }

  @Test
  void retryAfterInThePastMeansNoWait() {
    long now = Instant.parse("2026-03-01T12:00:00Z").toEpochMilli();
    assertThat(RetrySchedule.parseRetryAfter("Sun, 01 Mar 2026 11:00:00 GMT", null, now))
        .isEqualTo(Duration.ZERO);
  }

  @Test
  void invalidRetryAfterIsIgnored() {
    assertThat(RetrySchedule.parseRetryAfter(null, null, 0)).isNull();
    assertThat(RetrySchedule.parseRetryAfter("", null, 0)).isNull();
    assertThat(RetrySchedule.parseRetryAfter("-5", null, 0)).isNull();
    assertThat(RetrySchedule.parseRetryAfter("1.5", null, 0)).isNull();
    assertThat(RetrySchedule.parseRetryAfter("soon", null, 0)).isNull();
  }

  @Test
  void backoffRejectsRetryZero() {
    assertThatThrownBy(() -> schedule(3, 0.5).backoff(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("retry < 1: 0");
  }
}
