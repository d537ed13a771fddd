package dev.fetchflux.cli;

import dev.fetchflux.AdaptiveRate;
import dev.fetchflux.ConnectToRule;
import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherBuilder;
import dev.fetchflux.HttpProtocol;
import dev.fetchflux.Proxy;
import dev.fetchflux.ProxySettings;
import dev.fetchflux.ResolveRule;
import dev.fetchflux.RetryPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import reactor.core.scheduler.Scheduler;

/**
 * {@code fetchflux [OPTIONS] [URL...]}: fetches every URL concurrently and writes the results in
 * input order. The flags follow curl where the meaning matches; {@code docs/cli.md} documents them.
 */
@Command(
    name = "fetchflux",
    mixinStandardHelpOptions = true,
    versionProvider = FetchCommand.VersionProvider.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    headerHeading = "",
    header = "Fetch many URLs concurrently; write the results in input order.",
    synopsisHeading = "%nUsage: ",
    customSynopsis = {
      "fetchflux [OPTIONS] [URL...]",
      "       fetchflux demo | serve [--port N]",
      "       fetchflux merge [--raw --bodies DIR] [-o FILE] PART_OR_DIR..."
    },
    descriptionHeading = "%n",
    description = {
      "URLs come from the arguments; with none, or '-', one per line from stdin (read as the "
          + "fetch goes, so it may be endless); -i reads a file. Blank lines and lines starting "
          + "with # are skipped. Bodies go to stdout as raw bytes, in input order. Each failure "
          + "is one line on stderr.",
    },
    parameterListHeading = "%n",
    optionListHeading = "%nOptions:%n",
    commandListHeading = "%nCommands:%n",
    footerHeading = "%n",
    footer = {
      "Times: seconds (10, 2.5) or 500ms, 10s, 1m. Sizes: bytes or 100k, 5M, 1G.",
      "Exit status: 0 all succeeded, 1 some URL failed, 2 usage or input error, 130 "
          + "interrupted.",
      "Try: fetchflux demo     Manual: docs/cli.md"
    })
final class FetchCommand implements Callable<Integer> {

  /**
   * Default {@code --spill-threshold}: 1 MiB. Bodies in flight and waiting behind the head then hold
   * at most about 1 MiB of heap each, so 50 bodies of 20 MiB run in the launcher's 256 MB heap.
   */
  static final long DEFAULT_SPILL_THRESHOLD = 1L << 20;

  @Spec CommandSpec spec;

  @Parameters(
      paramLabel = "URL",
      arity = "0..*",
      description = "URLs to fetch; '-' reads them from stdin, one per line.")
  List<String> urls = new ArrayList<>();

  @Option(
      names = {"-i", "--input"},
      paramLabel = "FILE",
      description = "Read URLs from FILE, one per line ('-' for stdin); repeatable.")
  List<String> inputFiles = new ArrayList<>();

  @Option(
      names = "--input-format",
      paramLabel = "lines|jsonl",
      converter = Converters.InputFormat.class,
      description =
          "How input lines (stdin, -i) are read: one URL each (lines, the default) or "
              + "one JSON request each: {\"url\", \"method\", \"headers\", \"body\" or "
              + "\"body_base64\"} (jsonl). URL arguments stay URLs.")
  Inputs.Format inputFormat = Inputs.Format.LINES;

  @Option(
      names = {"-c", "--concurrency"},
      paramLabel = "N",
      converter = Converters.PositiveInt.class,
      description = "Requests in flight at once (default: ${DEFAULT-VALUE}).")
  int concurrency = Fetcher.DEFAULT_MAX_IN_FLIGHT;

  @Option(
      names = "--unordered",
      description = "Write each result as soon as it is ready, not in input order.")
  boolean unordered;

  @Option(
      names = "--fail-fast",
      description = "Stop at the first failure (in input order); by default keep going.")
  boolean failFast;

  @Option(
      names = {"-f", "--fail"},
      description = "An HTTP status of 400 or more is a failure.")
  boolean fail;

  @Option(
      names = {"-o", "--output-dir"},
      paramLabel = "DIR",
      description =
          "Write each body to a file of its own in DIR (created if missing), with "
              + "DIR/manifest.jsonl listing index, URL, file and status.")
  @Nullable Path outputDir;

  @Option(
      names = "--jsonl",
      description =
          "Write one JSON object per URL (index, url, status, headers, bytes, timings, "
              + "attempts, error) instead of bodies.")
  boolean jsonl;

  @Option(
      names = "--jsonl-file",
      paramLabel = "FILE",
      description =
          "Write the JSON records (as --jsonl, which it implies) to FILE instead of "
              + "stdout; FILE is replaced, or continued with --resume.")
  @Nullable Path jsonlFile;

  @Option(
      names = "--resume",
      description =
          "Continue an interrupted run's output (-o DIR or --jsonl-file FILE): skip "
              + "the inputs its records show done (each checked against its input), then fetch and "
              + "append the rest. Without that output, start afresh.")
  boolean resume;

  @Option(
      names = "--jsonl-body",
      description =
          "With --jsonl, add each body: \"body\" as UTF-8 text when it decodes as "
              + "such, else base64, and \"body_encoding\" saying which (utf-8 or base64).")
  boolean jsonlBody;

  @Option(
      names = {"-H", "--header"},
      paramLabel = "'NAME: VALUE'",
      converter = Converters.HeaderConverter.class,
      description = "Send this header with every request; repeatable.")
  List<Converters.Header> headers = new ArrayList<>();

  @Option(
      names = {"-A", "--user-agent"},
      paramLabel = "NAME",
      description = "The User-Agent header (default: ${DEFAULT-VALUE}).")
  String userAgent = Fetcher.DEFAULT_USER_AGENT;

  @Option(
      names = {"-L", "--location"},
      description = "Follow redirects (as curl, off by default).")
  boolean location;

  @Option(
      names = "--max-redirs",
      paramLabel = "N",
      converter = Converters.NonNegativeInt.class,
      description = "Redirects followed with -L before failing (default: ${DEFAULT-VALUE}).")
  int maxRedirects = Fetcher.DEFAULT_MAX_REDIRECTS;

  @Option(
      names = "--connect-timeout",
      paramLabel = "TIME",
      converter = Converters.PositiveDuration.class,
      description = "Time allowed to connect (default: 10s).")
  @Nullable Duration connectTimeout;

  @Option(
      names = "--read-timeout",
      paramLabel = "TIME",
      converter = Converters.PositiveDuration.class,
      description = "Longest silence while reading a response (default: 30s).")
  @Nullable Duration readTimeout;

  @Option(
      names = {"-m", "--max-time"},
      paramLabel = "TIME",
      converter = Converters.PositiveDuration.class,
      description = "Total time allowed per attempt of a URL, redirects included (default: 60s).")
  @Nullable Duration maxTime;

  @Option(
      names = "--retry",
      paramLabel = "N",
      converter = Converters.NonNegativeInt.class,
      description =
          "Retry a failed request up to N times when it is safe to: connect "
              + "failures, resets before any response byte, 429 and 503 (default: 0).")
  @Nullable Integer retry;

  @Option(
      names = "--retry-max-time",
      paramLabel = "TIME",
      converter = Converters.PositiveDuration.class,
      description = "Start no retry of a URL after this long since its first attempt.")
  @Nullable Duration retryMaxTime;

  @Option(
      names = "--retry-non-idempotent",
      description =
          "With --retry, also retry POST, PATCH and other non-idempotent requests after "
              + "a reset or a 429/503, which may repeat their effect (default: only connect "
              + "failures are retried for them).")
  boolean retryNonIdempotent;

  @Option(
      names = "--rate",
      paramLabel = "N[/s|/m|/h]",
      converter = Converters.RateConverter.class,
      description = "At most N requests per second (or minute, hour), over all hosts.")
  Converters.@Nullable Rate rate;

  @Option(
      names = "--rate-per-host",
      paramLabel = "N[/s|/m|/h]",
      converter = Converters.RateConverter.class,
      description = "At most N requests per second (or minute, hour) to each host.")
  Converters.@Nullable Rate ratePerHost;

  @Option(
      names = "--per-host",
      paramLabel = "N",
      converter = Converters.PositiveInt.class,
      description = "At most N requests in flight to one host.")
  @Nullable Integer perHost;

  @Option(
      names = "--adaptive-rate",
      description =
          "Slow a host down when it answers 429 or 503, pausing it for its Retry-After, "
              + "and speed it up again as it succeeds (--rate-per-host is the ceiling). Combine "
              + "with --retry.")
  boolean adaptiveRate;

  @Option(
      names = "--max-filesize",
      paramLabel = "SIZE",
      converter = Converters.Size.class,
      description =
          "Largest body accepted, after decompression; larger is a failure " + "(default: 32M).")
  @Nullable Long maxFilesize;

  @Option(
      names = "--spill-threshold",
      paramLabel = "SIZE",
      converter = Converters.Size.class,
      description =
          "Bodies larger than this wait in temporary files (in java.io.tmpdir), not in "
              + "memory (default: 1M).")
  long spillThreshold = DEFAULT_SPILL_THRESHOLD;

  @Option(names = "--compressed", description = "Ask for a gzip/deflate response and decode it.")
  boolean compressed;

  @Option(
      names = {"-x", "--proxy"},
      paramLabel = "[SCHEME://][USER:PW@]HOST[:PORT]",
      description =
          "Send every request through this proxy (http, socks5 or socks5h; port 1080 "
              + "by default); '' for none. Default: the http_proxy, https_proxy and all_proxy "
              + "variables, as curl.")
  @Nullable String proxy;

  @Option(
      names = "--noproxy",
      paramLabel = "LIST",
      description =
          "Hosts that go direct, comma-separated ('*' for all, '' for none); replaces "
              + "no_proxy.")
  @Nullable String noProxy;

  @Option(
      names = "--resolve",
      paramLabel = "HOST:PORT:ADDR[,ADDR]",
      description =
          "Connect to ADDR for HOST:PORT; the Host header and TLS name stay the URL's. "
              + "Repeatable.")
  List<String> resolve = new ArrayList<>();

  @Option(
      names = "--connect-to",
      paramLabel = "HOST1:PORT1:HOST2:PORT2",
      description = "Requests to HOST1:PORT1 connect to HOST2:PORT2 instead. Repeatable.")
  List<String> connectTo = new ArrayList<>();

  @Option(names = "--http2", description = "Use HTTP/2 for https URLs (by ALPN).")
  boolean http2;

  @Option(
      names = {"-k", "--insecure"},
      description = "Do not verify TLS certificates or host names.")
  boolean insecure;

  @Option(
      names = "--window",
      paramLabel = "N",
      converter = Converters.PositiveInt.class,
      description = "Results allowed to wait behind a slow one, at least -c (default: 4096).")
  @Nullable Integer window;

  @Option(
      names = "--window-bytes",
      paramLabel = "SIZE",
      converter = Converters.Size.class,
      description = "Bytes those waiting results may hold (default: 64M).")
  // Not the library's default, which follows the heap (an eighth of it where that is less): the
  // launcher's heap is sized for 64M, and ordered runs' held bodies use the same budget.
  Long windowBytes = Fetcher.DEFAULT_REORDER_WINDOW_BYTES;

  @Option(
      names = {"-s", "--silent"},
      description = "No progress line and no summary; failures " + "are still reported.")
  boolean silent;

  @Option(
      names = "--progress",
      description = "Show the live progress line even when stderr is not a terminal.")
  boolean progress;

  @Option(
      names = {"-v", "--verbose"},
      description = "Add stack traces to failures and show the libraries' warnings.")
  boolean verbose;

  private final InputStream stdin;
  private final OutputStream stdout;
  private final Map<String, String> environment;

  FetchCommand(InputStream stdin, OutputStream stdout, Map<String, String> environment) {
    this.stdin = stdin;
    this.stdout = stdout;
    this.environment = Map.copyOf(environment);
  }

  /**
   * The command line with its subcommands and one-line error reporting, ready to execute.
   *
   * @param environment where the proxy variables are read ({@code System.getenv()})
   */
  static CommandLine commandLine(
      InputStream stdin, OutputStream stdout, Map<String, String> environment) {
    return commandLine(stdin, stdout, environment, true);
  }

  /**
   * The command line, with the subcommands only when {@code subcommands} is set: picocli builds
   * each one's model (reflection on its annotated fields) when it is added, which a plain fetch
   * never needs. {@link #needsSubcommands} says when they must be there.
   */
  static CommandLine commandLine(
      InputStream stdin,
      OutputStream stdout,
      Map<String, String> environment,
      boolean subcommands) {
    FetchCommand command = new FetchCommand(stdin, stdout, environment);
    CommandLine cl = new CommandLine(command);
    if (subcommands) {
      cl.addSubcommand("demo", new DemoCommand(stdout));
      cl.addSubcommand("serve", new ServeCommand());
      cl.addSubcommand("merge", new MergeCommand(stdout));
    }
    cl.setParameterExceptionHandler(FetchCommand::usageError);
    cl.setExecutionExceptionHandler(
        (e, line, parsed) -> {
          line.getErr()
              .println("fetchflux: internal error: " + Converters.oneLine(String.valueOf(e)));
          e.printStackTrace(line.getErr());
          line.getErr().flush();
          return 1;
        });
    return cl;
  }

  /**
   * Whether {@code args} may name a subcommand or ask for the help that lists them: an argument
   * equal to a subcommand's name (wherever it is: picocli decides what it is), {@code --help}, or
   * a cluster of short options with {@code -h} in it. Anything else runs the same without them.
   */
  static boolean needsSubcommands(String[] args) {
    for (String a : args) {
      if (a.equals("demo")
          || a.equals("serve")
          || a.equals("merge")
          || a.startsWith("--help")
          || (a.startsWith("-") && !a.startsWith("--") && a.indexOf('h') > 0)) {
        return true;
      }
    }
    return false;
  }

  /** One line naming the option and the value; exit status 2. */
  private static int usageError(ParameterException e, String[] args) {
    CommandLine cl = e.getCommandLine();
    String message = String.valueOf(e.getMessage()).strip();
    int newline = message.indexOf('\n');
    if (newline >= 0) {
      message = message.substring(0, newline).strip();
    }
    cl.getErr().println("fetchflux: " + Converters.oneLine(message) + " (see fetchflux --help)");
    cl.getErr().flush();
    return 2;
  }

  @Override
  public Integer call() {
    Logging.configure(verbose);
    if (retryMaxTime != null && (retry == null || retry == 0)) {
      throw new ParameterException(
          spec.commandLine(), "option '--retry-max-time' needs " + "--retry N with N > 0");
    }
    if (retryNonIdempotent && (retry == null || retry == 0)) {
      throw new ParameterException(
          spec.commandLine(), "option '--retry-non-idempotent' needs " + "--retry N with N > 0");
    }
    if (jsonlFile != null && jsonlFile.toString().equals("-")) {
      // As curl's "-o -": stdout.
      jsonlFile = null;
      jsonl = true;
    }
    if (jsonlFile != null) {
      if (outputDir != null) {
        throw new ParameterException(
            spec.commandLine(),
            "options '--jsonl-file' and "
                + "'--output-dir' (-o) cannot be used together: -o DIR writes the records to "
                + "DIR/manifest.jsonl (add --jsonl to repeat them on stdout)");
      }
      jsonl = true;
    }
    if (resume && outputDir == null && jsonlFile == null) {
      throw new ParameterException(
          spec.commandLine(),
          "option '--resume' needs the output to "
              + "continue: -o DIR or --jsonl-file FILE (stdout cannot be read back)");
    }
    if (resume && unordered) {
      throw new ParameterException(
          spec.commandLine(),
          "option '--resume' cannot be used with "
              + "--unordered: records in completion order do not show which inputs are done as a "
              + "prefix of the input list");
    }
    if (jsonlBody && (!jsonl || outputDir != null)) {
      throw new ParameterException(
          spec.commandLine(),
          "option '--jsonl-body' needs --jsonl "
              + "and no --output-dir (-o), which already writes the bodies to files");
    }
    if (window != null && window < concurrency) {
      throw new ParameterException(
          spec.commandLine(),
          "Invalid value for option '--window': '"
              + window
              + "' must be at least -c ("
              + concurrency
              + ")");
    }
    Stderr stderr = new Stderr(spec.commandLine().getErr());
    List<Inputs.Source> sources = openSources();
    // The reader gets each request for more input from an event loop: a lock-free hand-off that
    // wakes it only when it sleeps (a ScheduledThreadPoolExecutor cost the loop a lock and a
    // futex wake-up per URL; docs/benchmarks-method.md, "Per-request cost").
    HandOffThread readerThread = HandOffThread.start("fetchflux-input");
    Scheduler reader = readerThread.scheduler();
    // As curl, no live line over bodies printed on the same terminal, unless asked for; then each
    // body is written with the line wiped and redrawn below it.
    boolean bodiesOnTerminal = stdoutIsTty() && jsonlFile == null && (outputDir == null || jsonl);
    boolean live = !silent && (progress || stderrIsTty() && !bodiesOnTerminal);
    Resume previous = null;
    try (Fetcher fetcher = buildFetcher()) {
      checkOutputDir();
      Inputs inputs = new Inputs(urlArguments(), sources, inputFormat, reader);
      Runner.Kept kept = Runner.Kept.NONE;
      FileChannel continued = null;
      if (resume) {
        previous = openPrevious();
        if (previous != null) {
          Resume.Finished finished = skipDone(inputs, previous, stderr);
          kept = new Runner.Kept(previous.kept(), previous.keptFailures());
          continued = finished.channel();
        }
      }
      ResultSink sink;
      try {
        sink = openSink(live && bodiesOnTerminal ? stderr : null, continued);
      } catch (RuntimeException e) {
        // The sink owns the continued file once opened; until then it is ours to close.
        if (continued != null) {
          try {
            continued.close();
          } catch (IOException suppressed) {
            e.addSuppressed(suppressed);
          }
        }
        throw e;
      }
      Stats stats = new Stats(fetcher::stats);
      long skipped = kept.records();
      Runner runner =
          new Runner(
              fetcher,
              inputs.flux(n -> stats.total(n - skipped)),
              inputs::origin,
              sink,
              stderr,
              new Runner.Options(!unordered, failFast, verbose, silent, live),
              stats,
              kept);
      return runner.run();
    } catch (Resume.Refused e) {
      stderr.line("fetchflux: " + Converters.oneLine(e.getMessage()));
      return 2;
    } finally {
      if (previous != null) {
        previous.close();
      }
      reader.dispose();
      readerThread.close();
      for (Inputs.Source source : sources) {
        if (source.stream() != stdin) {
          closeQuietly(source.stream());
        }
      }
    }
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException ignored) {
      // Read-only input: nothing to lose.
    }
  }

  private List<String> urlArguments() {
    List<String> args = new ArrayList<>(urls);
    args.removeIf("-"::equals);
    return args;
  }

  private List<Inputs.Source> openSources() {
    List<Inputs.Source> sources = new ArrayList<>();
    // stdin comes first when named among the arguments, then the files in the order given; it is
    // read once even when named more than once.
    boolean stdinNamed = urls.contains("-") || inputFiles.contains("-");
    if (stdinNamed || urls.isEmpty() && inputFiles.isEmpty()) {
      sources.add(new Inputs.Source("stdin", stdin, null));
    }
    try {
      for (String file : inputFiles) {
        if (!file.equals("-")) {
          sources.add(openFile(file));
        }
      }
    } catch (ParameterException e) {
      sources.forEach(
          source -> {
            if (source.stream() != stdin) {
              closeQuietly(source.stream());
            }
          });
      throw e;
    }
    return sources;
  }

  private Inputs.Source openFile(String file) {
    try {
      Path path = Path.of(file);
      if (Files.isDirectory(path)) {
        throw inputError(file, "is a directory");
      }
      InputStream in = Files.newInputStream(path);
      return new Inputs.Source(file, in, Files.isRegularFile(path) ? path : null);
    } catch (NoSuchFileException e) {
      throw inputError(file, "no such file");
    } catch (AccessDeniedException e) {
      throw inputError(file, "permission denied");
    } catch (IOException | java.nio.file.InvalidPathException e) {
      throw inputError(file, Converters.oneLine(e.getMessage()));
    }
  }

  private ParameterException inputError(String file, String reason) {
    return new ParameterException(
        spec.commandLine(),
        "cannot read option '--input' (-i) file " + Converters.quote(file) + ": " + reason);
  }

  private void checkOutputDir() {
    Path dir = outputDir;
    if (dir != null && Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new ParameterException(
          spec.commandLine(),
          "Invalid value for option "
              + "'--output-dir' (-o): "
              + Converters.quote(dir.toString())
              + " is not a directory");
    }
  }

  /** The previous output to continue, or {@code null} when there is none (a fresh start). */
  private @Nullable Resume openPrevious() throws Resume.Refused {
    Path dir = outputDir;
    Path file = dir != null ? dir.resolve(DirectorySink.MANIFEST) : jsonlFile;
    if (file == null) {
      return null;
    }
    return Resume.open(file, dir, jsonlBody, failFast);
  }

  /**
   * Reads the inputs the previous output shows done, checking each record against its input, and
   * prepares the output for appending. Blocking, on this thread, before any request.
   */
  private Resume.Finished skipDone(Inputs inputs, Resume previous, Stderr stderr)
      throws Resume.Refused {
    Path file = outputDir != null ? outputDir.resolve(DirectorySink.MANIFEST) : jsonlFile;
    Resume.Finished finished;
    try {
      inputs.skip(previous::check);
      previous.inputsEnded();
      finished = previous.finish();
    } catch (Resume.Refused e) {
      throw e;
    } catch (IOException e) {
      // Reading an input, the previous records or a body file's size, or cutting the file.
      throw new Resume.Refused("cannot resume " + file + ": " + Converters.oneLine(e.toString()));
    }
    if (!silent) {
      String discarded = previous.discarded();
      stderr.line(
          "fetchflux: resuming "
              + file
              + " after "
              + previous.kept()
              + " record"
              + (previous.kept() == 1 ? "" : "s")
              + (discarded != null ? "; discarded " + discarded : "")
              + (finished.removed() > 0
                  ? "; removed "
                      + finished.removed()
                      + " leftover file"
                      + (finished.removed() == 1 ? "" : "s")
                  : ""));
    }
    return finished;
  }

  private ResultSink openSink(@Nullable Stderr terminal, @Nullable FileChannel continued) {
    Path dir = outputDir;
    Path file = jsonlFile;
    try {
      if (dir != null) {
        return continued != null
            ? DirectorySink.continueIn(dir, continued, jsonl ? stdout : null)
            : DirectorySink.open(dir, jsonl ? stdout : null);
      }
      if (file != null) {
        return continued != null
            ? JsonlSink.append(continued, jsonlBody)
            : JsonlSink.create(file, jsonlBody);
      }
      return jsonl ? new JsonlSink(stdout, jsonlBody) : new RawSink(stdout, terminal);
    } catch (IOException e) {
      String option = dir != null ? "'--output-dir' (-o)" : "'--jsonl-file'";
      throw new ParameterException(
          spec.commandLine(),
          "Invalid value for option "
              + option
              + ": "
              + Converters.quote(String.valueOf(dir != null ? dir : file))
              + ": cannot write there ("
              + Converters.oneLine(e.toString())
              + ")");
    }
  }

  private Fetcher buildFetcher() {
    FetcherBuilder b = Fetcher.builder();
    set("--concurrency", b::maxInFlight, concurrency);
    set("--window", b::reorderWindow, window);
    set("--window-bytes", b::reorderWindowBytes, windowBytes);
    set("--max-filesize", b::maxBodySize, maxFilesize);
    set("--spill-threshold", b::spillThreshold, spillThreshold);
    set("--connect-timeout", b::connectTimeout, connectTimeout);
    set("--read-timeout", b::readTimeout, readTimeout);
    set("--max-time", b::requestTimeout, maxTime);
    set("--max-redirs", b::maxRedirects, maxRedirects);
    set("--user-agent", b::userAgent, userAgent);
    for (Converters.Header h : headers) {
      set("--header", v -> b.header(h.name(), h.value()), h);
    }
    b.proxy(proxies());
    for (String rule : resolve) {
      set("--resolve", v -> b.resolve(ResolveRule.parse(v)), rule);
    }
    for (String rule : connectTo) {
      set("--connect-to", v -> b.connectTo(ConnectToRule.parse(v)), rule);
    }
    Integer retries = retry;
    if (retries != null && retries > 0) {
      set(
          "--retry",
          n -> {
            RetryPolicy.Builder policy =
                RetryPolicy.builder().maxAttempts(n == Integer.MAX_VALUE ? n : n + 1);
            if (retryMaxTime != null) {
              policy.maxRetryTime(retryMaxTime);
            }
            policy.retryNonIdempotent(retryNonIdempotent);
            b.retry(policy.build());
          },
          retries);
    }
    set("--per-host", b::maxInFlightPerHost, perHost);
    set("--rate", r -> b.maxRequestsPerSecond(r.perSecond()), rate);
    set("--rate-per-host", r -> b.maxRequestsPerSecondPerHost(r.perSecond()), ratePerHost);
    if (adaptiveRate) {
      b.adaptiveRate(AdaptiveRate.defaults());
    }
    b.followRedirects(location);
    b.compression(compressed);
    b.failOnHttpError(fail);
    b.insecure(insecure);
    if (http2) {
      b.protocol(HttpProtocol.HTTP_2);
    }
    try {
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), Converters.oneLine(e.getMessage()));
    }
  }

  /**
   * curl's order: the environment's proxies, then {@code -x} ({@code ''} turns every proxy off),
   * then {@code --noproxy}. The library's messages never contain a proxy's password, so neither do
   * these usage errors (which therefore do not quote the value).
   */
  private ProxySettings proxies() {
    ProxySettings proxies;
    try {
      proxies = ProxySettings.fromEnvironment(environment);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          spec.commandLine(),
          "invalid proxy environment variable: " + Converters.oneLine(e.getMessage()));
    }
    String p = proxy;
    if (p != null) {
      try {
        proxies = p.isBlank() ? ProxySettings.direct() : proxies.withProxy(Proxy.parse(p));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(
            spec.commandLine(),
            "Invalid value for option '--proxy': " + Converters.oneLine(e.getMessage()));
      }
    }
    String bypass = noProxy;
    if (bypass != null) {
      try {
        proxies = proxies.withNoProxy(bypass);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(
            spec.commandLine(),
            "Invalid value for option '--noproxy': "
                + Converters.quote(bypass)
                + ": "
                + Converters.oneLine(e.getMessage()));
      }
    }
    return proxies;
  }

  /** Passes {@code value} to the builder, turning its refusal into a usage error naming the option. */
  private <T> void set(String option, Consumer<T> setter, @Nullable T value) {
    if (value == null) {
      return;
    }
    try {
      setter.accept(value);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          spec.commandLine(),
          "Invalid value for option '"
              + option
              + "': "
              + Converters.quote(String.valueOf(value))
              + ": "
              + Converters.oneLine(e.getMessage()));
    }
  }

  /** Set by the launcher when stderr is a terminal ({@code [ -t 2 ]}); Java cannot tell. */
  static boolean stderrIsTty() {
    return Boolean.getBoolean("fetchflux.stderr.tty");
  }

  /** Set by the launcher when stdout is a terminal ({@code [ -t 1 ]}). */
  static boolean stdoutIsTty() {
    return Boolean.getBoolean("fetchflux.stdout.tty");
  }

  /** {@code fetchflux 0.1.0}, from the library's User-Agent. */
  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String ua = Fetcher.DEFAULT_USER_AGENT;
      return new String[] {
        "fetchflux " + ua.substring(ua.indexOf('/') + 1),
        "Java "
            + System.getProperty("java.version")
            + " ("
            + System.getProperty("java.vm.name")
            + ")"
      };
    }
  }
}
