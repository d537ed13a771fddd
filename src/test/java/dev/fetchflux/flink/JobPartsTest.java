package dev.fetchflux.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.Fetcher;
import dev.fetchflux.cli.Converters;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The small parts of the job that need no cluster: records as JSON, options, arguments. */
class JobPartsTest {

  @Test
  void successRecordSurvivesJsonRoundTrip() {
    FetchRecord r =
        new FetchRecord(
            42,
            "http://h/a",
            "http://h/b",
            200,
            5,
            "2cf2",
            "000000/x.body",
            1_700_000_000_123L,
            1.234,
            5.678,
            2,
            1,
            null,
            null);

    assertThat(r.toJson()).startsWith("{\"seq\":42,\"url\":\"http://h/a\"").doesNotContain("error");
    assertThat(FetchRecord.parse(r.toJson())).isEqualTo(r);
  }

  @Test
  void failureRecordSurvivesJsonRoundTripWithErrorObject() {
    FetchRecord r =
        new FetchRecord(
            7,
            "http://h/\"q\"",
            null,
            500,
            0,
            null,
            null,
            1_700_000_000_000L,
            3.5,
            4.0,
            1,
            0,
            "HTTP_STATUS",
            "HTTP error status: 500");

    assertThat(r.toJson())
        .contains("\"error\":{\"kind\":\"HTTP_STATUS\",\"message\":")
        .doesNotContain("finalUrl")
        .doesNotContain("sha256");
    assertThat(FetchRecord.parse(r.toJson())).isEqualTo(r);
  }

  @Test
  void parseRejectsLinesThatAreNotRecords() {
    assertThatThrownBy(() -> FetchRecord.parse("{\"url\":\"x\"}"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs seq and url");
    assertThatThrownBy(() -> FetchRecord.parse("nope"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not JSON");
  }

  private static final Converters.PositiveDuration DURATION = new Converters.PositiveDuration();

  @Test
  void durationsReadLikeTheCli() {
    assertThat(DURATION.convert("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(DURATION.convert("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(DURATION.convert("1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(DURATION.convert("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(DURATION.convert("3")).isEqualTo(Duration.ofSeconds(3));
    assertThatThrownBy(() -> DURATION.convert("0s")).hasMessageContaining("must be positive");
    assertThatThrownBy(() -> DURATION.convert("soon")).hasMessageContaining("not a time");
  }

  @Test
  void jobArgumentsBecomeFetchOptions() {
    FetchJob job =
        FetchJob.parse(
            "-i",
            "urls.txt",
            "-o",
            "out",
            "-c",
            "64",
            "-m",
            "20s",
            "--timeout-margin",
            "3s",
            "-H",
            "X-Team: crawl");

    FetchOptions options = job.fetchOptions();

    assertThat(options.maxInFlight()).isEqualTo(64);
    assertThat(options.requestTimeout()).isEqualTo(Duration.ofSeconds(20));
    // The default window: 16 x C, so an element may wait up to 15 deadlines for a slot.
    assertThat(options.capacity()).isEqualTo(1024);
    assertThat(options.flinkTimeout()).isEqualTo(Duration.ofSeconds(16 * 20 + 3));
    assertThat(options.bodyDirectory()).isNull();
    assertThat(options.spreadHosts()).isEmpty();
  }

  @Test
  void defaultWindowIsSixteenTimesConcurrencyCappedButNeverBelowIt() {
    assertThat(FetchOptions.builder().build().capacity()).isEqualTo(512);
    assertThat(FetchOptions.defaultWindow(1)).isEqualTo(16);
    assertThat(FetchOptions.defaultWindow(128)).isEqualTo(2048);
    assertThat(FetchOptions.defaultWindow(256)).isEqualTo(2048);
    assertThat(FetchOptions.defaultWindow(1000)).isEqualTo(2048);
    assertThat(FetchOptions.defaultWindow(4096)).isEqualTo(4096);
    assertThat(FetchOptions.builder().maxInFlight(4096).build().flinkTimeout())
        .isEqualTo(Fetcher.DEFAULT_REQUEST_TIMEOUT.plus(FetchOptions.DEFAULT_TIMEOUT_MARGIN));
  }

  @Test
  void politenessOptionsReachTheFetcherAndTheRouting() {
    FetchOptions options =
        FetchJob.parse(
                "-i",
                "u",
                "-o",
                "o",
                "--per-host",
                "4",
                "--rate-per-host",
                "10/s",
                "--adaptive-rate",
                "--resolve",
                "a.test:80:127.0.0.1",
                "--spread-host",
                "Big.Example")
            .fetchOptions();

    assertThat(options.spreadHosts()).containsExactly("big.example");
    assertThat(options.toString()).contains("maxInFlightPerHost=4");
    assertThatThrownBy(() -> FetchJob.parse("-i", "u", "-o", "o", "--per-host", "0"))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--per-host");
    assertThatThrownBy(
            () -> FetchJob.parse("-i", "u", "-o", "o", "--resolve", "nonsense").fetchOptions())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nonsense");
  }

  @Test
  void routingSendsEveryUrlOfAHostToOneSubtask() {
    HostRouting routing = new HostRouting(Set.of());
    Set<Integer> aSubtasks = new HashSet<>();
    Set<Integer> all = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      aSubtasks.add(
          HostRouting.subtaskOf(
              routing.getKey(new NumberedUrl(i, "http://A.example:8080/p?i=" + i)), 4));
      all.add(
          HostRouting.subtaskOf(
              routing.getKey(new NumberedUrl(i, "http://h" + i + ".example/")), 4));
    }
    assertThat(aSubtasks).as("any port, any case: one host").hasSize(1);
    assertThat(aSubtasks.iterator().next())
        .isEqualTo(HostRouting.subtaskOf("http://a.example/", 4));
    assertThat(all)
        .as("many hosts spread over every subtask")
        .containsExactlyInAnyOrder(0, 1, 2, 3);
  }

  @Test
  void spreadHostScattersOverEverySubtaskAndOthersStayPut() {
    HostRouting routing = new HostRouting(Set.of("big.example"));
    Set<Integer> big = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      big.add(
          HostRouting.subtaskOf(routing.getKey(new NumberedUrl(i, "http://big.example/" + i)), 4));
    }
    assertThat(big).containsExactlyInAnyOrder(0, 1, 2, 3);
    int small = HostRouting.subtaskOf("http://small.example/", 4);
    assertThat(
            HostRouting.subtaskOf(routing.getKey(new NumberedUrl(5, "http://small.example/x")), 4))
        .isEqualTo(small);
    HostRouting everyHost = new HostRouting(Set.of("*"));
    assertThat(everyHost.getKey(new NumberedUrl(6, "http://small.example/"))).isEqualTo(6L);
    // A line that is no URI is still routed somewhere (it becomes an error record there).
    assertThat(HostRouting.subtaskOf(routing.getKey(new NumberedUrl(7, "not a url")), 4))
        .isBetween(0, 3);
  }

  @Test
  void checkpointsAreUnalignedUnlessTurnedOff() {
    assertThat(FetchJob.parse("-i", "u", "-o", "o").unalignedCheckpoints).isTrue();
    assertThat(
            FetchJob.parse("-i", "u", "-o", "o", "--no-unaligned-checkpoints").unalignedCheckpoints)
        .isFalse();
  }

  @Test
  void windowWidensCapacityAndFlinkTimeoutButNotRequestsInFlight() {
    FetchOptions options =
        FetchJob.parse(
                "-i",
                "u",
                "-o",
                "o",
                "-c",
                "32",
                "-w",
                "256",
                "-m",
                "20s",
                "--timeout-margin",
                "3s")
            .fetchOptions();

    assertThat(options.maxInFlight()).isEqualTo(32);
    assertThat(options.capacity()).isEqualTo(256);
    // An element may wait for up to 7 deadlines for a slot, then run for one.
    assertThat(options.flinkTimeout()).isEqualTo(Duration.ofSeconds(8 * 20 + 3));
    assertThatThrownBy(() -> FetchOptions.builder().maxInFlight(8).window(4).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("window (4) must be >= maxInFlight (8)");
  }

  @Test
  void jobRequiresInputAndOutput() {
    assertThatThrownBy(() -> FetchJob.parse("-i", "urls.txt"))
        .isInstanceOf(CommandLine.MissingParameterException.class)
        .hasMessageContaining("--output");
  }

  @Test
  void optionsNameTheOffendingSettingAtBuildTime() {
    assertThatThrownBy(() -> FetchOptions.builder().maxInFlight(0).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxInFlight < 1: 0");
    assertThatThrownBy(() -> FetchJob.parse("-i", "u", "-o", "o", "-H", "no colon").fetchOptions())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'Name: value'");
  }
}
