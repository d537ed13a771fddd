package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fetchflux.support.Await;
import dev.fetchflux.support.GatedServer;
import dev.fetchflux.testing.Reply;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * In an ordered run each body is written as it arrives: to stdout (straight to the file
 * descriptor), to its file with {@code -o}, or counted into its record with {@code --jsonl}. A body
 * that fails on its way is a failure at its index as before: its file is not kept, its record says
 * so, and on stdout a body none of which had left the output's buffer is taken back.
 */
@Timeout(120)
class CliStreamingTest {
  private static final Duration EXIT = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final GatedServer server = GatedServer.start();

  @AfterEach
  void close() {
    server.close();
  }

  private static byte[] pattern(int n) {
    return Reply.pattern(n);
  }

  @Test
  void theHeadsBodyReachesStdoutWhileTheServerHoldsTheRest() {
    byte[] body = pattern(1 << 20);
    server.gate("/head", body, 300_000, false);
    server.generate("/next", 1000);
    try (LauncherProcess p =
        LauncherProcess.start("-s", server.url("/head"), server.url("/next"))) {
      Await.until(
          "most of the first part is on stdout",
          EXIT,
          () -> p.stdoutBytes().length >= 200_000,
          () -> p.stdoutBytes().length + " bytes; " + p.stderr());
      assertThat(server.atGate()).isEqualTo(1);
      server.open("/head");
      assertThat(p.waitFor(EXIT)).as(p.stderr()).isZero();
      byte[] out = p.stdoutBytes();
      assertThat(out).hasSize(body.length + 1000);
      assertThat(java.util.Arrays.copyOf(out, body.length)).isEqualTo(body);
    }
  }

  @Test
  void aLargeBodyCutAfterItsFirstPartLeavesThatPartAndIsAFailureAtItsIndex() {
    server.gate("/cut", pattern(1 << 20), 300_000, true);
    server.generate("/next", 1000);
    try (LauncherProcess p = LauncherProcess.start(server.url("/cut"), server.url("/next"))) {
      Await.until(
          "the first part is on stdout",
          EXIT,
          () -> p.stdoutBytes().length >= 200_000,
          () -> p.stdoutBytes().length + " bytes; " + p.stderr());
      server.open("/cut"); // resets the connection instead of sending the rest
      assertThat(p.waitFor(EXIT)).isEqualTo(1);
      // What arrived stays (it was written as it came, as curl does), then the next body.
      assertThat(p.stdoutBytes().length).isBetween(200_000 + 1000, 300_000 + 1000);
      assertThat(p.stderrLines().get(0))
          .startsWith("fetchflux: #0 GET " + server.url("/cut") + ": connection reset");
      assertThat(p.stderrLines().get(1)).startsWith("2 URLs, 1 ok, 1 failed");
    }
  }

  @Test
  void outputDirectoryFilesAreWrittenAsTheBodyArrivesAndAFailedBodyLeavesNone(@TempDir Path tmp)
      throws IOException {
    Path dir = tmp.resolve("out");
    byte[] body = pattern(1 << 20);
    server.gate("/head", body, 300_000, false);
    server.gate("/cut", pattern(1 << 20), 300_000, true);
    try (LauncherProcess p =
        LauncherProcess.start(
            "-s", "-o", dir.toString(), server.url("/head"), server.url("/cut"))) {
      Await.until(
          "the head's file is being written", EXIT, () -> partFileSize(dir) >= 200_000, p::stderr);
      server.open("/head");
      server.open("/cut");
      assertThat(p.waitFor(EXIT)).isEqualTo(1);
    }
    List<String> records = Files.readAllLines(dir.resolve("manifest.jsonl"));
    assertThat(records).hasSize(2);
    JsonNode ok = JSON.readTree(records.get(0));
    assertThat(ok.get("ok").asBoolean()).isTrue();
    assertThat(ok.get("bytes").asLong()).isEqualTo(body.length);
    assertThat(ok.get("timings").get("total_ms").asDouble())
        .isGreaterThanOrEqualTo(ok.get("timings").get("ttfb_ms").asDouble());
    assertThat(Files.readAllBytes(dir.resolve(ok.get("file").asText()))).isEqualTo(body);
    JsonNode failed = JSON.readTree(records.get(1));
    assertThat(failed.get("ok").asBoolean()).isFalse();
    assertThat(failed.get("file").isNull()).isTrue();
    assertThat(failed.get("error").get("kind").asText()).isEqualTo("connection_reset");
    try (Stream<Path> entries = Files.list(dir)) {
      assertThat(entries.map(e -> e.getFileName().toString()))
          .containsExactlyInAnyOrder("manifest.jsonl", ok.get("file").asText());
    }
  }

  /** The size of the temporary file a body is being written to, or 0. */
  private static long partFileSize(Path dir) {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries
          .filter(e -> e.getFileName().toString().endsWith(".part"))
          .filter(e -> !e.getFileName().toString().contains("manifest"))
          .mapToLong(
              e -> {
                try {
                  return Files.size(e);
                } catch (IOException gone) {
                  return 0;
                }
              })
          .max()
          .orElse(0);
    } catch (IOException e) {
      return 0;
    }
  }

  @Test
  void jsonlCountsAStreamedBodyWithoutKeepingIt() throws IOException {
    server.generate("/big", 5_000_000);
    server.generate("/small", 10);
    CliRun run = CliRun.of("--jsonl", server.url("/big"), server.url("/small"));
    assertThat(run.status()).as(run.stderr()).isZero();
    List<String> lines = run.stdout().lines().toList();
    assertThat(lines).hasSize(2);
    assertThat(JSON.readTree(lines.get(0)).get("bytes").asLong()).isEqualTo(5_000_000);
    assertThat(JSON.readTree(lines.get(1)).get("bytes").asLong()).isEqualTo(10);
  }

  @Test
  void jsonlBodyOfAStreamedBodyIsTheWholeBody() throws IOException {
    server.generate("/text", 200_000);
    CliRun run = CliRun.of("--jsonl", "--jsonl-body", server.url("/text"));
    assertThat(run.status()).as(run.stderr()).isZero();
    JsonNode record = JSON.readTree(run.stdout().lines().findFirst().orElseThrow());
    assertThat(record.get("body_encoding").asText()).isEqualTo("utf-8");
    assertThat(record.get("body").asText())
        .isEqualTo(new String(pattern(200_000), java.nio.charset.StandardCharsets.US_ASCII));
  }

  @Test
  void sigintWhileABodyStallsGivesItUpAfterTheGraceAndKeepsACleanPrefix() {
    server.generate("/first", 100);
    server.gate("/stalled", pattern(1 << 20), 1_000, false);
    try (LauncherProcess p = LauncherProcess.start(server.url("/first"), server.url("/stalled"))) {
      // The first body is pushed out while the second waits for the rest of its bytes.
      Await.until(
          "the first body is on stdout and the second waits",
          EXIT,
          () -> server.atGate() == 1 && p.stdoutBytes().length == 100,
          p::stderr);
      assumeFalse(p.ignoresSigint(), "SIGINT is ignored in this environment (background job)");
      p.signal("INT");
      long signalled = System.nanoTime();
      assertThat(p.waitFor(Duration.ofSeconds(30))).isEqualTo(130);
      // The body being written gets a few seconds to end, then is given up.
      assertThat(Duration.ofNanos(System.nanoTime() - signalled))
          .isLessThan(Duration.ofSeconds(20));
      // The stalled body's first kilobyte never left the buffer: taken back, a clean prefix.
      assertThat(p.stdoutBytes()).isEqualTo(pattern(100));
      assertThat(p.stderrLines().get(p.stderrLines().size() - 1)).contains("(interrupted)");
    }
  }
}
