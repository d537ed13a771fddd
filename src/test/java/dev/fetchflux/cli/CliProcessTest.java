package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fetchflux.support.Await;
import dev.fetchflux.support.Ports;
import dev.fetchflux.testing.TestServer;
import dev.fetchflux.testing.TestServerExtension;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** End to end: the launcher as a process against a real {@link TestServer}. */
@Timeout(120)
class CliProcessTest {
  private static final Duration EXIT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final TestServerExtension server = new TestServerExtension(() -> DemoServer.start(0));

  private static String url(String path) {
    return server.url(path);
  }

  @Test
  void bodiesComeOutInInputOrderWhenLaterUrlsFinishFirst() {
    List<String> args = new ArrayList<>(List.of("-s"));
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 30; i++) {
      String path = "/delay/" + (300 - i * 10) + "?i=" + i;
      args.add(url(path));
      expected.append(path);
    }
    try (LauncherProcess p = LauncherProcess.start(args.toArray(String[]::new))) {
      assertThat(p.waitFor(EXIT)).isZero();
      assertThat(p.stdout()).isEqualTo(expected.toString());
      assertThat(p.stderr()).isEmpty();
    }
  }

  @Test
  void stdinIsStreamedSoOutputStartsBeforeInputEnds() throws IOException {
    try (LauncherProcess p = LauncherProcess.start("-s")) {
      p.stdin()
          .write((url("/item/0") + "\n" + url("/item/1") + "\n").getBytes(StandardCharsets.UTF_8));
      p.stdin().flush();
      // stdin is still open: both results must be out already.
      p.awaitStdout(out -> out.contains("item   1"), EXIT);
      p.stdin().write((url("/item/2") + "\n").getBytes(StandardCharsets.UTF_8));
      p.closeStdin();
      assertThat(p.waitFor(EXIT)).isZero();
      assertThat(p.stdout().lines().map(l -> l.substring(0, 8)))
          .containsExactly("item   0", "item   1", "item   2");
    }
  }

  @Test
  void jsonlRequestsAreStreamedFromStdinAndTheirRecordsCarryTheBodies() throws IOException {
    try (LauncherProcess p =
        LauncherProcess.start("-s", "--input-format", "jsonl", "--jsonl", "--jsonl-body")) {
      p.stdin()
          .write(
              ("{\"url\": \""
                      + url("/echo?posted")
                      + "\", \"method\": \"POST\", "
                      + "\"headers\": {\"X-Batch\": \"7\"}, \"body\": \"payload\"}\n")
                  .getBytes(StandardCharsets.UTF_8));
      p.stdin().flush();
      // stdin is still open: the first request went out and its record came back already.
      p.awaitStdout(out -> out.contains("\n"), EXIT);
      p.stdin().write("{\"url\": 1}\n".getBytes(StandardCharsets.UTF_8));
      p.closeStdin();
      assertThat(p.waitFor(EXIT)).isEqualTo(1);
      List<String> lines = p.stdout().lines().toList();
      assertThat(lines).hasSize(2);
      JsonNode posted = JSON.readTree(lines.get(0));
      assertThat(posted.get("ok").asBoolean()).isTrue();
      assertThat(posted.get("body").asText()).isEqualTo("/echo?posted");
      assertThat(posted.get("body_encoding").asText()).isEqualTo("utf-8");
      JsonNode bad = JSON.readTree(lines.get(1));
      assertThat(bad.get("error").get("message").asText()).endsWith("(stdin line 2)");
      assertThat(p.stderr()).contains("fetchflux: #1 GET <stdin line 2>: invalid request: ");
    }
    var sent = server.requests().stream().filter(r -> r.uri().equals("/echo?posted")).toList();
    assertThat(sent).hasSize(1);
    assertThat(sent.get(0).method()).isEqualTo("POST");
    assertThat(sent.get(0).headers().first("x-batch")).isEqualTo("7");
    assertThat(sent.get(0).body().asString()).isEqualTo("payload");
  }

  @Test
  void keepsGoingThroughMixedFailuresWithOneStderrLineEach() throws IOException {
    int closed = Ports.closedPort();
    try (LauncherProcess p =
        LauncherProcess.start(
            "-f",
            url("/echo?a"),
            url("/reset"),
            "http://bad host/",
            url("/status/404"),
            "http://127.0.0.1:" + closed + "/x",
            url("/truncate/100"),
            url("/echo?b"))) {
      assertThat(p.waitFor(EXIT)).isEqualTo(1);
      assertThat(p.stdoutBytes()).isEqualTo("/echo?a/echo?b".getBytes(StandardCharsets.UTF_8));
      List<String> lines = p.stderrLines();
      // Exactly one line per failure and the summary: no reactor or Netty log lines.
      assertThat(lines).hasSize(6);
      assertThat(lines.get(0))
          .startsWith("fetchflux: #1 GET " + url("/reset") + ": connection reset");
      assertThat(lines.get(1))
          .isEqualTo(
              "fetchflux: #2 GET http://bad host/: invalid request: "
                  + "malformed URL 'http://bad host/': Illegal character in authority at index 7");
      assertThat(lines.get(2))
          .isEqualTo("fetchflux: #3 GET " + url("/status/404") + ": HTTP error status: 404");
      assertThat(lines.get(3))
          .startsWith("fetchflux: #4 GET http://127.0.0.1:" + closed + "/x: connection refused");
      assertThat(lines.get(4)).startsWith("fetchflux: #5 GET " + url("/truncate/100") + ": ");
      assertThat(lines.get(5)).matches("7 URLs, 2 ok, 5 failed, 14 B, [0-9.]+ s");
    }
  }

  @Test
  void jsonlRecordsParseBackWithEveryField() throws IOException {
    try (LauncherProcess p =
        LauncherProcess.start("-s", "--jsonl", url("/item/3"), url("/reset"))) {
      assertThat(p.waitFor(EXIT)).isEqualTo(1);
      List<String> lines = p.stdout().lines().toList();
      assertThat(lines).hasSize(2);
      JsonNode ok = JSON.readTree(lines.get(0));
      assertThat(ok.fieldNames())
          .toIterable()
          .containsExactly(
              "index",
              "url",
              "method",
              "ok",
              "final_url",
              "status",
              "headers",
              "bytes",
              "timings",
              "attempts",
              "redirects",
              "error");
      assertThat(ok.get("bytes").asLong())
          .isEqualTo(ok.get("headers").get("content-length").get(0).asLong());
      assertThat(ok.get("timings").get("ttfb_ms").asDouble())
          .isGreaterThanOrEqualTo(DemoServer.latencyMillis(3));
      JsonNode failed = JSON.readTree(lines.get(1));
      assertThat(failed.get("index").asLong()).isEqualTo(1);
      assertThat(failed.get("url").asText()).isEqualTo(url("/reset"));
      assertThat(failed.get("error").get("kind").asText()).isEqualTo("connection_reset");
      assertThat(failed.get("error").get("message").asText()).startsWith("#1 GET " + url("/reset"));
    }
  }

  @Test
  void outputDirectoryKeepsHostileUrlsInsideAndNeverFollowsPlantedLinks(@TempDir Path tmp)
      throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("out"));
    Path victim = Files.writeString(tmp.resolve("victim"), "precious");
    List<String> urls =
        List.of(
            url("/echo/../../../victim"),
            url("/echo/%2e%2e/%2e%2e/%2E%2E%2Fvictim"),
            url("/echo/" + "a".repeat(1500)),
            url("/echo/dup"),
            url("/echo/dup"));
    // Links planted where the first body and the manifest will go, pointing outside.
    Files.createSymbolicLink(dir.resolve(SafeNames.of(0, URI.create(urls.get(0)))), victim);
    Files.createSymbolicLink(dir.resolve("manifest.jsonl"), victim);
    List<String> args = new ArrayList<>(List.of("-s", "-o", dir.toString()));
    args.addAll(urls);
    try (LauncherProcess p = LauncherProcess.start(args.toArray(String[]::new))) {
      assertThat(p.waitFor(EXIT)).isZero();
    }
    assertThat(Files.readString(victim)).isEqualTo("precious");
    List<String> manifest = Files.readAllLines(dir.resolve("manifest.jsonl"));
    assertThat(manifest).hasSize(5);
    List<String> files = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      JsonNode record = JSON.readTree(manifest.get(i));
      assertThat(record.get("index").asInt()).isEqualTo(i);
      assertThat(record.get("url").asText()).isEqualTo(urls.get(i));
      String file = record.get("file").asText();
      Path written = dir.resolve(file);
      assertThat(written.getParent()).isEqualTo(dir);
      assertThat(file).hasSizeLessThanOrEqualTo(SafeNames.MAX_LENGTH);
      assertThat(Files.isRegularFile(written, LinkOption.NOFOLLOW_LINKS)).isTrue();
      assertThat(Files.readString(written)).isEqualTo(URI.create(urls.get(i)).getRawPath());
      files.add(file);
    }
    assertThat(files).doesNotHaveDuplicates();
    try (Stream<Path> entries = Files.list(dir)) {
      // Nothing else: no temporary file left behind, nothing written outside.
      assertThat(entries.map(e -> e.getFileName().toString()))
          .containsExactlyInAnyOrderElementsOf(concat(files, "manifest.jsonl"));
    }
    try (Stream<Path> entries = Files.list(tmp)) {
      assertThat(entries.map(e -> e.getFileName().toString()))
          .containsExactlyInAnyOrder("out", "victim");
    }
  }

  @Test
  void failFastStopsAtTheFirstFailureInInputOrder() {
    try (LauncherProcess p =
        LauncherProcess.start(
            "--fail-fast",
            "-f",
            url("/item/0"),
            url("/delay/200?1"),
            url("/status/500"),
            url("/stall"),
            url("/stall"))) {
      // The stalled URLs never answer: the run ends only because they are cancelled.
      assertThat(p.waitFor(EXIT)).isEqualTo(1);
      assertThat(p.stdout()).startsWith("item   0").endsWith("/delay/200?1");
      assertThat(p.stderrLines()).hasSize(2);
      assertThat(p.stderrLines().get(0))
          .isEqualTo("fetchflux: #2 GET " + url("/status/500") + ": HTTP error status: 500");
      assertThat(p.stderrLines().get(1)).startsWith("3 URLs, 2 ok, 1 failed");
    }
  }

  @Test
  void sigintStopsPromptlyWithACleanPrefixTheSummaryAndStatus130() {
    try (LauncherProcess p =
        LauncherProcess.start(
            url("/echo?0"), url("/echo?1"), url("/stall"), url("/echo?3"), url("/echo?4"))) {
      p.awaitStdout(out -> out.equals("/echo?0/echo?1"), EXIT);
      assumeFalse(p.ignoresSigint(), "SIGINT is ignored in this environment (background job)");
      p.signal("INT");
      assertThat(p.waitFor(Duration.ofSeconds(15))).isEqualTo(130);
      // Results 3 and 4 are done but behind the stalled one: never written, so the output stays
      // a prefix of the full run's.
      assertThat(p.stdout()).isEqualTo("/echo?0/echo?1");
      assertThat(p.stderrLines())
          .singleElement()
          .asString()
          .matches("2 URLs, 2 ok, 0 failed, 14 B, [0-9.]+ s \\(interrupted\\)");
    }
  }

  @Test
  void sigintWhileWritingAnOutputDirectoryLeavesOnlyWholeFiles(@TempDir Path tmp)
      throws IOException {
    Path dir = tmp.resolve("out");
    Path manifest = dir.resolve("manifest.jsonl");
    try (LauncherProcess p =
        LauncherProcess.start(
            "-s",
            "-o",
            dir.toString(),
            url("/bytes/300000?0"),
            url("/bytes/300000?1"),
            url("/stall"),
            url("/bytes/300000?3"))) {
      Await.until("the manifest lists two files", EXIT, () -> lineCount(manifest) >= 2, p::stderr);
      assumeFalse(p.ignoresSigint(), "SIGINT is ignored in this environment (background job)");
      p.signal("INT");
      assertThat(p.waitFor(Duration.ofSeconds(15))).isEqualTo(130);
    }
    List<String> records = Files.readAllLines(manifest);
    assertThat(records).hasSize(2);
    List<String> names = new ArrayList<>();
    for (String record : records) {
      String file = JSON.readTree(record).get("file").asText();
      assertThat(Files.size(dir.resolve(file))).isEqualTo(300_000);
      names.add(file);
    }
    try (Stream<Path> entries = Files.list(dir)) {
      assertThat(entries.map(e -> e.getFileName().toString()))
          .containsExactlyInAnyOrderElementsOf(concat(names, "manifest.jsonl"));
    }
  }

  /** Lines in {@code file} so far; 0 while it does not exist. */
  private static long lineCount(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file).size() : 0;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void badUsageExitsTwoWithOneLineAndNoRequest() {
    try (LauncherProcess p = LauncherProcess.start("-c", "0", url("/echo?never"))) {
      assertThat(p.waitFor(EXIT)).isEqualTo(2);
      assertThat(p.stdout()).isEmpty();
      assertThat(p.stderrLines())
          .singleElement()
          .asString()
          .startsWith(
              "fetchflux: Invalid value for option '--concurrency': '0' must be at least 1");
    }
    assertThat(server.requests()).noneMatch(r -> r.uri().equals("/echo?never"));
  }

  @Test
  void demoRunsOfflineAndExitsZero() {
    try (LauncherProcess p = LauncherProcess.start("demo", "-n", "60")) {
      assertThat(p.waitFor(Duration.ofSeconds(60))).isZero();
      List<String> items = p.stdout().lines().toList();
      assertThat(items).hasSize(60);
      for (int i = 0; i < 60; i++) {
        assertThat(items.get(i)).startsWith(String.format("item %3d ", i));
      }
      assertThat(p.stderr())
          .contains(
              "60 URLs, 60 ok, 0 failed",
              "ordered stream",
              "sequential loop",
              "extrapolated: 10 URLs");
    }
  }

  private static List<String> concat(List<String> list, String more) {
    List<String> all = new ArrayList<>(list);
    all.add(more);
    return all;
  }
}
