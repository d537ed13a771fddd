package dev.fetchflux.internal;

/**
 * The adaptive request rate of one host: additive increase, multiplicative decrease (AIMD), driven
 * by the host's answers. Pure state and arithmetic: it has no clock (callers pass monotonic
 * nanoseconds) and no lock (its owner, a {@link Politeness} host entry, guards it), so its timing
 * logic is tested with plain numbers.
 *
 * <p>A <b>throttle</b> (a 429 or 503 response) at time {@code t}:
 * <ul>
 *   <li>pauses the host until {@code t + Retry-After} (capped at the maximum pause) when the
 *       response had one; a pause only ever grows. No request to the host starts during it, retries
 *       included.
 *   <li>cuts the rate, at most once per round: a throttle cuts only if its request was sent after
 *       the last cut, so the answers to requests that were already on the wire when the host first
 *       pushed back (up to the concurrency limit of them) count once, not once each.
 *   <li>the first cut sets the rate to what the server was seen to grant: its successes of the last
 *       second, spread over that second (or the time since the host was first seen, if shorter)
 *       plus the pause it asked for; with a configured per-host rate, at most
 *       {@code decrease × ceiling}. Each later cut multiplies the rate by {@code decrease}. Never
 *       below the floor.
 * </ul>
 * A <b>success</b> (any other status) of a request sent after the last cut adds
 * {@code slope / rate}, where {@code slope = (rate after the last cut) / recoveryTime}: a host used
 * at its full rate regains its post-cut rate every {@code recoveryTime}, so after a halving it is
 * back where it was cut in one {@code recoveryTime}. A host that is used below its rate grows more
 * slowly, as it proves less. When the rate reaches the ceiling (the configured per-host rate) or,
 * with none, twice the rate at which the host was last throttled, the host is <b>released</b>: back
 * to the ceiling, or to no limit at all.
 */
final class AdaptivePace {

  /** The span of the success history behind the first cut. */
  static final long WINDOW_NANOS = 1_000_000_000L;

  /**
   * @param decrease the factor of each cut after the first, in (0, 1)
   * @param minRate the floor, requests per second
   * @param recoveryNanos time at full use to regain the post-cut rate
   * @param maxPauseNanos the cap on a {@code Retry-After} pause (0: never pause)
   * @param ceiling the configured per-host rate, or 0 for none
   */
  record Settings(
      double decrease, double minRate, long recoveryNanos, long maxPauseNanos, double ceiling) {

    double floor() {
      return ceiling > 0 ? Math.min(minRate, ceiling) : minRate;
    }
  }

  private final Settings settings;

  private boolean throttled;

  /** Requests per second while throttled. */
  private double rate;

  /** Requests per second gained per second at full use. */
  private double slope;

  /** While throttled, the rate at which the host is released. */
  private double releaseAt;

  private boolean cutOnce;
  private long lastCut;
  private boolean pauseSet;
  private long pausedUntil;

  // Success history: two one-second buckets, read as a sliding window.
  private long firstSeen;
  private long bucketStart;
  private int current;
  private int previous;

  AdaptivePace(Settings settings, long now) {
    this.settings = settings;
    reset(now);
  }

  /** Forgets everything: the host is new again (unthrottled, no history). */
  void reset(long now) {
    throttled = false;
    cutOnce = false;
    pauseSet = false;
    firstSeen = now;
    bucketStart = now;
    current = 0;
    previous = 0;
  }

  /** Whether the host is slowed down below its ceiling. */
  boolean throttled() {
    return throttled;
  }

  /** Requests per second allowed while {@link #throttled()}; meaningless otherwise. */
  double rate() {
    return rate;
  }

  /** The spacing between requests: the slower of the configured one and the adaptive one. */
  long intervalNanos(long configuredNanos) {
    if (!throttled) {
      return configuredNanos;
    }
    long own = Math.max(1, (long) Math.ceil(1e9 / rate));
    return Math.max(configuredNanos, own);
  }

  /** Whether no request may start at {@code now} because of a {@code Retry-After}. */
  boolean paused(long now) {
    return pauseSet && pausedUntil - now > 0;
  }

  /** When the current pause ends; only meaningful while {@link #paused}. */
  long pausedUntil() {
    return pausedUntil;
  }

  /** Nanoseconds left of the pause, or 0. */
  long pauseRemaining(long now) {
    return paused(now) ? pausedUntil - now : 0;
  }

  /**
   * A throttling response to a request sent at {@code sentAt}.
   *
   * @param retryAfterNanos the server's {@code Retry-After}, or a negative number for none
   */
  void throttle(long sentAt, long now, long retryAfterNanos) {
    long pause = retryAfterNanos <= 0 ? 0 : Math.min(retryAfterNanos, settings.maxPauseNanos());
    if (pause > 0 && (!pauseSet || now + pause - pausedUntil > 0)) {
      pausedUntil = now + pause;
      pauseSet = true;
    }
    if (cutOnce && sentAt - lastCut < 0) {
      return; // on the wire before the last cut: this round has been counted
    }
    double floor = settings.floor();
    double before;
    if (throttled) {
      before = rate;
      rate = Math.max(floor, rate * settings.decrease());
    } else {
      before = granted(now, pause);
      double capped =
          settings.ceiling() > 0
              ? Math.min(before, settings.ceiling() * settings.decrease())
              : before;
      rate = Math.max(floor, capped);
    }
    releaseAt = settings.ceiling() > 0 ? settings.ceiling() : 2 * Math.max(before, rate);
    slope = rate * 1e9 / settings.recoveryNanos();
    throttled = true;
    cutOnce = true;
    lastCut = now;
  }

  /** A response that is not a throttle, to a request sent at {@code sentAt}. */
  void success(long sentAt, long now) {
    roll(now);
    current++;
    if (!throttled || sentAt - lastCut < 0) {
      return;
    }
    rate += slope / rate;
    if (rate >= releaseAt) {
      throttled = false;
    }
  }

  /**
   * Requests per second the server granted lately: the successes of the last second (sliding),
   * spread over that second, or the time since the host was first seen if shorter, plus
   * {@code pauseNanos}.
   */
  double granted(long now, long pauseNanos) {
    roll(now);
    double fraction = (now - bucketStart) / (double) WINDOW_NANOS;
    double successes = current + previous * (1 - fraction);
    long span = Math.min(WINDOW_NANOS, Math.max(0, now - firstSeen)) + pauseNanos;
    return span <= 0 ? 0 : successes * 1e9 / span;
  }

  /** Whether forgetting this state loses nothing: not throttled, not paused, no recent success. */
  boolean disposable(long now) {
    roll(now);
    return !throttled && !paused(now) && current == 0 && previous == 0;
  }

  private void roll(long now) {
    long age = now - bucketStart;
    if (age < WINDOW_NANOS) {
      return;
    }
    boolean adjacent = age < 2 * WINDOW_NANOS;
    previous = adjacent ? current : 0;
    current = 0;
    bucketStart = adjacent ? bucketStart + WINDOW_NANOS : now;
  }
}
