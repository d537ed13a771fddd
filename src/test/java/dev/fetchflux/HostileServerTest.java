package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.ReadTimeoutException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.netty.http.client.PrematureCloseException;

/**
 * One test per way a server can misbehave. Each fault sits at index 2 of a batch of five whose other
 * URLs are good (two of them slower, so they finish after the fault): the fault must come back as
 * a failure of the right kind at index 2, naming its URL, with the original exception as its cause,
 * and the four good results must be intact and in order. (Leaked buffers fail any test through the
 * suite's Netty leak check, run at paranoid level.)
 */
@Timeout(30)
class HostileServerTest {

  // Generous for the good URLs on a loaded machine; the stall and dribble tests wait them out.
  private static final Duration READ_TIMEOUT = Duration.ofMillis(2000);
  private static final Duration REQUEST_TIMEOUT = Duration.ofMillis(3000);
  private static final long MAX_BODY = 1 << 20;

  private static TestServer server;
  private static HostileRawServer rawServer;
  private Fetcher fetcher;

  @BeforeAll
  static void startServers() {
    server = TestServer.start();
    rawServer = new HostileRawServer();
    // Class loading and JIT on a cold JVM would otherwise eat into the first batch's timeouts.
    try (Fetcher warm = Fetcher.builder().build()) {
      warm.fetchOne(server.url("/echo?warm-up")).block(Duration.ofSeconds(30));
    }
  }

  @AfterAll
  static void stopServers() {
    rawServer.close();
    server.close();
  }

  @BeforeEach
  void newFetcher() {
    fetcher =
        Fetcher.builder()
            .maxInFlight(5)
            .connectTimeout(Duration.ofSeconds(2))
            .readTimeout(READ_TIMEOUT)
            .requestTimeout(REQUEST_TIMEOUT)
            .maxBodySize(MAX_BODY)
            .build();
  }

  @AfterEach
  void closeFetcher() {
    fetcher.close();
  }

  /** Runs the fault in a batch of good URLs, checks the good ones and returns the fault's failure. */
  private FetchResult.Failure faultInBatch(String faultUrl) {
    List<String> urls =
        List.of(
            server.url("/delay/60?good=0"),
            server.url("/delay/0?good=1"),
            faultUrl,
            server.url("/delay/120?good=3"),
            server.url("/delay/0?good=4"));
    List<FetchResult> results =
        fetcher.fetch(Flux.fromIterable(urls)).collectList().block(Duration.ofSeconds(20));
    assertThat(results).hasSize(5);
    for (int i = 0; i < 5; i++) {
      FetchResult r = results.get(i);
      assertThat(r.index()).isEqualTo(i);
      assertThat(r.url()).isEqualTo(urls.get(i));
      if (i != 2) {
        assertThat(r).isInstanceOf(FetchResult.Success.class);
        FetchResult.Success ok = (FetchResult.Success) r;
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.body().asString())
            .isEqualTo(URI.create(urls.get(i)).getRawPath() + "?good=" + i);
      }
    }
    assertThat(results.get(2)).isInstanceOf(FetchResult.Failure.class);
    FetchResult.Failure f = (FetchResult.Failure) results.get(2);
    assertThat(f.error().index()).isEqualTo(2);
    assertThat(f.uri()).isEqualTo(URI.create(faultUrl));
    assertThat(f.error().getMessage()).startsWith("#2 GET " + faultUrl + ": ");
    assertThat(f.error().getCause()).as("the original exception").isNotNull();
    return f;
  }

  @Test
  void refusedConnection() {
    FetchResult.Failure f = faultInBatch("http://127.0.0.1:1/refused");
    assertThat(f.kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
    assertThat(f.error().getCause()).isInstanceOf(ConnectException.class);
  }

  @Test
  void acceptedAndNeverAnswered() {
    server.route("/h/stall", Reply.stall());
    FetchResult.Failure f = faultInBatch(server.url("/h/stall"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.READ_TIMEOUT);
    assertThat(f.error().getCause()).isInstanceOf(ReadTimeoutException.class);
  }

  @Test
  void resetBeforeTheResponse() {
    server.route("/h/reset", Reply.resetBeforeResponse());
    FetchResult.Failure f = faultInBatch(server.url("/h/reset"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.CONNECTION_RESET);
    assertThat(f.error().getCause()).isInstanceOf(IOException.class);
    assertThat(f.timings().timeToFirstByte()).isZero();
  }

  @Test
  void resetInTheMiddleOfTheHeaders() {
    rawServer.script("/h/reset-in-headers", "HTTP/1.1 200 OK\r\nContent-Ty", true);
    FetchResult.Failure f = faultInBatch(rawServer.url("/h/reset-in-headers"));
    // reactor-netty exposes no partial header, so this counts as "before the response".
    assertThat(f.kind()).isEqualTo(FetchException.Kind.CONNECTION_RESET);
    assertThat(f.error().getCause()).isInstanceOf(IOException.class);
  }

  @Test
  void resetRightAfterTheHeaders() {
    server.route("/h/reset-after-headers", Reply.resetAfterHeaders(1000));
    FetchResult.Failure f = faultInBatch(server.url("/h/reset-after-headers"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.CONNECTION_RESET);
    assertThat(f.error().getMessage()).contains("after the status line, during the body");
    assertThat(f.error().getCause()).isInstanceOf(IOException.class);
    assertThat(f.timings().timeToFirstByte()).isPositive();
  }

  @Test
  void resetInTheMiddleOfALengthDelimitedBody() {
    rawServer.script(
        "/h/reset-in-body",
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x".repeat(400),
        true);
    FetchResult.Failure f = faultInBatch(rawServer.url("/h/reset-in-body"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.CONNECTION_RESET);
    assertThat(f.error().getMessage()).contains("after the status line, during the body");
    assertThat(f.error().getCause()).isInstanceOf(IOException.class);
    assertThat(f.error().status()).isEqualTo(200);
    assertThat(f.timings().timeToFirstByte()).isPositive();
  }

  @Test
  void contentLengthBodyCutShortByACleanClose() {
    server.route("/h/truncated", Reply.truncated(1000, 300));
    FetchResult.Failure f = faultInBatch(server.url("/h/truncated"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.TRUNCATED_BODY);
    assertThat(f.error().getCause()).isInstanceOf(PrematureCloseException.class);
  }

  @Test
  void chunkedBodyWithoutTheLastChunk() {
    server.route("/h/chunked-no-end", Reply.chunkedWithoutLastChunk(500));
    FetchResult.Failure f = faultInBatch(server.url("/h/chunked-no-end"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.TRUNCATED_BODY);
    assertThat(f.error().getCause()).isInstanceOf(PrematureCloseException.class);
  }

  @Test
  void closeDelimitedBodyCutByAReset() {
    server.route("/h/close-reset", Reply.closeDelimitedReset(1000, 500));
    FetchResult.Failure f = faultInBatch(server.url("/h/close-reset"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.CONNECTION_RESET);
    assertThat(f.error().getMessage()).contains("during a body delimited by connection close");
    assertThat(f.error().getCause()).isInstanceOf(IOException.class);
  }

  @Test
  void oneBytePerIntervalForeverHitsTheTotalDeadline() {
    // 200 ms between bytes never trips the 2 s read timeout; 3 s is the whole allowance.
    server.route("/h/dribble", Reply.dribble(100_000, Duration.ofMillis(200)));
    FetchResult.Failure f = faultInBatch(server.url("/h/dribble"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.DEADLINE);
    assertThat(f.error().getCause()).isInstanceOf(TimeoutException.class);
  }

  @Test
  void endlessHeaders() {
    server.route("/h/endless-headers", Reply.endlessHeaders(Duration.ofMillis(2)));
    FetchResult.Failure f = faultInBatch(server.url("/h/endless-headers"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.PROTOCOL);
    assertThat(f.error()).hasRootCauseInstanceOf(TooLongFrameException.class);
  }

  @Test
  void oneHeaderLineOverTheSizeLimit() {
    rawServer.script(
        "/h/huge-header",
        "HTTP/1.1 200 OK\r\nX-Huge: " + "h".repeat(20_000) + "\r\nContent-Length: 0\r\n\r\n",
        false);
    FetchResult.Failure f = faultInBatch(rawServer.url("/h/huge-header"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.PROTOCOL);
    assertThat(f.error()).hasRootCauseInstanceOf(TooLongFrameException.class);
  }

  @Test
  void gzipBombStopsAtTheBodyLimit() {
    server.route("/h/bomb", Reply.gzip(new byte[32 << 20]));
    FetchResult.Failure f = faultInBatch(server.url("/h/bomb"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.BODY_TOO_LARGE);
    assertThat(f.error().getMessage()).contains("more than " + MAX_BODY + " bytes (decoded)");
  }

  @Test
  void redirectToItself() {
    server.route("/h/self", Reply.redirect(302, "/h/self"));
    FetchResult.Failure f = faultInBatch(server.url("/h/self"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.REDIRECT_LOOP);
    assertThat(f.error().getCause()).isInstanceOf(TransportException.class);
  }

  @Test
  void invalidStatusLine() {
    server.route("/h/invalid-status", Reply.invalidStatusLine());
    FetchResult.Failure f = faultInBatch(server.url("/h/invalid-status"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.PROTOCOL);
    assertThat(f.error().getCause())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HTTTP/9.9");
  }

  @Test
  void invalidChunkSize() {
    rawServer.script(
        "/h/bad-chunk",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
        false);
    FetchResult.Failure f = faultInBatch(rawServer.url("/h/bad-chunk"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.PROTOCOL);
    assertThat(f.error().getMessage())
        .contains("malformed response: Invalid character in chunk size");
    assertThat(f.error().getCause()).isInstanceOf(NumberFormatException.class);
  }

  @Test
  void announcedBodyPastTheLimit() {
    server.route("/h/huge", Reply.ok(new byte[(int) MAX_BODY + 1]));
    FetchResult.Failure f = faultInBatch(server.url("/h/huge"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.BODY_TOO_LARGE);
    assertThat(f.error().status()).isEqualTo(200);
  }

  @Test
  void unannouncedBodyPastTheLimit() {
    byte[] head = HostileRawServer.ascii("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    byte[] bytes = new byte[head.length + (int) MAX_BODY * 2];
    System.arraycopy(head, 0, bytes, 0, head.length);
    rawServer.script("/h/huge-unannounced", bytes, false);
    FetchResult.Failure f = faultInBatch(rawServer.url("/h/huge-unannounced"));
    assertThat(f.kind()).isEqualTo(FetchException.Kind.BODY_TOO_LARGE);
  }

  @Test
  void urlWithSpacesOrLineBreaksIsRefusedBeforeAnythingIsSent() {
    List<String> urls =
        List.of(
            server.url("/delay/0?good=0"),
            "http://127.0.0.1/a b",
            "http://127.0.0.1/a\r\nX-Injected: 1",
            server.url("/delay/0?good=3"));
    List<FetchResult> results =
        fetcher.fetch(Flux.fromIterable(urls)).collectList().block(Duration.ofSeconds(10));
    assertThat(results).extracting(FetchResult::index).containsExactly(0L, 1L, 2L, 3L);
    assertThat(results.get(0).isSuccess()).isTrue();
    assertThat(results.get(3).isSuccess()).isTrue();
    for (int i = 1; i <= 2; i++) {
      FetchResult.Failure f = (FetchResult.Failure) results.get(i);
      assertThat(f.kind()).isEqualTo(FetchException.Kind.INVALID_REQUEST);
      assertThat(f.url()).isEqualTo(urls.get(i));
      assertThat(f.attempts()).isZero();
    }
  }
}
