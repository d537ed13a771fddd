package dev.fetchflux.flink;

import java.time.Duration;
import picocli.CommandLine;

/**
 * Reads durations the way the CLI writes them: {@code 250ms}, {@code 10s}, {@code 2m}, {@code 1h},
 * or a bare number of seconds (like curl's {@code -m}), fractions allowed ({@code 1.5s}).
 */
final class Durations implements CommandLine.ITypeConverter<Duration> {

  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  static Duration parse(String value) {
    String v = value.strip();
    long unitNanos;
    String number;
    if (v.endsWith("ms")) {
      unitNanos = 1_000_000L;
      number = v.substring(0, v.length() - 2);
    } else if (v.endsWith("s")) {
      unitNanos = 1_000_000_000L;
      number = v.substring(0, v.length() - 1);
    } else if (v.endsWith("m")) {
      unitNanos = 60_000_000_000L;
      number = v.substring(0, v.length() - 1);
    } else if (v.endsWith("h")) {
      unitNanos = 3_600_000_000_000L;
      number = v.substring(0, v.length() - 1);
    } else {
      unitNanos = 1_000_000_000L;
      number = v;
    }
    double amount;
    try {
      amount = Double.parseDouble(number);
    } catch (NumberFormatException e) {
      throw new CommandLine.TypeConversionException(
          "not a duration: '" + value + "' (examples: 250ms, 10s, 2m, 1h)");
    }
    if (!(amount > 0) || Double.isInfinite(amount)) {
      throw new CommandLine.TypeConversionException("duration must be positive: '" + value + "'");
    }
    return Duration.ofNanos(Math.round(amount * unitNanos));
  }
}
