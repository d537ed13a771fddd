package dev.fetchflux;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A snapshot of what a {@link Fetcher} is doing, across all its streams; read it while they run
 * (for a progress line, a metrics exporter) with {@link Fetcher#stats()}. Values are read one after
 * another, not atomically together.
 *
 * @param inFlight requests started and not finished (including those waiting for a politeness
 *     permit: see {@link #hosts()})
 * @param waiting finished results waiting to be emitted: behind a slower head (the reorder backlog)
 *     or for downstream demand
 * @param waitingBytes bytes of body held in memory by the waiting results (their response bodies
 *     and the request bodies they keep)
 * @param admitted inputs admitted so far
 * @param emitted results emitted so far
 * @param succeeded successes produced so far
 * @param failed failures produced so far
 * @param bodyBytes body bytes received by successes so far
 * @param retries attempts repeated so far (an input tried three times counts two)
 * @param hosts per-host figures, busiest first, for the hosts with requests queued for a permit
 *     or in flight right now; tracked only when a per-host limit is set
 *     ({@link FetcherBuilder#maxInFlightPerHost},
 *     {@link FetcherBuilder#maxRequestsPerSecondPerHost} or {@link FetcherBuilder#adaptiveRate}),
 *     empty otherwise. Immutable.
 */
public record FetcherStats(
    long inFlight,
    long waiting,
    long waitingBytes,
    long admitted,
    long emitted,
    long succeeded,
    long failed,
    long bodyBytes,
    long retries,
    List<Host> hosts) {

  /** Copies {@code hosts} into an immutable list. */
  public FetcherStats {
    hosts = List.copyOf(hosts);
  }

  /**
   * What one host's politeness limits are doing right now.
   *
   * @param host the host name, lower case (limits are per host name, any port)
   * @param queued requests waiting for this host's permits: its in-flight limit, its rate or its
   *     {@code Retry-After} pause
   * @param inFlight requests sent to this host and not finished
   * @param rateLimit requests per second allowed to this host now: the adapted rate while
   *     {@link #throttled()}, else the configured {@code maxRequestsPerSecondPerHost}; 0 when no
   *     rate limits this host
   * @param pause what is left of a {@code Retry-After} pause ({@link Duration#ZERO} when none)
   * @param throttled whether {@link AdaptiveRate adaptive politeness} has slowed this host down
   */
  public record Host(
      String host, int queued, int inFlight, double rateLimit, Duration pause, boolean throttled) {

    /** Checks the host name and pause are present. */
    public Host {
      Objects.requireNonNull(host, "host");
      Objects.requireNonNull(pause, "pause");
    }
  }
}
