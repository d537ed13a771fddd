package dev.fetchflux;

/**
 * A snapshot of what a {@link Fetcher} is doing, across all its streams; read it while they run (for
 * a progress line, a metrics exporter) with {@link Fetcher#stats()}. Values are read one after
 * another, not atomically together.
 *
 * @param inFlight requests started and not finished
 * @param waiting finished results waiting to be emitted: behind a slower head (the reorder backlog)
 *     or for downstream demand
 * @param waitingBytes bytes of body held in memory by the waiting results (their response bodies
 *     and the request bodies they keep)
 * @param admitted inputs admitted so far
 * @param emitted results emitted so far
 * @param succeeded successes produced so far
 * @param failed failures produced so far
 * @param bodyBytes body bytes received by successes so far
 */
public record FetcherStats(
    long inFlight,
    long waiting,
    long waitingBytes,
    long admitted,
    long emitted,
    long succeeded,
    long failed,
    long bodyBytes) {}
