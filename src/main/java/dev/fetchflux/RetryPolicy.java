package dev.fetchflux;

import dev.fetchflux.internal.Checks;
import java.time.Duration;
import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;
import org.jspecify.annotations.Nullable;

/**
 * When and how a {@link Fetcher} repeats a failed attempt. Immutable; the fetcher's default is
 * {@link #none()}.
 *
 * <pre>{@code
 * Fetcher fetcher = Fetcher.builder()
 *     .retry(RetryPolicy.builder()
 *         .maxAttempts(4)                                            // 1 try + 3 retries
 *         .backoff(Duration.ofMillis(200), Duration.ofSeconds(10))
 *         .maxRetryTime(Duration.ofSeconds(30))
 *         .build())
 *     .build();
 * }</pre>
 *
 * <h2>What is retried</h2>
 * <ul>
 *   <li>a connect that failed ({@link FetchException.Kind#CONNECT_REFUSED},
 *       {@link FetchException.Kind#CONNECT_TIMEOUT}): nothing was sent, so any method is retried;
 *   <li>a connection reset or closed before any response byte arrived
 *       ({@link FetchException.Kind#CONNECTION_RESET} without a status line), for idempotent methods;
 *   <li>a response whose status is in {@link #retryStatuses()} (default 429 and 503), for idempotent
 *       methods, after the delay the server asked for in {@code Retry-After} if it sent one.
 * </ul>
 * Everything else is final: DNS and TLS failures, timeouts (the server may be working on it), resets
 * after the response began, truncated or oversized bodies, redirect and protocol errors. A request that
 * is not idempotent ({@code POST}, {@code PATCH}; see {@link FetchRequest#isIdempotent()}) is retried
 * after a reset or a retryable status only with {@link Builder#retryNonIdempotent(boolean)}.
 *
 * <h2>How long it waits</h2>
 * Before retry {@code n} (1 for the first retry) it waits a random duration between zero and
 * {@code min(maxDelay, baseDelay × 2^(n-1))} ("full jitter": concurrent clients that failed together do
 * not come back together). A {@code Retry-After} header (delta-seconds or an HTTP-date) replaces that
 * delay, capped at {@code maxDelay}. No attempt starts after {@link #maxRetryTime()} has passed since the
 * first attempt started; {@code requestTimeout} applies to each attempt on its own.
 *
 * <h2>What the result says</h2>
 * A retried input still yields exactly one result, in its place: {@link FetchResult.Success#attempts()}
 * and {@link FetchException#attempts()} count the attempts made, and each earlier failed attempt is a
 * {@linkplain Throwable#getSuppressed() suppressed} {@link FetchException} of the final one. When the
 * last attempt gets a retryable status (a 503, say) its response is the result, as without retries.
 */
public final class RetryPolicy {

  /** The default {@link Builder#maxAttempts(int)} of a policy from {@link #builder()}: 3. */
  public static final int DEFAULT_MAX_ATTEMPTS = 3;

  /** The default base delay: 200 milliseconds. */
  public static final Duration DEFAULT_BASE_DELAY = Duration.ofMillis(200);

  /** The default maximum delay between attempts (also the cap on {@code Retry-After}): 10 seconds. */
  public static final Duration DEFAULT_MAX_DELAY = Duration.ofSeconds(10);

  /** The statuses retried by default: 429 (Too Many Requests) and 503 (Service Unavailable). */
  public static final Set<Integer> DEFAULT_RETRY_STATUSES = Set.of(429, 503);

  private static final RetryPolicy NONE = builder().maxAttempts(1).build();

  private final int maxAttempts;
  private final Duration baseDelay;
  private final Duration maxDelay;
  private final Set<Integer> retryStatuses;
  private final boolean retryNonIdempotent;
  private final @Nullable Duration maxRetryTime;
  private final DoubleSupplier jitter;

  private RetryPolicy(Builder b) {
    this.maxAttempts = b.maxAttempts;
    this.baseDelay = b.baseDelay;
    this.maxDelay = b.maxDelay;
    this.retryStatuses = Collections.unmodifiableSet(new TreeSet<>(b.retryStatuses));
    this.retryNonIdempotent = b.retryNonIdempotent;
    this.maxRetryTime = b.maxRetryTime;
    this.jitter = b.jitter;
  }

  /** No retries: one attempt per input. The {@link Fetcher} default. */
  public static RetryPolicy none() {
    return NONE;
  }

  /** Up to {@code maxAttempts} attempts (the first included), every other setting at its default. */
  public static RetryPolicy attempts(int maxAttempts) {
    return builder().maxAttempts(maxAttempts).build();
  }

  /** A builder with the defaults: 3 attempts, 200 ms base delay, 10 s max delay, 429 and 503. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this policy's settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxAttempts = maxAttempts;
    b.baseDelay = baseDelay;
    b.maxDelay = maxDelay;
    b.retryStatuses = new TreeSet<>(retryStatuses);
    b.retryNonIdempotent = retryNonIdempotent;
    b.maxRetryTime = maxRetryTime;
    b.jitter = jitter;
    return b;
  }

  /** Attempts per input, the first included; 1 means no retries. */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** The delay cap before the first retry; it doubles for each further retry, up to {@link #maxDelay()}. */
  public Duration baseDelay() {
    return baseDelay;
  }

  /** The longest wait between two attempts, and the cap on a server's {@code Retry-After}. */
  public Duration maxDelay() {
    return maxDelay;
  }

  /** Response statuses that are retried (for idempotent requests). */
  public Set<Integer> retryStatuses() {
    return retryStatuses;
  }

  /** Whether non-idempotent requests are retried after a reset or a retryable status. */
  public boolean retryNonIdempotent() {
    return retryNonIdempotent;
  }

  /**
   * Time after the first attempt started past which no further attempt starts, or {@code null} for no
   * limit other than {@link #maxAttempts()}.
   */
  public @Nullable Duration maxRetryTime() {
    return maxRetryTime;
  }

  /** Uniform random numbers in [0, 1) for the jitter; tests in this package make them predictable. */
  DoubleSupplier jitter() {
    return jitter;
  }

  @Override
  public String toString() {
    return "RetryPolicy{maxAttempts="
        + maxAttempts
        + ", baseDelay="
        + baseDelay
        + ", maxDelay="
        + maxDelay
        + ", retryStatuses="
        + retryStatuses
        + ", retryNonIdempotent="
        + retryNonIdempotent
        + ", maxRetryTime="
        + maxRetryTime
        + "}";
  }

  /** Configures a {@link RetryPolicy}; every setting has a stated default. */
  public static final class Builder {
    private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
    private Duration baseDelay = DEFAULT_BASE_DELAY;
    private Duration maxDelay = DEFAULT_MAX_DELAY;
    private Set<Integer> retryStatuses = new TreeSet<>(DEFAULT_RETRY_STATUSES);
    private boolean retryNonIdempotent;
    private @Nullable Duration maxRetryTime;
    private DoubleSupplier jitter = () -> ThreadLocalRandom.current().nextDouble();

    private Builder() {}

    /**
     * Attempts per input, the first included (so 3 means up to 2 retries). Default
     * {@value RetryPolicy#DEFAULT_MAX_ATTEMPTS}; 1 turns retries off.
     */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts < 1: " + maxAttempts);
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /**
     * The exponential backoff: retry {@code n} waits a random time up to
     * {@code min(max, base × 2^(n-1))}. Defaults 200 ms and 10 s. {@code max} also caps
     * {@code Retry-After}.
     *
     * @throws IllegalArgumentException if either is negative or {@code base > max}
     */
    public Builder backoff(Duration base, Duration max) {
      Objects.requireNonNull(base, "backoff base");
      Objects.requireNonNull(max, "backoff max");
      if (base.isNegative()) {
        throw new IllegalArgumentException("backoff base must not be negative: " + base);
      }
      if (max.isNegative()) {
        throw new IllegalArgumentException("backoff max must not be negative: " + max);
      }
      if (base.compareTo(max) > 0) {
        throw new IllegalArgumentException(
            "backoff base (" + base + ") must not exceed backoff max (" + max + ")");
      }
      this.baseDelay = base;
      this.maxDelay = max;
      return this;
    }

    /**
     * The response statuses to retry, replacing the default 429 and 503. None turns status retries
     * off.
     *
     * @throws IllegalArgumentException for a status outside 100..599 or below 400 (a success or
     *     redirect is never retried)
     */
    public Builder retryOnStatus(int... statuses) {
      Set<Integer> set = new TreeSet<>();
      for (int s : statuses) {
        if (s < 400 || s > 599) {
          throw new IllegalArgumentException(
              "retryOnStatus: " + s + " is not an error status (400..599)");
        }
        set.add(s);
      }
      this.retryStatuses = set;
      return this;
    }

    /**
     * Whether to retry non-idempotent requests ({@code POST}, {@code PATCH}) after a reset before the
     * response or a retryable status too; the server may have acted on the first attempt. Connect
     * failures are retried for every method, as nothing was sent. Default {@code false}.
     */
    public Builder retryNonIdempotent(boolean retry) {
      this.retryNonIdempotent = retry;
      return this;
    }

    /**
     * The retry budget: no attempt starts later than this after the first one started (an attempt
     * already running is not cut; {@code requestTimeout} bounds it). Default: no budget, only
     * {@link #maxAttempts}.
     */
    public Builder maxRetryTime(Duration budget) {
      this.maxRetryTime = Checks.positive("maxRetryTime", budget);
      return this;
    }

    /** Package-private: a predictable source of jitter for tests. */
    Builder jitter(DoubleSupplier jitter) {
      this.jitter = Objects.requireNonNull(jitter, "jitter");
      return this;
    }

    /** Builds the policy. */
    public RetryPolicy build() {
      return new RetryPolicy(this);
    }
  }
}
