package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fetchflux.support.Await;
import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.TestServerExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: the launcher as a process is killed ({@code kill -9}, then SIGINT) in the middle of
 * a run, the run is resumed with {@code --resume}, and the output is compared with an uninterrupted
 * run's: the same records except {@code timings} and {@code attempts}, the same body files byte for
 * byte, nothing else in the directory.
 */
@Timeout(120)
class ResumeProcessTest {
  private static final Duration EXIT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Inputs per run: 2 in flight, 50 ms each, so a run takes about a second after its start. */
  private static final int COUNT = 40;

  /** Whole records to wait for before the kill: the run is then a quarter done. */
  private static final int BEFORE_KILL = 10;

  @TempDir static Path references;
  @RegisterExtension static final TestServerExtension server = new TestServerExtension();
  private static Path referenceDir;
  private static Path referenceFile;

  @BeforeAll
  static void uninterruptedRuns() {
    referenceDir = references.resolve("out");
    referenceFile = references.resolve("results.jsonl");
    assertThat(CliRun.of(args("-o", referenceDir.toString())).status()).isEqualTo(1);
    assertThat(CliRun.of(args("--jsonl-file", referenceFile.toString())).status()).isEqualTo(1);
    assertThat(lines(referenceFile)).hasSize(COUNT);
  }

  /**
   * {@code -s -f -c 2} and the inputs: slowed successes, with a 500 (a failure, with {@code -f})
   * every ninth, so failures are among both the kept records and the resumed ones.
   */
  private static String[] args(String... options) {
    List<String> args = new ArrayList<>(List.of("-f", "-c", "2"));
    args.addAll(List.of(options));
    for (int i = 0; i < COUNT; i++) {
      args.add(server.url((i % 9 == 4 ? "/status/500" : "/delay/50") + "?i=" + i));
    }
    return args.toArray(String[]::new);
  }

  private static String[] silent(String... options) {
    List<String> all = new ArrayList<>(List.of("-s"));
    all.addAll(List.of(options));
    return args(all.toArray(String[]::new));
  }

  @Test
  void outputDirectoryKilledInTheMiddleThenResumedIsTheUninterruptedRunsOutput(@TempDir Path tmp)
      throws IOException {
    Path dir = tmp.resolve("out");
    Path manifest = dir.resolve(DirectorySink.MANIFEST);
    killMidRun(manifest, silent("-o", dir.toString()));
    int before = server.requests().size();

    CliRun resumed = CliRun.of(silent("--resume", "-o", dir.toString()));

    assertThat(resumed.status()).as(resumed.stderr()).isEqualTo(1);
    assertOnlyRemainingInputsFetched(server.requests().subList(before, server.requests().size()));
    assertThat(records(manifest)).isEqualTo(records(referenceDir.resolve(DirectorySink.MANIFEST)));
    assertSameFiles(dir, referenceDir);
  }

  @Test
  void jsonlFileKilledInTheMiddleThenResumedIsTheUninterruptedRunsOutput(@TempDir Path tmp)
      throws IOException {
    Path file = tmp.resolve("results.jsonl");
    killMidRun(file, silent("--jsonl-file", file.toString()));
    int before = server.requests().size();

    CliRun resumed = CliRun.of(silent("--resume", "--jsonl-file", file.toString()));

    assertThat(resumed.status()).as(resumed.stderr()).isEqualTo(1);
    assertOnlyRemainingInputsFetched(server.requests().subList(before, server.requests().size()));
    assertThat(records(file)).isEqualTo(records(referenceFile));
  }

  @Test
  void sigintThenResumeKeepsEveryWholeRecordAndIsTheUninterruptedRunsOutput(@TempDir Path tmp)
      throws IOException {
    Path file = tmp.resolve("results.jsonl");
    int written;
    try (LauncherProcess p = LauncherProcess.start(args("--jsonl-file", file.toString()))) {
      awaitRecords(file, p);
      assumeFalse(p.ignoresSigint(), "SIGINT is ignored in this environment (background job)");
      p.signal("INT");
      assertThat(p.waitFor(EXIT)).isEqualTo(130);
      written = lines(file).size();
      assertThat(written).as("interrupted in the middle").isLessThan(COUNT);
      assertThat(Files.readString(file)).endsWith("\n");
    }

    CliRun resumed = CliRun.of(args("--resume", "--jsonl-file", file.toString()));

    assertThat(resumed.status()).isEqualTo(1);
    // Ctrl-C leaves only whole records: every one is kept, none discarded.
    assertThat(resumed.stderrLines())
        .contains("fetchflux: resuming " + file + " after " + written + " records");
    assertThat(resumed.stderr()).doesNotContain("discarded");
    assertThat(records(file)).isEqualTo(records(referenceFile));
  }

  /** Starts the run, waits for whole records in {@code output}, and kills it with SIGKILL. */
  private static void killMidRun(Path output, String... args) {
    try (LauncherProcess p = LauncherProcess.start(args)) {
      awaitRecords(output, p);
      p.close();
      assertThat(p.waitFor(EXIT)).as("killed by SIGKILL").isEqualTo(137);
    }
    assertThat(lines(output)).as("killed in the middle").hasSizeBetween(BEFORE_KILL, COUNT - 1);
  }

  private static void awaitRecords(Path output, LauncherProcess p) {
    Await.until(
        BEFORE_KILL + " whole records are in " + output,
        EXIT,
        () -> Files.exists(output) && lines(output).size() >= BEFORE_KILL,
        () -> "stderr: " + p.stderr());
  }

  /** The resumed run asked again for none of the records written before the kill. */
  private static void assertOnlyRemainingInputsFetched(List<RecordedRequest> requests) {
    List<Integer> asked =
        requests.stream()
            .map(r -> Integer.parseInt(r.uri().substring(r.uri().indexOf("?i=") + 3)))
            .toList();
    assertThat(asked)
        .isNotEmpty()
        .allMatch(i -> i >= BEFORE_KILL)
        .doesNotHaveDuplicates()
        .contains(COUNT - 1);
  }

  /** Whole lines (a line cut by the kill is not one). */
  private static List<String> lines(Path file) {
    try {
      String text = Files.readString(file);
      List<String> whole = new ArrayList<>(text.lines().toList());
      if (!text.isEmpty() && !text.endsWith("\n")) {
        whole.remove(whole.size() - 1);
      }
      return whole;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The records as the equality of docs/cli.md defines it: without timings and attempts. */
  private static List<JsonNode> records(Path file) throws IOException {
    List<JsonNode> records = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      ObjectNode record = (ObjectNode) JSON.readTree(line);
      record.remove(List.of("timings", "attempts"));
      records.add(record);
    }
    return records;
  }

  private static void assertSameFiles(Path dir, Path reference) throws IOException {
    List<String> names = names(dir);
    assertThat(names).isEqualTo(names(reference));
    for (String name : names) {
      if (!name.equals(DirectorySink.MANIFEST)) {
        assertThat(Files.mismatch(dir.resolve(name), reference.resolve(name)))
            .as(name)
            .isEqualTo(-1);
      }
    }
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
