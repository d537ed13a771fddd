package dev.fetchflux.support;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Bounded waits for what another thread (a server, an event loop) does: polls a condition every few
 * milliseconds and fails with a message naming it when time runs out. Not a sleep: it returns as
 * soon as the condition holds.
 */
public final class Await {
  private static final Duration DEFAULT = Duration.ofSeconds(5);

  private Await() {}

  /** Waits up to 5 seconds for {@code condition}. */
  public static void until(String what, BooleanSupplier condition) {
    until(what, condition, () -> "");
  }

  /** Waits up to 5 seconds for {@code condition}; on failure the message adds {@code state}. */
  public static void until(String what, BooleanSupplier condition, Supplier<?> state) {
    until(what, DEFAULT, condition, state);
  }

  /**
   * Waits up to {@code timeout} for {@code condition}; on failure the message adds {@code state}.
   * For what includes a JVM's start (a process under test), which can take seconds on a busy host.
   */
  public static void until(
      String what, Duration timeout, BooleanSupplier condition, Supplier<?> state) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "timed out after "
                + timeout.toSeconds()
                + " s waiting until "
                + what
                + " "
                + state.get());
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting until " + what, e);
      }
    }
  }
}
