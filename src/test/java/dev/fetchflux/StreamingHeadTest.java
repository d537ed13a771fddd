package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Await;
import dev.fetchflux.support.GatedServer;
import dev.fetchflux.support.StreamedBodies;
import dev.fetchflux.testing.Reply;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The head's body reaches its reader as it arrives; bodies behind it wait in memory within the
 * budget, then in temporary files, and follow whole, in order.
 */
@Timeout(60)
class StreamingHeadTest {
  private final GatedServer server = GatedServer.start();

  @TempDir Path spill;

  @AfterEach
  void close() {
    server.close();
  }

  /** The body's bytes, as a handler's publisher of one value. */
  private static Mono<byte[]> bytes(StreamedResult r) {
    return StreamedBodies.bytes(((StreamedResult.Success) r).body());
  }

  @Test
  void headsFirstBytesReachTheReaderWhileTheServerHoldsTheRest() {
    byte[] body = Reply.pattern(100_000);
    server.gate("/head", body, 1_000, false);
    AtomicLong received = new AtomicLong();
    try (Fetcher fetcher = Fetcher.builder().build()) {
      List<Long> ends = new CopyOnWriteArrayList<>();
      Disposable run =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/head")),
                  r ->
                      ((StreamedResult.Success) r)
                          .body()
                          .chunks()
                          .doOnNext(b -> received.addAndGet(b.remaining()))
                          .then(Mono.fromSupplier(received::get)))
              .subscribe(ends::add);
      // The first part is read while the server still holds the rest back.
      Await.until(
          "the first 1,000 bytes reached the reader",
          Duration.ofSeconds(30),
          () -> received.get() == 1_000,
          () -> "received " + received.get());
      // The server counts itself at the gate once the first part is written: a moment after the
      // client may have read it.
      await("the server holds the rest back", () -> server.atGate() == 1);
      assertThat(ends).isEmpty();
      server.open("/head");
      await("the body ended", () -> !ends.isEmpty());
      assertThat(ends).containsExactly(100_000L);
      run.dispose();
    }
  }

  @Test
  void bodiesBehindTheHeadWaitAndFollowItWhole() {
    byte[] head = Reply.pattern(50_000);
    server.gate("/head", head, 10, false);
    // Whole responses, not held at a gate: a client that has every byte a Content-Length
    // announces may send its next request on that connection, which a response still held at its
    // gate would keep from ever being served (a loaded run saw one of the four never arrive).
    long behind = 0;
    for (int i = 1; i <= 3; i++) {
      server.generate("/b" + i, 200_000 + i);
      behind += 200_000 + i;
    }
    long all = behind;
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(4).build()) {
      List<byte[]> out = new CopyOnWriteArrayList<>();
      Disposable run =
          fetcher
              .fetchStreaming(
                  Flux.just(
                      server.url("/head"), server.url("/b1"), server.url("/b2"), server.url("/b3")),
                  StreamingHeadTest::bytes)
              .subscribe(out::add);
      // The head waits at its gate after its first 10 bytes; the three bodies behind it are
      // handed to their sockets whole. Nothing may come out before the head.
      Await.until(
          "the head waits at its gate and the three bodies behind it were sent",
          Duration.ofSeconds(30),
          () -> server.atGate() == 1 && server.produced() == all,
          () -> "at the gate " + server.atGate() + ", produced " + server.produced());
      assertThat(out).isEmpty();
      server.open("/head");
      await("four bodies", () -> out.size() == 4);
      assertThat(out.get(0)).isEqualTo(head);
      for (int i = 1; i <= 3; i++) {
        assertThat(out.get(i)).isEqualTo(Reply.pattern(200_000 + i));
      }
      run.dispose();
    }
  }

  @Test
  void bodiesWaitingPastTheBudgetGoToTemporaryFilesAndAreDeletedOnceRead() {
    server.gate("/head", Reply.pattern(1_000), 10, false);
    int n = 4;
    int size = 3_000_000;
    for (int i = 1; i <= n; i++) {
      server.generate("/big" + i, size);
    }
    try (Fetcher fetcher =
        Fetcher.builder()
            .maxInFlight(n + 1)
            .reorderWindowBytes(256 * 1024)
            .spillThreshold(64 * 1024)
            .spillDirectory(spill)
            .build()) {
      List<byte[]> out = new CopyOnWriteArrayList<>();
      Flux<String> urls =
          Flux.concat(
              Flux.just(server.url("/head")), Flux.range(1, n).map(i -> server.url("/big" + i)));
      Disposable run = fetcher.fetchStreaming(urls, StreamingHeadTest::bytes).subscribe(out::add);
      // Past their memory the waiting bodies stop reading for a second, then go on into files.
      Await.until(
          "the waiting bodies were read whole, into temporary files",
          Duration.ofSeconds(20),
          () -> server.produced() == (long) n * size && spillFiles() > 0,
          () -> "produced " + server.produced() + ", files " + spillFiles());
      assertThat(out).isEmpty();
      server.open("/head");
      await("every body", () -> out.size() == n + 1);
      byte[] expected = new byte[size];
      for (int i = 0; i < size; i++) {
        expected[i] = (byte) ('a' + i % 26);
      }
      for (int i = 1; i <= n; i++) {
        assertThat(out.get(i)).as("body %d", i).isEqualTo(expected);
      }
      await("no temporary file is left", () -> spillFiles() == 0);
      run.dispose();
    }
  }

  /**
   * While the head is read at its reader's pace, a body behind it that is past the budget pauses
   * rather than spilling: a copy through a file would only add work when the reader, not the
   * network, sets the pace (S4 and S8 in docs/benchmarks.md). Only a stalled head (the test above)
   * lets a paused body spill.
   */
  @Test
  void aBodyBehindAMovingHeadPausesInsteadOfSpilling() {
    server.generate("/moving", 4_000_000);
    int size = 16_000_000;
    server.generate("/behind", size);
    AtomicLong mostFiles = new AtomicLong();
    try (Fetcher fetcher =
        Fetcher.builder()
            .maxInFlight(2)
            .reorderWindowBytes(256 * 1024)
            .spillDirectory(spill)
            .build()) {
      List<Long> sizes =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/moving"), server.url("/behind")),
                  r ->
                      ((StreamedResult.Success) r)
                          .body()
                          .chunks()
                          .limitRate(1)
                          // The head: slower than the network, for longer than the pause (1 s).
                          .delayElements(
                              r.index() == 0 ? Duration.ofMillis(25) : Duration.ZERO,
                              Schedulers.boundedElastic()) // it lists a directory
                          .doOnNext(b -> mostFiles.accumulateAndGet(spillFiles(), Math::max))
                          .map(b -> (long) b.remaining())
                          .reduce(0L, Long::sum))
              .collectList()
              .block(Duration.ofSeconds(60));
      assertThat(sizes).containsExactly(4_000_000L, (long) size);
      assertThat(mostFiles.get()).isZero();
      assertThat(spillFiles()).isZero();
    }
  }

  private long spillFiles() {
    return StreamedBodies.filesIn(spill);
  }

  @Test
  void aBodyReadAsAChannelTransferArrivesWhole() throws Exception {
    server.generate("/big", 5_000_000);
    try (Fetcher fetcher = Fetcher.builder().build()) {
      List<Long> sizes =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/big"), server.url("/big")),
                  r ->
                      Mono.fromCallable(
                              () -> {
                                ByteArrayOutputStream sink = new ByteArrayOutputStream();
                                long n =
                                    ((StreamedResult.Success) r)
                                        .body()
                                        .transferTo(java.nio.channels.Channels.newChannel(sink));
                                assertThat(sink.size()).isEqualTo(n);
                                byte[] got = sink.toByteArray();
                                for (int i = 0; i < got.length; i += 9973) {
                                  assertThat(got[i]).isEqualTo((byte) ('a' + i % 26));
                                }
                                return n;
                              })
                          .subscribeOn(reactor.core.scheduler.Schedulers.boundedElastic()))
              .collectList()
              .block(Duration.ofSeconds(30));
      assertThat(sizes).containsExactly(5_000_000L, 5_000_000L);
    }
  }

  @Test
  void toBodyCollectsAsTheOtherModesDo() {
    server.generate("/big", 2_000_000);
    try (Fetcher fetcher =
        Fetcher.builder().spillThreshold(100_000).spillDirectory(spill).build()) {
      List<String> out =
          fetcher
              .fetchStreaming(
                  Flux.just(server.url("/big")),
                  r ->
                      ((StreamedResult.Success) r)
                          .body()
                          .toBody()
                          .map(
                              b -> {
                                try {
                                  return b.isInMemory()
                                      + " "
                                      + b.size()
                                      + " "
                                      + ByteBuffer.wrap(b.toByteArray()).get(27);
                                } finally {
                                  b.release();
                                }
                              }))
              .collectList()
              .block(Duration.ofSeconds(30));
      assertThat(out).containsExactly("false 2000000 " + (byte) 'b');
    }
  }

  /** Waits for what a loaded machine can make slow (a JVM's first exchange): up to 30 s. */
  private static void await(String what, java.util.function.BooleanSupplier condition) {
    Await.until(what, Duration.ofSeconds(30), condition, () -> "");
  }
}
