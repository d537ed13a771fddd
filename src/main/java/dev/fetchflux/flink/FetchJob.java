package dev.fetchflux.flink;

import dev.fetchflux.cli.Converters;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.file.src.reader.TextLineInputFormat;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The example fetch job: a file of URLs in, one JSON-lines {@link FetchRecord} per URL out, bodies
 * in a directory.
 *
 * <pre>
 *   FileSource (lines, parallelism 1)
 *     -> SequenceNumbers (parallelism 1: seq = position among the URLs, checkpointed)
 *     -> keyBy host (HostRouting: every URL of a host goes to the same subtask, so per-host
 *        limits hold for the whole job; each subtask still sees ascending seqs)
 *     -> AsyncDataStream.orderedWait(FetchFunction, timeout = ceil(W/C) deadlines + margin,
 *                                    capacity = window W)                parallelism P
 *     -> FileSink of JSON lines, part-*.jsonl                            parallelism P
 * </pre>
 *
 * <p>With {@code -p 1} one writer emits every record in input order (a new part past 128 MiB or
 * 60 s, Flink's default rolling policy). With P &gt; 1 every part is in ascending seq order but the
 * subtasks interleave; {@code fetchflux merge} rebuilds the global order from any set of parts.
 * The sink is Flink's {@link FileSink}: part files are committed only with a completed checkpoint
 * and in-progress data after it is discarded on failover, so each input's record appears exactly
 * once even though requests in flight at a failure are sent again. Checkpointing is therefore
 * always on (finished parts appear at checkpoints, the last one when the input ends).
 *
 * <p>Submit to a cluster: {@code flink run -c dev.fetchflux.flink.FetchJob
 * fetchflux-VERSION-all.jar --input /data/urls.txt --output /data/out -p 4}; run locally with Flink
 * on the class path (see {@code docs/scale-out.md}).
 */
@Command(
    name = "fetchflux-flink",
    mixinStandardHelpOptions = true,
    versionProvider = FetchJob.Version.class,
    sortOptions = false,
    description = {
      "Fetches every URL of a file inside Apache Flink and writes one JSON line per URL.",
      "Parts go to --output; with parallelism > 1 merge them with 'fetchflux merge'."
    })
public final class FetchJob implements Callable<Integer> {

  @Option(
      names = {"-i", "--input"},
      required = true,
      paramLabel = "FILE",
      description =
          "URLs, one per line (blank lines and # comments skipped); any Flink file system"
              + " path (file:///..., s3://..., hdfs://...).")
  String input = "";

  @Option(
      names = {"-o", "--output"},
      required = true,
      paramLabel = "DIR",
      description = "Directory for the JSON-lines parts (Flink file system path).")
  String output = "";

  @Option(
      names = "--bodies",
      paramLabel = "DIR",
      description =
          "Store bodies here, one file per URL named from its sequence number (a local or"
              + " shared directory on every task manager). Default: hash and drop them.")
  @Nullable Path bodies;

  @Option(
      names = {"-p", "--parallelism"},
      paramLabel = "P",
      description = "Fetch subtasks. Default: the environment's parallelism.")
  @Nullable Integer parallelism;

  @Option(
      names = {"-c", "--concurrency"},
      paramLabel = "N",
      defaultValue = "32",
      converter = Converters.PositiveInt.class,
      description = "Requests in flight per subtask. Default: ${DEFAULT-VALUE}.")
  int concurrency;

  @Option(
      names = {"-w", "--window"},
      paramLabel = "W",
      converter = Converters.PositiveInt.class,
      description =
          "Inputs a subtask holds at once (orderedWait capacity, >= -c): in flight,"
              + " waiting for a slot, or finished behind a slower one. Default: 16 x -c, at most 2048.")
  @Nullable Integer window;

  @Option(
      names = "--per-host",
      paramLabel = "N",
      converter = Converters.PositiveInt.class,
      description =
          "At most N requests in flight to one host, for the whole job (each host is"
              + " fetched by one subtask).")
  @Nullable Integer perHost;

  @Option(
      names = "--rate-per-host",
      paramLabel = "N[/s|/m|/h]",
      converter = Converters.RateConverter.class,
      description =
          "At most N requests per second (or minute, hour) to each host, for the whole" + " job.")
  Converters.@Nullable Rate ratePerHost;

  @Option(
      names = "--adaptive-rate",
      description =
          "Slow a host down when it answers 429 or 503 and speed it up again as it"
              + " succeeds (--rate-per-host is the ceiling).")
  boolean adaptiveRate;

  @Option(
      names = "--spread-host",
      paramLabel = "HOST",
      description =
          "Spread this host's URLs over all subtasks instead of one ('*': every host);"
              + " it then sees up to P times the per-host limits. Repeatable.")
  List<String> spreadHosts = new ArrayList<>();

  @Option(
      names = "--resolve",
      paramLabel = "HOST:PORT:ADDR[,ADDR]",
      description = "Connect to ADDR for HOST:PORT, as curl. Repeatable.")
  List<String> resolve = new ArrayList<>();

  @Option(
      names = {"-m", "--max-time"},
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = Converters.PositiveDuration.class,
      description = "Total deadline per URL. Default: ${DEFAULT-VALUE}.")
  Duration maxTime = Duration.ofSeconds(60);

  @Option(
      names = "--connect-timeout",
      paramLabel = "DURATION",
      defaultValue = "10s",
      converter = Converters.PositiveDuration.class,
      description = "TCP connect timeout. Default: ${DEFAULT-VALUE}.")
  Duration connectTimeout = Duration.ofSeconds(10);

  @Option(
      names = "--timeout-margin",
      paramLabel = "DURATION",
      defaultValue = "5s",
      converter = Converters.PositiveDuration.class,
      description = "Flink's async timeout is --max-time plus this. Default: ${DEFAULT-VALUE}.")
  Duration timeoutMargin = Duration.ofSeconds(5);

  @Option(
      names = "--checkpoint-interval",
      paramLabel = "DURATION",
      defaultValue = "10s",
      converter = Converters.PositiveDuration.class,
      description = "How often parts are committed. Default: ${DEFAULT-VALUE}.")
  Duration checkpointInterval = Duration.ofSeconds(10);

  @Option(
      names = "--unaligned-checkpoints",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "Let checkpoint barriers overtake the URLs waiting in network buffers, so"
              + " checkpoints complete while the subtasks are busy (--no-unaligned-checkpoints: wait"
              + " behind them). Default: on.")
  boolean unalignedCheckpoints = true;

  @Option(
      names = {"-f", "--fail"},
      description = "Treat HTTP status >= 400 as an error record (kind HTTP_STATUS).")
  boolean failOnHttpError;

  @Option(
      names = "--max-filesize",
      paramLabel = "BYTES",
      defaultValue = "33554432",
      description = "Largest body accepted, after decompression. Default: ${DEFAULT-VALUE}.")
  long maxBodySize;

  @Option(
      names = {"-H", "--header"},
      paramLabel = "'Name: value'",
      description = "Header sent with every request (repeatable).")
  List<String> headers = new ArrayList<>();

  @Option(
      names = "--event-loop-threads",
      paramLabel = "N",
      defaultValue = "1",
      description = "Event-loop threads per subtask. Default: ${DEFAULT-VALUE}.")
  int eventLoopThreads;

  @Option(names = "--job-name", paramLabel = "NAME", description = "Default: fetchflux <input>.")
  @Nullable String jobName;

  /** Runs the job; exits non-zero only on a usage error or a failed job. */
  public static void main(String[] args) {
    int code = commandLine(new FetchJob()).execute(args);
    if (code != 0) {
      System.exit(code);
    }
  }

  static CommandLine commandLine(FetchJob job) {
    return new CommandLine(job).setCaseInsensitiveEnumValuesAllowed(true);
  }

  /**
   * Parses job arguments as {@link #main} does, without running anything.
   *
   * @throws CommandLine.ParameterException on a usage error
   */
  public static FetchJob parse(String... args) {
    FetchJob job = new FetchJob();
    commandLine(job).parseArgs(args);
    return job;
  }

  @Override
  public Integer call() throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    JobExecutionResult result = run(env);
    PrintWriter err = new PrintWriter(System.err, true);
    if (result.isJobExecutionResult()) {
      err.printf(
          "fetchflux-flink: done in %d ms; JSON-lines parts in %s%n",
          result.getNetRuntime(TimeUnit.MILLISECONDS), output);
    } else {
      // Submitted detached (flink run -d): the job runs on; the client knows only its id.
      err.printf(
          "fetchflux-flink: submitted job %s; JSON-lines parts will be in %s%n",
          result.getJobID(), output);
    }
    return 0;
  }

  /** The fetch options these arguments describe. */
  public FetchOptions fetchOptions() {
    FetchOptions.Builder b =
        FetchOptions.builder()
            .maxInFlight(concurrency)
            .requestTimeout(maxTime)
            .connectTimeout(connectTimeout)
            .timeoutMargin(timeoutMargin)
            .failOnHttpError(failOnHttpError)
            .maxBodySize(maxBodySize)
            .eventLoopThreads(eventLoopThreads)
            .adaptiveRate(adaptiveRate);
    if (window != null) {
      b.window(window);
    }
    if (perHost != null) {
      b.maxInFlightPerHost(perHost);
    }
    if (ratePerHost != null) {
      b.maxRequestsPerSecondPerHost(ratePerHost.perSecond());
    }
    spreadHosts.forEach(b::spreadHost);
    resolve.forEach(b::resolve);
    for (String h : headers) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("header must look like 'Name: value': " + h);
      }
      b.header(h.substring(0, colon).strip(), h.substring(colon + 1).strip());
    }
    if (bodies != null) {
      b.bodyDirectory(bodies);
    }
    return b.build();
  }

  /** Adds the job to {@code env} (checkpointing included) and executes it, blocking until done. */
  public JobExecutionResult run(StreamExecutionEnvironment env) throws Exception {
    build(env);
    return env.execute(jobName != null ? jobName : "fetchflux " + input);
  }

  /** Adds the job's pipeline to {@code env} and turns checkpointing on, without executing. */
  public void build(StreamExecutionEnvironment env) {
    FetchOptions options = fetchOptions();
    env.enableCheckpointing(checkpointInterval.toMillis());
    // Numbering reads URLs far faster than they are fetched, so the network buffers between it and
    // the fetch subtasks stay full; an aligned barrier would wait behind all of them (with a few
    // thousand URLs: until the input is nearly done). Unaligned, it overtakes them and they are
    // stored with the checkpoint instead.
    env.getCheckpointConfig().enableUnalignedCheckpoints(unalignedCheckpoints);
    int p = parallelism != null ? parallelism : env.getParallelism();
    fetch(readUrls(env, input), options, p)
        .sinkTo(jsonLinesSink(output))
        .setParallelism(p)
        .name("jsonl parts")
        .uid("jsonl-parts");
  }

  /**
   * Lines of {@code input} as numbered URLs, read by one reader so the numbers follow the file.
   * Both the reader's position and the next number are checkpointed.
   */
  public static DataStream<NumberedUrl> readUrls(StreamExecutionEnvironment env, String input) {
    FileSource<String> source =
        FileSource.forRecordStreamFormat(
                new TextLineInputFormat(), new org.apache.flink.core.fs.Path(input))
            .build();
    return env.fromSource(source, WatermarkStrategy.noWatermarks(), "url lines")
        .setParallelism(1)
        .uid("url-lines")
        .flatMap(new SequenceNumbers())
        .setParallelism(1)
        .name("sequence numbers")
        .uid("seq");
  }

  /**
   * Fetches every URL with {@code parallelism} subtasks, each keeping its inputs' order:
   * {@code orderedWait} with timeout {@link FetchOptions#flinkTimeout()} and capacity
   * {@link FetchOptions#capacity()} (the window W).
   *
   * <p>URLs are routed by host ({@link HostRouting}): all URLs of a host go to the same subtask,
   * so its fetcher's per-host limits are the job's, except for the hosts in
   * {@link FetchOptions#spreadHosts()}, which scatter over all subtasks by seq. Each subtask still receives its
   * URLs in ascending seq order (one upstream channel, first in first out).
   */
  public static SingleOutputStreamOperator<FetchRecord> fetch(
      DataStream<NumberedUrl> urls, FetchOptions options, int parallelism) {
    DataStream<NumberedUrl> routed =
        parallelism > 1 ? urls.keyBy(new HostRouting(options.spreadHosts())) : urls;
    return AsyncDataStream.orderedWait(
            routed,
            new FetchFunction(options),
            options.flinkTimeout().toMillis(),
            TimeUnit.MILLISECONDS,
            options.capacity())
        .setParallelism(parallelism)
        .name("fetch")
        .uid("fetch");
  }

  /**
   * Flink's exactly-once {@link FileSink} writing {@code part-<writer>-<n>.jsonl} files straight
   * into {@code output} (no date buckets), where {@code <writer>} is a random id per subtask's
   * writer and {@code n} counts that writer's parts. Each subtask writes its records in arrival
   * order, so every part is sorted by seq when fed by {@link #fetch}, which is all
   * {@code fetchflux merge} needs.
   */
  public static FileSink<FetchRecord> jsonLinesSink(String output) {
    return FileSink.forRowFormat(new org.apache.flink.core.fs.Path(output), new JsonLinesEncoder())
        .withBucketAssigner(new BasePathBucketAssigner<>())
        .withOutputFileConfig(
            OutputFileConfig.builder().withPartPrefix("part").withPartSuffix(".jsonl").build())
        .build();
  }

  /** Reports fetchflux's version for {@code --version}. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      // The default User-Agent is "fetchflux/<version>".
      return new String[] {dev.fetchflux.Fetcher.DEFAULT_USER_AGENT};
    }
  }
}
