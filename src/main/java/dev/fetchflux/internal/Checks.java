package dev.fetchflux.internal;

import java.time.Duration;
import java.util.Objects;

/** Argument checks shared by the public builders, so each option fails with the same message. */
public final class Checks {
  private Checks() {}

  /**
   * Returns {@code d} if it is positive.
   *
   * @throws NullPointerException naming the option if {@code d} is null
   * @throws IllegalArgumentException {@code "NAME must be positive: D"} if it is zero or negative
   */
  public static Duration positive(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive: " + d);
    }
    return d;
  }
}
