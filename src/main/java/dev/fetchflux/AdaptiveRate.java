package dev.fetchflux;

import dev.fetchflux.internal.Checks;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Adaptive politeness: how a {@link Fetcher} slows a host down when it answers {@code 429 Too Many
 * Requests} or {@code 503 Service Unavailable}, and speeds it back up when it stops. Immutable; the
 * fetcher's default is {@link #off()}.
 *
 * <pre>{@code
 * Fetcher fetcher = Fetcher.builder()
 *     .adaptiveRate(AdaptiveRate.defaults())
 *     .retry(RetryPolicy.attempts(5))     // the throttled requests themselves are retried
 *     .build();
 * }</pre>
 *
 * <p>Per-request retries alone honour {@code Retry-After} for the request that got it, while every
 * other request to the same host keeps going and is throttled in turn: a batch against one
 * rate-limited API becomes a storm of 429s and retries. Adaptive politeness acts on the host
 * instead, shared by every {@code fetch} call of the fetcher (like
 * {@link FetcherBuilder#maxRequestsPerSecondPerHost}):
 * <ul>
 *   <li><b>Pause.</b> A 429 or 503 with {@code Retry-After} pauses the host: no request to it
 *       starts before that instant (capped at {@link #maxPause()}), retries and new inputs alike.
 *   <li><b>Multiplicative decrease.</b> The first throttle paces the host at the rate the server
 *       was seen to accept: its successes in the last second, spread over that second and the
 *       pause. Each later throttle multiplies that rate by {@link #decreaseFactor()}, but only once
 *       per round: a throttle counts only if its request was sent after the last cut, so the
 *       answers to a burst already on the wire cut once. The rate never falls below
 *       {@link #minRate()}.
 *   <li><b>Additive increase.</b> Each success then raises the rate, by as much per
 *       {@link #recoveryTime()} of full use as the cut left it with: after a halving, a host used
 *       at its full rate is back where it was cut after one recovery time.
 *   <li><b>Release.</b> Once the rate is back at the configured
 *       {@link FetcherBuilder#maxRequestsPerSecondPerHost per-host rate} (the ceiling), or without
 *       one at twice the rate at which the host was last throttled, the host is paced as before.
 * </ul>
 * Waiting is a timer, never a parked thread. A host idle for a minute is forgotten (and starts
 * unlimited again), so memory does not grow with the number of hosts. The current per-host rate and
 * pause are in {@link FetcherStats#hosts()}.
 *
 * <p>Only the statuses 429 and 503 ({@link #THROTTLE_STATUSES}) slow a host down; any other
 * response counts as a success; connection failures and timeouts count as neither.
 */
public final class AdaptiveRate {

  /** The default {@link Builder#decreaseFactor(double)}: 0.5, each cut halves the rate. */
  public static final double DEFAULT_DECREASE_FACTOR = 0.5;

  /** The default {@link Builder#minRate(double)}: one request per second. */
  public static final double DEFAULT_MIN_RATE = 1.0;

  /** The default {@link Builder#recoveryTime(Duration)}: 10 seconds. */
  public static final Duration DEFAULT_RECOVERY_TIME = Duration.ofSeconds(10);

  /** The default {@link Builder#maxPause(Duration)}: 60 seconds. */
  public static final Duration DEFAULT_MAX_PAUSE = Duration.ofSeconds(60);

  /** The statuses that slow a host down: 429 (Too Many Requests) and 503 (Service Unavailable). */
  public static final Set<Integer> THROTTLE_STATUSES = Set.of(429, 503);

  private static final AdaptiveRate OFF = new AdaptiveRate(new Builder(), false);
  private static final AdaptiveRate DEFAULTS = new AdaptiveRate(new Builder(), true);

  private final boolean enabled;
  private final double decreaseFactor;
  private final double minRate;
  private final Duration recoveryTime;
  private final Duration maxPause;

  private AdaptiveRate(Builder b, boolean enabled) {
    this.enabled = enabled;
    this.decreaseFactor = b.decreaseFactor;
    this.minRate = b.minRate;
    this.recoveryTime = b.recoveryTime;
    this.maxPause = b.maxPause;
  }

  /** No adaptation: the fetcher's default. Hosts are paced only by the fixed limits. */
  public static AdaptiveRate off() {
    return OFF;
  }

  /** Adaptation on, every setting at its default. */
  public static AdaptiveRate defaults() {
    return DEFAULTS;
  }

  /** A builder with the defaults (and adaptation on). */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this policy's settings; what it builds is on. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.decreaseFactor = decreaseFactor;
    b.minRate = minRate;
    b.recoveryTime = recoveryTime;
    b.maxPause = maxPause;
    return b;
  }

  /** Whether hosts are slowed down at all ({@code false} only for {@link #off()}). */
  public boolean enabled() {
    return enabled;
  }

  /** The factor each cut after the first multiplies the rate by. */
  public double decreaseFactor() {
    return decreaseFactor;
  }

  /** The lowest rate a host is slowed to, requests per second. */
  public double minRate() {
    return minRate;
  }

  /** Time at full use in which a host regains the rate a cut left it with. */
  public Duration recoveryTime() {
    return recoveryTime;
  }

  /** The longest pause a {@code Retry-After} imposes on a host. */
  public Duration maxPause() {
    return maxPause;
  }

  @Override
  public String toString() {
    return enabled
        ? "AdaptiveRate{decreaseFactor="
            + decreaseFactor
            + ", minRate="
            + minRate
            + ", recoveryTime="
            + recoveryTime
            + ", maxPause="
            + maxPause
            + "}"
        : "AdaptiveRate{off}";
  }

  /** Configures an {@link AdaptiveRate}; every setting has a stated default. */
  public static final class Builder {
    private double decreaseFactor = DEFAULT_DECREASE_FACTOR;
    private double minRate = DEFAULT_MIN_RATE;
    private Duration recoveryTime = DEFAULT_RECOVERY_TIME;
    private Duration maxPause = DEFAULT_MAX_PAUSE;

    private Builder() {}

    /**
     * What each cut after the first multiplies a host's rate by. Default
     * {@value AdaptiveRate#DEFAULT_DECREASE_FACTOR}.
     *
     * @throws IllegalArgumentException unless {@code 0 < factor < 1}
     */
    public Builder decreaseFactor(double factor) {
      if (!(factor > 0 && factor < 1)) {
        throw new IllegalArgumentException(
            "decreaseFactor must be between 0 and 1 (exclusive): " + factor);
      }
      this.decreaseFactor = factor;
      return this;
    }

    /**
     * The floor: a host is never slowed below this many requests per second (or below its
     * configured per-host rate, if that is lower). Pauses asked for with {@code Retry-After} still
     * apply. Default {@value AdaptiveRate#DEFAULT_MIN_RATE}.
     *
     * @throws IllegalArgumentException unless positive and finite
     */
    public Builder minRate(double requestsPerSecond) {
      if (!(requestsPerSecond > 0) || Double.isInfinite(requestsPerSecond)) {
        throw new IllegalArgumentException(
            "minRate must be a positive finite number: " + requestsPerSecond);
      }
      this.minRate = requestsPerSecond;
      return this;
    }

    /**
     * How fast a slowed host speeds up again: at full use it regains the rate a cut left it with
     * in this time (so after a halving it is back where it was cut). Default 10 seconds.
     *
     * @throws IllegalArgumentException unless positive
     */
    public Builder recoveryTime(Duration time) {
      this.recoveryTime = Checks.positive("recoveryTime", time);
      return this;
    }

    /**
     * The cap on a host's pause after a {@code Retry-After}; zero ignores {@code Retry-After} for
     * the host (each retried request still honours it, see {@link RetryPolicy}). Default 60
     * seconds.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder maxPause(Duration max) {
      Objects.requireNonNull(max, "maxPause");
      if (max.isNegative()) {
        throw new IllegalArgumentException("maxPause must not be negative: " + max);
      }
      this.maxPause = max;
      return this;
    }

    /** Builds the policy (on). */
    public AdaptiveRate build() {
      return new AdaptiveRate(this, true);
    }
  }
}
