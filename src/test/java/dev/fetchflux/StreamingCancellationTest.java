package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.support.Await;
import dev.fetchflux.support.GatedServer;
import dev.fetchflux.support.StreamedBodies;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Cancelling a streaming run, or a body, releases everything: connections are closed, held buffers
 * released (Netty's paranoid leak detector checks), temporary files deleted (the resource-leak
 * extension checks files and descriptors after each test). A body belongs to its handler's
 * publisher and cannot outlive it.
 */
@Timeout(60)
class StreamingCancellationTest {

  @TempDir Path spill;

  private static void await(String what, BooleanSupplier condition) {
    Await.until(what, Duration.ofSeconds(30), condition, () -> "");
  }

  private long spillFiles() {
    return StreamedBodies.filesIn(spill);
  }

  @Test
  void disposingTheRunReleasesTheStreamingHeadAndEveryHeldAndSpilledBody() {
    try (GatedServer server = GatedServer.start();
        Fetcher fetcher =
            Fetcher.builder()
                .maxInFlight(6)
                .reorderWindowBytes(128 * 1024)
                .spillThreshold(32 * 1024)
                .spillDirectory(spill)
                .build()) {
      server.gate("/head", Reply.pattern(1_000_000), 100_000, false);
      for (int i = 1; i <= 5; i++) {
        server.generate("/big" + i, 2_000_000);
      }
      AtomicLong headBytes = new AtomicLong();
      Flux<String> urls =
          Flux.concat(
              Flux.just(server.url("/head")), Flux.range(1, 5).map(i -> server.url("/big" + i)));
      Disposable run =
          fetcher
              .fetchStreaming(
                  urls,
                  r ->
                      ((StreamedResult.Success) r)
                          .body()
                          .chunks()
                          .doOnNext(b -> headBytes.addAndGet(b.remaining())))
              .subscribe();
      await(
          "the head streams and the bodies behind it went to files",
          () -> headBytes.get() == 100_000 && spillFiles() > 0);
      run.dispose();
      await("every temporary file was deleted", () -> spillFiles() == 0);
    }
  }

  @Test
  void takingFewerResultsThanInputsReleasesTheRest() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlight(8).build()) {
      server.route("/big", Reply.ok(Reply.pattern(500_000)));
      List<Long> sizes =
          fetcher
              .fetchStreaming(
                  Flux.range(0, 50).map(i -> server.url("/big?i=" + i)),
                  r ->
                      ((StreamedResult.Success) r)
                          .body()
                          .chunks()
                          .map(ByteBuffer::remaining)
                          .reduce(0L, Long::sum))
              .take(3)
              .collectList()
              .block(Duration.ofSeconds(30));
      assertThat(sizes).containsExactly(500_000L, 500_000L, 500_000L);
    }
  }

  @Test
  void aBodyItsHandlerDidNotReadIsDiscardedAndTheNextResultComes() {
    try (GatedServer server = GatedServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.gate("/unread", Reply.pattern(1_000_000), 1_000, false);
      server.generate("/next", 10_000);
      AtomicReference<BodyStream> kept = new AtomicReference<>();
      List<Object> out =
          fetcher
              .<Object>fetchStreaming(
                  Flux.just(server.url("/unread"), server.url("/next")),
                  r -> {
                    StreamedResult.Success ok = (StreamedResult.Success) r;
                    if (ok.index() == 0) {
                      kept.set(ok.body()); // kept, not read: the body ends with the publisher
                      return Mono.just("skipped");
                    }
                    return ok.body().chunks().map(ByteBuffer::remaining).reduce(0, Integer::sum);
                  })
              .collectList()
              .block(Duration.ofSeconds(30));
      assertThat(out).containsExactly("skipped", 10_000);
      // A body read after its turn is an error that says why, not a hang.
      assertThatThrownBy(() -> kept.get().chunks().blockLast(Duration.ofSeconds(5)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("discarded");
    }
  }

  @Test
  void aBodyIsReadOnce() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      List<String> out =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/echo")),
                  r -> {
                    BodyStream body = ((StreamedResult.Success) r).body();
                    return body.chunks()
                        .then(body.chunks().then(Mono.just("twice")))
                        .onErrorResume(IllegalStateException.class, e -> Mono.just(e.getMessage()));
                  })
              .collectList()
              .block(Duration.ofSeconds(30));
      assertThat(out).hasSize(1);
      assertThat(out.get(0)).contains("read once");
    }
  }

  @Test
  void aReaderThatCancelsGivesTheRestUpAndTheRunGoesOn() {
    try (GatedServer server = GatedServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.gate("/endless", Reply.pattern(5_000_000), 100_000, false);
      server.generate("/next", 10_000);
      List<Integer> out =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/endless"), server.url("/next")),
                  r ->
                      ((StreamedResult.Success) r)
                          .body()
                          .chunks()
                          .take(1)
                          .map(ByteBuffer::remaining)
                          .reduce(0, Integer::sum))
              .collectList()
              .block(Duration.ofSeconds(30));
      assertThat(out).hasSize(2);
      assertThat(out.get(0)).isPositive();
      // Its connection is closed: the close reaches the server a moment later on a loaded machine.
      await("the endless body's connection closed", () -> server.atGate() == 0);
    }
  }

  @Test
  void aChannelThatFailsGivesTheBodyUpAndTheExceptionComesOut() {
    try (GatedServer server = GatedServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.generate("/big", 10_000_000);
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      fetcher
          .fetchStreaming(
              Flux.just(server.url("/big")),
              r ->
                  Mono.fromCallable(
                          () -> {
                            java.nio.channels.WritableByteChannel failing =
                                new java.nio.channels.WritableByteChannel() {
                                  long n;

                                  @Override
                                  public int write(ByteBuffer src) throws java.io.IOException {
                                    if ((n += src.remaining()) > 1_000_000) {
                                      throw new java.io.IOException("disk full");
                                    }
                                    int k = src.remaining();
                                    src.position(src.limit());
                                    return k;
                                  }

                                  @Override
                                  public boolean isOpen() {
                                    return true;
                                  }

                                  @Override
                                  public void close() {}
                                };
                            try {
                              return ((StreamedResult.Success) r).body().transferTo(failing);
                            } catch (java.io.IOException e) {
                              thrown.set(e);
                              return -1L;
                            }
                          })
                      .subscribeOn(Schedulers.boundedElastic()))
          .blockLast(Duration.ofSeconds(30));
      assertThat(thrown.get()).hasMessage("disk full");
    }
  }

  @Test
  void transferToRefusesToBlockAnEventLoop() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      String message =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/echo")),
                  r -> {
                    try {
                      ((StreamedResult.Success) r)
                          .body()
                          .transferTo(Channels.newChannel(new ByteArrayOutputStream()));
                      return Mono.just("transferred on " + Thread.currentThread().getName());
                    } catch (IllegalStateException | java.io.IOException e) {
                      return Mono.just(String.valueOf(e.getMessage()));
                    }
                  })
              .blockLast(Duration.ofSeconds(30));
      assertThat(message).contains("blocking");
    }
  }
}
