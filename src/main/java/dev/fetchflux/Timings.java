package dev.fetchflux;

import java.time.Duration;
import java.time.Instant;

/**
 * When a request started and how long its phases took, measured on a monotonic clock.
 *
 * @param start wall-clock time the first attempt was subscribed (sent)
 * @param timeToFirstByte from start until the final response's status line and headers arrived
 *     ({@link Duration#ZERO} when no response arrived)
 * @param total from start until the result was ready (body read or failure known), across every
 *     attempt and redirect
 */
public record Timings(Instant start, Duration timeToFirstByte, Duration total) {
  /** Timings of a request that never started (for example a malformed URL). */
  public static Timings none() {
    return new Timings(Instant.EPOCH, Duration.ZERO, Duration.ZERO);
  }
}
