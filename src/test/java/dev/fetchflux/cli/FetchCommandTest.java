package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fetchflux.support.Ports;
import dev.fetchflux.support.Replies;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import dev.fetchflux.testing.TestServerExtension;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@Timeout(60)
class FetchCommandTest {
  @RegisterExtension static final TestServerExtension server = new TestServerExtension();
  private static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void start() {
    server.route("/big", Reply.ok(Reply.pattern(4096)));
    // /flaky/{id}: 503 the first time each id is asked for, 200 afterwards.
    server.handler(Replies.inTurnPerPath("/flaky/", Reply.status(503, "busy"), Reply.ok("fine")));
  }

  private static String url(String path) {
    return server.url(path);
  }

  // ---- usage errors: exit 2, one line naming the option and the value, nothing on stdout ----

  @Test
  void zeroConcurrencyIsAUsageErrorNamingOptionAndValue() {
    assertUsageError(CliRun.of("-c", "0", url("/echo")), "'--concurrency'", "'0'");
  }

  @Test
  void negativeTimeIsAUsageErrorNamingOptionAndValue() {
    assertUsageError(
        CliRun.of("--connect-timeout", "-1", url("/echo")), "'--connect-timeout'", "'-1'");
    assertUsageError(CliRun.of("-m", "-2.5", url("/echo")), "'--max-time'", "'-2.5'");
  }

  @Test
  void headerWithoutColonIsAUsageError() {
    assertUsageError(CliRun.of("-H", "X-Key abc", url("/echo")), "'--header'", "'X-Key abc'");
  }

  @Test
  void headerValueWithCrLfIsAUsageErrorOnOneLine() {
    CliRun run = CliRun.of("-H", "X-Key: a\r\nInjected: yes", url("/echo"));
    assertUsageError(run, "'--header'", "'X-Key: a\\r\\nInjected: yes'");
  }

  @Test
  void unreadableInputFileIsAUsageErrorNamingIt(@TempDir Path dir) {
    assertUsageError(
        CliRun.of("-i", dir.resolve("missing.txt").toString()),
        "'--input'",
        "missing.txt': no such file");
    assertUsageError(CliRun.of("-i", dir.toString()), "'--input'", "is a directory");
  }

  @Test
  void malformedSizeIsAUsageError() {
    assertUsageError(
        CliRun.of("--max-filesize", "lots", url("/echo")), "'--max-filesize'", "'lots'");
  }

  @Test
  void windowSmallerThanConcurrencyIsAUsageError() {
    assertUsageError(CliRun.of("-c", "8", "--window", "4", url("/echo")), "'--window'", "'4'");
  }

  @Test
  void unknownOptionIsAUsageError() {
    assertUsageError(CliRun.of("--frobnicate", url("/echo")), "'--frobnicate'", "Unknown option");
  }

  @Test
  void retryMaxTimeWithoutRetryIsAUsageError() {
    assertUsageError(
        CliRun.of("--retry-max-time", "5s", url("/echo")), "'--retry-max-time'", "--retry N");
  }

  private static void assertUsageError(CliRun run, String option, String value) {
    assertThat(run.status()).isEqualTo(2);
    assertThat(run.stdoutBytes()).isEmpty();
    assertThat(run.stderrLines()).hasSize(1);
    assertThat(run.stderrLines().get(0)).startsWith("fetchflux: ").contains(option, value);
  }

  @Test
  void versionAndHelpExitZero() {
    CliRun version = CliRun.of("--version");
    assertThat(version.status()).isZero();
    assertThat(version.stdoutText()).startsWith("fetchflux 0.");
    CliRun help = CliRun.of("--help");
    assertThat(help.status()).isZero();
    assertThat(help.stdoutText())
        .contains(
            "--concurrency",
            "--unordered",
            "--fail-fast",
            "--fail",
            "--output-dir",
            "--jsonl",
            "--header",
            "--user-agent",
            "--location",
            "--max-redirs",
            "--connect-timeout",
            "--max-time",
            "--retry",
            "--rate",
            "--per-host",
            "--max-filesize",
            "--retry-max-time",
            "--rate-per-host",
            "--adaptive-rate",
            "--spill-threshold",
            "--compressed",
            "--insecure",
            "--silent",
            "--progress",
            "--verbose",
            "demo",
            "serve");
  }

  @Test
  void helpListsTheSubcommandsHoweverItIsAskedFor() {
    for (String[] args :
        List.of(
            new String[] {"--help"},
            new String[] {"-h"},
            new String[] {"-sh"},
            new String[] {"-c", "4", "--help"},
            new String[] {"http://127.0.0.1:1/", "-h"})) {
      CliRun help = CliRun.of(args);

      assertThat(help.status()).as(String.join(" ", args)).isZero();
      assertThat(help.stdoutText())
          .as(String.join(" ", args))
          .containsPattern("Commands:\\R\\s+demo\\s")
          .containsPattern("\\R\\s+serve\\s")
          .containsPattern("\\R\\s+merge\\s");
    }
  }

  @Test
  void subcommandsAreBuiltOnlyWhenTheArgumentsMayNeedThem() {
    assertThat(FetchCommand.needsSubcommands(new String[] {"-s", "-c", "8", "http://x/demo"}))
        .isFalse();
    assertThat(FetchCommand.needsSubcommands(new String[] {})).isFalse();
    assertThat(FetchCommand.needsSubcommands(new String[] {"-V"})).isFalse();
    for (String[] args :
        List.of(
            new String[] {"demo"},
            new String[] {"serve", "--port", "0"},
            new String[] {"-v", "merge", "dir"},
            new String[] {"--help"},
            new String[] {"-vh"})) {
      assertThat(FetchCommand.needsSubcommands(args)).as(String.join(" ", args)).isTrue();
    }
    CommandLine lean =
        FetchCommand.commandLine(
            InputStream.nullInputStream(), OutputStream.nullOutputStream(), Map.of(), false);
    assertThat(lean.getSubcommands()).isEmpty();
    CommandLine full =
        FetchCommand.commandLine(
            InputStream.nullInputStream(), OutputStream.nullOutputStream(), Map.of(), true);
    assertThat(full.getSubcommands()).containsOnlyKeys("demo", "serve", "merge");
  }

  @Test
  void aSubcommandAfterOptionsStillRuns() {
    CliRun run = CliRun.of("-v", "demo", "--help");

    assertThat(run.status()).isZero();
    assertThat(run.stdoutText()).contains("Usage: fetchflux demo");
  }

  // ---- runs ----

  @Test
  void bodiesAreWrittenInInputOrderWhenLaterUrlsFinishFirst() {
    List<String> urls = new ArrayList<>();
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      String path = "/delay/" + (200 - i * 10) + "?i=" + i;
      urls.add(url(path));
      expected.append(path);
    }
    CliRun run = CliRun.of(urls.toArray(String[]::new));
    assertThat(run.status()).isZero();
    assertThat(run.stdout()).isEqualTo(expected.toString());
    assertThat(run.stderrLines())
        .singleElement()
        .asString()
        .startsWith("20 URLs, 20 ok, 0 failed, ");
  }

  @Test
  void bodiesGoToARealFileDescriptorFromAThreadAllowedToBlock(@TempDir Path dir)
      throws IOException {
    // A FileOutputStream, as in production: with BlockHound in the test JVM, a write from a Netty
    // event loop or a Reactor non-blocking thread would fail this run.
    Path file = dir.resolve("stdout");
    CliRun run;
    try (FileOutputStream out = new FileOutputStream(file.toFile())) {
      run =
          CliRun.withStreams(
              InputStream.nullInputStream(),
              out,
              Map.of(),
              "-s",
              url("/echo?1"),
              url("/big"),
              url("/echo?2"));
    }
    assertThat(run.status()).isZero();
    assertThat(run.stderr()).isEmpty();
    assertThat(Files.size(file)).isEqualTo(7 + 4096 + 7);
  }

  @Test
  void keepsGoingPastFailuresAndReportsEachOnOneLine() throws IOException {
    int closed = Ports.closedPort();
    CliRun run =
        CliRun.of(
            url("/echo?a"),
            url("/reset"),
            "not a url",
            url("/status/404"),
            "http://127.0.0.1:" + closed + "/x",
            url("/echo?c"));
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.stdout()).isEqualTo("/echo?a/status/404/echo?c");
    List<String> lines = run.stderrLines();
    assertThat(lines).hasSize(4);
    assertThat(lines.get(0))
        .startsWith("fetchflux: #1 GET " + url("/reset") + ": connection reset");
    assertThat(lines.get(1))
        .isEqualTo(
            "fetchflux: #2 GET not a url: invalid request: malformed URL"
                + " 'not a url': Illegal character in path at index 3");
    assertThat(lines.get(2))
        .startsWith("fetchflux: #4 GET http://127.0.0.1:" + closed + "/x: connection refused");
    assertThat(lines.get(3)).startsWith("6 URLs, 3 ok, 3 failed, ");
  }

  @Test
  void failMakesHttpErrorsFailuresWithoutWritingTheirBodies() {
    CliRun run = CliRun.of("-f", url("/status/404"), url("/echo"));
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.stdout()).isEqualTo("/echo");
    assertThat(run.stderrLines().get(0))
        .startsWith("fetchflux: #0 GET " + url("/status/404") + ": ")
        .contains("404");
  }

  @Test
  void silentDropsTheSummaryButNotTheFailures() {
    CliRun run = CliRun.of("-s", url("/echo"), url("/reset"));
    assertThat(run.stderrLines()).singleElement().asString().startsWith("fetchflux: #1 ");
  }

  @Test
  void progressDrawsALiveLineAndWipesItBeforeTheSummary() {
    CliRun run = CliRun.of("--progress", url("/delay/700"));
    assertThat(run.status()).isZero();
    assertThat(run.stderr()).contains("0/1 0% | ", " in flight, ", "\r\033[K");
    // The last thing printed is the summary, on a clean line.
    String err = run.stderr();
    String afterLastWipe = err.substring(err.lastIndexOf("\r\033[K") + 4);
    assertThat(afterLastWipe).matches("1 URL, 1 ok, 0 failed, [^\r\n]* s\n");
  }

  @Test
  void verboseAddsTheCauseStackTrace() {
    CliRun run = CliRun.of("-v", url("/reset"), "not a url");
    assertThat(run.stderr())
        .contains(
            "fetchflux: #0 GET " + url("/reset"),
            "Caused by: io.netty",
            "fetchflux: #1 GET not a url",
            "Caused by: java.lang.IllegalArgumentException",
            "\tat java.base/java.net.URI");
  }

  @Test
  void stdinLinesAreReadSkippingBlanksAndCommentsAndAMalformedLineNamesItsNumber() {
    String input = url("/echo?1") + "\n\n# a comment\n   \nnot a url\n" + url("/echo?2") + "\n";
    CliRun run = CliRun.withStdin(input);
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.stdout()).isEqualTo("/echo?1/echo?2");
    assertThat(run.stderrLines().get(0))
        .startsWith("fetchflux: #1 GET not a url: ")
        .endsWith(" (stdin line 5)");
  }

  @Test
  void dashReadsStdinAfterTheOtherArgumentsAndOnlyOnce(@TempDir Path dir) throws IOException {
    CliRun run = CliRun.withStdin(url("/echo?2") + "\n", url("/echo?1"), "-");
    assertThat(run.stdout()).isEqualTo("/echo?1/echo?2");
    Path file = Files.writeString(dir.resolve("urls"), url("/echo?3") + "\n");
    CliRun twice =
        CliRun.withStdin(
            url("/echo?2") + "\n", "-i", file.toString(), "-i", "-", "-", url("/echo?1"));
    assertThat(twice.stdout()).isEqualTo("/echo?1/echo?2/echo?3");
  }

  @Test
  void inputFileSkipsBlanksAndCommentsAndNamesTheFileForMalformedLines(@TempDir Path dir)
      throws IOException {
    Path file = dir.resolve("urls.txt");
    Files.writeString(file, "# urls\n" + url("/echo?1") + "\r\n\nftp://nope\n" + url("/echo?2"));
    CliRun run = CliRun.of("-i", file.toString());
    assertThat(run.stdout()).isEqualTo("/echo?1/echo?2");
    assertThat(run.stderrLines().get(0))
        .startsWith("fetchflux: #1 GET ftp://nope: ")
        .endsWith(" (" + file + " line 4)");
    assertThat(run.stderrLines().get(1)).startsWith("3 URLs, 2 ok, 1 failed");
  }

  @Test
  void aLineTooLongToBeAUrlIsAFailureAtItsIndex() {
    String input = url("/echo?1") + "\n" + "x".repeat(Inputs.MAX_LINE + 10) + "\n" + url("/echo?2");
    CliRun run = CliRun.withStdin(input);
    assertThat(run.stdout()).isEqualTo("/echo?1/echo?2");
    assertThat(run.stderrLines().get(0))
        .startsWith("fetchflux: #1 ")
        .contains((Inputs.MAX_LINE + 10) + " characters")
        .endsWith("(stdin line 2)");
  }

  @Test
  void jsonlWritesOneParsableRecordPerInputInOrder() throws IOException {
    CliRun run = CliRun.of("--jsonl", "-f", url("/echo?x"), url("/status/503"), "nope");
    assertThat(run.status()).isEqualTo(1);
    String[] lines = run.stdout().split("\n");
    assertThat(lines).hasSize(3);
    JsonNode ok = JSON.readTree(lines[0]);
    assertThat(ok.get("index").asLong()).isZero();
    assertThat(ok.get("url").asText()).isEqualTo(url("/echo?x"));
    assertThat(ok.get("ok").asBoolean()).isTrue();
    assertThat(ok.get("status").asInt()).isEqualTo(200);
    assertThat(ok.get("headers").get("content-length").get(0).asText()).isEqualTo("7");
    assertThat(ok.get("bytes").asLong()).isEqualTo(7);
    assertThat(ok.get("attempts").asInt()).isEqualTo(1);
    assertThat(ok.get("timings").get("total_ms").asDouble()).isPositive();
    assertThat(ok.get("error").isNull()).isTrue();
    JsonNode status = JSON.readTree(lines[1]);
    assertThat(status.get("ok").asBoolean()).isFalse();
    assertThat(status.get("status").asInt()).isEqualTo(503);
    assertThat(status.get("error").get("kind").asText()).isEqualTo("http_status");
    JsonNode bad = JSON.readTree(lines[2]);
    assertThat(bad.get("index").asLong()).isEqualTo(2);
    assertThat(bad.get("status").isNull()).isTrue();
    assertThat(bad.get("error").get("kind").asText()).isEqualTo("invalid_request");
    assertThat(bad.get("error").get("message").asText()).startsWith("#2 GET nope: invalid request");
  }

  @Test
  void unorderedWritesEveryBodyExactlyOnce() {
    List<String> paths =
        IntStream.range(0, 30)
            .mapToObj(i -> "/delay/" + (i % 7) * 5 + "?i=" + i)
            .collect(Collectors.toList());
    CliRun run =
        CliRun.of(
            concat(
                List.of("--unordered", "--jsonl"),
                paths.stream().map(FetchCommandTest::url).collect(Collectors.toList())));
    assertThat(run.status()).isZero();
    List<Long> indexes =
        run.stdout()
            .lines()
            .map(
                l -> {
                  try {
                    return JSON.readTree(l).get("index").asLong();
                  } catch (IOException e) {
                    throw new AssertionError(e);
                  }
                })
            .sorted()
            .collect(Collectors.toList());
    assertThat(indexes)
        .containsExactlyElementsOf(LongStream.range(0, 30).boxed().collect(Collectors.toList()));
  }

  @Test
  void failFastStopsAtTheFirstFailureAndCancelsTheRest() {
    CliRun run =
        CliRun.of(
            "--fail-fast",
            "-f",
            "-c",
            "4",
            url("/echo?0"),
            url("/echo?1"),
            url("/status/500"),
            url("/stall?3"),
            url("/stall?4"));
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.stdout()).isEqualTo("/echo?0/echo?1");
    assertThat(run.stderrLines()).hasSize(2);
    assertThat(run.stderrLines().get(0)).startsWith("fetchflux: #2 GET " + url("/status/500"));
    assertThat(run.stderrLines().get(1)).startsWith("3 URLs, 2 ok, 1 failed");
  }

  @Test
  void headersAndUserAgentAreSent() {
    CliRun run = CliRun.of("-H", "X-Api-Key: k1", "-A", "probe/1", url("/echo?h"));
    assertThat(run.status()).isZero();
    assertThat(server.requests("/echo").get(0).headers().first("X-Api-Key")).isEqualTo("k1");
    assertThat(server.requests("/echo").get(0).headers().first("User-Agent")).isEqualTo("probe/1");
  }

  @Test
  void redirectsAreFollowedOnlyWithLocation() {
    CliRun plain = CliRun.of(url("/redirect/2"));
    assertThat(plain.status()).isZero();
    assertThat(plain.stdout()).isEmpty();
    CliRun followed = CliRun.of("-L", url("/redirect/2"));
    assertThat(followed.stdout()).isEqualTo("/redirect/0");
    CliRun limited = CliRun.of("-L", "--max-redirs", "1", url("/redirect/2"));
    assertThat(limited.status()).isEqualTo(1);
    assertThat(limited.stderrLines().get(0)).contains("too many redirects");
  }

  @Test
  void resolveAndConnectToPointANameAtTheLocalServer() {
    int port = server.port();
    CliRun resolved =
        CliRun.of(
            "--resolve",
            "staging.test:" + port + ":127.0.0.1",
            "http://staging.test:" + port + "/echo?resolved");
    assertThat(resolved.status()).isZero();
    assertThat(resolved.stdout()).isEqualTo("/echo?resolved");
    CliRun moved =
        CliRun.of("--connect-to", "api.test:80:127.0.0.1:" + port, "http://api.test/echo?moved");
    assertThat(moved.stdout()).isEqualTo("/echo?moved");
    assertThat(server.requests("/echo"))
        .anySatisfy(
            r -> {
              assertThat(r.uri()).isEqualTo("/echo?moved");
              assertThat(r.headers().first("Host")).isEqualTo("api.test");
            });
  }

  @Test
  void malformedResolveRuleIsAUsageError() {
    assertUsageError(CliRun.of("--resolve", "no-port", url("/echo")), "'--resolve'", "'no-port'");
  }

  @Test
  void proxyFromTheEnvironmentOrTheOptionCarriesTheRequest() {
    // The test server, asked for an absolute URL as a proxy is, answers 404 naming it: proof that
    // the request went to the proxy rather than to proxied.test.
    String proxy = "http://127.0.0.1:" + server.port();
    CliRun viaEnvironment =
        CliRun.withEnvironment(Map.of("http_proxy", proxy), "http://proxied.test/x");
    assertThat(viaEnvironment.stdout()).contains("proxied.test/x");
    CliRun viaOption = CliRun.of("-x", proxy, "http://proxied.test/y");
    assertThat(viaOption.stdout()).contains("proxied.test/y");
    CliRun bypassed =
        CliRun.withEnvironment(
            Map.of("http_proxy", proxy), "--noproxy", "127.0.0.1", url("/echo?direct"));
    assertThat(bypassed.stdout()).isEqualTo("/echo?direct");
  }

  @Test
  void proxyErrorsAreUsageErrorsThatNeverShowThePassword() {
    CliRun run = CliRun.of("-x", "ftp://user:s3cret@proxy.test:21", url("/echo"));
    assertUsageError(run, "'--proxy'", "ftp");
    assertThat(run.stderr()).doesNotContain("s3cret");
    CliRun env =
        CliRun.withEnvironment(Map.of("https_proxy", "gopher://u:s3cret@p.test"), url("/echo"));
    assertThat(env.status()).isEqualTo(2);
    assertThat(env.stderr()).contains("https_proxy").doesNotContain("s3cret");
  }

  @Test
  void retryRepeatsARetryableStatusAndCountsTheAttempts() throws IOException {
    CliRun once = CliRun.of("--jsonl", url("/flaky/once"));
    JsonNode first = JSON.readTree(once.stdout());
    assertThat(first.get("status").asInt()).isEqualTo(503);
    assertThat(first.get("attempts").asInt()).isEqualTo(1);
    CliRun retried =
        CliRun.of("--jsonl", "--retry", "2", "--retry-max-time", "10s", url("/flaky/retried"));
    assertThat(retried.status()).isZero();
    JsonNode record = JSON.readTree(retried.stdout());
    assertThat(record.get("status").asInt()).isEqualTo(200);
    assertThat(record.get("attempts").asInt()).isEqualTo(2);
  }

  @Test
  void perHostCapsRequestsInFlightToOneHost() {
    List<String> args = new ArrayList<>(List.of("-s", "-c", "8", "--per-host", "2"));
    for (int i = 0; i < 8; i++) {
      args.add(url("/delay/100?i=" + i));
    }
    CliRun run = CliRun.of(args.toArray(String[]::new));
    assertThat(run.status()).isZero();
    assertThat(server.peakInFlight()).isEqualTo(2);
  }

  @Test
  void rateSpacesTheRequests() {
    CliRun run =
        CliRun.of(
            "-s",
            "--rate",
            "10/s",
            url("/echo?r0"),
            url("/echo?r1"),
            url("/echo?r2"),
            url("/echo?r3"));
    assertThat(run.status()).isZero();
    List<java.time.Instant> received =
        server.requests("/echo").stream()
            .map(r -> r.received())
            .sorted()
            .collect(Collectors.toList());
    assertThat(received).hasSize(4);
    // Four requests at 10 per second: at least three gaps of 100 ms (a little less for clock
    // granularity); never a burst.
    assertThat(java.time.Duration.between(received.get(0), received.get(3)).toMillis())
        .isGreaterThanOrEqualTo(270);
  }

  @Test
  void adaptiveRatePausesTheWholeHostForARetryAfterNotOnlyTheThrottledRequest() throws IOException {
    // One path of the API answers 429 (Retry-After: 1) once; the others answer in 50 ms. The
    // server counts the other requests that reach it between that 429 and its retry: with the host
    // paused, only the three already on the wire and the three that waited with it (C = 4).
    // Without --adaptive-rate the others keep coming for that whole second.
    AtomicBoolean throttled = new AtomicBoolean();
    AtomicBoolean retried = new AtomicBoolean();
    AtomicInteger inBetween = new AtomicInteger();
    try (TestServer api = TestServer.start()) {
      api.handler(
          r -> {
            if (r.path().equals("/slow-down")) {
              if (throttled.compareAndSet(false, true)) {
                return Reply.status(429, "slow down").withHeader("Retry-After", "1");
              }
              retried.set(true);
              return Reply.ok("ok");
            }
            if (throttled.get() && !retried.get()) {
              inBetween.incrementAndGet();
            }
            return Reply.ok("ok").withDelay(Duration.ofMillis(50));
          });
      List<String> args =
          new ArrayList<>(List.of("-s", "--jsonl", "-c", "4", "--retry", "2", "--adaptive-rate"));
      IntStream.range(0, 10).forEach(i -> args.add(api.url("/api?i=" + i)));
      args.add(api.url("/slow-down"));
      IntStream.range(10, 22).forEach(i -> args.add(api.url("/api?i=" + i)));

      CliRun run = CliRun.of(args.toArray(String[]::new));

      assertThat(run.status()).as(run.stderr()).isZero();
      List<JsonNode> records = new ArrayList<>();
      for (String line : run.stdout().split("\n")) {
        records.add(JSON.readTree(line));
      }
      assertThat(records)
          .hasSize(23)
          .allSatisfy(rec -> assertThat(rec.get("status").asInt()).isEqualTo(200));
      assertThat(records.get(10).get("attempts").asInt()).isEqualTo(2);
      assertThat(inBetween.get()).isLessThanOrEqualTo(6);
    }
  }

  @Test
  void maxFilesizeMakesALargerBodyAFailure() {
    CliRun run = CliRun.of("--max-filesize", "1k", url("/big"), url("/echo"));
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.stdout()).isEqualTo("/echo");
    assertThat(run.stderrLines().get(0)).contains("body too large");
  }

  @Test
  void maxTimeEndsAStalledRequest() {
    CliRun run = CliRun.of("-m", "300ms", url("/stall"), url("/echo"));
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.stdout()).isEqualTo("/echo");
    assertThat(run.stderrLines().get(0)).contains("deadline exceeded");
  }

  @Test
  void compressedDecodesGzip() {
    CliRun run = CliRun.of("--compressed", url("/gzip/1000"));
    assertThat(run.status()).isZero();
    assertThat(run.stdoutBytes()).hasSize(1000).containsOnly((byte) 0);
  }

  @Test
  void outputDirectoryGetsOneFilePerUrlAndAManifest(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("out");
    CliRun run =
        CliRun.of("-s", "-o", out.toString(), url("/echo?a"), url("/reset"), url("/echo?a"));
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.stdoutBytes()).isEmpty();
    List<String> manifest = Files.readAllLines(out.resolve("manifest.jsonl"));
    assertThat(manifest).hasSize(3);
    JsonNode first = JSON.readTree(manifest.get(0));
    JsonNode failed = JSON.readTree(manifest.get(1));
    JsonNode third = JSON.readTree(manifest.get(2));
    assertThat(first.get("file").asText()).isNotEqualTo(third.get("file").asText());
    assertThat(failed.get("file").isNull()).isTrue();
    assertThat(failed.get("error").get("kind").asText()).isEqualTo("connection_reset");
    assertThat(Files.readString(out.resolve(first.get("file").asText()))).isEqualTo("/echo?a");
    assertThat(Files.readString(out.resolve(third.get("file").asText()))).isEqualTo("/echo?a");
    try (var files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder(
              "manifest.jsonl", first.get("file").asText(), third.get("file").asText());
    }
  }

  @Test
  void outputDirectoryWithJsonlAlsoWritesTheRecordsToStdout(@TempDir Path dir) throws IOException {
    CliRun run = CliRun.of("-s", "--jsonl", "-o", dir.toString(), url("/echo?a"));
    JsonNode record = JSON.readTree(run.stdout());
    assertThat(record.get("file").asText()).startsWith("000000_127.0.0.1_");
    assertThat(Files.readString(dir.resolve("manifest.jsonl")).strip())
        .isEqualTo(run.stdout().strip());
  }

  @Test
  void outputDirectoryThatIsAFileIsAUsageError(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("f"), "x");
    assertUsageError(
        CliRun.of("-o", file.toString(), url("/echo")), "'--output-dir'", "is not a directory");
  }

  private static String[] concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all.toArray(String[]::new);
  }
}
