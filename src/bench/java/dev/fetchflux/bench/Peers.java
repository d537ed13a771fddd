package dev.fetchflux.bench;

import dev.fetchflux.bench.Bench.Stat;
import dev.fetchflux.bench.OutputCheck.Verdict;
import dev.fetchflux.bench.PeerScenario.Server;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * The driver of issue 7's benchmark, run by {@code src/bench/peers.sh} (which installs the peers,
 * builds, generates the certificate, and starts nginx and the delay server): runs every tool
 * ({@link PeerTool}) on every scenario ({@link PeerScenario}) in rounds, each tool once per round
 * with the order rotated, as a process of its own under {@code /usr/bin/time}; checks every run's
 * output ({@link OutputCheck}); measures the servers' ceilings with wrk, fetchflux's start-up to
 * its first request, and S5's throughput and memory over time; and writes the figures into
 * {@code docs/benchmarks-method.md} and a chart (shown by {@code docs/benchmarks.md}).
 *
 * <p>Options (all given by {@code peers.sh}): {@code --http URL --https URL --delay URL --status
 * URL} (the servers), {@code --work DIR} (target/peers), {@code --cert PEM --truststore P12},
 * {@code --python PATH}, {@code --jdk25 JAVA_HOME} (the JDK 25 of the fetchflux-on-25 rows),
 * {@code --missing "pkg=why;…"} (peers that could not be installed),
 * {@code --before DIR} (a checkout of an earlier commit, for the {@code fetchflux-before} rows),
 * {@code --quick}, {@code --runs N}, {@code --scenarios s1,…}, {@code --tools id,…},
 * {@code --s5-seconds N}, {@code --doc PATH|-}, {@code --chart PATH}, {@code --gnuplot PATH},
 * {@code --wrk PATH}, {@code --command TEXT}, {@code --commit SHA}, {@code --versions FILE}.
 */
public final class Peers {

  /** JVM flags of the Java peers: the launcher's start-up flags; heap left to the JVM. */
  static final List<String> PEER_JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

  private static final Duration RUN_LIMIT = Duration.ofMinutes(3);
  private static final double MB = 1024.0;

  /** One measured process. */
  record Run(
      int round,
      PeerScenario scenario,
      PeerTool tool,
      int urls,
      int total,
      String load,
      double wallMs,
      double rssKb,
      double cpuS,
      @Nullable String problem,
      long results,
      boolean stopped,
      double firstRequestMs,
      int serverPeak,
      List<Sample> samples) {

    boolean valid() {
      return problem == null;
    }

    /** Wall time scaled to all the scenario's URLs (the same as wallMs unless extrapolated). */
    double scaledMs() {
      return wallMs * total / urls;
    }
  }

  /** One second of an S5 run. */
  record Sample(double seconds, long rssKb, long results, long serverRequests) {}

  /** wrk against one URL. */
  record Ceiling(String what, String url, double rps, String latency) {}

  private final Map<String, String> options;
  private final boolean quick;
  private final Path root = Paths.get("").toAbsolutePath();
  private final Path work;
  private final PeerTool.Env env;
  private final HttpClient control =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Run> runs = new ArrayList<>();
  private final List<Ceiling> ceilings = new ArrayList<>();
  private final List<Double> startups = new ArrayList<>();
  private final Map<PeerTool, String> skipped = new EnumMap<>(PeerTool.class);
  private final Map<String, String> missing = new LinkedHashMap<>();
  private double floorMs = Double.NaN;

  private Peers(Map<String, String> options) {
    this.options = options;
    this.quick = options.containsKey("quick");
    this.work = Paths.get(option("work", "target/peers")).toAbsolutePath();
    this.env =
        new PeerTool.Env(
            root,
            option("python", "/usr/bin/python3"),
            Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
            PEER_JVM,
            System.getProperty("java.class.path"),
            Paths.get(option("cert", "")).toAbsolutePath(),
            Paths.get(option("truststore", "")).toAbsolutePath(),
            option("jdk25", ""),
            option("before", ""));
    for (String m : option("missing", "").split(";")) {
      if (m.contains("=")) {
        missing.put(m.substring(0, m.indexOf('=')), m.substring(m.indexOf('=') + 1));
      }
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 2 && args[0].equals("--generate")) {
      PeerScenario.generate(Paths.get(args[1]));
      return;
    }
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + a);
      }
      if (a.equals("--quick")) {
        options.put("quick", "true");
      } else if (i + 1 < args.length) {
        options.put(a.substring(2), args[++i]);
      } else {
        throw new IllegalArgumentException(a + " needs a value");
      }
    }
    new Peers(options).run();
  }

  private String option(String name, String fallback) {
    return options.getOrDefault(name, fallback);
  }

  // ---- sizes --------------------------------------------------------------------------------

  /** URLs of scenario {@code s} in this run ({@code --quick} takes fewer). */
  int count(PeerScenario s) {
    if (!quick) {
      return s.count;
    }
    return switch (s) {
      case S1, S6 -> 1_000;
      case S2 -> 400;
      case S3 -> 200;
      case S4 -> 10;
      case S5 -> 100_000;
      case S7 -> 20_000;
      case S8 -> 2;
    };
  }

  /** URLs a tool fetches in {@code s}: all, or the first few for the extrapolated ones. */
  int urls(PeerTool t, PeerScenario s) {
    int n = count(s);
    if (!t.extrapolated()) {
      return n;
    }
    // One process per URL: about 10 ms each for the loop, 15-60 ms for parallel (its Perl and a
    // shell per job) on this 2-core machine, so a few hundred URLs take seconds already.
    int k;
    if (s == PeerScenario.S4 || s == PeerScenario.S8) {
      k = n;
    } else if (t == PeerTool.CURL_LOOP) {
      k = s == PeerScenario.S1 ? 200 : 50;
    } else {
      k = 100;
    }
    return Math.min(n, quick ? Math.max(10, k / 5) : k);
  }

  private double s5Seconds() {
    return Double.parseDouble(option("s5-seconds", quick ? "10" : "45"));
  }

  // ---- run ----------------------------------------------------------------------------------

  private void run() throws Exception {
    int rounds = Integer.parseInt(option("runs", quick ? "1" : "3"));
    List<PeerScenario> scenarios = new ArrayList<>();
    for (String id : option("scenarios", "s1,s2,s3,s4,s5,s6,s7,s8").split(",")) {
      if (!id.isBlank()) {
        scenarios.add(PeerScenario.valueOf(id.strip().toUpperCase(Locale.ROOT)));
      }
    }
    List<PeerTool> tools = new ArrayList<>();
    for (String id :
        option("tools", String.join(",", Stream.of(PeerTool.values()).map(t -> t.id).toList()))
            .split(",")) {
      if (!id.isBlank()) {
        PeerTool t = PeerTool.of(id.strip());
        if (t == PeerTool.FETCHFLUX_BEFORE && option("before", "").isEmpty()) {
          skipped.put(t, "no --before checkout given");
          log("skipping " + t.id + ": no --before DIR");
        } else if (!t.needs.isEmpty() && missing.containsKey(t.needs)) {
          skipped.put(t, t.needs + " " + missing.get(t.needs));
          log("skipping " + t.id + ": " + skipped.get(t));
        } else {
          tools.add(t);
        }
      }
    }
    if (missing.containsKey("nginx-light")) {
      scenarios.removeIf(s -> s.server != Server.DELAY);
      log("skipping S1, S4, S5, S6, S7: nginx-light " + missing.get("nginx-light"));
    }
    if (missing.containsKey("openssl")) {
      scenarios.remove(PeerScenario.S6);
      log("skipping S6: openssl " + missing.get("openssl") + " (no certificate)");
    }
    Files.createDirectories(work.resolve("runs"));
    Instant started = Instant.now();
    String loadBefore = loadAverage();
    for (PeerScenario s : scenarios) {
      prepareInputs(s);
    }
    if (scenarios.contains(PeerScenario.S8)) {
      log("generating S8's files (5 x 1 GiB, kept between runs)");
      PeerScenario.generateGib(work.resolve("www"));
    }

    ceilings(scenarios);
    startup();
    List<PeerScenario> timed = scenarios.stream().filter(s -> s != PeerScenario.S5).toList();
    for (int round = 1; round <= rounds; round++) {
      for (PeerScenario s : timed) {
        List<PeerTool> order = new ArrayList<>(tools.stream().filter(t -> t.runsOn(s)).toList());
        // Rotate every round so that no tool always runs first (or last) after a scenario change.
        Collections.rotate(order, -(round - 1));
        for (PeerTool t : order) {
          runs.add(runOne(round, s, t));
        }
      }
    }
    if (scenarios.contains(PeerScenario.S5)) {
      for (PeerTool t : tools) {
        if (t.runsOn(PeerScenario.S5)) {
          runs.add(runOne(1, PeerScenario.S5, t));
        }
      }
    }
    String loadAfter = loadAverage();
    Duration took = Duration.between(started, Instant.now());
    PeersReport report =
        new PeersReport(this, scenarios, tools, started, took, loadBefore, loadAfter);
    String doc = option("doc", "docs/benchmarks-method.md");
    // Printing instead of writing the doc leaves the doc's chart alone too.
    String chart =
        option(
            "chart",
            doc.equals("-")
                ? work.resolve("chart/peers.svg").toString()
                : "docs/benchmarks-peers.svg");
    boolean drew = report.chart(work.resolve("chart"), Paths.get(chart), option("gnuplot", ""));
    if (doc.equals("-")) {
      System.out.println(report.winners());
      System.out.println(report.summary(drew ? chart : null));
      System.out.println(report.details());
    } else {
      // The one-screen page beside the method page gets the table of who wins.
      Path front = Paths.get(doc).toAbsolutePath().resolveSibling("benchmarks.md");
      DocSections.replace(front, "peers-winners", report.winners());
      DocSections.replace(
          Paths.get(doc),
          "peers-summary",
          report.summary(drew ? relative(Paths.get(doc), Paths.get(chart)) : null));
      DocSections.replace(Paths.get(doc), "peers", report.details());
      log(
          "wrote "
              + doc
              + ", "
              + root.relativize(front)
              + (drew ? " and " + chart : " (no chart: " + report.chartProblem() + ")"));
    }
  }

  private static String relative(Path doc, Path chart) {
    Path dir = doc.toAbsolutePath().getParent();
    return dir == null ? chart.toString() : dir.relativize(chart.toAbsolutePath()).toString();
  }

  /** Writes each scenario's URL list and curl config files (and their subsets). */
  private void prepareInputs(PeerScenario s) throws IOException {
    Path dir = inputDir(s);
    Files.createDirectories(dir);
    int n = count(s);
    Path done = dir.resolve(".done");
    if (Files.exists(done) && Files.readString(done).strip().equals(base(s) + " " + n)) {
      return;
    }
    String base = base(s);
    // Everything here, subsets included, names the servers' ports: start afresh.
    deleteTree(dir);
    Files.createDirectories(dir);
    // S5 and S7 have no file-per-URL tool: no config of 100,000s of files for one.
    try (BufferedWriter urls = Files.newBufferedWriter(dir.resolve("urls.txt"));
        BufferedWriter cfg = Files.newBufferedWriter(dir.resolve("curl.cfg"));
        BufferedWriter files =
            s == PeerScenario.S5 || s == PeerScenario.S7
                ? new BufferedWriter(Writer.nullWriter())
                : Files.newBufferedWriter(dir.resolve("curl-files.cfg"))) {
      for (int i = 0; i < n; i++) {
        String url = base + s.path(i);
        urls.write(url);
        urls.write('\n');
        cfg.write("url = \"" + url + "\"\n");
        files.write("url = \"" + url + "\"\noutput = \"" + i + "\"\n");
      }
    }
    Files.writeString(done, base + " " + n + "\n");
  }

  private Path inputDir(PeerScenario s) {
    return work.resolve("inputs").resolve(s.id());
  }

  private String base(PeerScenario s) {
    return switch (s.server) {
      case HTTP -> option("http", "");
      case HTTPS -> option("https", "");
      case DELAY -> option("delay", "");
    };
  }

  /** The tool's input for {@code urls} URLs: the whole file or its first lines. */
  private Path input(PeerTool t, PeerScenario s, int urls) throws IOException {
    Path whole = inputDir(s).resolve(t.input());
    if (urls == count(s)) {
      return whole;
    }
    Path part = inputDir(s).resolve(urls + "-" + t.input());
    if (!Files.exists(part)) {
      try (Stream<String> lines = Files.lines(whole)) {
        Files.write(part, lines.limit(urls).toList());
      }
    }
    return part;
  }

  private Run runOne(int round, PeerScenario s, PeerTool t) throws Exception {
    int urls = urls(t, s);
    String name = "r" + round + "-" + s.id() + "-" + t.id;
    Path dir = work.resolve("runs").resolve(name);
    deleteTree(dir);
    Path files = Files.createDirectories(dir.resolve("files"));
    Path out = dir.resolve("stdout");
    Path err = dir.resolve("stderr");
    Path time = dir.resolve("time");
    if (s.server == Server.DELAY) {
      control(option("delay", "") + "/_reset");
    }
    String load = loadAverage();
    List<String> cmd =
        new ArrayList<>(List.of("/usr/bin/time", "-f", "%e %M %U %S", "-o", time.toString()));
    cmd.addAll(t.command(env, s, urls));
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .directory(files.toFile())
            .redirectInput(input(t, s, urls).toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile());
    pb.environment().remove("FETCHFLUX_CLASSPATH");
    pb.environment().put("FETCHFLUX_JAVA_OPTS", String.join(" ", env.trust()));
    boolean s5 = s == PeerScenario.S5;
    Instant launched = Instant.now();
    long start = System.nanoTime();
    Process p = pb.start();
    Sampler sampler = s5 ? new Sampler(p, out, option("status", ""), start) : null;
    if (sampler != null) {
      sampler.start();
    }
    Duration limit = s5 ? Duration.ofMillis((long) (s5Seconds() * 1000)) : RUN_LIMIT;
    boolean exited = p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
    boolean stopped = false;
    if (!exited) {
      // Stop the tool itself (the child of /usr/bin/time), so that time still reports on it.
      p.descendants().forEach(ProcessHandle::destroy);
      stopped = true;
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly().waitFor();
      }
    }
    double wallMs = (System.nanoTime() - start) / 1e6;
    if (sampler != null) {
      sampler.finish();
    }
    String problem = null;
    if (stopped && !s5) {
      problem = "no exit within " + RUN_LIMIT.toMinutes() + " min";
    } else if (!stopped && p.exitValue() != 0) {
      problem =
          "exit status " + p.exitValue() + firstLine(err) + " (see " + root.relativize(err) + ")";
    }
    double[] timeFields = parseTime(time);
    double firstMs = Double.NaN;
    int peak = 0;
    if (s.server == Server.DELAY) {
      Map<String, String> stats = new LinkedHashMap<>();
      for (String kv : control(option("delay", "") + "/_stats").strip().split(" ")) {
        stats.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
      }
      peak = Integer.parseInt(stats.getOrDefault("peak", "0"));
      long firstMicros = Long.parseLong(stats.getOrDefault("first", "0"));
      if (firstMicros > 0) {
        firstMs = (firstMicros - ChronoUnit.MICROS.between(Instant.EPOCH, launched)) / 1000.0;
      }
      int requests = Integer.parseInt(stats.getOrDefault("requests", "0"));
      if (problem == null && requests != urls) {
        problem = "server received " + requests + " requests for " + urls + " URLs";
      }
      if (problem == null && peak > s.concurrency) {
        problem = "server saw " + peak + " requests in flight, more than C = " + s.concurrency;
      }
    }
    long results = 0;
    if (problem == null) {
      Verdict v =
          switch (t.output) {
            case ORDERED -> OutputCheck.ordered(out, s, urls, stopped);
            case UNORDERED -> OutputCheck.unordered(out, s, urls, stopped);
            case FILES -> OutputCheck.files(files, s, urls);
          };
      problem = v.problem();
      results = v.results();
    }
    Run run =
        new Run(
            round,
            s,
            t,
            urls,
            count(s),
            load,
            wallMs,
            timeFields[1],
            timeFields[2] + timeFields[3],
            problem,
            results,
            stopped,
            firstMs,
            peak,
            sampler == null ? List.of() : sampler.samples());
    // Outputs are large (S4: 1 GiB per run); the logs stay.
    Files.deleteIfExists(out);
    deleteTree(files);
    log(
        String.format(
            Locale.ROOT,
            "round %d %s %-20s %6d URLs  load %-15s wall %8.2f s%s" + "  peak RSS %6.1f MB  %s",
            round,
            s.id(),
            t.id,
            urls,
            load,
            wallMs / 1000,
            t.extrapolated() && urls < count(s)
                ? String.format(
                    Locale.ROOT, " (x%d: %.1f s)", count(s) / urls, run.scaledMs() / 1000)
                : "",
            timeFields[1] / MB,
            run.valid()
                ? (stopped ? "stopped at " + s5Seconds() + " s, " : "") + results + " bodies ok"
                : "INVALID: " + problem));
    return run;
  }

  /** ": " and the first line of a tool's stderr, or nothing. */
  private static String firstLine(Path err) {
    try (Stream<String> lines = Files.lines(err)) {
      return lines.filter(l -> !l.isBlank()).findFirst().map(l -> ": " + l.strip()).orElse("");
    } catch (IOException | java.io.UncheckedIOException e) {
      return "";
    }
  }

  /** {@code /usr/bin/time -f "%e %M %U %S"}: its last line (after any notice of a signal). */
  private static double[] parseTime(Path time) throws IOException {
    double[] v = new double[4];
    if (!Files.exists(time)) {
      return v;
    }
    List<String> lines = Files.readAllLines(time);
    for (int i = lines.size() - 1; i >= 0; i--) {
      String[] f = lines.get(i).strip().split("\\s+");
      if (f.length == 4) {
        try {
          for (int j = 0; j < 4; j++) {
            v[j] = Double.parseDouble(f[j]);
          }
          return v;
        } catch (NumberFormatException e) {
          // Not the figures line.
        }
      }
    }
    return v;
  }

  /**
   * S5's probe: every second, the resident memory of the tool's processes (VmRSS from /proc), the
   * bodies it has written (newlines in its output: S5's bodies are one line each) and nginx's
   * request counter (stub_status).
   */
  private final class Sampler extends Thread {
    private final Process process;
    private final Path out;
    private final String status;
    private final long start;
    private final List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean done;
    private long offset;
    private long lines;
    private long requests0 = -1;

    Sampler(Process process, Path out, String status, long start) {
      super("s5-sampler");
      setDaemon(true);
      this.process = process;
      this.out = out;
      this.status = status;
      this.start = start;
    }

    @Override
    public void run() {
      while (!done) {
        try {
          sample();
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          return;
        } catch (IOException | RuntimeException e) {
          log("sampler: " + e);
        }
      }
    }

    private void sample() throws IOException {
      long rss = 0;
      for (ProcessHandle h : process.descendants().toList()) {
        rss += vmRssKb(h.pid());
      }
      long requests = nginxRequests();
      if (requests0 < 0) {
        requests0 = requests;
      }
      samples.add(
          new Sample((System.nanoTime() - start) / 1e9, rss, countLines(), requests - requests0));
    }

    private long countLines() throws IOException {
      try (var ch = Files.newByteChannel(out)) {
        ch.position(offset);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 16);
        int r;
        while ((r = ch.read(buf)) > 0) {
          for (int i = 0; i < r; i++) {
            if (buf.get(i) == '\n') {
              lines++;
            }
          }
          offset += r;
          buf.clear();
        }
      }
      return lines;
    }

    private long nginxRequests() {
      try {
        // Active connections: 1 / server accepts handled requests / 12 12 345 / Reading: ...
        String[] f = control(status).split("\n")[2].strip().split("\\s+");
        return Long.parseLong(f[2]);
      } catch (Exception e) {
        return 0;
      }
    }

    void finish() throws InterruptedException {
      done = true;
      interrupt();
      join(5000);
    }

    List<Sample> samples() {
      return List.copyOf(samples);
    }
  }

  private static long vmRssKb(long pid) {
    try {
      for (String line : Files.readAllLines(Paths.get("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      // The process has gone.
    }
    return 0;
  }

  // ---- ceilings, floor and start-up -----------------------------------------------------------

  /**
   * wrk on one hot URL at each scenario's concurrency (the server's ceiling), and S2's floor: wrk
   * cycling through S2's URLs at C = 64, scaled to 2,000 URLs.
   */
  private void ceilings(List<PeerScenario> scenarios) throws Exception {
    String wrk = option("wrk", "");
    if (wrk.isEmpty()) {
      log("no wrk: the ceilings are not measured");
      return;
    }
    String seconds = quick ? "2s" : "3s";
    for (PeerScenario s : scenarios) {
      if (s == PeerScenario.S2
          || s == PeerScenario.S3
          || s == PeerScenario.S4
          || s == PeerScenario.S8) {
        continue;
      }
      if (s == PeerScenario.S7 && scenarios.contains(PeerScenario.S1)) {
        // The same server and concurrency as S1's hot URL; measured once more only if S1 is not.
        continue;
      }
      String url = base(s) + s.path(0);
      String what = s.id().toUpperCase(Locale.ROOT) + ": one hot URL, C = " + s.concurrency;
      // The better of two: other load on the machine only ever lowers a ceiling.
      Ceiling a = wrk(wrk, what, url, s.concurrency, seconds, null);
      Ceiling b = wrk(wrk, what, url, s.concurrency, seconds, null);
      ceilings.add(a.rps() >= b.rps() ? a : b);
    }
    if (scenarios.contains(PeerScenario.S2)) {
      // The delay server is a JVM: warm it up (untimed) before its floor is measured.
      Path script = work.resolve("s2-cycle.lua");
      int n = count(PeerScenario.S2);
      Files.writeString(
          script,
          "-- wrk: S2's URLs in turn\nlocal i = 0\n"
              + "request = function()\n  local path = \"/line/50/\" .. i\n  i = (i + 1) % "
              + n
              + "\n  return wrk.format(nil, path)\nend\n");
      wrk(wrk, "warm-up of the delay server", option("delay", "") + "/line/50/0", 64, "3s", script);
      Ceiling c =
          wrk(
              wrk,
              "S2: its " + n + " URLs in turn, C = 64",
              option("delay", "") + "/line/50/0",
              64,
              seconds,
              script);
      ceilings.add(c);
      floorMs = c.rps() > 0 ? n / c.rps() * 1000 : Double.NaN;
      log(
          String.format(
              Locale.ROOT,
              "S2 floor: %.2f s (%d URLs at %.0f requests/s)",
              floorMs / 1000,
              n,
              c.rps()));
    }
  }

  private Ceiling wrk(
      String wrk, String what, String url, int c, String seconds, @Nullable Path script)
      throws Exception {
    List<String> cmd = new ArrayList<>(List.of(wrk, "-t1", "-c" + c, "-d" + seconds, "--latency"));
    if (script != null) {
      cmd.addAll(List.of("-s", script.toString()));
    }
    cmd.add(url);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    Files.writeString(work.resolve("wrk-" + Math.abs(what.hashCode()) + ".log"), text);
    Matcher rps = Pattern.compile("Requests/sec:\\s+([0-9.]+)").matcher(text);
    Matcher lat = Pattern.compile("Latency\\s+(\\S+)").matcher(text);
    Matcher errors =
        Pattern.compile("Non-2xx or 3xx responses: (\\d+)|Socket errors").matcher(text);
    double r = rps.find() ? Double.parseDouble(rps.group(1)) : 0;
    String latency = lat.find() ? lat.group(1) : "?";
    if (errors.find()) {
      latency += " (wrk reported errors, see " + root.relativize(work) + ")";
    }
    log(String.format(Locale.ROOT, "wrk %s: %.0f requests/s, mean latency %s", what, r, latency));
    return new Ceiling(what, url, r, latency);
  }

  /**
   * fetchflux's start-up to its first request: the launcher with one delay-server URL, several
   * times; the server records when the request arrived, the driver when it launched the process.
   */
  private void startup() throws Exception {
    String delay = option("delay", "");
    int n = quick ? 2 : 5;
    for (int i = 0; i < n; i++) {
      control(delay + "/_reset");
      Path dir = Files.createDirectories(work.resolve("runs").resolve("startup"));
      ProcessBuilder pb =
          new ProcessBuilder(root.resolve("fetchflux").toString(), "-s", delay + "/line/0/" + i)
              .redirectOutput(dir.resolve("stdout").toFile())
              .redirectError(dir.resolve("stderr").toFile());
      pb.environment().remove("FETCHFLUX_CLASSPATH");
      Instant launched = Instant.now();
      Process p = pb.start();
      p.waitFor(60, TimeUnit.SECONDS);
      String stats = control(delay + "/_stats");
      Matcher m = Pattern.compile("first=(\\d+)").matcher(stats);
      if (m.find() && Long.parseLong(m.group(1)) > 0) {
        double ms =
            (Long.parseLong(m.group(1)) - ChronoUnit.MICROS.between(Instant.EPOCH, launched))
                / 1000.0;
        startups.add(ms);
        log(String.format(Locale.ROOT, "start-up to first request: %.0f ms", ms));
      } else {
        log("start-up: no request arrived (see " + root.relativize(dir) + ")");
      }
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  private String control(String url) throws Exception {
    HttpResponse<String> r =
        control.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    return r.body();
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Paths.get("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "n/a";
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  static void log(String message) {
    System.out.println("peers: " + message);
    System.out.flush();
  }

  // ---- accessors for the report -------------------------------------------------------------

  List<Run> runs() {
    return runs;
  }

  List<Ceiling> ceilings() {
    return ceilings;
  }

  List<Double> startups() {
    return startups;
  }

  Map<PeerTool, String> skipped() {
    return skipped;
  }

  Map<String, String> missing() {
    return missing;
  }

  double floorMs() {
    return floorMs;
  }

  boolean quick() {
    return quick;
  }

  double s5Limit() {
    return s5Seconds();
  }

  String option(String name) {
    return option(name, "");
  }

  /** Median/min/max over the valid runs of {@code t} in {@code s}. */
  @Nullable Stat stat(PeerScenario s, PeerTool t, ToDoubleFunction<Run> f) {
    List<Double> values = new ArrayList<>();
    for (Run r : runs) {
      if (r.scenario() == s && r.tool() == t && r.valid()) {
        values.add(f.applyAsDouble(r));
      }
    }
    return Stat.of(values);
  }
}
