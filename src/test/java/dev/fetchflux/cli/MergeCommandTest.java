package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.flink.FetchRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code fetchflux merge}: parts of a Flink fetch job in, one answer in input order out. */
@Timeout(10)
class MergeCommandTest {

  @TempDir Path tmp;

  private static String ok(long seq, String body, String file) throws Exception {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    return new FetchRecord(
            seq,
            "http://h/" + seq,
            "http://h/" + seq,
            200,
            bytes.length,
            sha,
            file,
            1_700_000_000_000L,
            1.5,
            2.5,
            1,
            0,
            null,
            null)
        .toJson();
  }

  private static String failed(long seq) {
    return new FetchRecord(
            seq,
            "http://h/" + seq,
            null,
            503,
            0,
            null,
            null,
            1_700_000_000_000L,
            1.5,
            2.5,
            1,
            0,
            "HTTP_STATUS",
            "HTTP error status: 503")
        .toJson();
  }

  private Path part(String name, String... lines) throws Exception {
    Path out = Files.createDirectories(tmp.resolve("out"));
    return Files.write(out.resolve(name), List.of(lines));
  }

  /** Two parts as two subtasks write them, with bodies stored under their seq's name. */
  private Path jobOutput() throws Exception {
    Path bodies = Files.createDirectories(tmp.resolve("bodies").resolve("000000"));
    List<String> a = new ArrayList<>();
    List<String> b = new ArrayList<>();
    for (int seq = 0; seq < 6; seq++) {
      String name = String.format("000000/%012d.body", seq);
      String body = "body " + seq + "\n";
      Files.writeString(bodies.getParent().resolve(name), body);
      (seq % 3 == 1 ? b : a).add(seq == 4 ? failed(seq) : ok(seq, body, name));
    }
    part("part-a-0.jsonl", a.toArray(String[]::new));
    part("part-b-0.jsonl", b.toArray(String[]::new));
    // Flink's in-progress files are hidden and not committed: never merged.
    part(".part-a-1.jsonl.inprogress.1234", ok(6, "x", "000000/000000000006.body"));
    return tmp.resolve("out");
  }

  @Test
  void writesTheRecordsInInputOrderAndExitsOneWhenSomeFailed() throws Exception {
    Path out = jobOutput();

    CliRun run = CliRun.of("merge", "--expect", "6", out.toString());

    List<Long> seqs = run.stdout().lines().map(l -> FetchRecord.parse(l).seq()).toList();
    assertThat(seqs).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.stderr()).contains("6 records (seq 0 to 5) from 2 parts, 1 failed");
  }

  @Test
  void writesTheBodiesInInputOrderWithEachFailureOnStderr() throws Exception {
    Path out = jobOutput();

    CliRun run =
        CliRun.of("merge", "--raw", "--bodies", tmp.resolve("bodies").toString(), out.toString());

    assertThat(run.stdout()).isEqualTo("body 0\nbody 1\nbody 2\nbody 3\nbody 5\n");
    assertThat(run.stderrLines()).contains("#4 GET http://h/4: HTTP error status: 503");
    assertThat(run.status()).isEqualTo(1);
  }

  @Test
  void writesTheFileOnlyWhenCompleteAndExitsZeroWhenAllSucceeded() throws Exception {
    part("p.jsonl", ok(0, "a", "x"), ok(1, "b", "y"));
    Path merged = tmp.resolve("all.jsonl");

    CliRun run = CliRun.of("merge", "-o", merged.toString(), tmp.resolve("out").toString());

    assertThat(run.status()).isZero();
    assertThat(Files.readAllLines(merged)).hasSize(2);
    try (var files = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .as("no temporary file left")
          .containsExactlyInAnyOrder("out", "all.jsonl");
    }
  }

  @Test
  void missingSeqIsOneLineNamingItWithStatusTwoAndNoOutputFile() throws Exception {
    part("p.jsonl", ok(0, "a", "x"), ok(2, "b", "y"));
    Path merged = tmp.resolve("all.jsonl");

    CliRun run = CliRun.of("merge", "-o", merged.toString(), tmp.resolve("out").toString());

    assertThat(run.status()).isEqualTo(2);
    assertThat(run.stderrLines())
        .singleElement()
        .asString()
        .startsWith("fetchflux merge: seq 1 is missing: the next record is seq 2 at ");
    assertThat(merged).doesNotExist();
  }

  @Test
  void duplicateSeqIsOneLineNamingItWithStatusTwo() throws Exception {
    part("p.jsonl", ok(0, "a", "x"), ok(1, "b", "y"));
    part("q.jsonl", ok(1, "b", "y"));

    CliRun run = CliRun.of("merge", tmp.resolve("out").toString());

    assertThat(run.status()).isEqualTo(2);
    assertThat(run.stderrLines())
        .singleElement()
        .asString()
        .startsWith("fetchflux merge: seq 1 appears twice: ");
  }

  @Test
  void rawNeedsTheBodyDirectory() {
    CliRun run = CliRun.of("merge", "--raw", tmp.toString());

    assertThat(run.status()).isEqualTo(2);
    assertThat(run.stderr()).contains("option '--raw' needs --bodies DIR");
  }

  @Test
  void aMissingInputIsStatusTwo() {
    CliRun run = CliRun.of("merge", tmp.resolve("nope").toString());

    assertThat(run.status()).isEqualTo(2);
    assertThat(run.stderr()).contains("no such file or directory: " + tmp.resolve("nope"));
  }
}
