package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * The adaptive rate's arithmetic on a hand-driven clock (plain nanoseconds): how the first cut is
 * sized, that a round of throttles cuts once, the floor, the pause, the additive climb back after
 * the limit lifts, and the release.
 */
class AdaptivePaceTest {

  private static final long MS = 1_000_000L;
  private static final long S = 1_000 * MS;

  /** Halve per cut, floor 1/s, regain the post-cut rate in 10 s, pauses up to 60 s, no ceiling. */
  private static AdaptivePace pace(double ceiling) {
    return new AdaptivePace(new AdaptivePace.Settings(0.5, 1, 10 * S, 60 * S, ceiling), 0);
  }

  /** {@code n} successes sent and answered at {@code from}, {@code from + step}, ... */
  private static long succeed(AdaptivePace p, int n, long from, long step) {
    long t = from;
    for (int i = 0; i < n; i++, t += step) {
      p.success(t, t);
    }
    return t;
  }

  @Test
  void firstThrottleSetsTheRateTheServerGrantedOverThatSecondAndThePause() {
    AdaptivePace p = pace(0);
    succeed(p, 20, 0, 2 * MS); // 20 successes within 40 ms, then the server pushes back
    p.throttle(40 * MS, 50 * MS, 1 * S);

    assertThat(p.throttled()).isTrue();
    // 20 accepted over 50 ms of history plus the 1 s it asked to wait: 20 / 1.05 s.
    assertThat(p.rate()).isCloseTo(20 / 1.05, within(1e-9));
    assertThat(p.intervalNanos(0)).isEqualTo((long) Math.ceil(1e9 / (20 / 1.05)));
    assertThat(p.paused(50 * MS + S - 1)).isTrue();
    assertThat(p.paused(50 * MS + S)).isFalse();
  }

  @Test
  void aRoundOfThrottlesAlreadyOnTheWireCutsOnceButEachLaterRoundCutsAgain() {
    AdaptivePace p = pace(0);
    succeed(p, 10, 0, 10 * MS);
    p.throttle(100 * MS, 100 * MS, -1);
    double first = p.rate();
    // Fifteen more answers to requests sent before that cut: the same round.
    for (int i = 0; i < 15; i++) {
      p.throttle(99 * MS, 101 * MS + i, -1);
    }
    assertThat(p.rate()).isEqualTo(first);

    p.throttle(200 * MS, 250 * MS, -1); // sent after the cut: still too fast
    assertThat(p.rate()).isEqualTo(first * 0.5);
  }

  @Test
  void rateNeverFallsBelowTheFloor() {
    AdaptivePace p = pace(0);
    p.throttle(0, 0, -1); // not one success seen: nothing granted
    assertThat(p.rate()).isEqualTo(1.0);
    for (int i = 1; i <= 5; i++) {
      p.throttle(i * S, i * S, -1);
    }
    assertThat(p.rate()).isEqualTo(1.0);
    assertThat(p.intervalNanos(0)).isEqualTo(S);
  }

  @Test
  void pauseOnlyGrowsAndIsCappedAtTheMaximum() {
    AdaptivePace p = pace(0);
    p.throttle(0, 0, 5 * S);
    p.throttle(0, S, 2 * S); // would end at 3 s: earlier than the pause already set
    assertThat(p.pauseRemaining(S)).isEqualTo(4 * S);
    p.throttle(0, 2 * S, 3_600 * S); // an hour asked, 60 s granted
    assertThat(p.pauseRemaining(2 * S)).isEqualTo(60 * S);
  }

  @Test
  void retryAfterOfZeroOrAbsentDoesNotPause() {
    AdaptivePace p = pace(0);
    p.throttle(0, 0, 0);
    p.throttle(0, 0, -1);
    assertThat(p.paused(0)).isFalse();
    assertThat(p.throttled()).isTrue();
  }

  @Test
  void successesAtTheFullRateClimbBackAdditivelyAndReleaseTheHostWhenTheLimitLifts() {
    AdaptivePace p = pace(0);
    succeed(p, 40, 0, 10 * MS); // 40 accepted within 0.4 s: 100/s
    p.throttle(400 * MS, 400 * MS, -1); // first cut: 40 over 0.4 s -> 100/s
    p.throttle(500 * MS, 500 * MS, -1); // next round: halved
    assertThat(p.rate()).isCloseTo(50, within(1e-9));

    // The server stops pushing back; requests go at the full allowed rate. After one recovery
    // time (10 s) the rate is back where it was cut (100/s), growing linearly, not in jumps.
    long t = 600 * MS;
    double at5s = 0;
    while (t < 600 * MS + 10 * S && p.throttled()) {
      p.success(t, t);
      t += p.intervalNanos(0);
      if (at5s == 0 && t >= 600 * MS + 5 * S) {
        at5s = p.rate();
      }
    }
    assertThat(at5s).isCloseTo(75, within(1.0));
    assertThat(p.rate()).isCloseTo(100, within(1.0));
    assertThat(p.throttled()).isTrue();

    // It keeps climbing and is released at twice the rate it was last throttled at (2 x 100/s).
    while (p.throttled() && t < 60 * S) {
      p.success(t, t);
      t += p.intervalNanos(0);
    }
    assertThat(p.throttled()).isFalse();
    assertThat(t).isLessThan(600 * MS + 31 * S); // 10 s back to 100/s, 20 s more to 200/s
    assertThat(p.intervalNanos(0)).isZero(); // unlimited again
  }

  @Test
  void successesOfRequestsSentBeforeTheCutDoNotRaiseTheRate() {
    AdaptivePace p = pace(0);
    succeed(p, 10, 0, 10 * MS);
    p.throttle(100 * MS, 100 * MS, -1);
    double cut = p.rate();
    for (int i = 0; i < 50; i++) {
      p.success(50 * MS, 150 * MS + i); // sent at 50 ms, answered after the cut at 100 ms
    }
    assertThat(p.rate()).isEqualTo(cut);
  }

  @Test
  void withAConfiguredPerHostRateTheFirstCutGoesBelowItAndTheReleaseIsAtIt() {
    AdaptivePace p = pace(40);
    assertThat(p.intervalNanos(25 * MS)).isEqualTo(25 * MS); // unthrottled: the configured rate
    succeed(p, 40, 0, 25 * MS);
    p.throttle(S, S, -1);
    assertThat(p.rate()).isEqualTo(20.0); // min(granted ~40/s, 0.5 x 40)
    assertThat(p.intervalNanos(25 * MS)).isEqualTo(50 * MS);

    long t = S;
    while (p.throttled() && t < 60 * S) {
      p.success(t, t);
      t += p.intervalNanos(25 * MS);
    }
    assertThat(p.throttled()).isFalse();
    assertThat(p.intervalNanos(25 * MS)).isEqualTo(25 * MS);
  }

  @Test
  void disposableOnlyOnceNothingIsKnown() {
    AdaptivePace p = pace(0);
    assertThat(p.disposable(0)).isTrue();
    p.success(0, 0);
    assertThat(p.disposable(500 * MS)).isFalse(); // the first cut would need that success
    assertThat(p.disposable(2 * S)).isTrue();
    p.throttle(2 * S, 2 * S, 3 * S);
    assertThat(p.disposable(10 * S)).isFalse(); // slowed down
    p.reset(10 * S);
    assertThat(p.throttled()).isFalse();
    assertThat(p.disposable(10 * S)).isTrue();
  }
}
