package dev.fetchflux.internal;

import java.util.concurrent.atomic.LongAdder;

/**
 * Live gauges of admission stages, shared by every stream of one fetcher. Each stage updates them
 * from its drain loop; readers see a moment's values (the adders are not read atomically together).
 */
public final class AdmissionMetrics {
  final LongAdder inFlight = new LongAdder();
  final LongAdder waiting = new LongAdder();
  final LongAdder waitingBytes = new LongAdder();
  final LongAdder admitted = new LongAdder();
  final LongAdder emitted = new LongAdder();

  /** Requests started and not finished. */
  public long inFlight() {
    return inFlight.sum();
  }

  /** Finished results waiting to be emitted (behind a slower head, or for downstream demand). */
  public long waiting() {
    return waiting.sum();
  }

  /** Weight (bytes held in memory) of the waiting results. */
  public long waitingBytes() {
    return waitingBytes.sum();
  }

  /** Inputs admitted so far. */
  public long admitted() {
    return admitted.sum();
  }

  /** Results emitted so far. */
  public long emitted() {
    return emitted.sum();
  }
}
