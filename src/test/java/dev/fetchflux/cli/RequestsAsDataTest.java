package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fetchflux.Body;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherStats;
import dev.fetchflux.support.Await;
import dev.fetchflux.support.Replies;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServerExtension;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/** {@code --input-format jsonl}, {@code --jsonl-body} and {@code --retry-non-idempotent}. */
@Timeout(60)
class RequestsAsDataTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] BINARY = {(byte) 0xff, 0, 1};
  private static final String ACCENTED = "h\u00e9llo \u2713 \"quoted\"\n";
  @RegisterExtension static final TestServerExtension server = new TestServerExtension();

  @BeforeAll
  static void start() {
    server.route("/api/items", Reply.ok("created"));
    server.route("/api/upload", Reply.ok("stored"));
    server.route("/bin", Reply.ok(BINARY));
    server.route("/utf8", Reply.ok(ACCENTED.getBytes(StandardCharsets.UTF_8)));
    // A multi-byte character cut short at the end is not UTF-8.
    server.route("/cut", Reply.ok(new byte[] {'a', (byte) 0xe2, (byte) 0x82}));
    server.route("/big", Reply.ok(Reply.pattern(4096)));
    // /once-busy/{id}: 503 the first time each id is asked for, 200 afterwards.
    server.handler(
        Replies.inTurnPerPath("/once-busy/", Reply.status(503, "busy"), Reply.ok("fine")));
  }

  private static String url(String path) {
    return server.url(path);
  }

  private static List<JsonNode> records(CliRun run) throws IOException {
    List<JsonNode> records = new ArrayList<>();
    for (String line : run.stdout().split("\n")) {
      records.add(JSON.readTree(line));
    }
    return records;
  }

  // ---- --input-format jsonl ----

  @Test
  void jsonlInputSendsEachRequestsMethodHeadersAndBodyToTheServer() {
    String base64 = Base64.getEncoder().encodeToString(BINARY);
    String input =
        "{\"url\": \""
            + url("/api/items")
            + "\", \"method\": \"POST\", "
            + "\"headers\": {\"Content-Type\": \"application/json\", \"X-Tag\": [\"a\", \"b\"]}, "
            + "\"body\": \"{\\\"name\\\": \\\"x\\u00e9\\\"}\"}\n"
            + "{\"url\": \""
            + url("/api/upload")
            + "\", \"method\": \"put\", "
            + "\"body_base64\": \""
            + base64
            + "\"}\n"
            + "{\"url\": \""
            + url("/echo?plain")
            + "\"}\n";
    CliRun run = CliRun.withStdin(input, "--input-format", "jsonl", "-c", "1");

    assertThat(run.status()).as(run.stderr()).isZero();
    assertThat(run.stdout()).isEqualTo("createdstored/echo?plain");
    RecordedRequest post = server.requests("/api/items").get(0);
    assertThat(post.method()).isEqualTo("POST");
    assertThat(post.headers().first("content-type")).isEqualTo("application/json");
    assertThat(post.headers().all("x-tag")).containsExactly("a", "b");
    assertThat(post.body().asString()).isEqualTo("{\"name\": \"x\u00e9\"}");
    RecordedRequest put = server.requests("/api/upload").get(0);
    assertThat(put.method()).isEqualTo("PUT");
    assertThat(put.body().toByteArray()).containsExactly(BINARY);
    assertThat(put.headers().contains("content-type")).isFalse();
    assertThat(server.requests("/echo"))
        .filteredOn(r -> r.uri().equals("/echo?plain"))
        .extracting(RecordedRequest::method)
        .containsExactly("GET");
  }

  @Test
  void aMalformedJsonlLineIsAFailureAtItsIndexNamingItsLineNumberAndTheOthersSucceed(
      @TempDir Path dir) throws IOException {
    Path file = dir.resolve("requests.jsonl");
    Files.writeString(
        file,
        String.join(
            "\n",
            "# requests",
            "{\"url\": \"" + url("/echo?0") + "\"}",
            "{\"url\": ",
            "{\"method\": \"POST\"}",
            "",
            "{\"url\": \""
                + url("/echo?x")
                + "\", \"headers\": {\"X-Evil\": \"a\\r\\nInjected: 1\"}}",
            "{\"url\": \""
                + url("/echo?y")
                + "\", \"method\": \"POST\", \"body\": \"a\", "
                + "\"body_base64\": \"YQ==\"}",
            "{\"url\": \"" + url("/echo?5") + "\", \"method\": \"POST\", \"body\": \"ok\"}",
            ""));
    CliRun run = CliRun.of("--input-format", "jsonl", "--jsonl", "-i", file.toString());

    assertThat(run.status()).isEqualTo(1);
    List<JsonNode> records = records(run);
    assertThat(records).extracting(r -> r.get("index").asInt()).containsExactly(0, 1, 2, 3, 4, 5);
    assertThat(records)
        .extracting(r -> r.get("ok").asBoolean())
        .containsExactly(true, false, false, false, false, true);
    assertThat(records.get(1).get("error").get("message").asText())
        .startsWith("#1 GET <" + file + " line 3>: invalid request: invalid JSON")
        .endsWith("(" + file + " line 3)");
    assertThat(records.get(2).get("error").get("message").asText())
        .contains("\"url\" is missing")
        .endsWith("(" + file + " line 4)");
    assertThat(records.get(3).get("url").asText()).isEqualTo(url("/echo?x"));
    assertThat(records.get(3).get("error").get("message").asText())
        .startsWith("#3 GET " + url("/echo?x") + ": invalid request: ")
        .endsWith("(" + file + " line 6)");
    assertThat(records.get(4).get("error").get("message").asText())
        .startsWith("#4 POST " + url("/echo?y"))
        .contains("both \"body\" and \"body_base64\"")
        .endsWith("(" + file + " line 7)");
    assertThat(records)
        .extracting(r -> r.get("error").isNull() ? "" : r.get("error").get("kind").asText())
        .containsExactly(
            "", "invalid_request", "invalid_request", "invalid_request", "invalid_request", "");
    // The rejected lines never reached the server; the last one did, with its body.
    assertThat(server.requests())
        .noneMatch(r -> r.uri().equals("/echo?x") || r.uri().equals("/echo?y"));
    assertThat(run.stderrLines())
        .filteredOn(l -> l.startsWith("fetchflux: #"))
        .extracting(l -> l.substring(l.lastIndexOf('(')))
        .containsExactly(
            "(" + file + " line 3)",
            "(" + file + " line 4)",
            "(" + file + " line 6)",
            "(" + file + " line 7)");
  }

  @Test
  void aJsonlLineLongerThanTheBoundIsAFailureAtItsIndex() {
    String input =
        "{\"url\": \""
            + url("/echo?0")
            + "\"}\n"
            + "{\"url\": \""
            + url("/echo?1")
            + "\", \"body\": \""
            + "x".repeat(Inputs.MAX_JSONL_LINE)
            + "\"}\n"
            + "{\"url\": \""
            + url("/echo?2")
            + "\"}\n";
    CliRun run = CliRun.withStdin(input, "--input-format", "jsonl");
    assertThat(run.stdout()).isEqualTo("/echo?0/echo?2");
    assertThat(run.stderrLines().get(0))
        .startsWith("fetchflux: #1 GET <stdin line 2>: ")
        .contains("longer than " + Inputs.MAX_JSONL_LINE)
        .endsWith("(stdin line 2)");
  }

  @Test
  void verboseShowsWhatRefusedAJsonlLine() {
    CliRun run = CliRun.withStdin("{\"url\": \n", "--input-format", "jsonl", "-v");
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.stderr())
        .contains("fetchflux: #0 GET <stdin line 1>: invalid request: invalid JSON")
        .contains("com.fasterxml.jackson.core.io.JsonEOFException")
        .doesNotContain("unsupported request type");
  }

  @Test
  void aPostIsNotRetriedOnARetryableStatusUnlessAsked() throws IOException {
    String post =
        "{\"url\": \"" + url("/once-busy/a") + "\", \"method\": \"POST\", " + "\"body\": \"x\"}\n";
    CliRun once =
        CliRun.withStdin(post, "--input-format", "jsonl", "--jsonl", "-f", "--retry", "2");
    JsonNode failed = records(once).get(0);
    assertThat(failed.get("ok").asBoolean()).isFalse();
    assertThat(failed.get("status").asInt()).isEqualTo(503);
    assertThat(failed.get("attempts").asInt()).isEqualTo(1);

    CliRun retried =
        CliRun.withStdin(
            post.replace("/a", "/b"),
            "--input-format",
            "jsonl",
            "--jsonl",
            "-f",
            "--retry",
            "2",
            "--retry-non-idempotent");
    JsonNode ok = records(retried).get(0);
    assertThat(ok.get("ok").asBoolean()).as(retried.stdout()).isTrue();
    assertThat(ok.get("attempts").asInt()).isEqualTo(2);
    assertThat(server.requests("/once-busy/b"))
        .hasSize(2)
        .allSatisfy(r -> assertThat(r.body().asString()).isEqualTo("x"));
  }

  @Test
  void optionsThatNeedAnotherAreUsageErrors() {
    CliRun body = CliRun.of("--jsonl-body", url("/echo"));
    assertThat(body.status()).isEqualTo(2);
    assertThat(body.stderr()).contains("'--jsonl-body' needs --jsonl");
    CliRun retry = CliRun.of("--retry-non-idempotent", url("/echo"));
    assertThat(retry.status()).isEqualTo(2);
    assertThat(retry.stderr()).contains("'--retry-non-idempotent' needs --retry");
    CliRun format = CliRun.of("--input-format", "xml", url("/echo"));
    assertThat(format.status()).isEqualTo(2);
    assertThat(format.stderr()).contains("--input-format").contains("'xml'");
    assertThat(body.stdout() + retry.stdout() + format.stdout()).isEmpty();
  }

  @Test
  void aWaitingPostsBodyCountsTowardTheReorderWindowBytes() throws InterruptedException {
    // A batch of large POSTs behind a slow head must be bounded by --window-bytes like responses
    // are.
    byte[] payload = new byte[100_000];
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(4).build()) {
      List<Object> inputs =
          List.of(
              url("/delay/1500?post-budget"),
              FetchRequest.builder(server.uri("/echo?p1"))
                  .method("POST")
                  .body(Body.of(payload))
                  .build(),
              FetchRequest.builder(server.uri("/echo?p2"))
                  .method("POST")
                  .body(Body.of(payload))
                  .build());
      Sinks.One<List<FetchResult>> all = Sinks.one();
      Disposable run =
          fetcher
              .fetch(Flux.fromIterable(inputs), Results::toRequest)
              .collectList()
              .subscribe(all::tryEmitValue);
      try {
        Await.until(
            "two results waiting behind the stalled head",
            () -> fetcher.stats().waiting() >= 2,
            fetcher::stats);
        FetcherStats during = fetcher.stats();
        assertThat(during.waiting()).isEqualTo(2);
        assertThat(during.waitingBytes()).isGreaterThanOrEqualTo(2L * payload.length);
        assertThat(all.asMono().block(Duration.ofSeconds(10)))
            .hasSize(3)
            .allMatch(FetchResult::isSuccess);
      } finally {
        run.dispose();
      }
    }
  }

  // ---- --jsonl-body ----

  @Test
  void jsonlBodyCarriesTextAsTextAndOtherBytesAsBase64() throws IOException {
    CliRun run =
        CliRun.of(
            "--jsonl",
            "--jsonl-body",
            "-f",
            url("/bytes/100"),
            url("/bin"),
            url("/utf8"),
            url("/cut"),
            url("/status/503"));
    List<JsonNode> records = records(run);
    assertThat(records).hasSize(5);
    assertThat(records.get(0).get("body_encoding").asText()).isEqualTo("utf-8");
    assertThat(records.get(0).get("body").asText())
        .isEqualTo(new String(Reply.pattern(100), StandardCharsets.US_ASCII));
    assertThat(records.get(1).get("body_encoding").asText()).isEqualTo("base64");
    assertThat(Base64.getDecoder().decode(records.get(1).get("body").asText()))
        .containsExactly(BINARY);
    assertThat(records.get(2).get("body_encoding").asText()).isEqualTo("utf-8");
    assertThat(records.get(2).get("body").asText()).isEqualTo(ACCENTED);
    assertThat(records.get(3).get("body_encoding").asText()).isEqualTo("base64");
    assertThat(Base64.getDecoder().decode(records.get(3).get("body").asText()))
        .containsExactly('a', (byte) 0xe2, (byte) 0x82);
    assertThat(records.get(4).get("ok").asBoolean()).isFalse();
    assertThat(records.get(4).get("body").isNull()).isTrue();
    assertThat(records.get(4).get("body_encoding").isNull()).isTrue();
  }

  @Test
  void jsonlBodyOfABodySpilledToDiskIsReadBackWhole() throws IOException {
    // The body is read from its temporary file twice (UTF-8 check, then copy); with BlockHound and
    // its file I/O integration in the test JVM, doing that on an event loop would fail this run.
    CliRun run =
        CliRun.of("--jsonl", "--jsonl-body", "--spill-threshold", "1k", url("/big"), url("/bin"));
    List<JsonNode> records = records(run);
    assertThat(records.get(0).get("bytes").asLong()).isEqualTo(4096);
    assertThat(records.get(0).get("body").asText())
        .isEqualTo(new String(Reply.pattern(4096), StandardCharsets.US_ASCII));
    assertThat(Base64.getDecoder().decode(records.get(1).get("body").asText()))
        .containsExactly(BINARY);
  }

  @Test
  void jsonlBodyIsStillBoundedByTheBodyLimit() throws IOException {
    CliRun run =
        CliRun.of(
            "--jsonl", "--jsonl-body", "--max-filesize", "50", url("/bytes/100"), url("/bytes/10"));
    List<JsonNode> records = records(run);
    assertThat(run.status()).isEqualTo(1);
    assertThat(records.get(0).get("error").get("kind").asText()).isEqualTo("body_too_large");
    assertThat(records.get(0).get("body").isNull()).isTrue();
    assertThat(records.get(1).get("body").asText()).isEqualTo("abcdefghij");
  }
}
