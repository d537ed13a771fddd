package dev.fetchflux.internal;

import dev.fetchflux.FetchResult;
import dev.fetchflux.FetcherStats;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * What a fetcher has done and is doing, across its streams: the ordering stage's figures
 * ({@link AdmissionMetrics}) and the results, bytes and retries counted as they are made. Cheap
 * to update from any thread; read by {@code Fetcher.stats()}.
 */
public final class FetchCounters {
  private final AdmissionMetrics admission = new AdmissionMetrics();
  private final LongAdder succeeded = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder bodyBytes = new LongAdder();
  private final LongAdder retries = new LongAdder();

  /** The ordering stage's figures, which it updates itself. */
  public AdmissionMetrics admission() {
    return admission;
  }

  /** Counts {@code result} and returns it. */
  FetchResult count(FetchResult result) {
    if (result instanceof FetchResult.Success ok) {
      succeeded.increment();
      bodyBytes.add(ok.body().size());
    } else {
      failed.increment();
    }
    return result;
  }

  /** Counts a streamed body once it has been received: a success, or a failure if it failed. */
  void streamed(BodyRelay body) {
    if (body.gaveUp()) {
      return; // given up by its reader, as a cancelled request: neither
    }
    if (body.receivedError() == null) {
      succeeded.increment();
      bodyBytes.add(body.receivedBytes());
    } else {
      failed.increment();
    }
  }

  void retried() {
    retries.increment();
  }

  /** The figures now, with the per-host ones of {@code politeness} when there is one. */
  public FetcherStats stats(@Nullable Politeness politeness) {
    return new FetcherStats(
        admission.inFlight(),
        admission.waiting(),
        admission.waitingBytes(),
        admission.admitted(),
        admission.emitted(),
        succeeded.sum(),
        failed.sum(),
        bodyBytes.sum(),
        retries.sum(),
        politeness == null ? List.of() : politeness.hosts());
  }
}
