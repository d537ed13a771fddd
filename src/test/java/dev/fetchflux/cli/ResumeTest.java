package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.Body;
import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Headers;
import dev.fetchflux.Timings;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.scheduler.Scheduler;

/**
 * {@code --resume}'s check of a previous output against the inputs, on files written by the real
 * writers: what is kept, what is discarded, what is refused, and what the file and directory look
 * like afterwards.
 */
@Timeout(30)
class ResumeTest {
  private static final List<String> URLS =
      List.of("http://h/a", "http://h/b.txt", "http://h/c", "http://h/d", "http://h/e");

  @TempDir Path tmp;

  private final Scheduler reader = BlockingThreads.single("test-input");
  private final List<Resume> opened = new ArrayList<>();

  @AfterEach
  void close() {
    opened.forEach(Resume::close);
    reader.dispose();
  }

  // ---- records written by the real writers ----

  private static FetchResult.Success success(int index, String body) {
    URI uri = URI.create(URLS.get(index));
    return new FetchResult.Success(
        index,
        FetchRequest.get(uri),
        uri,
        200,
        Headers.empty(),
        Body.of(body),
        Timings.none(),
        1,
        0);
  }

  private static FetchResult.Failure failure(int index) {
    String url = URLS.get(index);
    FetchException e =
        new FetchException(
            index,
            url,
            URI.create(url),
            "GET",
            FetchException.Kind.CONNECTION_RESET,
            1,
            0,
            "reset",
            null);
    return new FetchResult.Failure(index, url, URI.create(url), e, Timings.none());
  }

  /** JSON lines as {@code --jsonl-file} writes them, one per result. */
  private static List<String> jsonl(FetchResult... results) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonLines lines = new JsonLines(out);
    for (FetchResult r : results) {
      lines.write(
          r,
          "GET",
          r instanceof FetchResult.Failure f ? f.error().getMessage() : null,
          false,
          null);
    }
    lines.close();
    return Arrays.asList(out.toString(StandardCharsets.UTF_8).split("(?<=\n)"));
  }

  private Path file(List<String> lines) throws IOException {
    return Files.writeString(tmp.resolve("results.jsonl"), String.join("", lines));
  }

  /** {@code -o DIR} as the real sink leaves it: body files and the manifest. */
  private Path directory(FetchResult... results) throws IOException {
    Path dir = tmp.resolve("out");
    DirectorySink sink = DirectorySink.open(dir, null);
    for (FetchResult r : results) {
      sink.write(r, "GET", r instanceof FetchResult.Failure f ? f.error().getMessage() : null);
    }
    sink.close();
    return dir;
  }

  private Resume open(Path file, @Nullable Path dir) throws IOException {
    return open(file, dir, false);
  }

  private Resume open(Path file, @Nullable Path dir, boolean failFast) throws IOException {
    Resume resume = Resume.open(file, dir, false, failFast);
    assertThat(resume).as("previous output found").isNotNull();
    opened.add(resume);
    return resume;
  }

  private Inputs inputs(List<String> urls) {
    return new Inputs(urls, List.of(), reader);
  }

  /** Skips what {@code resume} keeps; returns the inputs left to fetch. */
  private List<Object> skip(Inputs inputs, Resume resume) throws IOException {
    inputs.skip(resume::check);
    resume.inputsEnded();
    return inputs.flux(n -> {}).collectList().block(Duration.ofSeconds(5));
  }

  // ---- the JSONL file ----

  @Test
  void keepsWholeRecordsAndDiscardsATornLastLine() throws IOException {
    List<String> records = jsonl(success(0, "a"), failure(1), success(2, "c"), success(3, "d"));
    String torn = records.get(3).substring(0, records.get(3).length() / 2);
    Path file = file(List.of(records.get(0), records.get(1), records.get(2), torn));
    Resume resume = open(file, null);
    Inputs inputs = inputs(URLS);

    assertThat(skip(inputs, resume)).containsExactly("http://h/d", "http://h/e");
    assertThat(resume.kept()).isEqualTo(3);
    assertThat(resume.keptFailures()).isEqualTo(1);
    assertThat(resume.discarded()).isEqualTo("line 4 and after: cut short (no newline at its end)");
    resume.finish().channel().close();
    assertThat(Files.readString(file)).isEqualTo(String.join("", records.subList(0, 3)));
  }

  @Test
  void remainingInputsAreNumberedOnFromTheKeptRecords() throws IOException {
    Path file = file(jsonl(success(0, "a"), success(1, "b")));
    Resume resume = open(file, null);
    Inputs inputs =
        new Inputs(
            List.of(),
            List.of(
                new Inputs.Source(
                    "urls.txt",
                    new ByteArrayInputStream(
                        "http://h/a\n# comment\nhttp://h/b.txt\nnot a url\n"
                            .getBytes(StandardCharsets.UTF_8)),
                    null)),
            reader);

    assertThat(skip(inputs, resume)).containsExactly("not a url");
    assertThat(resume.kept()).isEqualTo(2);
    assertThat(resume.discarded()).isNull();
    // The malformed line is input 2, so its failure (index 2) finds where it came from.
    assertThat(inputs.origin(2)).hasToString("urls.txt line 4");
  }

  @Test
  void aRecordForAnotherUrlEndsTheKeptPrefix() throws IOException {
    List<String> records = jsonl(success(0, "a"), success(1, "b"), success(2, "c"));
    Path file = file(records);
    Resume resume = open(file, null);
    List<String> changed = new ArrayList<>(URLS);
    changed.set(2, "http://h/changed");

    assertThat(skip(inputs(changed), resume)).startsWith("http://h/changed");
    assertThat(resume.kept()).isEqualTo(2);
    assertThat(resume.discarded())
        .isEqualTo("line 3 and after: it is for 'http://h/c', input 2 " + "is 'http://h/changed'");
    resume.finish().channel().close();
    assertThat(Files.readString(file)).isEqualTo(records.get(0) + records.get(1));
  }

  @Test
  void anIndexGapEndsTheKeptPrefix() throws IOException {
    List<String> records = jsonl(success(0, "a"), success(1, "b"), success(3, "d"));
    Resume resume = open(file(records), null);

    assertThat(skip(inputs(URLS), resume)).startsWith("http://h/c");
    assertThat(resume.kept()).isEqualTo(2);
    assertThat(resume.discarded()).isEqualTo("line 3 and after: its index is 3, expected 2");
  }

  @Test
  void aLineThatIsNotARecordEndsTheKeptPrefix() throws IOException {
    List<String> records = new ArrayList<>(jsonl(success(0, "a")));
    records.add("{\"index\":1,\"url\":\"http://h/b.txt\"}\n");
    Resume resume = open(file(records), null);

    skip(inputs(URLS), resume);
    assertThat(resume.kept()).isEqualTo(1);
    assertThat(resume.discarded())
        .isEqualTo("line 2 and after: not a record: no \"index\", \"url\" or \"ok\"");
  }

  @Test
  void aFirstRecordOfAnotherInputListIsRefusedAndTheFileLeftAlone() throws IOException {
    List<String> records = jsonl(success(0, "a"), success(1, "b"));
    Path file = file(records);
    Resume resume = open(file, null);

    assertThatThrownBy(() -> inputs(List.of("http://h/other")).skip(resume::check))
        .isInstanceOf(Resume.Refused.class)
        .hasMessage(
            "cannot resume "
                + file
                + ": its first record does not belong to these "
                + "inputs: it is for 'http://h/a', input 0 is 'http://h/other' (remove it, or run "
                + "without --resume, to start over)");
    assertThat(Files.readString(file)).isEqualTo(String.join("", records));
  }

  @Test
  void anUnorderedOutputIsRefusedWithAHint() throws IOException {
    Resume resume = open(file(jsonl(success(3, "d"), success(0, "a"))), null);

    assertThatThrownBy(() -> inputs(URLS).skip(resume::check))
        .isInstanceOf(Resume.Refused.class)
        .hasMessageContaining(
            "its index is 3, expected 0 (an --unordered run's output cannot be " + "resumed)");
  }

  @Test
  void moreRecordsThanInputsIsRefused() throws IOException {
    Resume resume = open(file(jsonl(success(0, "a"), success(1, "b"), success(2, "c"))), null);
    Inputs inputs = inputs(URLS.subList(0, 2));
    inputs.skip(resume::check);

    assertThatThrownBy(resume::inputsEnded)
        .isInstanceOf(Resume.Refused.class)
        .hasMessageEndingWith(
            "it has more records than there are inputs (2); was it written "
                + "for a longer input list?");
  }

  @Test
  void aFailureKeptWithFailFastEndsTheRunThere() throws IOException {
    Resume resume = open(file(jsonl(success(0, "a"), failure(1))), null, true);

    assertThat(skip(inputs(URLS), resume)).isEmpty();
    assertThat(resume.kept()).isEqualTo(2);
    assertThat(resume.keptFailures()).isEqualTo(1);
  }

  @Test
  void aMethodThatDiffersIsAnotherInputList() throws IOException {
    FetchRequest post = FetchRequest.builder(URI.create("http://h/a")).method("POST").build();
    Path file = file(jsonl(success(0, "a")));
    Resume resume = open(file, null);
    Inputs inputs =
        new Inputs(
            List.of(),
            List.of(
                new Inputs.Source(
                    "calls.jsonl",
                    new ByteArrayInputStream(
                        ("{\"url\": \"http://h/a\", \"method\": \"POST\"}\n")
                            .getBytes(StandardCharsets.UTF_8)),
                    null)),
            Inputs.Format.JSONL,
            reader);

    assertThat(Resume.methodOf(post)).isEqualTo("POST");
    assertThatThrownBy(() -> inputs.skip(resume::check))
        .isInstanceOf(Resume.Refused.class)
        .hasMessageContaining("it is a GET, input 0 a POST");
  }

  @Test
  void recordsWithBodiesAreNotContinuedWithout() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonLines lines = new JsonLines(out, true);
    lines.write(success(0, "a"), "GET", null, false, null);
    lines.close();
    Resume resume = open(Files.write(tmp.resolve("bodies.jsonl"), out.toByteArray()), null);

    assertThatThrownBy(() -> inputs(URLS).skip(resume::check))
        .isInstanceOf(Resume.Refused.class)
        .hasMessageContaining("it was written with --jsonl-body");
  }

  @Test
  void noPreviousOutputMeansAFreshStart() throws IOException {
    assertThat(Resume.open(tmp.resolve("missing.jsonl"), null, false, false)).isNull();
  }

  @Test
  void anOutputInUseByAnotherRunIsRefused() throws IOException {
    Path file = file(jsonl(success(0, "a")));
    open(file, null);

    assertThatThrownBy(() -> Resume.open(file, null, false, false))
        .isInstanceOf(Resume.Refused.class)
        .hasMessage(
            "cannot resume "
                + file
                + ": "
                + file
                + " is being written by another run "
                + "(it is locked)");
  }

  // ---- the output directory ----

  @Test
  void aMissingBodyFileEndsTheKeptPrefixAndFilesPastItAreRemoved() throws IOException {
    Path dir = directory(success(0, "a"), success(1, "bb"), failure(2), success(3, "dddd"));
    Files.delete(dir.resolve(SafeNames.of(1, URI.create(URLS.get(1)))));
    Files.writeString(dir.resolve(".fetchflux-0123abcd-7.part"), "half");
    Path mine = Files.writeString(dir.resolve("notes.txt"), "the user's");
    Resume resume = open(dir.resolve(DirectorySink.MANIFEST), dir);

    assertThat(skip(inputs(URLS), resume)).startsWith("http://h/b.txt");
    assertThat(resume.kept()).isEqualTo(1);
    assertThat(resume.discarded())
        .isEqualTo(
            "line 2 and after: its file "
                + SafeNames.of(1, URI.create(URLS.get(1)))
                + " is missing");
    Resume.Finished finished = resume.finish();
    finished.channel().close();
    // The temporary file and the body file of the discarded record 3.
    assertThat(finished.removed()).isEqualTo(2);
    try (Stream<Path> entries = Files.list(dir)) {
      assertThat(entries.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder(
              DirectorySink.MANIFEST, SafeNames.of(0, URI.create(URLS.get(0))), "notes.txt");
    }
    assertThat(Files.readString(mine)).isEqualTo("the user's");
    assertThat(Files.readAllLines(dir.resolve(DirectorySink.MANIFEST))).hasSize(1);
  }

  @Test
  void aBodyFileOfAnotherSizeEndsTheKeptPrefix() throws IOException {
    Path dir = directory(success(0, "a"), success(1, "bb"), success(2, "ccc"));
    String name = SafeNames.of(1, URI.create(URLS.get(1)));
    Files.writeString(dir.resolve(name), "b");
    Resume resume = open(dir.resolve(DirectorySink.MANIFEST), dir);

    skip(inputs(URLS), resume);
    assertThat(resume.kept()).isEqualTo(1);
    assertThat(resume.discarded())
        .isEqualTo("line 2 and after: its file " + name + " has 1 bytes, the record says 2");
  }

  @Test
  void aBodyFileReplacedByALinkIsNotTrusted() throws IOException {
    Path dir = directory(success(0, "a"), success(1, "bb"));
    Path body = dir.resolve(SafeNames.of(1, URI.create(URLS.get(1))));
    Path elsewhere = Files.writeString(tmp.resolve("elsewhere"), "bb");
    Files.delete(body);
    Files.createSymbolicLink(body, elsewhere);
    Resume resume = open(dir.resolve(DirectorySink.MANIFEST), dir);

    skip(inputs(URLS), resume);
    assertThat(resume.kept()).isEqualTo(1);
    resume.finish().channel().close();
    // The link itself is removed; what it pointed to is not touched.
    assertThat(Files.exists(body, java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
    assertThat(Files.readString(elsewhere)).isEqualTo("bb");
  }

  @Test
  void aCompleteDirectoryKeepsEverythingAndFetchesNothing() throws IOException {
    Path dir = directory(success(0, "a"), success(1, "bb"), failure(2));
    Resume resume = open(dir.resolve(DirectorySink.MANIFEST), dir);

    assertThat(skip(inputs(URLS.subList(0, 3)), resume)).isEmpty();
    assertThat(resume.kept()).isEqualTo(3);
    assertThat(resume.keptFailures()).isEqualTo(1);
    assertThat(resume.discarded()).isNull();
  }

  @Test
  void aManifestOfADirectoryIsNotAJsonlFile() throws IOException {
    Path dir = directory(success(0, "a"));
    Resume resume = open(dir.resolve(DirectorySink.MANIFEST), null);

    assertThatThrownBy(() -> inputs(URLS).skip(resume::check))
        .isInstanceOf(Resume.Refused.class)
        .hasMessageContaining("it has a \"file\" (a manifest of -o, not a --jsonl-file)");
  }
}
