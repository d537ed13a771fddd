package dev.fetchflux.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example job on a Flink MiniCluster (one task manager, two slots) against a loopback
 * {@link TestServer}: order, faults, Flink's own timeout, and exactly one record per input across a
 * failover.
 */
@Timeout(60)
class FetchJobTest {

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(2)
              .build());

  private static final int N = 40;
  private static final long SERVER_ERROR = 3;
  private static final long CUT_BODY = 7;
  private static final long HANG = 12;

  @TempDir Path tmp;
  private TestServer server;

  @BeforeEach
  void startServer() {
    server = TestServer.start();
  }

  @AfterEach
  void stopServer() {
    server.close();
  }

  /**
   * N URLs whose responses finish out of order (later ones often first), with a 500, a body cut
   * mid-way and a request that hangs past the deadline at fixed positions.
   */
  private List<String> urlsWithFaults() {
    List<String> urls = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      if (i == SERVER_ERROR) {
        urls.add(server.url("/status/500?i=" + i));
      } else if (i == CUT_BODY) {
        urls.add(server.url("/truncate/1000?i=" + i));
      } else if (i == HANG) {
        urls.add(server.url("/stall?i=" + i));
      } else {
        urls.add(server.url("/delay/" + ((N - i) * 37 % 120) + "?i=" + i));
      }
    }
    return urls;
  }

  private Path writeInput(List<String> urls) throws Exception {
    Path input = tmp.resolve("urls.txt");
    List<String> lines = new ArrayList<>();
    lines.add("# comment lines and blank lines are not inputs");
    for (int i = 0; i < urls.size(); i++) {
      lines.add(urls.get(i));
      if (i % 10 == 0) {
        lines.add("");
      }
    }
    Files.write(input, lines);
    return input;
  }

  private static List<Long> range(long n) {
    return LongStream.range(0, n).boxed().toList();
  }

  private static StreamExecutionEnvironment env() {
    return StreamExecutionEnvironment.getExecutionEnvironment();
  }

  private FetchJob job(
      Path input, Path out, Path bodies, int parallelism, int window, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--input",
                input.toString(),
                "--output",
                out.toString(),
                "--bodies",
                bodies.toString(),
                "-p",
                Integer.toString(parallelism),
                "-c",
                "8",
                "-w",
                Integer.toString(window),
                "--fail",
                "--max-time",
                "1s",
                "--timeout-margin",
                "2s",
                "--checkpoint-interval",
                "100ms",
                "--resolve",
                "*:" + server.port() + ":127.0.0.1"));
    args.addAll(List.of(more));
    return FetchJob.parse(args.toArray(String[]::new));
  }

  /**
   * Two host names (resolved to the loopback server) that {@link HostRouting} sends to different
   * subtasks at parallelism 2, so both subtasks get work.
   */
  static List<String> hostsOnBothSubtasks() {
    String first = "h0.fetchflux.test";
    for (int i = 1; ; i++) {
      String other = "h" + i + ".fetchflux.test";
      if (HostRouting.subtaskOf("http://" + other + "/", 2)
          != HostRouting.subtaskOf("http://" + first + "/", 2)) {
        return List.of(first, other);
      }
    }
  }

  /** {@code url} with its host replaced by {@code host} (same port, path and query). */
  private static String onHost(String url, String host) {
    return url.replace("127.0.0.1", host);
  }

  /** Each success has its own body under its seq's name; each fault is an error record. */
  private void assertRecordsDescribeTheirUrls(List<FetchRecord> records, Path bodies)
      throws Exception {
    for (FetchRecord r : records) {
      assertThat(r.url()).endsWith("?i=" + r.seq());
      if (r.seq() == SERVER_ERROR) {
        assertThat(r.errorKind()).isEqualTo("HTTP_STATUS");
        assertThat(r.status()).isEqualTo(500);
      } else if (r.seq() == CUT_BODY) {
        assertThat(r.errorKind()).isEqualTo("TRUNCATED_BODY");
        assertThat(r.errorMessage()).contains("PrematureCloseException");
      } else if (r.seq() == HANG) {
        assertThat(r.errorKind()).isEqualTo("DEADLINE");
        assertThat(r.errorMessage()).contains("TimeoutException");
      } else {
        assertThat(r.succeeded()).as("record %s", r).isTrue();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(BodyStore.relativeName(r.seq()));
        byte[] body = Files.readAllBytes(bodies.resolve(r.body()));
        assertThat(new String(body, StandardCharsets.UTF_8)).endsWith("?i=" + r.seq());
        assertThat(r.bytes()).isEqualTo(body.length);
        assertThat(r.sha256())
            .isEqualTo(java.util.HexFormat.of().formatHex(BodyStore.sha256().digest(body)));
      }
      if (!r.succeeded()) {
        assertThat(r.body()).isNull();
        assertThat(Files.exists(bodies.resolve(BodyStore.relativeName(r.seq())))).isFalse();
      }
    }
  }

  @Test
  void parallelismOneWritesExactlyOneRecordPerUrlInInputOrder() throws Exception {
    Path input = writeInput(urlsWithFaults());
    Path out = tmp.resolve("out");
    Path bodies = tmp.resolve("bodies");

    job(input, out, bodies, 1, 8).run(env());

    Map<String, List<FetchRecord>> parts = Parts.byWriter(out);
    assertThat(parts).hasSize(1);
    List<FetchRecord> records = parts.values().iterator().next();
    assertThat(Parts.seqs(records)).containsExactlyElementsOf(range(N));
    assertRecordsDescribeTheirUrls(records, bodies);
  }

  @Test
  void parallelismTwoKeepsEachSubtaskInOrderAndMergeRestoresGlobalOrder() throws Exception {
    List<String> hosts = hostsOnBothSubtasks();
    List<String> urls = new ArrayList<>();
    List<String> plain = urlsWithFaults();
    for (int i = 0; i < plain.size(); i++) {
      urls.add(onHost(plain.get(i), hosts.get(i * 7 / 3 % 2)));
    }
    Path input = writeInput(urls);
    Path out = tmp.resolve("out");
    Path bodies = tmp.resolve("bodies");

    // A window larger than the requests in flight: records still leave each subtask in order.
    job(input, out, bodies, 2, 24).run(env());

    Map<String, List<FetchRecord>> parts = Parts.byWriter(out);
    assertThat(parts).hasSize(2);
    for (List<FetchRecord> subtask : parts.values()) {
      assertThat(subtask).isNotEmpty();
      assertThat(Parts.seqs(subtask)).isSorted().doesNotHaveDuplicates();
    }
    assertThat(Parts.seqs(Parts.all(out))).containsExactlyInAnyOrderElementsOf(range(N));

    List<Set<String>> hostsPerSubtask =
        parts.values().stream()
            .map(
                records ->
                    records.stream()
                        .map(r -> HostRouting.host(r.url()))
                        .collect(Collectors.toSet()))
            .toList();
    assertThat(hostsPerSubtask)
        .as("each host is fetched by one subtask only")
        .containsExactlyInAnyOrder(Set.of(hosts.get(0)), Set.of(hosts.get(1)));

    ByteArrayOutputStream merged = new ByteArrayOutputStream();
    MergeParts.Summary summary =
        MergeParts.merge(MergeParts.findParts(List.of(out)), merged, (long) N);
    assertThat(summary.parts()).isEqualTo(2);
    assertThat(summary.records()).isEqualTo(N);
    assertThat(summary.failed()).as("the 500, the cut body and the hung request").isEqualTo(3);
    List<FetchRecord> global =
        merged.toString(StandardCharsets.UTF_8).lines().map(FetchRecord::parse).toList();
    assertThat(Parts.seqs(global)).containsExactlyElementsOf(range(N));
    assertRecordsDescribeTheirUrls(global, bodies);
  }

  @Test
  void perHostLimitHoldsForTheWholeJobAtParallelismTwo() throws Exception {
    // One host, two subtasks with room for 8 requests each: the host still sees at most 2.
    List<String> urls = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      urls.add(server.url("/delay/40?i=" + i));
    }
    Path input = writeInput(urls);
    Path out = tmp.resolve("out");

    job(input, out, tmp.resolve("bodies"), 2, 8, "--per-host", "2").run(env());

    assertThat(Parts.seqs(Parts.all(out))).containsExactlyInAnyOrderElementsOf(range(40));
    assertThat(server.requests()).hasSize(40);
    assertThat(server.peakInFlight())
        .as("requests in flight at the server at once")
        .isBetween(1, 2);
  }

  @Test
  void flinkTimeoutOnAHungRequestBecomesDeadlineRecord() throws Exception {
    Path input = writeInput(List.of(server.url("/stall?i=0")));
    Path out = tmp.resolve("out");
    // The fetcher would wait 20 s; Flink's timeout of 500 ms comes first.
    FetchOptions options =
        FetchOptions.builder().maxInFlight(4).requestTimeout(Duration.ofSeconds(20)).build();
    StreamExecutionEnvironment env = env();
    env.setParallelism(1);
    env.enableCheckpointing(100);
    AsyncDataStream.orderedWait(
            FetchJob.readUrls(env, input.toString()),
            new FetchFunction(options),
            500,
            TimeUnit.MILLISECONDS,
            4)
        .sinkTo(FetchJob.jsonLinesSink(out.toString()));

    env.execute("flink timeout");

    List<FetchRecord> records = Parts.all(out);
    assertThat(records).hasSize(1);
    FetchRecord hung = records.get(0);
    assertThat(hung.seq()).isZero();
    assertThat(hung.errorKind()).isEqualTo("DEADLINE");
    assertThat(hung.errorMessage()).contains("Flink's async timeout fired");
    assertThat(hung.totalMillis()).isGreaterThanOrEqualTo(500);
    // That the request is cancelled at the timeout (not only at close) is FetchFunctionTest's job.
  }

  /** Slows the input down so that checkpoints complete while URLs are still being read. */
  static final class Throttle implements MapFunction<NumberedUrl, NumberedUrl> {
    private static final long serialVersionUID = 1L;

    @Override
    public NumberedUrl map(NumberedUrl value) throws InterruptedException {
      Thread.sleep(10);
      return value;
    }
  }

  /** Throws once, after a checkpoint has completed and K records have passed. */
  static final class FailOnceAfter
      implements MapFunction<FetchRecord, FetchRecord>, CheckpointListener {
    private static final long serialVersionUID = 1L;
    // Static: the MiniCluster runs in this JVM, and the restarted operator must see the same flags.
    static final AtomicBoolean FAILED = new AtomicBoolean();
    static final AtomicBoolean CHECKPOINTED = new AtomicBoolean();
    static final AtomicInteger SEEN = new AtomicInteger();
    private final int k;

    FailOnceAfter(int k) {
      this.k = k;
    }

    @Override
    public FetchRecord map(FetchRecord record) {
      if (SEEN.incrementAndGet() >= k && CHECKPOINTED.get() && FAILED.compareAndSet(false, true)) {
        throw new IllegalStateException("test failure after " + SEEN.get() + " records");
      }
      return record;
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
      CHECKPOINTED.set(true);
    }
  }

  @Test
  void failoverKeepsExactlyOneRecordPerSequenceNumber() throws Exception {
    int n = 80;
    List<String> urls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      urls.add(server.url("/delay/" + (20 + i * 7 % 30) + "?i=" + i));
    }
    Path input = writeInput(urls);
    Path out = tmp.resolve("out");
    FailOnceAfter.FAILED.set(false);
    FailOnceAfter.CHECKPOINTED.set(false);
    FailOnceAfter.SEEN.set(0);

    Configuration conf = new Configuration();
    conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 2);
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    env.enableCheckpointing(100);
    FetchOptions options = FetchOptions.builder().maxInFlight(2).build();
    FetchJob.fetch(
            FetchJob.readUrls(env, input.toString()).map(new Throttle()).setParallelism(1),
            options,
            2)
        .map(new FailOnceAfter(n / 3))
        .setParallelism(2)
        .sinkTo(FetchJob.jsonLinesSink(out.toString()))
        .setParallelism(2);

    env.execute("failover");

    assertThat(FailOnceAfter.FAILED).as("the job failed once and recovered").isTrue();
    List<FetchRecord> records = Parts.all(out);
    Map<Long, Integer> perSeq = new HashMap<>();
    records.forEach(r -> perSeq.merge(r.seq(), 1, Integer::sum));
    assertThat(perSeq).containsOnlyKeys(range(n));
    assertThat(perSeq.values()).allMatch(count -> count == 1);
    assertThat(records).allMatch(FetchRecord::succeeded);
    for (List<FetchRecord> writer : Parts.byWriter(out).values()) {
      assertThat(Parts.seqs(writer)).isSorted();
    }
    // Requests in flight or not yet checkpointed at the failure were sent again: at least once.
    assertThat(server.requests().size()).isGreaterThanOrEqualTo(n);
  }
}
