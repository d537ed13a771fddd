package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetcherStats;
import java.time.Duration;
import java.util.List;
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

  private static FetcherStats live(long retries, FetcherStats.Host... hosts) {
    return new FetcherStats(16, 3, 0, 40, 20, 20, 0, 0, retries, List.of(hosts));
  }

  @Test
  void progressLineShowsTheBusiestWaitingHostAndHowManyOthersWait() {
    Stats stats =
        new Stats(
            () ->
                live(
                    5,
                    new FetcherStats.Host("api.example", 12, 4, 9.5, Duration.ofMillis(800), true),
                    new FetcherStats.Host("b.example", 2, 1, 0, Duration.ZERO, false),
                    new FetcherStats.Host("c.example", 0, 1, 0, Duration.ZERO, false)));

    assertThat(stats.progressLine())
        .contains(
            " | 16 in flight, 3 waiting | 5 retries | api.example: 12 queued, 4 in flight, 9.5/s "
                + "slowed, paused 0.8 s (+1 host)");
  }

  @Test
  void progressLineNamesAHostOnlyWhileRequestsWaitForIt() {
    Stats busy =
        new Stats(
            () -> live(0, new FetcherStats.Host("a.example", 0, 2, 20, Duration.ZERO, false)));
    assertThat(busy.progressLine()).endsWith("16 in flight, 3 waiting").doesNotContain("retr");

    Stats queued =
        new Stats(
            () -> live(1, new FetcherStats.Host("a.example", 3, 2, 20, Duration.ZERO, false)));
    assertThat(queued.progressLine())
        .endsWith("3 waiting | 1 retry | a.example: 3 queued, 2 in flight, 20/s");
  }
}
