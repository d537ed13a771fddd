package dev.fetchflux.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@Timeout(10)
class MergePartsTest {

  @TempDir Path tmp;

  private static String line(long seq) {
    return new FetchRecord(seq, "http://h/" + seq, "http://h/" + seq, 200, 1, "ab", null,
        1_700_000_000_000L, 1.5, 2.5, 1, 0, null, null).toJson();
  }

  private Path part(String name, long... seqs) throws Exception {
    List<String> lines = new ArrayList<>();
    for (long s : seqs) {
      lines.add(line(s));
    }
    Path p = tmp.resolve(name);
    Files.write(p, lines);
    return p;
  }

  private static List<String> linesOf(ByteArrayOutputStream out) {
    return out.toString(StandardCharsets.UTF_8).lines().toList();
  }

  @Test
  void mergesSortedPartsIntoOneFileInSeqOrder() throws Exception {
    List<Path> parts = List.of(part("a.jsonl", 0, 3, 4, 8), part("b.jsonl", 1, 2, 7),
        part("c.jsonl", 5, 6, 9));
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    MergeParts.Summary summary = MergeParts.merge(parts, out, null);

    assertThat(linesOf(out)).containsExactlyElementsOf(
        LongStream.range(0, 10).mapToObj(MergePartsTest::line).toList());
    assertThat(summary).isEqualTo(new MergeParts.Summary(3, 10, 0, 0, -1));
  }

  @Test
  void writesARepeatedSeqOnceAndCountsTheDuplicate() throws Exception {
    Path a = part("a.jsonl", 0, 1, 2);
    Path b = tmp.resolve("b.jsonl");
    String otherOne = line(1).replace("http://h/1", "http://other/1");
    Files.write(b, List.of(otherOne, line(3)));
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    MergeParts.Summary summary = MergeParts.merge(List.of(a, b), out, null);

    assertThat(linesOf(out)).containsExactly(line(0), line(1), line(2), line(3));
    assertThat(summary.duplicates()).isEqualTo(1);
    assertThat(summary.complete()).isTrue();
  }

  @Test
  void countsMissingSeqsUpToTheExpectedCount() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    MergeParts.Summary summary = MergeParts.merge(List.of(part("a.jsonl", 0, 2)), out, 5L);

    assertThat(summary).isEqualTo(new MergeParts.Summary(1, 2, 0, 3, 1));
    assertThat(summary.complete()).isFalse();
  }

  @Test
  void rejectsAPartThatIsNotSortedNamingFileAndLine() throws Exception {
    Path a = part("a.jsonl", 0, 2, 1);

    assertThatThrownBy(() -> MergeParts.merge(List.of(a), new ByteArrayOutputStream(), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(a + ":3")
        .hasMessageContaining("not sorted by seq (1 after 2)");
  }

  @Test
  void findsSeqWhereverItStandsInTheObject() throws Exception {
    Path a = tmp.resolve("a.jsonl");
    Files.write(a, List.of("{\"url\":\"x\",\"nested\":{\"seq\":99},\"seq\":1}"));
    Path b = part("b.jsonl", 0);
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    MergeParts.merge(List.of(a, b), out, null);

    assertThat(linesOf(out)).containsExactly(line(0),
        "{\"url\":\"x\",\"nested\":{\"seq\":99},\"seq\":1}");
  }

  @Test
  void findsCommittedPartsInDirectoriesAndSkipsHiddenInProgressFiles() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("out"));
    Path committed = Files.writeString(dir.resolve("part-1-0.jsonl"), line(0) + "\n");
    Files.writeString(dir.resolve(".part-1-1.jsonl.inprogress.0f2c"), line(1) + "\n");
    Files.writeString(dir.resolve("notes.txt"), "not a part\n");

    assertThat(MergeParts.findParts(List.of(dir))).containsExactly(committed);
  }

  private int run(StringWriter err, String... args) {
    CommandLine cmd = new CommandLine(new MergeParts());
    cmd.setErr(new PrintWriter(err, true));
    return cmd.execute(args);
  }

  @Test
  void commandWritesTheMergedFileAndExitsZeroWhenComplete() throws Exception {
    part("a.jsonl", 0, 2);
    part("b.jsonl", 1);
    Path merged = tmp.resolve("merged").resolve("all.json");
    Files.createDirectories(merged.getParent());
    StringWriter err = new StringWriter();

    int code = run(err, "-o", merged.toString(), "--expect", "3",
        tmp.resolve("a.jsonl").toString(), tmp.resolve("b.jsonl").toString());

    assertThat(code).isZero();
    assertThat(Files.readAllLines(merged)).containsExactly(line(0), line(1), line(2));
    assertThat(err.toString()).contains("3 records from 2 parts; 0 duplicates dropped; 0 missing");
    try (var files = Files.list(merged.getParent())) {
      assertThat(files).as("no temporary file left").containsExactly(merged);
    }
  }

  @Test
  void commandExitsOneWhenSeqsAreMissing() throws Exception {
    StringWriter err = new StringWriter();
    Path merged = tmp.resolve("all.jsonl");

    int code = run(err, "-o", merged.toString(), part("a.jsonl", 0, 3).toString());

    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).contains("2 missing (first: seq 1)");
  }

  @Test
  void commandExitsTwoOnAnUnsortedPartAndLeavesNoOutput() throws Exception {
    StringWriter err = new StringWriter();
    Path merged = tmp.resolve("all.jsonl");

    int code = run(err, "-o", merged.toString(), part("a.jsonl", 1, 0).toString());

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("not sorted by seq");
    assertThat(merged).doesNotExist();
  }
}
