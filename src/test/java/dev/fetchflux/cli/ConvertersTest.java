package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

class ConvertersTest {
  private final Converters.PositiveDuration duration = new Converters.PositiveDuration();
  private final Converters.Size size = new Converters.Size();
  private final Converters.HeaderConverter header = new Converters.HeaderConverter();
  private final Converters.RateConverter rate = new Converters.RateConverter();

  @Test
  void plainNumbersAreSecondsAndUnitsAreHonoured() {
    assertThat(duration.convert("10")).isEqualTo(Duration.ofSeconds(10));
    assertThat(duration.convert("2.5")).isEqualTo(Duration.ofMillis(2500));
    assertThat(duration.convert("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(duration.convert("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(duration.convert("1m")).isEqualTo(Duration.ofMinutes(1));
    assertThat(duration.convert("0.25")).isEqualTo(Duration.ofMillis(250));
  }

  @Test
  void negativeZeroAndMalformedTimesAreRefusedQuotingTheValue() {
    assertThatThrownBy(() -> duration.convert("-1"))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'-1' is negative");
    assertThatThrownBy(() -> duration.convert("0"))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'0' is zero");
    assertThatThrownBy(() -> duration.convert("10 parsecs"))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'10 parsecs' is not a time");
  }

  @Test
  void sizesUseBinarySuffixes() {
    assertThat(size.convert("100")).isEqualTo(100L);
    assertThat(size.convert("100k")).isEqualTo(100L * 1024);
    assertThat(size.convert("5M")).isEqualTo(5L << 20);
    assertThat(size.convert("1G")).isEqualTo(1L << 30);
    assertThat(size.convert("1.5MiB")).isEqualTo(3L << 19);
  }

  @Test
  void negativeOrMalformedSizesAreRefused() {
    assertThatThrownBy(() -> size.convert("-5M")).hasMessageContaining("'-5M' is negative");
    assertThatThrownBy(() -> size.convert("5X")).hasMessageContaining("'5X' is not a size");
    assertThatThrownBy(() -> size.convert("99999999999T")).hasMessageContaining("too large");
  }

  @Test
  void headerSplitsAtTheFirstColonAndTrimsTheValue() {
    assertThat(header.convert("X-Api-Key:  abc:def "))
        .isEqualTo(new Converters.Header("X-Api-Key", "abc:def"));
  }

  @Test
  void headerWithoutColonIsRefused() {
    assertThatThrownBy(() -> header.convert("X-Api-Key abc"))
        .hasMessage("'X-Api-Key abc' has no colon; use 'Name: value'");
  }

  @Test
  void headerValueWithCrLfIsRefusedOnOneLine() {
    assertThatThrownBy(() -> header.convert("X-A: b\r\nEvil: 1"))
        .hasMessageStartingWith("'X-A: b\\r\\nEvil: 1': ")
        .hasMessageContaining("control character")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\r", "\n"));
  }

  @Test
  void headerNameThatIsNotATokenIsRefused() {
    assertThatThrownBy(() -> header.convert("Bad Name: x"))
        .hasMessageContaining("invalid character");
  }

  @Test
  void ratesDefaultToPerSecond() {
    assertThat(rate.convert("10").perSecond()).isEqualTo(10.0);
    assertThat(rate.convert("120/m").perSecond()).isEqualTo(2.0);
    assertThat(rate.convert("3600/h").perSecond()).isEqualTo(1.0);
    assertThatThrownBy(() -> rate.convert("0")).hasMessageContaining("must be positive");
  }

  @Test
  void countsBelowTheirMinimumAreRefused() {
    assertThatThrownBy(() -> new Converters.PositiveInt().convert("0"))
        .hasMessage("'0' must be at least 1");
    assertThatThrownBy(() -> new Converters.NonNegativeInt().convert("-1"))
        .hasMessage("'-1' must not be negative");
    assertThatThrownBy(() -> new Converters.PositiveInt().convert("many"))
        .hasMessage("'many' is not a whole number");
  }
}
