package dev.fetchflux.cli;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Redraws the live progress line on standard error a few times a second, from its own daemon thread,
 * until {@link #stop()}.
 */
final class Progress implements AutoCloseable {
  private static final long PERIOD_MILLIS = 200;

  private final @Nullable ScheduledExecutorService ticker;
  private final Stderr stderr;

  private Progress(Stats stats, Stderr stderr, boolean live) {
    this.stderr = stderr;
    if (live) {
      this.ticker =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "fetchflux-progress");
                t.setDaemon(true);
                return t;
              });
      ticker.scheduleAtFixedRate(
          () -> stderr.progress(stats.progressLine()),
          PERIOD_MILLIS,
          PERIOD_MILLIS,
          TimeUnit.MILLISECONDS);
    } else {
      this.ticker = null;
    }
  }

  /** Starts the live line when {@code live}; otherwise a no-op. */
  static Progress start(Stats stats, Stderr stderr, boolean live) {
    return new Progress(stats, stderr, live);
  }

  /** Stops redrawing and wipes the line. Idempotent. */
  void stop() {
    ScheduledExecutorService t = ticker;
    if (t != null && !t.isShutdown()) {
      t.shutdownNow();
      try {
        t.awaitTermination(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      stderr.progress("");
    }
  }

  @Override
  public void close() {
    stop();
  }
}
