package dev.fetchflux.cli;

import dev.fetchflux.Headers;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Typed option values: the library takes {@link Duration}s, byte counts and validated headers; the
 * command line takes {@code 2.5}, {@code 500ms}, {@code 5M} and {@code 'Name: value'}. Every
 * rejection is one line that quotes the value (escaped, so a CR or LF in it cannot break the line);
 * picocli prefixes it with the option's name.
 */
public final class Converters {
  private Converters() {}

  private static final Pattern DURATION =
      Pattern.compile("([+-]?[0-9]+(?:\\.[0-9]+)?|[+-]?\\.[0-9]+)\\s*(ms|s|m|h)?");
  private static final Pattern SIZE =
      Pattern.compile("([+-]?[0-9]+(?:\\.[0-9]+)?)\\s*([kmgt]?)(i?b)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern RATE =
      Pattern.compile(
          "([+-]?[0-9]+(?:\\.[0-9]+)?)\\s*(?:/\\s*(s|sec|second|m|min|minute|h|hour))?",
          Pattern.CASE_INSENSITIVE);

  /** A header as given on the command line, validated by the library's rules. */
  record Header(String name, String value) {}

  /**
   * A request rate, in requests per second.
   *
   * @param perSecond requests per second, positive
   */
  public record Rate(double perSecond) {}

  /** {@code --input-format}: {@code lines} or {@code jsonl}, in any case. */
  static final class InputFormat implements ITypeConverter<Inputs.Format> {
    @Override
    public Inputs.Format convert(String value) {
      return switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
        case "lines" -> Inputs.Format.LINES;
        case "jsonl" -> Inputs.Format.JSONL;
        default ->
            throw new TypeConversionException(
                quote(value) + " is not an input format (lines or jsonl)");
      };
    }
  }

  /**
   * A time: a plain number is seconds (as in curl), or a number with {@code ms}, {@code s},
   * {@code m} or {@code h}. Must be positive: every time the command takes is a limit, and a limit
   * of zero would fail every request.
   */
  public static final class PositiveDuration implements ITypeConverter<Duration> {
    /** Needed by picocli, which instantiates converters reflectively. */
    public PositiveDuration() {}

    @Override
    public Duration convert(String value) {
      Matcher m = DURATION.matcher(value.strip());
      if (!m.matches()) {
        throw new TypeConversionException(
            quote(value) + " is not a time; use seconds (10, 2.5) or 500ms, 10s, 1m");
      }
      BigDecimal number = new BigDecimal(m.group(1));
      if (number.signum() < 0) {
        throw new TypeConversionException(quote(value) + " is negative; a time must be positive");
      }
      String unit = m.group(2) == null ? "s" : m.group(2);
      BigDecimal millis;
      switch (unit) {
        case "ms":
          millis = number;
          break;
        case "m":
          millis = number.multiply(BigDecimal.valueOf(60_000));
          break;
        case "h":
          millis = number.multiply(BigDecimal.valueOf(3_600_000));
          break;
        default:
          millis = number.multiply(BigDecimal.valueOf(1_000));
      }
      if (millis.compareTo(BigDecimal.valueOf(365L * 24 * 3_600_000)) > 0) {
        throw new TypeConversionException(quote(value) + " is too long (more than a year)");
      }
      long nanos = millis.movePointRight(6).longValue();
      if (nanos <= 0) {
        throw new TypeConversionException(quote(value) + " is zero; a time must be positive");
      }
      return Duration.ofNanos(nanos);
    }
  }

  /**
   * A byte count: a number with an optional {@code k}, {@code M}, {@code G} or {@code T} suffix
   * (powers of 1024, as curl's {@code --max-filesize}), optionally followed by {@code B} or
   * {@code iB}.
   */
  static final class Size implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      Matcher m = SIZE.matcher(value.strip());
      if (!m.matches()) {
        throw new TypeConversionException(
            quote(value) + " is not a size; use bytes (1000) or 100k, 5M, 1G");
      }
      BigDecimal number = new BigDecimal(m.group(1));
      if (number.signum() < 0) {
        throw new TypeConversionException(quote(value) + " is negative; a size must not be");
      }
      String suffix = m.group(2).toLowerCase(Locale.ROOT);
      int shift = suffix.isEmpty() ? 0 : "kmgt".indexOf(suffix) + 1;
      BigDecimal bytes = number.multiply(BigDecimal.valueOf(2).pow(10 * shift));
      if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
        throw new TypeConversionException(quote(value) + " is too large");
      }
      return bytes.longValue();
    }
  }

  /** A count of at least 1. */
  public static final class PositiveInt implements ITypeConverter<Integer> {
    /** Needed by picocli, which instantiates converters reflectively. */
    public PositiveInt() {}

    @Override
    public Integer convert(String value) {
      int n = integer(value);
      if (n < 1) {
        throw new TypeConversionException(quote(value) + " must be at least 1");
      }
      return n;
    }
  }

  /** A count of at least 0. */
  static final class NonNegativeInt implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      int n = integer(value);
      if (n < 0) {
        throw new TypeConversionException(quote(value) + " must not be negative");
      }
      return n;
    }
  }

  /** A TCP port, 0 to 65535 (0: any free port). */
  static final class Port implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      int n = integer(value);
      if (n < 0 || n > 65535) {
        throw new TypeConversionException(quote(value) + " is not a port (0 to 65535)");
      }
      return n;
    }
  }

  /**
   * {@code N}, {@code N/s}, {@code N/m} or {@code N/h}; a plain number is per second (curl's
   * {@code --rate} reads a plain number per hour, which would surprise at these speeds).
   */
  public static final class RateConverter implements ITypeConverter<Rate> {
    /** Needed by picocli, which instantiates converters reflectively. */
    public RateConverter() {}

    @Override
    public Rate convert(String value) {
      Matcher m = RATE.matcher(value.strip());
      if (!m.matches()) {
        throw new TypeConversionException(
            quote(value) + " is not a rate; use N (per second), N/s, N/m or N/h");
      }
      double n = Double.parseDouble(m.group(1));
      if (!(n > 0)) {
        throw new TypeConversionException(quote(value) + " must be positive");
      }
      String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
      double perSecond = unit.startsWith("h") ? n / 3600 : unit.startsWith("m") ? n / 60 : n;
      return new Rate(perSecond);
    }
  }

  /**
   * {@code Name: value}, as curl's {@code -H}: the name up to the first colon, the value after it
   * with surrounding blanks removed. Both are checked with the library's own rules, so a CR or LF
   * (header injection) is refused here rather than sent.
   */
  static final class HeaderConverter implements ITypeConverter<Header> {
    @Override
    public Header convert(String value) {
      int colon = value.indexOf(':');
      if (colon < 0) {
        throw new TypeConversionException(quote(value) + " has no colon; use 'Name: value'");
      }
      String name = value.substring(0, colon);
      String v = value.substring(colon + 1).strip();
      try {
        Headers.empty().with(name, v);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(quote(value) + ": " + oneLine(e.getMessage()));
      }
      return new Header(name, v);
    }
  }

  private static int integer(String value) {
    try {
      return Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw new TypeConversionException(quote(value) + " is not a whole number");
    }
  }

  /** The value in single quotes, with control characters escaped and long values shortened. */
  static String quote(String value) {
    StringBuilder b = new StringBuilder("'");
    int limit = Math.min(value.length(), 200);
    for (int i = 0; i < limit; i++) {
      char c = value.charAt(i);
      if (c == '\r') {
        b.append("\\r");
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c == '\t') {
        b.append("\\t");
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    if (value.length() > limit) {
      b.append('…');
    }
    return b.append('\'').toString();
  }

  /** {@code text} with line breaks escaped, so that it prints as one line. */
  static String oneLine(@org.jspecify.annotations.Nullable String text) {
    if (text == null) {
      return "";
    }
    return text.replace("\r", "\\r").replace("\n", "\\n");
  }
}
