package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.TestServerExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code --resume} and {@code --jsonl-file} in-process: usage, refusals, exit status, summary. */
@Timeout(60)
class ResumeCommandTest {
  @RegisterExtension static final TestServerExtension server = new TestServerExtension();

  @TempDir Path tmp;

  private static String url(String path) {
    return server.url(path);
  }

  private static void assertOneLineError(CliRun run, String... parts) {
    assertThat(run.status()).isEqualTo(2);
    assertThat(run.stdoutBytes()).isEmpty();
    assertThat(run.stderrLines())
        .singleElement()
        .asString()
        .startsWith("fetchflux: ")
        .contains(parts);
  }

  @Test
  void resumeWithoutAFileOrDirectoryToContinueIsAUsageError() {
    assertOneLineError(
        CliRun.of("--resume", "--jsonl", url("/echo?never")),
        "option '--resume' needs the output to continue: -o DIR or --jsonl-file FILE");
    assertThat(server.requests()).noneMatch(r -> r.uri().equals("/echo?never"));
  }

  @Test
  void resumeWithUnorderedIsAUsageError() {
    assertOneLineError(
        CliRun.of("--resume", "--unordered", "-o", tmp.toString(), url("/echo")),
        "option '--resume' cannot be used with --unordered");
  }

  @Test
  void jsonlFileWithAnOutputDirectoryIsAUsageError() {
    assertOneLineError(
        CliRun.of(
            "--jsonl-file", tmp.resolve("r.jsonl").toString(), "-o", tmp.toString(), url("/echo")),
        "'--jsonl-file' and '--output-dir' (-o)");
  }

  @Test
  void outputOfAnotherInputListIsRefusedUntouchedAndNothingIsFetched() throws IOException {
    Path file = tmp.resolve("results.jsonl");
    assertThat(CliRun.of("-s", "--jsonl-file", file.toString(), url("/echo?first")).status())
        .isZero();
    String before = Files.readString(file);

    CliRun other = CliRun.of("--resume", "--jsonl-file", file.toString(), url("/echo?other"));

    assertOneLineError(
        other,
        "cannot resume "
            + file
            + ": its first record does not belong to "
            + "these inputs: it is for '"
            + url("/echo?first")
            + "', input 0 is '"
            + url("/echo?other")
            + "'");
    assertThat(Files.readString(file)).isEqualTo(before);
    assertThat(server.requests()).noneMatch(r -> r.uri().equals("/echo?other"));
  }

  @Test
  void aFinishedOutputFetchesNothingAndItsFailuresStillMakeStatusOne() throws IOException {
    Path file = tmp.resolve("results.jsonl");
    String[] urls = {url("/echo?done"), url("/status/500?done")};
    assertThat(CliRun.of("-s", "-f", "--jsonl-file", file.toString(), urls[0], urls[1]).status())
        .isEqualTo(1);
    String before = Files.readString(file);
    int requests = server.requests().size();

    CliRun again = CliRun.of("-f", "--resume", "--jsonl-file", file.toString(), urls[0], urls[1]);

    assertThat(again.status()).isEqualTo(1);
    assertThat(server.requests()).hasSize(requests);
    assertThat(Files.readString(file)).isEqualTo(before);
    assertThat(again.stderrLines()).hasSize(2);
    assertThat(again.stderrLines().get(0))
        .isEqualTo("fetchflux: resuming " + file + " after 2 records");
    assertThat(again.stderrLines().get(1))
        .matches("0 URLs, 0 ok, 0 failed, 0 B, [0-9.]+ s \\(resumed: 2 kept, 1 of them failed\\)");
  }

  @Test
  void resumeWithoutAPreviousOutputStartsAfresh() throws IOException {
    Path dir = tmp.resolve("new");

    CliRun run = CliRun.of("-s", "--resume", "-o", dir.toString(), url("/echo?fresh"));

    assertThat(run.status()).isZero();
    assertThat(Files.readAllLines(dir.resolve(DirectorySink.MANIFEST))).hasSize(1);
  }

  @Test
  void jsonlFileIsReplacedWithoutResumeAndDashIsStdout() throws IOException {
    Path file = Files.writeString(tmp.resolve("results.jsonl"), "old\nlines\n");

    assertThat(CliRun.of("-s", "--jsonl-file", file.toString(), url("/echo?new")).status())
        .isZero();
    CliRun dash = CliRun.of("-s", "--jsonl-file", "-", url("/echo?new"));

    List<String> lines = Files.readAllLines(file);
    assertThat(lines)
        .singleElement()
        .asString()
        .startsWith(
            "{\"index\":0,\"url\":\"" + url("/echo?new") + "\",\"method\":\"GET\",\"ok\":true,");
    assertThat(dash.status()).isZero();
    assertThat(dash.stdout()).startsWith("{\"index\":0,");
  }
}
