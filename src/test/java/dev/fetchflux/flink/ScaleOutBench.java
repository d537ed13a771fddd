package dev.fetchflux.flink;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import dev.fetchflux.testing.TestServer;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import reactor.core.publisher.Flux;

/**
 * Local figures for {@code docs/scale-out.md}: the example Flink job at parallelism 1 and 2 next to
 * fetchflux's ordered {@code fetch} on the same input, against a loopback {@link TestServer}. Not a
 * test (nothing asserts speed); run it by hand:
 *
 * <pre>
 *   mvn -q -B test-compile org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath \
 *       -Dmdep.includeScope=test -Dmdep.outputFile=target/test.classpath
 *   java -Xmx1g -cp "target/test-classes:target/classes:$(cat target/test.classpath)" \
 *       dev.fetchflux.flink.ScaleOutBench [repetitions]
 *   java ... dev.fetchflux.flink.ScaleOutBench windows [repetitions]
 * </pre>
 *
 * <p>{@code windows} runs only the window sweep behind the job's default {@code --window}: the
 * slow-head input at parallelism 1, C = 32, W from C to 64 C.
 *
 * <p>Two inputs: {@code uniform} (every URL answers after 20 ms) and {@code slow-head} (the same,
 * but every 50th URL takes 1 s, the head-of-line case of {@code docs/architecture.md}). Each run
 * writes JSON lines with a SHA-256 per body, as the job does. Flink runs at window W = C and
 * W = 8C. Their wall time includes starting a local MiniCluster; the job's net runtime (which
 * includes waiting for the final checkpoint, interval 200 ms) is printed beside it, and URLs/s are
 * computed from it.
 */
public final class ScaleOutBench {
  private static final int CONCURRENCY = 32;
  private static boolean quiet;

  private ScaleOutBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("windows")) {
      windows(args.length > 1 ? Integer.parseInt(args[1]) : 1);
      return;
    }
    int reps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    Path work = Files.createTempDirectory("fetchflux-scale-out-bench");
    System.out.printf(
        "cpus=%d load before: %s%n", Runtime.getRuntime().availableProcessors(), load());
    try (TestServer server = TestServer.builder().threads(2).start()) {
      run("uniform", urls(server, 2000, false), work, reps);
      run("slow-head", urls(server, 1000, true), work, reps);
    }
    System.out.printf("load after: %s%n", load());
  }

  /** Slow-head input, P = 1, C = 32: job time as the window grows from C to 64 C. */
  private static void windows(int reps) throws Exception {
    Path work = Files.createTempDirectory("fetchflux-window-sweep");
    System.out.printf(
        "cpus=%d load before: %s%n", Runtime.getRuntime().availableProcessors(), load());
    try (TestServer server = TestServer.builder().threads(2).start()) {
      List<String> urls = urls(server, 1000, true);
      Path input = work.resolve("slow-head.txt");
      Files.write(input, urls);
      quiet = true;
      flink("slow-head", input, urls.size(), work, 1, CONCURRENCY);
      quiet = false;
      for (int rep = 0; rep < reps; rep++) {
        for (int factor : new int[] {1, 2, 4, 8, 16, 32, 64}) {
          flink("slow-head", input, urls.size(), work, 1, factor * CONCURRENCY);
        }
      }
    }
    System.out.printf("load after: %s%n", load());
  }

  private static List<String> urls(TestServer server, int n, boolean slowHeads) {
    List<String> urls = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int delay = slowHeads && i % 50 == 0 ? 1000 : 20;
      urls.add(server.url("/delay/" + delay + "?i=" + i));
    }
    return urls;
  }

  private static void run(String name, List<String> urls, Path work, int reps) throws Exception {
    Path input = work.resolve(name + ".txt");
    Files.write(input, urls);
    // Warm-up (JIT, class loading, Flink's first MiniCluster), not reported.
    quiet = true;
    fetchflux(name, urls, work, CONCURRENCY);
    flink(name, input, urls.size(), work, 2, CONCURRENCY);
    quiet = false;
    for (int rep = 0; rep < reps; rep++) {
      fetchflux(name, urls, work, CONCURRENCY);
      fetchflux(name, urls, work, 2 * CONCURRENCY);
      for (int window : new int[] {CONCURRENCY, 8 * CONCURRENCY}) {
        flink(name, input, urls.size(), work, 1, window);
        flink(name, input, urls.size(), work, 2, window);
      }
    }
  }

  /** fetchflux's ordered fetch writing JSON lines, like the CLI's --jsonl. */
  private static void fetchflux(String name, List<String> urls, Path work, int c) throws Exception {
    Path out = work.resolve("fetchflux-" + name + "-" + c + ".jsonl");
    long start = System.nanoTime();
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(c).build();
        BufferedWriter w = Files.newBufferedWriter(out)) {
      long n = fetcher.fetch(Flux.fromIterable(urls)).doOnNext(r -> write(w, r)).count().block();
      report("fetchflux fetch -c " + c, name, n, System.nanoTime() - start, -1);
    }
  }

  private static void write(BufferedWriter w, FetchResult r) {
    try {
      String sha = r instanceof FetchResult.Success ok ? ok.body().sha256() : "";
      w.write("{\"seq\":" + r.index() + ",\"sha256\":\"" + sha + "\"}\n");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void flink(String name, Path input, int n, Path work, int p, int window)
      throws Exception {
    Path out = work.resolve("flink-" + name + "-p" + p + "-" + System.nanoTime());
    long start = System.nanoTime();
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironment(p, new Configuration());
    FetchJob job =
        FetchJob.parse(
            "--input",
            input.toString(),
            "--output",
            out.toString(),
            "-p",
            Integer.toString(p),
            "-c",
            Integer.toString(CONCURRENCY),
            "-w",
            Integer.toString(window),
            "--checkpoint-interval",
            "200ms");
    JobExecutionResult result = job.run(env);
    long wall = System.nanoTime() - start;
    long records = 0;
    for (Path part : MergeParts.findParts(List.of(out))) {
      try (var lines = Files.lines(part)) {
        records += lines.count();
      }
    }
    report(
        "flink -p " + p + " -c " + CONCURRENCY + " -w " + window,
        name,
        records,
        wall,
        result.getNetRuntime(TimeUnit.MILLISECONDS));
    if (records != n) {
      throw new IllegalStateException("expected " + n + " records, got " + records);
    }
  }

  private static void report(String what, String input, long n, long nanos, long jobMillis)
      throws java.io.IOException {
    if (quiet) {
      return;
    }
    double s = nanos / 1e9;
    // For Flink, wall includes starting a local cluster; the job's own runtime is the fair figure.
    double job = jobMillis < 0 ? s : jobMillis / 1e3;
    System.out.printf(
        "%-10s %-26s %5d URLs  wall %6.2f s  job %6.2f s  %6.0f URLs/s  load %s%n",
        input, what, n, s, job, n / job, load());
  }

  private static String load() throws java.io.IOException {
    String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
    return String.join(" ", Arrays.copyOf(f, 3));
  }
}
