package dev.fetchflux.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.Body;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The k-way merge behind {@code fetchflux merge}, on hand-written parts. */
@Timeout(10)
class MergePartsTest {

  @TempDir Path tmp;

  static String line(long seq) {
    return new FetchRecord(
            seq,
            "http://h/" + seq,
            "http://h/" + seq,
            200,
            1,
            "ab",
            null,
            1_700_000_000_000L,
            1.5,
            2.5,
            1,
            0,
            null,
            null)
        .toJson();
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
    List<Path> parts =
        List.of(part("a.jsonl", 0, 3, 4, 8), part("b.jsonl", 1, 2, 7), part("c.jsonl", 5, 6, 9));
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    MergeParts.Summary summary = MergeParts.merge(parts, out, null);

    assertThat(linesOf(out))
        .containsExactlyElementsOf(LongStream.range(0, 10).mapToObj(MergePartsTest::line).toList());
    assertThat(summary).isEqualTo(new MergeParts.Summary(3, 10, 0, out.size()));
  }

  @Test
  void aRepeatedSeqStopsTheMergeNamingItAndBothPlaces() throws Exception {
    Path a = part("a.jsonl", 0, 1, 2);
    Path b = part("b.jsonl", 1, 3);

    assertThatThrownBy(() -> MergeParts.merge(List.of(a, b), new ByteArrayOutputStream(), null))
        .isInstanceOf(MergeParts.MergeException.class)
        .hasMessage("seq 1 appears twice: " + a + ":2 and " + b + ":1");
  }

  @Test
  void aMissingSeqStopsTheMergeNamingTheFirstOne() throws Exception {
    Path a = part("a.jsonl", 0, 1, 4);
    Path b = part("b.jsonl", 5);

    assertThatThrownBy(() -> MergeParts.merge(List.of(a, b), new ByteArrayOutputStream(), null))
        .isInstanceOf(MergeParts.MergeException.class)
        .hasMessage("seq 2 is missing: the next record is seq 4 at " + a + ":3");
  }

  @Test
  void expectedCountFindsMissingSeqsAtTheEndAndSeqsBeyondIt() throws Exception {
    Path a = part("a.jsonl", 0, 1);

    assertThatThrownBy(() -> MergeParts.merge(List.of(a), new ByteArrayOutputStream(), 5L))
        .hasMessage("seq 2 is missing: the parts end at seq 1 and 5 inputs were expected");
    assertThatThrownBy(() -> MergeParts.merge(List.of(a), new ByteArrayOutputStream(), 1L))
        .hasMessage("seq 1 at " + a + ":2 is beyond the expected 1 inputs");
    assertThat(MergeParts.merge(List.of(a), new ByteArrayOutputStream(), 2L).records())
        .isEqualTo(2);
  }

  @Test
  void rejectsAPartThatIsNotSortedNamingFileAndLine() throws Exception {
    Path a = part("a.jsonl", 0, 2, 1);
    Path b = part("b.jsonl", 1);

    assertThatThrownBy(() -> MergeParts.merge(List.of(a, b), new ByteArrayOutputStream(), null))
        .isInstanceOf(MergeParts.MergeException.class)
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

    assertThat(linesOf(out))
        .containsExactly(line(0), "{\"url\":\"x\",\"nested\":{\"seq\":99},\"seq\":1}");
  }

  @Test
  void findsCommittedPartsInDirectoriesAndSkipsHiddenInProgressFiles() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("out"));
    Path committed = Files.writeString(dir.resolve("part-1-0.jsonl"), line(0) + "\n");
    Files.writeString(dir.resolve(".part-1-1.jsonl.inprogress.0f2c"), line(1) + "\n");
    Files.writeString(dir.resolve("notes.txt"), "not a part\n");

    assertThat(MergeParts.findParts(List.of(dir))).containsExactly(committed);
    assertThatThrownBy(() -> MergeParts.findParts(List.of(tmp.resolve("nope"))))
        .isInstanceOf(NoSuchFileException.class);
  }

  /** A success record whose body is stored in {@code bodies} as the job stores it. */
  private static String stored(BodyStore store, long seq, String content) throws Exception {
    Body body = Body.of(content.getBytes(StandardCharsets.UTF_8));
    String sha = store.store(seq, body);
    return new FetchRecord(
            seq,
            "http://h/" + seq,
            "http://h/" + seq,
            200,
            content.getBytes(StandardCharsets.UTF_8).length,
            sha,
            BodyStore.relativeName(seq),
            1_700_000_000_000L,
            1,
            2,
            1,
            0,
            null,
            null)
        .toJson();
  }

  @Test
  void bodiesComeOutInSeqOrderAndFailuresAreReportedNotWritten() throws Exception {
    Path bodies = tmp.resolve("bodies");
    BodyStore store = new BodyStore(bodies);
    Path a = tmp.resolve("a.jsonl");
    Path b = tmp.resolve("b.jsonl");
    String failure =
        new FetchRecord(
                1,
                "http://h/1",
                null,
                500,
                0,
                null,
                null,
                0,
                1,
                2,
                1,
                0,
                "HTTP_STATUS",
                "HTTP error status: 500")
            .toJson();
    Files.write(a, List.of(stored(store, 0, "zero;"), stored(store, 3, "three.")));
    Files.write(b, List.of(failure, stored(store, 2, "two;")));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<FetchRecord> failed = new ArrayList<>();

    MergeParts.Summary summary =
        MergeParts.mergeBodies(List.of(a, b), bodies, out, 4L, failed::add);

    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("zero;two;three.");
    assertThat(failed).extracting(FetchRecord::seq).containsExactly(1L);
    assertThat(summary).isEqualTo(new MergeParts.Summary(2, 4, 1, 15));
  }

  @Test
  void aBodyFileThatDoesNotMatchItsRecordStopsTheMerge() throws Exception {
    Path bodies = tmp.resolve("bodies");
    BodyStore store = new BodyStore(bodies);
    Path a = tmp.resolve("a.jsonl");
    Files.write(a, List.of(stored(store, 0, "complete body")));
    Files.writeString(bodies.resolve(BodyStore.relativeName(0)), "complete bo"); // cut short

    assertThatThrownBy(
            () ->
                MergeParts.mergeBodies(
                    List.of(a), bodies, new ByteArrayOutputStream(), null, r -> {}))
        .isInstanceOf(MergeParts.MergeException.class)
        .hasMessageContaining("seq 0: body file")
        .hasMessageContaining("does not match its record (11 bytes");

    Files.delete(bodies.resolve(BodyStore.relativeName(0)));
    assertThatThrownBy(
            () ->
                MergeParts.mergeBodies(
                    List.of(a), bodies, new ByteArrayOutputStream(), null, r -> {}))
        .hasMessageStartingWith("seq 0: body file missing: ");
  }

  @Test
  void bodiesNeedTheJobToHaveStoredThem() throws Exception {
    Path a = part("a.jsonl", 0);

    assertThatThrownBy(
            () ->
                MergeParts.mergeBodies(List.of(a), tmp, new ByteArrayOutputStream(), null, r -> {}))
        .hasMessageContaining("seq 0 has no body file (run the job with --bodies DIR");
  }
}
