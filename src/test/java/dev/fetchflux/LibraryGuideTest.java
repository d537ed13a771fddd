package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Await;
import dev.fetchflux.support.Replies;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServerExtension;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** Every snippet of docs/library.md, verbatim between its markers, run against a local server. */
@Timeout(60)
class LibraryGuideTest {

  @RegisterExtension final TestServerExtension server = new TestServerExtension();
  @TempDir Path dir;

  @Test
  void failuresAreValuesInTheirPlace() {
    List<String> out = new ArrayList<>();
    Flux<String> urls = Flux.just(server.url("/echo"), "htp:/broken", "http://127.0.0.1:1/");
    try (Fetcher fetcher = Fetcher.builder().build()) {
      // guide: failures
      fetcher
          .fetch(urls)
          .doOnNext(
              result -> {
                if (result instanceof FetchResult.Success ok) {
                  out.add(ok.index() + ": " + ok.status() + ", " + ok.body().size() + " bytes");
                } else if (result instanceof FetchResult.Failure failed) {
                  FetchException e = failed.error();
                  out.add(
                      e.index()
                          + ": "
                          + e.kind()
                          + " ("
                          + e.getCause().getClass().getSimpleName()
                          + ")");
                }
              })
          .blockLast();
      // end
    }
    assertThat(out)
        .containsExactly(
            "0: 200, 5 bytes",
            "1: INVALID_REQUEST (IllegalArgumentException)",
            "2: CONNECT_REFUSED (AnnotatedConnectException)");
  }

  @Test
  void failFastStopsAtTheFirstFailureInInputOrder() {
    Flux<String> urls =
        Flux.just(server.url("/echo"), server.url("/status/503"), server.url("/delay/2000"));
    List<String> out = new ArrayList<>();
    try (Fetcher fetcher = Fetcher.builder().failOnHttpError(true).build()) {
      // guide: fail-fast
      fetcher
          .fetchOrFail(urls)
          .doOnNext(ok -> out.add(ok.body().asString()))
          .onErrorResume(
              FetchException.class,
              e -> {
                out.add("stopped at #" + e.index() + ": " + e.kind() + " " + e.status());
                return Mono.empty();
              })
          .blockLast();
      // end
    }
    assertThat(out).containsExactly("/echo", "stopped at #1: HTTP_STATUS 503");
  }

  @Test
  void requestsCarryMethodHeadersAndBody() {
    URI api = server.uri("/items");
    server.route("/items", Reply.status(201, "created"));
    try (Fetcher fetcher = Fetcher.builder().build()) {
      // guide: requests
      FetchRequest post =
          FetchRequest.builder(api)
              .method("POST")
              .header("Content-Type", "application/json")
              .body(Body.of("{\"name\":\"widget\"}"))
              .build();
      FetchResult result = fetcher.fetchOne(post).block();
      // end
      assertThat(result)
          .isInstanceOfSatisfying(
              FetchResult.Success.class, ok -> assertThat(ok.status()).isEqualTo(201));
    }
    assertThat(server.requests("/items").get(0).body().asString())
        .isEqualTo("{\"name\":\"widget\"}");
  }

  @Test
  void configuredFetcher() {
    // guide: configure
    Fetcher fetcher =
        Fetcher.builder()
            .maxInFlight(64) // requests on the wire (C)
            .reorderWindow(8192) // admitted, not yet emitted (W >= C)
            .reorderWindowBytes(128L << 20) // memory of results waiting for the head
            .maxBodySize(16L << 20) // decoded bytes; larger -> BODY_TOO_LARGE
            .connectTimeout(Duration.ofSeconds(5))
            .readTimeout(Duration.ofSeconds(15)) // idle time between reads
            .requestTimeout(Duration.ofSeconds(30)) // total per input, redirects included
            .maxRedirects(5)
            .header("Authorization", "Bearer token") // never sent to another origin on redirect
            .sensitiveHeader("X-Api-Key") // ... nor this one
            .userAgent("my-crawler/1.0")
            .build();
    // end
    try (fetcher) {
      assertThat(fetcher.fetchOne(server.url("/echo")).block()).matches(FetchResult::isSuccess);
    }
  }

  @Test
  void lazyInputFromAFile() throws IOException {
    Path urlFile = dir.resolve("urls.txt");
    Files.write(urlFile, List.of(server.url("/bytes/3"), "", server.url("/bytes/4")));
    try (Fetcher fetcher = Fetcher.builder().build()) {
      // guide: lazy input
      Flux<String> lines =
          Flux.using(() -> Files.lines(urlFile), Flux::fromStream, Stream::close)
              .filter(line -> !line.isBlank())
              .subscribeOn(Schedulers.boundedElastic()); // file reads stay off the event loops
      long bytes =
          fetcher
              .fetch(lines)
              .ofType(FetchResult.Success.class)
              .map(ok -> ok.body().size())
              .reduce(0L, Long::sum)
              .block();
      // end
      assertThat(bytes).isEqualTo(7);
    }
  }

  @Test
  void largeBodiesSpillToFilesAndAreWrittenOffTheEventLoop() throws IOException {
    Path outFile = dir.resolve("all.bin");
    Flux<String> urls = Flux.range(0, 4).map(i -> server.url("/bytes/" + (1 << 20) + "?i=" + i));
    // guide: big bodies
    try (Fetcher fetcher = Fetcher.builder().spillThreshold(256 * 1024).build();
        OutputStream out = Files.newOutputStream(outFile)) {
      fetcher
          .fetch(urls)
          .publishOn(Schedulers.boundedElastic()) // blocking writes belong here
          .ofType(FetchResult.Success.class)
          .doOnNext(
              ok -> {
                try {
                  ok.body().writeTo(out); // streams the spilled file
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                } finally {
                  ok.body().release(); // deletes the temporary file
                }
              })
          .blockLast();
    }
    // end
    assertThat(Files.size(outFile)).isEqualTo(4L << 20);
  }

  @Test
  void streamingWritesEachBodyAsItArrivesInInputOrder() throws IOException {
    Flux<String> urls =
        Flux.just(
            server.url("/bytes/3000000"), server.url("/truncate/100000"), "http://127.0.0.1:1/");
    Path outFile = dir.resolve("bodies.bin");
    List<String> out = new ArrayList<>();
    try (Fetcher fetcher = Fetcher.builder().build()) {
      // guide: streaming
      try (FileChannel file =
          FileChannel.open(outFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
        fetcher
            .fetchStreaming(
                urls,
                result -> {
                  if (result instanceof StreamedResult.Success ok) {
                    return Mono.fromCallable(() -> ok.body().transferTo(file)) // blocks
                        .subscribeOn(Schedulers.boundedElastic())
                        .map(bytes -> ok.index() + ": " + bytes + " bytes")
                        .onErrorResume( // the body failed on its way
                            FetchException.class, e -> Mono.just(e.index() + ": " + e.kind()));
                  }
                  FetchException e = ((FetchResult.Failure) result).error();
                  return Mono.just(e.index() + ": " + e.kind());
                })
            .doOnNext(out::add)
            .blockLast();
      }
      // end
    }
    assertThat(out).containsExactly("0: 3000000 bytes", "1: TRUNCATED_BODY", "2: CONNECT_REFUSED");
    // The truncated body's bytes follow the first body's only if it was read as it failed.
    assertThat(Files.size(outFile)).isBetween(3_000_000L, 3_050_000L);
  }

  @Test
  void oneRequestAsAFuture() throws Exception {
    try (Fetcher fetcher = Fetcher.builder().build()) {
      // guide: one request
      CompletableFuture<FetchResult> future = fetcher.fetchOne(server.url("/echo")).toFuture();
      // end
      assertThat(future.get().isSuccess()).isTrue();
    }
  }

  @Test
  void takeCancelsTheRest() {
    Flux<String> manyUrls = Flux.range(0, 1_000_000).map(i -> server.url("/echo?i=" + i));
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(8).reorderWindow(32).build()) {
      // guide: cancellation
      List<FetchResult> firstTen = fetcher.fetch(manyUrls).take(10).collectList().block();
      // end
      assertThat(firstTen)
          .extracting(FetchResult::index)
          .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    }
    // Admission runs ahead of demand by at most the window: bounded, whatever the input's length.
    assertThat(server.requests().size()).isLessThanOrEqualTo(10 + 32);
  }

  @Test
  void adaptiveRateForARateLimitedApi() {
    server.handler(
        Replies.inTurn(
            "/limited-once",
            Reply.ok("ok"),
            Reply.status(429, "slow down").withHeader("Retry-After", "1"),
            Reply.ok("ok")));
    // guide: adaptive rate
    Fetcher fetcher =
        Fetcher.builder()
            .maxInFlightPerHost(8) // at most 8 requests on the wire per host
            .maxRequestsPerSecondPerHost(50) // and 50 a second: the ceiling
            .adaptiveRate(AdaptiveRate.defaults()) // slower on 429/503 and Retry-After, then faster
            .retry(RetryPolicy.attempts(4)) // the throttled requests themselves are retried
            .build();
    // end
    try (fetcher) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.range(0, 4).map(i -> server.url("/limited-once?i=" + i)))
              .collectList()
              .block(Duration.ofSeconds(20));
      assertThat(results).allMatch(r -> r instanceof FetchResult.Success ok && ok.status() == 200);
      assertThat(fetcher.stats().retries()).isEqualTo(1);
    }
  }

  @Test
  void statsWhileItRuns() {
    List<String> out = new ArrayList<>();
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(3).maxInFlightPerHost(1).build()) {
      Disposable run =
          fetcher.fetch(Flux.range(0, 3).map(i -> server.url("/stall?i=" + i))).subscribe();
      Await.until(
          "one in flight, two queued",
          () -> fetcher.stats().hosts().size() == 1 && fetcher.stats().hosts().get(0).queued() == 2,
          fetcher::stats);
      // guide: watching
      FetcherStats stats = fetcher.stats();
      out.add(
          stats.inFlight()
              + " in flight, "
              + stats.waiting()
              + " waiting ("
              + stats.waitingBytes()
              + " bytes), "
              + stats.retries()
              + " retries");
      for (FetcherStats.Host host : stats.hosts()) { // busiest first
        out.add(
            host.host()
                + ": "
                + host.queued()
                + " queued, "
                + host.inFlight()
                + " in flight, "
                + host.rateLimit()
                + "/s"
                + (host.throttled() ? " (slowed)" : ""));
      }
      // end
      run.dispose();
    }
    assertThat(out)
        .containsExactly(
            "3 in flight, 0 waiting (0 bytes), 0 retries",
            "127.0.0.1: 2 queued, 1 in flight, 0.0/s");
  }

  @Test
  void proxiesAsCurlChoosesThem() {
    List<String> out = new ArrayList<>();
    try (ProxyTestServers.Socks5Proxy socks = ProxyTestServers.Socks5Proxy.start()) {
      int socksPort = socks.port();
      // guide: proxies
      ProxySettings proxies =
          ProxySettings.fromEnvironment(System.getenv()) // as curl reads it
              .withProxy(Proxy.parse("socks5h://127.0.0.1:" + socksPort)) // like curl -x
              .withNoProxy("localhost,.internal.example"); // like --noproxy
      try (Fetcher fetcher = Fetcher.builder().proxy(proxies).build()) {
        fetcher
            .fetch(
                Flux.just(
                    server.url("/echo"), // through the proxy
                    "http://localhost:" + server.port() + "/echo")) // no_proxy: direct
            .doOnNext(r -> out.add(r.index() + ": " + r.isSuccess()))
            .blockLast();
      }
      // end
      assertThat(socks.log()).containsExactly("CONNECT IPv4 127.0.0.1:" + server.port());
    }
    assertThat(out).containsExactly("0: true", "1: true");
  }

  @Test
  void resolveOverridesPointAtAStagingServer() {
    int port = server.port();
    List<String> out = new ArrayList<>();
    // guide: resolve
    try (Fetcher fetcher =
        Fetcher.builder()
            .resolve(ResolveRule.parse("staging.example:" + port + ":127.0.0.1")) // --resolve
            .connectTo(
                ConnectToRule.parse("api.example:80:staging.example:" + port)) // --connect-to
            .build()) {
      fetcher
          .fetch(Flux.just("http://staging.example:" + port + "/echo", "http://api.example/echo"))
          .doOnNext(r -> out.add(r.index() + ": " + r.isSuccess()))
          .blockLast();
    }
    // end
    assertThat(out).containsExactly("0: true", "1: true");
    assertThat(server.requests("/echo"))
        .extracting(r -> r.headers().first("Host"))
        .containsExactlyInAnyOrder("staging.example:" + port, "api.example");
  }
}
