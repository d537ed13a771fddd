package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.support.Await;
import dev.fetchflux.support.GatedServer;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * A body that fails on its way is still a failure at its index: its reader gets the bytes that
 * arrived, then {@code onError(FetchException)} of the kind a whole read would have reported.
 */
@Timeout(60)
class StreamingFailureTest {

  /** What a handler saw: bytes, then how the body ended. */
  record Seen(long index, long bytes, FetchException error) {}

  private static Mono<Seen> read(StreamedResult r) {
    if (!(r instanceof StreamedResult.Success ok)) {
      FetchResult.Failure f = (FetchResult.Failure) r;
      return Mono.just(new Seen(f.index(), -1, f.error()));
    }
    AtomicLong n = new AtomicLong();
    return ok.body()
        .chunks()
        .doOnNext(b -> n.addAndGet(b.remaining()))
        .then(Mono.fromSupplier(() -> new Seen(ok.index(), n.get(), null)))
        .onErrorResume(FetchException.class, e -> Mono.just(new Seen(ok.index(), n.get(), e)));
  }

  @Test
  void aHeadCutShortEndsWithTruncatedBodyAtItsIndexAfterTheBytesThatCame() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.route("/cut", Reply.truncated(100_000, 60_000));
      List<Seen> seen =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/echo"), server.url("/cut")), StreamingFailureTest::read)
              .collectList()
              .block(Duration.ofSeconds(20));
      assertThat(seen).hasSize(2);
      assertThat(seen.get(0).error()).isNull();
      Seen cut = seen.get(1);
      assertThat(cut.error()).isNotNull();
      assertThat(cut.error().index()).isEqualTo(1);
      assertThat(cut.error().kind()).isEqualTo(Kind.TRUNCATED_BODY);
      assertThat(cut.error().getMessage()).startsWith("#1 GET " + server.url("/cut") + ": ");
      assertThat(cut.bytes()).isLessThanOrEqualTo(60_000);
    }
  }

  @Test
  void aResetInTheMiddleOfTheHeadIsAFailureOfThatBody() {
    try (GatedServer server = GatedServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.gate("/reset", Reply.pattern(100_000), 5_000, true);
      List<Seen> seen = new CopyOnWriteArrayList<>();
      AtomicLong received = new AtomicLong();
      fetcher
          .fetchStreaming(
              Flux.just(server.url("/reset")),
              r -> {
                StreamedResult.Success ok = (StreamedResult.Success) r;
                return ok.body()
                    .chunks()
                    .doOnNext(b -> received.addAndGet(b.remaining()))
                    .then(Mono.<Seen>empty())
                    .onErrorResume(
                        FetchException.class,
                        e -> Mono.just(new Seen(ok.index(), received.get(), e)));
              })
          .subscribe(seen::add);
      await("the first part arrived", () -> received.get() == 5_000);
      server.open("/reset");
      await("the body failed", () -> !seen.isEmpty());
      assertThat(seen.get(0).bytes()).isEqualTo(5_000);
      assertThat(seen.get(0).error().kind()).isEqualTo(Kind.CONNECTION_RESET);
      assertThat(seen.get(0).error().status()).isEqualTo(200);
    }
  }

  @Test
  void aBodyThatFailedWhileWaitingGivesItsReaderTheFailureAndNoByte() {
    try (GatedServer gated = GatedServer.start();
        TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      gated.gate("/head", Reply.pattern(1_000), 10, false);
      server.route("/cut", Reply.truncated(100_000, 60_000));
      List<Seen> seen = new CopyOnWriteArrayList<>();
      fetcher
          .fetchStreaming(
              Flux.just(gated.url("/head"), server.url("/cut")), StreamingFailureTest::read)
          .subscribe(seen::add);
      await(
          "the second body failed while the head waits",
          () -> fetcher.stats().failed() == 1 && gated.atGate() == 1);
      gated.open("/head");
      await("both bodies ended", () -> seen.size() == 2);
      assertThat(seen.get(1).bytes()).isZero();
      assertThat(seen.get(1).error().kind()).isEqualTo(Kind.TRUNCATED_BODY);
      assertThat(seen.get(1).error().index()).isEqualTo(1);
    }
  }

  @Test
  void aBodyPastTheLimitFailsAsItCrossesIt() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxBodySize(100_000).build()) {
      server.route("/big", Reply.chunked(Reply.pattern(300_000), 10_000));
      Seen s =
          fetcher
              .fetchStreaming(Flux.just(server.url("/big")), StreamingFailureTest::read)
              .blockLast(Duration.ofSeconds(20));
      assertThat(s.error().kind()).isEqualTo(Kind.BODY_TOO_LARGE);
      assertThat(s.bytes()).isLessThanOrEqualTo(100_000);
    }
  }

  @Test
  void aStalledBodyFailsAtTheDeadline() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().requestTimeout(Duration.ofMillis(500)).build()) {
      server.route("/stall", Reply.stallAfter(1_000_000, 2_000));
      Seen s =
          fetcher
              .fetchStreaming(Flux.just(server.url("/stall")), StreamingFailureTest::read)
              .blockLast(Duration.ofSeconds(20));
      assertThat(s.error().kind()).isEqualTo(Kind.DEADLINE);
      assertThat(s.error().getMessage()).contains("requestTimeout");
      assertThat(s.bytes()).isEqualTo(2_000);
    }
  }

  @Test
  void aStalledBodyFailsAtTheReadTimeout() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().readTimeout(Duration.ofMillis(300)).build()) {
      server.route("/stall", Reply.stallAfter(1_000_000, 2_000));
      Seen s =
          fetcher
              .fetchStreaming(Flux.just(server.url("/stall")), StreamingFailureTest::read)
              .blockLast(Duration.ofSeconds(20));
      assertThat(s.error().kind()).isEqualTo(Kind.READ_TIMEOUT);
      assertThat(s.bytes()).isEqualTo(2_000);
    }
  }

  @Test
  void timeSpentWaitingForTheReaderCountsNeitherAsIdleNorTowardsTheDeadline() {
    try (GatedServer server = GatedServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .readTimeout(Duration.ofMillis(300))
                .requestTimeout(Duration.ofMillis(800))
                .build()) {
      server.generate("/big", 4_000_000);
      server.generate("/small", 10);
      // Warm up: the first exchange of a JVM loads classes for longer than these timeouts.
      fetcher.fetch(Flux.just(server.url("/small"))).blockLast(Duration.ofSeconds(20));
      // The reader takes a buffer, then sits on it for 1.5 s: longer than both timeouts.
      Seen s =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/big")),
                  r -> {
                    if (!(r instanceof StreamedResult.Success ok)) {
                      return Mono.just(new Seen(r.index(), -1, ((FetchResult.Failure) r).error()));
                    }
                    AtomicLong n = new AtomicLong();
                    return ok.body()
                        .chunks()
                        .publishOn(Schedulers.boundedElastic(), 1)
                        .doOnNext(
                            b -> {
                              if (n.getAndAdd(b.remaining()) == 0) {
                                sleep(1_500);
                              }
                            })
                        .then(Mono.fromSupplier(() -> new Seen(ok.index(), n.get(), null)))
                        .onErrorResume(
                            FetchException.class, e -> Mono.just(new Seen(ok.index(), n.get(), e)));
                  })
              .blockLast(Duration.ofSeconds(20));
      assertThat(s.error()).isNull();
      assertThat(s.bytes()).isEqualTo(4_000_000);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Test
  void failOnHttpErrorFailsAStreamedResponseByItsStatus() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().failOnHttpError(true).build()) {
      Seen s =
          fetcher
              .fetchStreaming(Flux.just(server.url("/status/503")), StreamingFailureTest::read)
              .blockLast(Duration.ofSeconds(20));
      assertThat(s.bytes()).isEqualTo(-1);
      assertThat(s.error().kind()).isEqualTo(Kind.HTTP_STATUS);
      assertThat(s.error().status()).isEqualTo(503);
    }
  }

  /** Waits for what a loaded machine can make slow (a JVM's first exchange): up to 30 s. */
  private static void await(String what, java.util.function.BooleanSupplier condition) {
    Await.until(what, Duration.ofSeconds(30), condition, () -> "");
  }
}
