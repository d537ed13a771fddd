package dev.fetchflux.flink;

import java.net.URI;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.jspecify.annotations.Nullable;

/**
 * Which fetch subtask a URL goes to: every URL of a host to the same one, so that one fetcher (and
 * its per-host limits) sees all of that host's requests; the hosts the user chose to spread go
 * over all subtasks, keyed by seq.
 *
 * <pre>{@code
 * urls.keyBy(new HostRouting(options.spreadHosts()))
 * }</pre>
 *
 * <p>The key of a URL is a number: for a routed host, a mix of its lower-case name's
 * {@link String#hashCode()} (the same in every JVM, so a restarted job routes the same way); for a
 * spread host, the URL's seq, so its URLs scatter over all subtasks. Flink's {@code keyBy} maps
 * keys to subtasks through key groups; a {@code keyBy} rather than a custom partitioner because
 * Flink supports unaligned checkpoints only across the former (see {@link FetchJob}). A line that
 * does not parse as a URI is routed by the whole line (it becomes an error record wherever it
 * goes).
 *
 * <p>Hash routing balances well over many hosts; over a handful, two may share a subtask while
 * another idles, and one host with most of the URLs runs at the speed of one subtask. That is the
 * price of a per-host limit that holds for the job; {@link FetchOptions.Builder#spreadHost} lifts
 * it for the hosts that allow more.
 */
public final class HostRouting implements KeySelector<NumberedUrl, Long> {
  private static final long serialVersionUID = 1L;

  private final TreeSet<String> spread;
  private final boolean spreadAll;

  /**
   * Routes by host, except for {@code spreadHosts} (lower-case names; {@code *} spreads all).
   */
  public HostRouting(Set<String> spreadHosts) {
    this.spread = new TreeSet<>(spreadHosts);
    this.spreadAll = spread.contains("*");
  }

  @Override
  public Long getKey(NumberedUrl url) {
    String host = host(url.url());
    if (spreadAll || (host != null && spread.contains(host))) {
      return url.seq();
    }
    return mix(host != null ? host.hashCode() : url.url().hashCode());
  }

  /** The lower-case host of {@code url}, or {@code null} when it has none or does not parse. */
  static @Nullable String host(String url) {
    try {
      String host = URI.create(url.strip()).getHost();
      return host == null ? null : host.toLowerCase(Locale.ROOT);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** Spreads the bits of a hash so that neighbouring names do not land on neighbouring subtasks. */
  private static long mix(int hash) {
    long h = hash * 0x9E3779B97F4A7C15L;
    return h ^ (h >>> 31);
  }

  /**
   * The subtask, of {@code parallelism}, that fetches {@code url} when no host is spread and the
   * job keeps Flink's default maximum parallelism.
   */
  public static int subtaskOf(String url, int parallelism) {
    return subtaskOf(new HostRouting(Set.of()).getKey(new NumberedUrl(0, url)), parallelism);
  }

  /** The subtask Flink's {@code keyBy} sends {@code key} to, at the default max parallelism. */
  static int subtaskOf(long key, int parallelism) {
    return KeyGroupRangeAssignment.assignKeyToParallelOperator(
        key, KeyGroupRangeAssignment.computeDefaultMaxParallelism(parallelism), parallelism);
  }
}
