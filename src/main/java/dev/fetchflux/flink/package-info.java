/**
 * Running fetchflux inside Apache Flink, for crawls larger than one process.
 *
 * <p>{@link dev.fetchflux.flink.FetchFunction} is a Flink async function that fetches one URL per
 * element with a {@link dev.fetchflux.Fetcher} per subtask and turns every outcome, Flink's own
 * timeout included, into one {@link dev.fetchflux.flink.FetchRecord}. {@link
 * dev.fetchflux.flink.FetchJob} is a runnable job built from these parts (file of URLs in,
 * JSON-lines parts out) that routes each host to one subtask ({@link
 * dev.fetchflux.flink.HostRouting}) so per-host limits hold for the whole job, and {@link
 * dev.fetchflux.flink.MergeParts}, behind {@code fetchflux merge}, rebuilds one answer in input
 * order from the parts. See {@code docs/scale-out.md}.
 *
 * <p>Flink itself is a {@code provided} dependency: the cluster (or {@code flink-clients} on a
 * local class path) supplies it; nothing else in fetchflux loads these classes, except that
 * {@code fetchflux merge} uses {@code MergeParts} and {@code FetchRecord}, which need no Flink.
 */
@NullMarked
package dev.fetchflux.flink;

import org.jspecify.annotations.NullMarked;
