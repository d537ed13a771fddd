package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StatsTest {

  @Test
  void bytesUseDecimalUnitsWithOneDecimal() {
    assertThat(Stats.bytes(0)).isEqualTo("0 B");
    assertThat(Stats.bytes(999)).isEqualTo("999 B");
    assertThat(Stats.bytes(1000)).isEqualTo("1.0 kB");
    assertThat(Stats.bytes(12_345_678)).isEqualTo("12.3 MB");
    assertThat(Stats.bytes(999_999_999)).isEqualTo("1.0 GB");
  }

  @Test
  void secondsShowTwoDecimalsOnlyBelowATenth() {
    assertThat(Stats.seconds(1_940_000_000L)).isEqualTo("1.9 s");
    assertThat(Stats.seconds(23_000_000L)).isEqualTo("0.02 s");
  }
}
