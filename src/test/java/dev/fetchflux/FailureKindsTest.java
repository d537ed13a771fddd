package dev.fetchflux;

import static dev.fetchflux.support.Results.assertFailure;
import static dev.fetchflux.support.Results.failureBetweenGoodOnes;
import static dev.fetchflux.support.Results.fetchAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.Await;
import dev.fetchflux.support.Ports;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.ReadTimeoutException;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.netty.http.client.PrematureCloseException;

/**
 * Each way a request can fail over real sockets becomes a failure value of its kind, at its index,
 * with its URL and the original exception as cause, while the inputs around it succeed.
 */
@Timeout(60)
class FailureKindsTest {

  private TestServer server;
  private Fetcher fetcher;
  private String good;

  @BeforeEach
  void start() {
    server = TestServer.start();
    fetcher = Fetcher.builder().maxInFlight(4).build();
    good = server.url("/echo");
  }

  @AfterEach
  void stop() {
    fetcher.close();
    server.close();
  }

  private FetchResult.Failure failure(String url, Kind kind) {
    return failureBetweenGoodOnes(fetcher, good, url, kind);
  }

  private FetchResult.Failure failure(Fetcher custom, String url, Kind kind) {
    return failureBetweenGoodOnes(custom, good, url, kind);
  }

  /** For short timeouts, which a loaded machine could trip on the neighbours too: input 0 alone. */
  private static FetchResult.Failure onlyFailure(Fetcher custom, String url, Kind kind) {
    return assertFailure(fetchAll(custom, url).get(0), 0, url, kind);
  }

  // ---- connection ------------------------------------------------------------------------------

  @Test
  void refusedConnectionBecomesFailureWithUriAndIndex() throws IOException {
    String url = "http://127.0.0.1:" + Ports.closedPort() + "/nobody-home";

    FetchResult.Failure f = failure(url, Kind.CONNECT_REFUSED);

    assertThat(f.error().getCause()).isInstanceOf(ConnectException.class);
    assertThat(f.timings().timeToFirstByte()).isZero();
    // A suppressed note marks the original exception with the request it belonged to.
    assertThat(f.error().getCause().getSuppressed())
        .singleElement()
        .satisfies(s -> assertThat(s.getMessage()).contains("fetchflux #1 GET " + url));
  }

  @Test
  void resetBeforeResponseIsConnectionReset() {
    FetchResult.Failure f = failure(server.url("/reset"), Kind.CONNECTION_RESET);

    assertThat(f.error().getCause()).isInstanceOf(IOException.class);
  }

  @Test
  void resetAfterHeadersIsConnectionReset() {
    FetchResult.Failure f = failure(server.url("/reset-after-headers"), Kind.CONNECTION_RESET);

    assertThat(f.error().getCause()).isInstanceOf(IOException.class);
  }

  @Test
  void resetInCloseDelimitedBodyIsConnectionReset() {
    FetchResult.Failure f = failure(server.url("/close-reset/100000"), Kind.CONNECTION_RESET);

    assertThat(f.error().getCause()).isInstanceOf(IOException.class);
  }

  // ---- truncated bodies ------------------------------------------------------------------------

  @Test
  void bodyShorterThanContentLengthIsTruncated() {
    FetchResult.Failure f = failure(server.url("/truncate/1000"), Kind.TRUNCATED_BODY);

    assertThat(f.error().getCause()).isInstanceOf(PrematureCloseException.class);
  }

  @Test
  void chunkedBodyWithoutLastChunkIsTruncated() {
    FetchResult.Failure f = failure(server.url("/chunked-no-end/1000"), Kind.TRUNCATED_BODY);

    assertThat(f.error().getCause()).isInstanceOf(PrematureCloseException.class);
  }

  // ---- timeouts --------------------------------------------------------------------------------

  @Test
  void stalledResponseHitsReadTimeout() {
    try (Fetcher quick = Fetcher.builder().readTimeout(Duration.ofMillis(300)).build()) {
      FetchResult.Failure f = onlyFailure(quick, server.url("/stall"), Kind.READ_TIMEOUT);

      assertThat(f.error().getCause()).isInstanceOf(ReadTimeoutException.class);
      assertThat(f.timings().total()).isGreaterThanOrEqualTo(Duration.ofMillis(300));
    }
  }

  @Test
  void dribblingBodyHitsTheTotalDeadlineThatTheReadTimeoutMisses() {
    // One byte every 50 ms never leaves the connection idle for the 3 s read timeout; only the
    // 600 ms total deadline cuts the 10 s body off.
    server.route("/dribble", Reply.dribble(200, Duration.ofMillis(50)));
    try (Fetcher quick =
        Fetcher.builder()
            .readTimeout(Duration.ofSeconds(3))
            .requestTimeout(Duration.ofMillis(600))
            .build()) {
      FetchResult.Failure f = onlyFailure(quick, server.url("/dribble"), Kind.DEADLINE);

      assertThat(f.error().getCause()).isInstanceOf(TimeoutException.class);
      assertThat(f.timings().total()).isGreaterThanOrEqualTo(Duration.ofMillis(600));
    }
    Await.until(
        "the server sees the dribbling request abandoned",
        () -> server.abandoned() == 1,
        server::abandoned);
  }

  // ---- body limit ------------------------------------------------------------------------------

  @Test
  void contentLengthOverTheLimitIsBodyTooLarge() {
    try (Fetcher small = Fetcher.builder().maxBodySize(1000).compression(false).build()) {
      FetchResult.Failure f = failure(small, server.url("/bytes/1001"), Kind.BODY_TOO_LARGE);

      assertThat(f.error().getMessage()).contains("1001");
    }
  }

  @Test
  void contentLengthBodyOverTheLimitIsBodyTooLargeWithCompressionOn() {
    try (Fetcher small = Fetcher.builder().maxBodySize(1000).build()) {
      failure(small, server.url("/bytes/5000"), Kind.BODY_TOO_LARGE);
    }
  }

  @Test
  void bodyExactlyAtTheLimitIsAccepted() {
    try (Fetcher small = Fetcher.builder().maxBodySize(1000).build()) {
      List<FetchResult> results = fetchAll(small, server.url("/bytes/1000"));

      assertThat(results.get(0))
          .isInstanceOfSatisfying(
              FetchResult.Success.class, ok -> assertThat(ok.body().size()).isEqualTo(1000));
    }
  }

  @Test
  void chunkedBodyOverTheLimitIsBodyTooLarge() {
    server.route("/chunked", Reply.chunked(Reply.pattern(50_000), 1000));
    try (Fetcher small = Fetcher.builder().maxBodySize(10_000).build()) {
      failure(small, server.url("/chunked"), Kind.BODY_TOO_LARGE);
    }
  }

  @Test
  void closeDelimitedBodyOverTheLimitIsBodyTooLarge() {
    server.route("/unknown-length", Reply.closeDelimited(Reply.pattern(50_000)));
    try (Fetcher small = Fetcher.builder().maxBodySize(10_000).build()) {
      failure(small, server.url("/unknown-length"), Kind.BODY_TOO_LARGE);
    }
  }

  @Test
  void gzipBombIsBodyTooLargeCountingDecodedBytes() {
    // 1 MB of zeros compresses to about 1 KB: the announced length is far under the limit.
    byte[] compressed = Reply.gzipped(new byte[1_000_000]);
    assertThat(compressed.length).isLessThan(10_000);
    try (Fetcher small = Fetcher.builder().maxBodySize(100_000).build()) {
      FetchResult.Failure f = failure(small, server.url("/gzip/1000000"), Kind.BODY_TOO_LARGE);

      assertThat(f.error().getMessage()).contains("decoded");
    }
  }

  // ---- protocol --------------------------------------------------------------------------------

  @Test
  void invalidStatusLineIsProtocolError() {
    FetchResult.Failure f = failure(server.url("/invalid-status"), Kind.PROTOCOL);

    assertThat(f.error().getCause()).isInstanceOf(IllegalArgumentException.class);
    assertThat(f.error().getMessage()).contains("invalid status line");
  }

  @Test
  void endlessHeadersAreProtocolError() {
    FetchResult.Failure f = failure(server.url("/endless-headers"), Kind.PROTOCOL);

    assertThat(f.error().getCause()).isInstanceOf(TooLongFrameException.class);
  }

  @Test
  void errorStatusIsSuccessUnlessFailOnHttpError() {
    List<FetchResult> lenient = fetchAll(fetcher, server.url("/status/404"));
    assertThat(lenient.get(0))
        .isInstanceOfSatisfying(
            FetchResult.Success.class, ok -> assertThat(ok.status()).isEqualTo(404));

    try (Fetcher strict = Fetcher.builder().failOnHttpError(true).build()) {
      String url = server.url("/status/503");
      FetchResult.Failure f = assertHttpStatusFailure(fetchAll(strict, good, url).get(1), url);
      assertThat(f.error().status()).isEqualTo(503);
      assertThat(f.error().getMessage()).contains("503");
      assertThat(fetchAll(strict, server.url("/status/399")).get(0).isSuccess()).isTrue();
    }
  }

  private static FetchResult.Failure assertHttpStatusFailure(FetchResult result, String url) {
    // Not a transport failure: no cause to check, but index, URL and kind as for any other.
    assertThat(result).isInstanceOf(FetchResult.Failure.class);
    FetchResult.Failure f = (FetchResult.Failure) result;
    assertThat(f.kind()).isEqualTo(Kind.HTTP_STATUS);
    assertThat(f.index()).isEqualTo(1);
    assertThat(f.error().url()).isEqualTo(url);
    assertThat(f.error().getMessage()).startsWith("#1 GET " + url + ": HTTP error status");
    return f;
  }

  // ---- inputs ----------------------------------------------------------------------------------

  @Test
  void malformedUrlIsFailureAtItsIndexAndTheRestContinue() {
    String bad = "http://exa mple.com/space";
    List<FetchResult> results = fetchAll(fetcher, good, bad, "no-scheme", good);

    assertThat(results.get(0).isSuccess()).isTrue();
    assertThat(results.get(3).isSuccess()).isTrue();
    for (int i : new int[] {1, 2}) {
      FetchResult.Failure f = (FetchResult.Failure) results.get(i);
      assertThat(f.kind()).isEqualTo(Kind.INVALID_REQUEST);
      assertThat(f.index()).isEqualTo(i);
      assertThat(f.error().uri()).isNull();
      assertThat(f.error().attempts()).isZero();
      assertThat(f.error().getCause()).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(((FetchResult.Failure) results.get(1)).url()).isEqualTo(bad);
    assertThat(((FetchResult.Failure) results.get(1)).error().getMessage())
        .startsWith("#1 GET " + bad + ": invalid request: malformed URL");
    assertThat(((FetchResult.Failure) results.get(2)).error().getMessage())
        .startsWith("#2 GET no-scheme: invalid request")
        .contains("no scheme");
  }

  @Test
  void failureKeepsTheOriginalCauseAndNamesTheRequestInASuppressedNote() {
    String url = server.url("/too-big");
    server.route("/too-big", Reply.ok(Reply.pattern(2000)));
    try (Fetcher small = Fetcher.builder().maxBodySize(1000).build()) {
      FetchResult.Failure f = failure(small, url, Kind.BODY_TOO_LARGE);

      // A failure the engine detected itself: the cause is its TransportException, whose trace
      // shows where; a suppressed note names the request it belonged to.
      Throwable cause = f.error().getCause();
      assertThat(cause).isInstanceOf(TransportException.class);
      assertThat(cause.getStackTrace()).isNotEmpty();
      assertThat(cause.getSuppressed())
          .singleElement()
          .satisfies(s -> assertThat(s.getMessage()).contains("fetchflux #1 GET " + url));
    }
  }
}
