package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Defaults and validation of the retry and politeness options: each message names the option. */
class ReliabilityOptionsTest {

  @Test
  void retryPolicyDefaults() {
    RetryPolicy p = RetryPolicy.builder().build();
    assertThat(p.maxAttempts()).isEqualTo(3);
    assertThat(p.baseDelay()).isEqualTo(Duration.ofMillis(200));
    assertThat(p.maxDelay()).isEqualTo(Duration.ofSeconds(10));
    assertThat(p.retryStatuses()).containsExactly(429, 503);
    assertThat(p.retryNonIdempotent()).isFalse();
    assertThat(p.maxRetryTime()).isNull();
    assertThat(RetryPolicy.none().maxAttempts()).isEqualTo(1);
    assertThat(RetryPolicy.attempts(5).maxAttempts()).isEqualTo(5);
  }

  @Test
  void toBuilderKeepsEverySetting() {
    RetryPolicy p =
        RetryPolicy.builder()
            .maxAttempts(4)
            .backoff(Duration.ofMillis(10), Duration.ofSeconds(2))
            .retryOnStatus(502, 503)
            .retryNonIdempotent(true)
            .maxRetryTime(Duration.ofSeconds(9))
            .build();
    assertThat(p.toBuilder().build()).hasToString(p.toString());
  }

  @Test
  void maxAttemptsBelowOne() {
    assertThatThrownBy(() -> RetryPolicy.builder().maxAttempts(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxAttempts < 1: 0");
  }

  @Test
  void backoffBaseAboveMax() {
    assertThatThrownBy(
            () -> RetryPolicy.builder().backoff(Duration.ofSeconds(5), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("backoff base (PT5S) must not exceed backoff max (PT1S)");
  }

  @Test
  void backoffNegative() {
    assertThatThrownBy(
            () -> RetryPolicy.builder().backoff(Duration.ofSeconds(-1), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("backoff base must not be negative: PT-1S");
  }

  @Test
  void retryOnStatusOutsideTheErrorRange() {
    assertThatThrownBy(() -> RetryPolicy.builder().retryOnStatus(503, 302))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("retryOnStatus: 302 is not an error status (400..599)");
  }

  @Test
  void retryOnNoStatusTurnsStatusRetriesOff() {
    assertThat(RetryPolicy.builder().retryOnStatus().build().retryStatuses()).isEmpty();
  }

  @Test
  void maxRetryTimeNotPositive() {
    assertThatThrownBy(() -> RetryPolicy.builder().maxRetryTime(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRetryTime must be positive: PT0S");
  }

  @Test
  void maxInFlightPerHostBelowOne() {
    assertThatThrownBy(() -> Fetcher.builder().maxInFlightPerHost(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxInFlightPerHost < 1: 0");
  }

  @Test
  void maxRequestsPerSecondNotPositiveOrFinite() {
    assertThatThrownBy(() -> Fetcher.builder().maxRequestsPerSecond(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRequestsPerSecond must be a positive finite number: 0.0");
    assertThatThrownBy(() -> Fetcher.builder().maxRequestsPerSecond(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRequestsPerSecond must be a positive finite number: NaN");
    assertThatThrownBy(
            () -> Fetcher.builder().maxRequestsPerSecondPerHost(Double.POSITIVE_INFINITY))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRequestsPerSecondPerHost must be a positive finite number: Infinity");
  }

  @Test
  void retryPolicyIsRequired() {
    assertThatThrownBy(() -> Fetcher.builder().retry(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("retry");
  }

  @Test
  void adaptiveRateDefaults() {
    AdaptiveRate a = AdaptiveRate.defaults();
    assertThat(a.enabled()).isTrue();
    assertThat(a.decreaseFactor()).isEqualTo(0.5);
    assertThat(a.minRate()).isEqualTo(1.0);
    assertThat(a.recoveryTime()).isEqualTo(Duration.ofSeconds(10));
    assertThat(a.maxPause()).isEqualTo(Duration.ofSeconds(60));
    assertThat(AdaptiveRate.off().enabled()).isFalse();
    assertThat(AdaptiveRate.builder().build().enabled()).isTrue();
    AdaptiveRate custom =
        AdaptiveRate.builder()
            .decreaseFactor(0.7)
            .minRate(0.2)
            .recoveryTime(Duration.ofSeconds(3))
            .maxPause(Duration.ZERO)
            .build();
    assertThat(custom.toBuilder().build()).hasToString(custom.toString());
  }

  @Test
  void adaptiveRateDecreaseFactorOutsideZeroToOne() {
    for (double f : new double[] {0, 1, -0.5, Double.NaN}) {
      assertThatThrownBy(() -> AdaptiveRate.builder().decreaseFactor(f))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("decreaseFactor must be between 0 and 1 (exclusive): " + f);
    }
  }

  @Test
  void adaptiveRateMinRateNotPositiveOrFinite() {
    assertThatThrownBy(() -> AdaptiveRate.builder().minRate(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minRate must be a positive finite number: 0.0");
    assertThatThrownBy(() -> AdaptiveRate.builder().minRate(Double.POSITIVE_INFINITY))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minRate must be a positive finite number: Infinity");
  }

  @Test
  void adaptiveRateDurations() {
    assertThatThrownBy(() -> AdaptiveRate.builder().recoveryTime(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("recoveryTime must be positive: PT0S");
    assertThatThrownBy(() -> AdaptiveRate.builder().maxPause(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxPause must not be negative: PT-1S");
    assertThatThrownBy(() -> Fetcher.builder().adaptiveRate(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("adaptiveRate");
  }
}
