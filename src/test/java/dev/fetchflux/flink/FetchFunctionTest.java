package dev.fetchflux.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Await;
import dev.fetchflux.testing.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.flink.api.common.functions.DefaultOpenContext;
import org.apache.flink.streaming.api.functions.async.CollectionSupplier;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.util.MockStreamingRuntimeContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link FetchFunction} driven by hand (no cluster) against a loopback {@link TestServer}. */
@Timeout(30)
class FetchFunctionTest {

  @TempDir Path tmp;
  private TestServer server;
  private FetchFunction function;

  @BeforeEach
  void startServer() {
    server = TestServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    if (function != null) {
      function.close();
    }
    server.close();
  }

  /** What the function completed an element with, how often, and on which thread. */
  static final class Completion implements ResultFuture<FetchRecord> {
    final CompletableFuture<FetchRecord> record = new CompletableFuture<>();
    final AtomicInteger completions = new AtomicInteger();
    volatile String thread = "";

    @Override
    public void complete(Collection<FetchRecord> result) {
      completions.incrementAndGet();
      thread = Thread.currentThread().getName();
      assertThat(result).hasSize(1);
      record.complete(result.iterator().next());
    }

    @Override
    public void completeExceptionally(Throwable error) {
      completions.incrementAndGet();
      record.completeExceptionally(error);
    }

    @Override
    public void complete(CollectionSupplier<FetchRecord> supplier) {
      try {
        complete(supplier.get());
      } catch (Exception e) {
        completeExceptionally(e);
      }
    }

    FetchRecord get() throws Exception {
      return record.get(10, TimeUnit.SECONDS);
    }
  }

  private FetchFunction open(FetchOptions options) throws Exception {
    function = new FetchFunction(options);
    function.setRuntimeContext(new MockStreamingRuntimeContext(1, 0));
    function.open(DefaultOpenContext.INSTANCE);
    return function;
  }

  private static void await(String what, BooleanSupplier condition) {
    Await.until(what, condition);
  }

  @Test
  void completesOffTheEventLoopWithTheBodyStoredUnderItsSequenceNumber() throws Exception {
    Path bodies = tmp.resolve("bodies");
    FetchFunction f = open(FetchOptions.builder().bodyDirectory(bodies).build());
    Completion c = new Completion();

    f.asyncInvoke(new NumberedUrl(12345, server.url("/bytes/3000")), c);

    FetchRecord r = c.get();
    assertThat(c.thread).startsWith("fetchflux-flink-io-0");
    assertThat(r.succeeded()).isTrue();
    assertThat(r.seq()).isEqualTo(12345);
    assertThat(r.body()).isEqualTo("000012/000000012345.body");
    byte[] stored = Files.readAllBytes(bodies.resolve(r.body()));
    assertThat(stored).hasSize(3000);
    assertThat(r.bytes()).isEqualTo(3000);
    assertThat(r.sha256()).isEqualTo(HexFormat.of().formatHex(BodyStore.sha256().digest(stored)));
    assertThat(r.finalUrl()).isEqualTo(server.url("/bytes/3000"));
    assertThat(r.attempts()).isEqualTo(1);
    assertThat(r.totalMillis()).isGreaterThan(0);
    try (Stream<Path> files = Files.list(bodies.resolve("000012"))) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .as("no temporary file left behind")
          .containsExactly("000000012345.body");
    }
    assertThat(c.completions).hasValue(1);
  }

  @Test
  void bodiesAreHashedButNotStoredWithoutABodyDirectory() throws Exception {
    FetchFunction f = open(FetchOptions.builder().build());
    Completion c = new Completion();

    f.asyncInvoke(new NumberedUrl(0, server.url("/echo")), c);

    FetchRecord r = c.get();
    assertThat(r.body()).isNull();
    assertThat(r.sha256())
        .isEqualTo(
            HexFormat.of()
                .formatHex(
                    BodyStore.sha256()
                        .digest("/echo".getBytes(java.nio.charset.StandardCharsets.UTF_8))));
  }

  @Test
  void refusedConnectionBecomesErrorRecordWithItsCause() throws Exception {
    FetchFunction f = open(FetchOptions.builder().build());
    Completion c = new Completion();

    f.asyncInvoke(new NumberedUrl(3, "http://127.0.0.1:1/x"), c);

    FetchRecord r = c.get();
    assertThat(r.errorKind()).isEqualTo("CONNECT_REFUSED");
    assertThat(r.errorMessage()).startsWith("connection refused").contains("caused by");
    assertThat(r.seq()).isEqualTo(3);
    assertThat(r.body()).isNull();
    assertThat(r.sha256()).isNull();
  }

  @Test
  void malformedUrlBecomesErrorRecordThatNeverStarted() throws Exception {
    FetchFunction f = open(FetchOptions.builder().build());
    Completion c = new Completion();

    f.asyncInvoke(new NumberedUrl(9, "not a url"), c);

    FetchRecord r = c.get();
    assertThat(r.errorKind()).isEqualTo("INVALID_REQUEST");
    assertThat(r.attempts()).isZero();
    assertThat(r.startEpochMillis()).isZero();
    assertThat(r.toJson()).doesNotContain("\"start\"");
  }

  @Test
  void flinkTimeoutCancelsTheRequestAndCompletesTheElementOnce() throws Exception {
    FetchFunction f = open(FetchOptions.builder().requestTimeout(Duration.ofSeconds(20)).build());
    Completion c = new Completion();
    NumberedUrl slow = new NumberedUrl(7, server.url("/delay/60000"));
    f.asyncInvoke(slow, c);
    await("the request reaches the server", () -> server.requests().size() == 1);

    f.timeout(slow, c);

    FetchRecord r = c.get();
    assertThat(r.errorKind()).isEqualTo("DEADLINE");
    assertThat(r.errorMessage()).contains("Flink's async timeout fired");
    await("the server sees the request abandoned", () -> server.abandoned() == 1);
    assertThat(c.completions).hasValue(1);
  }

  @Test
  void neverRunsMoreThanMaxInFlightWhenTheWindowIsLarger() throws Exception {
    FetchFunction f = open(FetchOptions.builder().maxInFlight(2).window(6).build());
    List<Completion> completions = new java.util.ArrayList<>();

    for (int i = 0; i < 6; i++) {
      Completion c = new Completion();
      completions.add(c);
      f.asyncInvoke(new NumberedUrl(i, server.url("/delay/200?i=" + i)), c);
    }

    for (int i = 0; i < 6; i++) {
      FetchRecord r = completions.get(i).get();
      assertThat(r.succeeded()).isTrue();
      assertThat(r.url()).endsWith("?i=" + i);
    }
    assertThat(server.peakInFlight()).isEqualTo(2);
  }

  @Test
  void timeoutOfAnElementWaitingForASlotMeansItIsNeverSent() throws Exception {
    FetchFunction f = open(FetchOptions.builder().maxInFlight(1).window(2).build());
    NumberedUrl running = new NumberedUrl(0, server.url("/delay/60000"));
    NumberedUrl waiting = new NumberedUrl(1, server.url("/echo"));
    Completion first = new Completion();
    Completion second = new Completion();
    f.asyncInvoke(running, first);
    f.asyncInvoke(waiting, second);
    await("the first request reaches the server", () -> server.requests().size() == 1);

    f.timeout(waiting, second);
    f.timeout(running, first);

    assertThat(second.get().errorKind()).isEqualTo("DEADLINE");
    assertThat(second.get().errorMessage()).endsWith("never sent (no free slot)");
    assertThat(second.get().attempts()).isZero();
    assertThat(first.get().errorKind()).isEqualTo("DEADLINE");
    assertThat(first.get().errorMessage()).endsWith("request cancelled");
    await("the server sees the first request abandoned", () -> server.abandoned() == 1);
    assertThat(server.requests("/echo")).isEmpty();
  }

  @Test
  void aLongRunOfElementsCancelledWhileWaitingIsSkippedWhenTheSlotFrees() throws Exception {
    int waitingCount = 20_000;
    FetchFunction f = open(FetchOptions.builder().maxInFlight(1).window(waitingCount + 1).build());
    NumberedUrl running = new NumberedUrl(0, server.url("/delay/60000"));
    Completion first = new Completion();
    f.asyncInvoke(running, first);
    List<NumberedUrl> waiting = new java.util.ArrayList<>();
    List<Completion> completions = new java.util.ArrayList<>();
    for (int i = 1; i <= waitingCount; i++) {
      NumberedUrl u = new NumberedUrl(i, server.url("/echo?i=" + i));
      Completion c = new Completion();
      waiting.add(u);
      completions.add(c);
      f.asyncInvoke(u, c);
    }
    for (int i = 0; i < waitingCount; i++) {
      f.timeout(waiting.get(i), completions.get(i));
    }
    NumberedUrl last = new NumberedUrl(waitingCount + 1, server.url("/echo?last"));
    Completion lastCompletion = new Completion();
    f.asyncInvoke(last, lastCompletion);

    f.timeout(running, first); // frees the slot: 20,000 cancelled elements, then the last one

    assertThat(lastCompletion.get().succeeded()).isTrue();
    assertThat(completions).allMatch(c -> c.completions.get() == 1);
    assertThat(server.requests("/echo")).hasSize(1);
  }

  @Test
  void closeCancelsRequestsInFlight() throws Exception {
    FetchFunction f = open(FetchOptions.builder().build());
    Completion c = new Completion();
    f.asyncInvoke(new NumberedUrl(0, server.url("/delay/60000")), c);
    await("the request reaches the server", () -> server.requests().size() == 1);

    f.close();
    function = null;

    await("the server sees the request abandoned", () -> server.abandoned() == 1);
    assertThat(c.completions).hasValue(0);
  }

  @Test
  void describeDropsTheIndexPrefixThatFetchOneAlwaysSetsToZero() {
    dev.fetchflux.FetchException e =
        new dev.fetchflux.FetchException(
            0,
            "http://h/x",
            null,
            "GET",
            dev.fetchflux.FetchException.Kind.CONNECTION_RESET,
            2,
            0,
            "before the response",
            new java.io.IOException("Connection reset by peer"));

    assertThat(FetchFunction.describe(e))
        .isEqualTo(
            "connection reset: before the response"
                + " (caused by java.io.IOException: Connection reset by peer)");
    assertThat(List.of(e.getMessage())).allMatch(m -> m.startsWith("#0 GET http://h/x: "));
  }
}
