package dev.fetchflux.bench;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;

/**
 * One measured client run, in a JVM of its own: fetches a {@link Workload} with one {@link Client},
 * checks the output (count, order, every body) and prints one line:
 *
 * <pre>RESULT client=ordered workload=skewed valid=true runMs=1234.5 firstMs=1001.2 setupMs=80.1 ...</pre>
 *
 * <p>{@code runMs} is the in-process wall time from subscription to the last result; {@code setupMs}
 * is building the client (pool, event loops) before that; {@code startupMs} is the JVM's uptime at
 * subscription (start-up, class loading and setup) and {@code startupCpuMs} the CPU time used until
 * then; {@code firstMs} is the time from subscription to
 * the first result; {@code runCpuMs} is the CPU time the whole process (event loops, JIT, GC) used
 * during the run, a steadier measure of cost than wall time on a busy machine. Checking happens after the clock stops; a run whose output is wrong prints {@code
 * valid=false} and a reason, and the driver reports it as INVALID instead of timing it.
 *
 * <p>Usage: {@code ClientRun <client> <workload> <base-url> [warm-ups]}. With warm-ups, the workload
 * runs that many times first (checked, not timed) in the same JVM with the same client.
 */
public final class ClientRun {

  /** The clients compared side by side. */
  enum Client {
    /** fetchflux {@code Fetcher.fetch}: input order. */
    ORDERED,
    /** fetchflux {@code Fetcher.fetchUnordered}: completion order, each result with its index. */
    UNORDERED,
    /**
     * The naive ordered Reactor program: {@code flatMapSequential(get, C)} over a reactor-netty
     * {@code HttpClient} whose pool is sized to C.
     */
    NAIVE_SEQ,
    /** Its unordered twin: {@code flatMap(get, C)}. */
    NAIVE_FLATMAP;

    String id() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    static Client of(String id) {
      return valueOf(id.toUpperCase(Locale.ROOT).replace('-', '_'));
    }

    boolean ordered() {
      return this == ORDERED || this == NAIVE_SEQ;
    }
  }

  /** What one run delivered, in arrival order. */
  private record Got(long index, int status, byte[] body) {}

  private static final int STATUS_NOT_OBSERVED = -1;
  private static final Duration RUN_LIMIT = Duration.ofMinutes(3);

  /** Same event-loop count for both libraries, so neither gets more threads than the other. */
  private static final int LOOP_THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());

  private ClientRun() {}

  public static void main(String[] args) {
    Client client = Client.of(args[0]);
    Workload workload = Workload.of(args[1]);
    String base = args[2];
    int warmups = args.length > 3 ? Integer.parseInt(args[3]) : 0;
    List<String> urls = workload.urls(base);

    long setupStart = System.nanoTime();
    Runner runner = runner(client, workload.concurrency);
    double setupMs = millis(System.nanoTime() - setupStart);
    try {
      for (int w = 0; w < warmups; w++) {
        String problem = check(client, workload, runner.run(urls, new long[1]));
        if (problem != null) {
          report(
              client,
              workload,
              false,
              "warm-up " + (w + 1) + ": " + problem,
              new double[] {0, 0, setupMs, 0, 0, 0});
          return;
        }
      }
      long[] firstAt = new long[1];
      double startupMs = ManagementFactory.getRuntimeMXBean().getUptime();
      long cpuStart = cpuNanos();
      long start = System.nanoTime();
      List<Got> got = runner.run(urls, firstAt);
      long end = System.nanoTime();
      long cpuEnd = cpuNanos();
      String problem = check(client, workload, got);
      report(
          client,
          workload,
          problem == null,
          problem,
          new double[] {
            millis(end - start),
            firstAt[0] == 0 ? 0 : millis(firstAt[0] - start),
            setupMs,
            startupMs,
            millis(cpuEnd - cpuStart),
            millis(cpuStart)
          });
    } catch (RuntimeException e) {
      report(client, workload, false, e.toString(), new double[] {0, 0, setupMs, 0, 0, 0});
    } finally {
      runner.close();
    }
    System.exit(0);
  }

  private static double millis(long nanos) {
    return nanos / 1e6;
  }

  /** CPU time of this whole process (all threads: event loops, JIT, GC). */
  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /**
   * Prints the RESULT line. {@code ms}: run (in-process wall), first result, client setup, JVM uptime
   * at subscription, process CPU time during the run, process CPU time before it (start-up), all in
   * milliseconds.
   */
  private static void report(
      Client client, Workload workload, boolean valid, @Nullable String reason, double[] ms) {
    StringBuilder line =
        new StringBuilder("RESULT")
            .append(" client=")
            .append(client.id())
            .append(" workload=")
            .append(workload.id())
            .append(" valid=")
            .append(valid)
            .append(
                String.format(
                    Locale.ROOT,
                    " runMs=%.1f firstMs=%.1f setupMs=%.1f startupMs=%.1f runCpuMs=%.1f startupCpuMs=%.1f",
                    ms[0],
                    ms[1],
                    ms[2],
                    ms[3],
                    ms[4],
                    ms[5]));
    if (reason != null) {
      // Last field: the driver takes the rest of the line as the reason.
      line.append(" reason=").append(reason.replace('\n', ' '));
    }
    System.out.println(line);
    System.out.flush();
  }

  /** Checks count, order (for ordered clients) and every body; returns what is wrong, or null. */
  private static @Nullable String check(Client client, Workload workload, List<Got> got) {
    if (got.size() != workload.count) {
      return "expected " + workload.count + " results, got " + got.size();
    }
    boolean[] seen = new boolean[workload.count];
    for (int k = 0; k < got.size(); k++) {
      Got g = got.get(k);
      if (g.index() < 0 || g.index() >= workload.count) {
        return "result " + k + " has index " + g.index();
      }
      int i = (int) g.index();
      if (client.ordered() && i != k) {
        return "out of order: result " + k + " has index " + i;
      }
      if (seen[i]) {
        return "index " + i + " delivered twice";
      }
      seen[i] = true;
      if (g.status() != 200 && g.status() != STATUS_NOT_OBSERVED) {
        return "index " + i + ": status " + g.status();
      }
      if (!Arrays.equals(g.body(), workload.body(i))) {
        return "index " + i + ": wrong body (" + g.body().length + " bytes)";
      }
    }
    return null;
  }

  private interface Runner {
    /** Fetches all {@code urls}; stores the arrival time of the first result in {@code firstAt}. */
    List<Got> run(List<String> urls, long[] firstAt);

    void close();
  }

  private static Runner runner(Client client, int concurrency) {
    switch (client) {
      case ORDERED:
      case UNORDERED:
        return new FetchfluxRunner(client == Client.ORDERED, concurrency);
      case NAIVE_SEQ:
      case NAIVE_FLATMAP:
        return new NaiveRunner(client == Client.NAIVE_SEQ, concurrency);
      default:
        throw new IllegalArgumentException("unknown client " + client);
    }
  }

  /** fetchflux with its defaults except {@code maxInFlight = C} (so the window is 4096). */
  private static final class FetchfluxRunner implements Runner {
    private final boolean ordered;
    private final Fetcher fetcher;

    FetchfluxRunner(boolean ordered, int concurrency) {
      this.ordered = ordered;
      this.fetcher =
          Fetcher.builder().maxInFlight(concurrency).eventLoopThreads(LOOP_THREADS).build();
    }

    @Override
    public List<Got> run(List<String> urls, long[] firstAt) {
      List<Got> got = new ArrayList<>(urls.size());
      Flux<FetchResult> results =
          ordered
              ? fetcher.fetch(Flux.fromIterable(urls))
              : fetcher.fetchUnordered(Flux.fromIterable(urls));
      results
          .doOnNext(
              r -> {
                if (firstAt[0] == 0) {
                  firstAt[0] = System.nanoTime();
                }
                if (r instanceof FetchResult.Success ok) {
                  got.add(new Got(ok.index(), ok.status(), ok.body().toByteArray()));
                } else if (r instanceof FetchResult.Failure failed) {
                  throw new IllegalStateException(failed.error().getMessage(), failed.error());
                }
              })
          .then()
          .block(RUN_LIMIT);
      return got;
    }

    @Override
    public void close() {
      fetcher.close();
    }
  }

  /**
   * The naive program of issue 3: reactor-netty {@code HttpClient} on a pool of C connections, the
   * same number of event-loop threads as fetchflux, and {@code flatMapSequential} (or
   * {@code flatMap}) with concurrency C. The index travels with each body only so that the
   * unordered twin's output can be checked.
   */
  private static final class NaiveRunner implements Runner {
    private final boolean sequential;
    private final int concurrency;
    private final ConnectionProvider provider;
    private final LoopResources loops;
    private final HttpClient client;

    NaiveRunner(boolean sequential, int concurrency) {
      this.sequential = sequential;
      this.concurrency = concurrency;
      this.provider =
          ConnectionProvider.builder("naive")
              .maxConnections(concurrency)
              .pendingAcquireMaxCount(-1)
              .build();
      this.loops = LoopResources.create("naive", LOOP_THREADS, true);
      this.client = HttpClient.create(provider).runOn(loops);
    }

    @Override
    public List<Got> run(List<String> urls, long[] firstAt) {
      List<Got> got = new ArrayList<>(urls.size());
      Flux<Integer> indices = Flux.range(0, urls.size());
      // Exactly the shape users write; the status is not observed (the body check catches a 404).
      Function<Integer, Mono<Got>> get =
          i ->
              client
                  .get()
                  .uri(urls.get(i))
                  .responseContent()
                  .aggregate()
                  .asByteArray()
                  .defaultIfEmpty(new byte[0])
                  .map(bytes -> new Got(i, STATUS_NOT_OBSERVED, bytes));
      Flux<Got> results =
          sequential
              ? indices.flatMapSequential(get, concurrency)
              : indices.flatMap(get, concurrency);
      results
          .doOnNext(
              g -> {
                if (firstAt[0] == 0) {
                  firstAt[0] = System.nanoTime();
                }
                got.add(g);
              })
          .then()
          .block(RUN_LIMIT);
      return got;
    }

    @Override
    public void close() {
      provider
          .disposeLater()
          .then(loops.disposeLater(Duration.ZERO, Duration.ofSeconds(2)))
          .block(Duration.ofSeconds(10));
    }
  }
}
