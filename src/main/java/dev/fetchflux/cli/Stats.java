package dev.fetchflux.cli;

import dev.fetchflux.FetcherStats;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Counts of a run, written by the writer thread and read by the progress ticker and the summary.
 */
final class Stats {
  private final Supplier<FetcherStats> fetcher;
  private final long startNanos = System.nanoTime();
  private final AtomicLong done = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong total = new AtomicLong(-1);
  private final AtomicLong firstResultNanos = new AtomicLong(-1);

  /** @param fetcher the fetcher's live counters, for the progress line */
  Stats(Supplier<FetcherStats> fetcher) {
    this.fetcher = fetcher;
  }

  /** Counts a result written: whether it succeeded, and its body's length. */
  void record(boolean ok, long bodyBytes) {
    firstResultNanos.compareAndSet(-1, System.nanoTime() - startNanos);
    if (!ok) {
      failed.incrementAndGet();
    }
    bytes.addAndGet(bodyBytes);
    done.incrementAndGet();
  }

  /** Sets the number of inputs once it is known (at the end of the input, or by a count ahead). */
  void total(long n) {
    total.set(n);
  }

  long done() {
    return done.get();
  }

  long ok() {
    return done.get() - failed.get();
  }

  long failed() {
    return failed.get();
  }

  long bytes() {
    return bytes.get();
  }

  /** The number of inputs, or -1 while unknown. */
  long total() {
    return total.get();
  }

  long elapsedNanos() {
    return System.nanoTime() - startNanos;
  }

  /** Nanoseconds from the start to the first result written, or -1. */
  long firstResultNanos() {
    return firstResultNanos.get();
  }

  /** {@code 1000 URLs, 998 ok, 2 failed, 12.3 MB, 1.9 s}. */
  String summary() {
    long d = done();
    return d
        + (d == 1 ? " URL, " : " URLs, ")
        + ok()
        + " ok, "
        + failed()
        + " failed, "
        + bytes(bytes())
        + ", "
        + seconds(elapsedNanos());
  }

  /**
   * The live line: {@code 412/1000 41% | 183/s | 2 failed | 12.3 MB | 32 in flight, 7 waiting |
   * 5 retries | api.example: 12 queued, 4 in flight, 9.5/s slowed, paused 0.8 s (+2 hosts) |
   * ETA 3 s}; "waiting" counts results done but held behind a slower one (the reorder backlog),
   * retries appear once there are some, and the busiest host appears while requests wait for a
   * host's politeness limits (per-host, rate or adaptive).
   */
  String progressLine() {
    long d = done();
    long t = total();
    double secs = elapsedNanos() / 1e9;
    double rate = secs > 0 ? d / secs : 0;
    StringBuilder b = new StringBuilder();
    if (t >= 0) {
      b.append(d).append('/').append(t);
      if (t > 0) {
        b.append(' ').append(d * 100 / t).append('%');
      }
    } else {
      b.append(d).append(" done");
    }
    b.append(" | ").append(rate(rate)).append("/s");
    b.append(" | ").append(failed()).append(" failed");
    b.append(" | ").append(bytes(bytes()));
    FetcherStats live = fetcher.get();
    b.append(" | ")
        .append(live.inFlight())
        .append(" in flight, ")
        .append(live.waiting())
        .append(" waiting");
    if (live.retries() > 0) {
      b.append(" | ").append(live.retries()).append(live.retries() == 1 ? " retry" : " retries");
    }
    busiestHost(b, live.hosts());
    if (t >= 0 && rate > 0 && d < t) {
      b.append(" | ETA ").append(eta((t - d) / rate));
    }
    return b.toString();
  }

  /**
   * {@code | api.example: 12 queued, 4 in flight, 9.5/s slowed, paused 0.8 s (+2 hosts)}: the
   * busiest host (first in the list) while requests wait for it, and how many other hosts have
   * requests waiting; nothing when none waits.
   */
  private static void busiestHost(StringBuilder b, List<FetcherStats.Host> hosts) {
    if (hosts.isEmpty()) {
      return;
    }
    FetcherStats.Host top = hosts.get(0);
    if (top.queued() == 0 && top.pause().isZero()) {
      return;
    }
    b.append(" | ")
        .append(top.host())
        .append(": ")
        .append(top.queued())
        .append(" queued, ")
        .append(top.inFlight())
        .append(" in flight");
    if (top.rateLimit() > 0) {
      b.append(", ").append(rate(top.rateLimit())).append("/s");
      if (top.throttled()) {
        b.append(" slowed");
      }
    }
    if (!top.pause().isZero()) {
      b.append(", paused ").append(seconds(top.pause().toNanos()));
    }
    long others = hosts.stream().skip(1).filter(h -> h.queued() > 0).count();
    if (others > 0) {
      b.append(" (+").append(others).append(others == 1 ? " host)" : " hosts)");
    }
  }

  /** {@code 183}, or {@code 9.5} below ten. */
  private static String rate(double perSecond) {
    return perSecond >= 10
        ? String.format(Locale.ROOT, "%.0f", perSecond)
        : String.format(Locale.ROOT, "%.1f", perSecond);
  }

  /** Bytes in decimal units: {@code 512 B}, {@code 1.2 kB}, {@code 12.3 MB}. */
  static String bytes(long n) {
    if (n < 1000) {
      return n + " B";
    }
    String[] units = {"kB", "MB", "GB", "TB", "PB"};
    double v = n;
    int u = -1;
    while (v >= 999.95 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** {@code 1.9 s}, {@code 0.02 s} below a tenth of a second. */
  static String seconds(long nanos) {
    double s = nanos / 1e9;
    return s < 0.1
        ? String.format(Locale.ROOT, "%.2f s", s)
        : String.format(Locale.ROOT, "%.1f s", s);
  }

  private static String eta(double seconds) {
    long s = Math.round(Math.ceil(seconds));
    if (s < 60) {
      return s + " s";
    }
    if (s < 3600) {
      return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  }
}
