package dev.fetchflux.cli;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import dev.fetchflux.testing.TestServer;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import reactor.core.publisher.Flux;

/**
 * {@code fetchflux demo}: the main job against an embedded server, offline, with what ordered
 * streaming bought over a sequential loop, both measured in the same run.
 *
 * <p>The loop is measured on every {@value #STRIDE}th URL and scaled up, so the demo ends in seconds;
 * the stride is coprime with the slow items' period, so the sample holds slow items in the same
 * proportion as the whole (with the default 300 URLs, exactly).
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    versionProvider = FetchCommand.VersionProvider.class,
    description = {
      "Fetch a few hundred URLs with skewed latencies from an embedded server on 127.0.0.1 "
          + "(no network needed), stream the bodies to stdout in input order, then compare "
          + "with a sequential loop measured in the same run."
    })
final class DemoCommand implements Callable<Integer> {
  /** The sequential loop is timed on every STRIDE-th URL. */
  static final int STRIDE = 6;

  @Spec CommandSpec spec;

  @Option(
      names = {"-n", "--count"},
      paramLabel = "N",
      converter = Converters.PositiveInt.class,
      description = "URLs to fetch (default: ${DEFAULT-VALUE}).")
  int count = 300;

  @Option(
      names = {"-c", "--concurrency"},
      paramLabel = "N",
      converter = Converters.PositiveInt.class,
      description = "Requests in flight (default: ${DEFAULT-VALUE}).")
  int concurrency = 32;

  private final OutputStream stdout;

  DemoCommand(OutputStream stdout) {
    this.stdout = stdout;
  }

  @Override
  public Integer call() {
    Logging.configure(false);
    Stderr stderr = new Stderr(spec.commandLine().getErr());
    try (TestServer server = DemoServer.start(0);
        Fetcher fetcher = Fetcher.builder().maxInFlight(concurrency).build()) {
      stderr.line(
          "fetchflux demo: "
              + count
              + " URLs from an embedded server, "
              + server.url("/item/{0.." + (count - 1) + "}"));
      stderr.line(
          String.format(
              Locale.ROOT,
              "  each answers in 5-47 ms, but every %dth takes %d "
                  + "ms; %d requests in flight, bodies in input order:",
              DemoServer.SLOW_EVERY,
              DemoServer.SLOW_MILLIS,
              concurrency));
      // Both contestants start warm: classes loaded, connections open. Otherwise the stream's
      // first result would pay for the JVM's warm-up and the loop, timed after it, would not.
      fetcher
          .fetch(Flux.range(0, concurrency).map(i -> server.url("/echo?warm-up=" + i)))
          .doOnNext(Bodies::release)
          .then()
          .block(Duration.ofSeconds(30));
      Flux<Object> urls = Flux.range(0, count).map(i -> server.url("/item/" + i));
      boolean live = FetchCommand.stderrIsTty();
      Stats stats = new Stats(fetcher::stats);
      stats.total(count);
      Runner runner =
          new Runner(
              fetcher,
              urls,
              i -> null,
              new RawSink(stdout, live && FetchCommand.stdoutIsTty() ? stderr : null),
              stderr,
              new Runner.Options(true, false, false, false, live),
              stats,
              Runner.Kept.NONE);
      int status = runner.run();
      long streamTotal = stats.elapsedNanos();
      long streamFirst = stats.firstResultNanos();
      if (status != 0) {
        return status;
      }
      int sampled = (count + STRIDE - 1) / STRIDE;
      stderr.line(
          String.format(
              Locale.ROOT,
              "Timing the sequential loop (for url in urls: "
                  + "print(fetch(url))) on every %dth URL, %d of %d...",
              STRIDE,
              sampled,
              count));
      long start = System.nanoTime();
      long loopFirst = -1;
      for (int i = 0; i < count; i += STRIDE) {
        FetchResult r = fetcher.fetchOne(server.url("/item/" + i)).block(Duration.ofSeconds(10));
        if (r == null || !r.isSuccess()) {
          stderr.line("fetchflux demo: the sequential loop failed at item " + i);
          return 1;
        }
        if (loopFirst < 0) {
          loopFirst = System.nanoTime() - start;
        }
      }
      long loopSample = System.nanoTime() - start;
      double loopTotal = (double) loopSample * count / sampled;
      stderr.line("                   first result   all results");
      stderr.line(
          String.format(
              Locale.ROOT,
              "  ordered stream     %12s   %11s   measured, %d in " + "flight",
              Stats.seconds(streamFirst),
              Stats.seconds(streamTotal),
              concurrency));
      stderr.line(
          String.format(
              Locale.ROOT,
              "  sequential loop    %12s   %11s   extrapolated: %d " + "URLs took %s",
              Stats.seconds(loopFirst),
              "~" + Stats.seconds((long) loopTotal),
              sampled,
              Stats.seconds(loopSample)));
      stderr.line(
          String.format(
              Locale.ROOT,
              "Same order as the loop, %.1fx sooner; the slow URLs "
                  + "held up nothing behind them.",
              loopTotal / streamTotal));
      stderr.line(
          "Try it by hand: fetchflux serve, then "
              + "seq 0 99 | sed 's|^|http://127.0.0.1:8080/item/|' | fetchflux");
      return 0;
    }
  }
}
