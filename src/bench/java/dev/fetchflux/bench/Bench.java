package dev.fetchflux.bench;

import dev.fetchflux.bench.ClientRun.Client;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
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
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The driver of the HTTP benchmark (issue 3): starts {@link BenchServer} in its own JVM, runs every
 * client on every workload several times, each run a fresh JVM ({@link ClientRun}), interleaved in
 * rounds so that a change in machine load hits every client alike, and writes the figures into
 * {@code docs/benchmarks-method.md}. Run it through {@code src/bench/run.sh}, which builds the
 * classpath.
 *
 * <p>Options: {@code --runs N} (3), {@code --workloads skewed,small}, {@code --skewed-clients …},
 * {@code --small-clients …}, {@code --warmups N} (in-process warm-ups per run, 0), {@code --jfr} (a
 * flight recording per client run under {@code target/bench/jfr}), {@code --server-threads N} (1),
 * {@code --client-jvm "FLAGS"} (JVM flags of the client runs), {@code --doc PATH}
 * (docs/benchmarks-method.md; {@code -} prints instead), {@code --section KEY} (the generated
 * section to replace, default {@code http}), {@code --command TEXT} and {@code --commit SHA}
 * (recorded in the report).
 */
public final class Bench {

  private static final String CLIENT_JVM_DEFAULT = "-Xms256m -Xmx512m -XX:+UseG1GC";
  private static final List<String> SERVER_JVM = List.of("-Xms256m", "-Xmx512m", "-XX:+UseG1GC");
  private static final Duration CLIENT_LIMIT = Duration.ofMinutes(4);

  /** One client run as the driver saw it. */
  record Run(
      int round,
      Workload workload,
      Client client,
      String load,
      double processMs,
      Map<String, String> fields,
      int serverPeak,
      int serverRequests,
      int connections,
      @Nullable String invalid) {

    boolean valid() {
      return invalid == null;
    }

    double ms(String field) {
      return Double.parseDouble(fields.getOrDefault(field, "0"));
    }

    double runMs() {
      return ms("runMs");
    }
  }

  private final Map<String, String> options;
  private final Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
  private final String classpath = System.getProperty("java.class.path");
  private final Path outDir = Paths.get("target", "bench");
  private final HttpClient control =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Run> runs = new ArrayList<>();
  private String base = "";

  private final List<String> clientJvm;

  private Bench(Map<String, String> options) {
    this.options = options;
    this.clientJvm =
        List.of(options.getOrDefault("client-jvm", CLIENT_JVM_DEFAULT).strip().split("\\s+"));
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + a);
      }
      if (a.equals("--jfr")) {
        options.put("jfr", "true");
      } else if (i + 1 < args.length) {
        options.put(a.substring(2), args[++i]);
      } else {
        throw new IllegalArgumentException(a + " needs a value");
      }
    }
    new Bench(options).run();
  }

  private String option(String name, String fallback) {
    return options.getOrDefault(name, fallback);
  }

  private List<Client> clients(Workload w) {
    String fallback =
        w == Workload.SKEWED
            ? "ordered,unordered,naive-seq,naive-flatmap"
            : "ordered,unordered,naive-flatmap";
    List<Client> list = new ArrayList<>();
    for (String id : option(w.id() + "-clients", fallback).split(",")) {
      if (!id.isBlank()) {
        list.add(Client.of(id.strip()));
      }
    }
    return list;
  }

  private void run() throws Exception {
    int rounds = Integer.parseInt(option("runs", "3"));
    List<Workload> workloads = new ArrayList<>();
    for (String id : option("workloads", "skewed,small").split(",")) {
      workloads.add(Workload.of(id.strip()));
    }
    Files.createDirectories(outDir.resolve("logs"));
    Instant started = Instant.now();
    String loadBefore = loadAverage();
    Process server = startServer();
    try {
      warmUpServer();
      for (int round = 1; round <= rounds; round++) {
        for (Workload w : workloads) {
          // Rotate the order every round so that no client always runs first (or last).
          List<Client> order = new ArrayList<>(clients(w));
          Collections.rotate(order, -(round - 1));
          for (Client c : order) {
            runs.add(runClient(round, w, c));
          }
        }
      }
    } finally {
      server.getOutputStream().close();
      if (!server.waitFor(10, TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
    }
    String report = report(workloads, started, loadBefore, loadAverage());
    String doc = option("doc", "docs/benchmarks-method.md");
    if (doc.equals("-")) {
      System.out.println(report);
    } else {
      DocSections.replace(Paths.get(doc), option("section", "http"), report);
      System.out.println("bench: wrote " + doc);
    }
  }

  // ---- processes ----------------------------------------------------------------------------

  private Process startServer() throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(java.toString());
    cmd.addAll(SERVER_JVM);
    cmd.addAll(
        List.of("-cp", classpath, BenchServer.class.getName(), option("server-threads", "1")));
    Process p =
        new ProcessBuilder(cmd).redirectError(outDir.resolve("logs/server.log").toFile()).start();
    InputStream in = p.getInputStream();
    StringBuilder line = new StringBuilder();
    int ch;
    while ((ch = in.read()) >= 0 && ch != '\n') {
      line.append((char) ch);
    }
    if (!line.toString().startsWith("PORT ")) {
      p.destroyForcibly();
      throw new IllegalStateException(
          "server did not start (see target/bench/logs/server.log): " + line);
    }
    base = "http://127.0.0.1:" + line.substring("PORT ".length()).strip();
    log("server " + base + " (pid " + p.pid() + ")");
    return p;
  }

  /**
   * Brings the server's JIT up to speed before anything is timed, with one untimed client run of
   * the small workload; otherwise the first measured client would pay for the server's warm-up.
   */
  private void warmUpServer() throws Exception {
    Run warm = runClient(0, Workload.SMALL, Client.UNORDERED);
    log("server warm-up: " + (warm.valid() ? "ok" : "INVALID " + warm.invalid()));
  }

  private Run runClient(int round, Workload w, Client c) throws Exception {
    control("/_reset");
    String load = loadAverage();
    List<String> cmd = new ArrayList<>();
    cmd.add(java.toString());
    cmd.addAll(clientJvm);
    String name = (round == 0 ? "warmup" : "r" + round) + "-" + w.id() + "-" + c.id();
    if (options.containsKey("jfr") && round > 0) {
      Path jfrDir = outDir.resolve("jfr");
      Files.createDirectories(jfrDir);
      cmd.add(
          "-XX:StartFlightRecording=dumponexit=true,settings=profile,filename="
              + jfrDir.resolve(name + ".jfr"));
    }
    cmd.addAll(
        List.of(
            "-cp",
            classpath,
            ClientRun.class.getName(),
            c.id(),
            w.id(),
            base,
            option("warmups", "0")));
    Path stdout = outDir.resolve("logs/" + name + ".out");
    Path stderr = outDir.resolve("logs/" + name + ".err");
    long start = System.nanoTime();
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    p.getOutputStream().close();
    boolean exited = p.waitFor(CLIENT_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
    double processMs = (System.nanoTime() - start) / 1e6;
    String invalid = null;
    if (!exited) {
      p.destroyForcibly().waitFor();
      invalid = "no result within " + CLIENT_LIMIT.toMinutes() + " min";
    } else if (p.exitValue() != 0) {
      invalid = "exit status " + p.exitValue() + " (see " + stderr + ")";
    }
    Map<String, String> fields = parseResult(stdout);
    if (invalid == null && fields.isEmpty()) {
      invalid = "no RESULT line (see " + stderr + ")";
    }
    if (invalid == null && !"true".equals(fields.get("valid"))) {
      invalid = fields.getOrDefault("reason", "output check failed");
    }
    Map<String, String> stats = new LinkedHashMap<>();
    for (String kv : control("/_stats").strip().split(" ")) {
      stats.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    }
    int peak = Integer.parseInt(stats.getOrDefault("peak", "0"));
    int requests = Integer.parseInt(stats.getOrDefault("requests", "0"));
    // The driver's control connection is opened before /_reset zeroes the count and kept alive.
    int connections = Integer.parseInt(stats.getOrDefault("connections", "0"));
    // TestServer counts a request only within the client's own span of it, so a peak above C
    // means the client had more than C requests in flight: a broken run, not a fast one.
    if (invalid == null && peak > w.concurrency) {
      invalid = "server saw " + peak + " requests in flight, more than C = " + w.concurrency;
    }
    long expected = (long) w.count * (1 + Integer.parseInt(option("warmups", "0")));
    if (invalid == null && requests != expected) {
      invalid = "server received " + requests + " requests, expected " + expected;
    }
    Run run = new Run(round, w, c, load, processMs, fields, peak, requests, connections, invalid);
    log(
        String.format(
            Locale.ROOT,
            "%-7s %-7s %-14s load %-16s run %8.1f ms  cpu %8.1f ms"
                + "  process %8.1f ms  peak %3d  %s",
            round == 0 ? "warm-up" : "round " + round,
            w.id(),
            c.id(),
            load,
            run.runMs(),
            run.ms("runCpuMs"),
            processMs,
            peak,
            run.valid() ? "ok" : "INVALID: " + invalid));
    return run;
  }

  private static Map<String, String> parseResult(Path stdout) throws IOException {
    Map<String, String> fields = new LinkedHashMap<>();
    for (String line : Files.readAllLines(stdout, StandardCharsets.UTF_8)) {
      if (!line.startsWith("RESULT ")) {
        continue;
      }
      String rest = line.substring("RESULT ".length());
      int reason = rest.indexOf(" reason=");
      if (reason >= 0) {
        fields.put("reason", rest.substring(reason + " reason=".length()));
        rest = rest.substring(0, reason);
      }
      for (String kv : rest.split(" ")) {
        int eq = kv.indexOf('=');
        if (eq > 0) {
          fields.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
      }
    }
    return fields;
  }

  private String control(String path) throws Exception {
    HttpResponse<String> r =
        control.send(
            HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    return r.body();
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Paths.get("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "n/a";
    }
  }

  private static void log(String message) {
    System.out.println("bench: " + message);
    System.out.flush();
  }

  // ---- report -------------------------------------------------------------------------------

  /** Median, min and max of some figures. */
  record Stat(double median, double min, double max, int n) {
    static @Nullable Stat of(List<Double> values) {
      if (values.isEmpty()) {
        return null;
      }
      double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      int n = v.length;
      double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
      return new Stat(median, v[0], v[n - 1], n);
    }
  }

  private @Nullable Stat stat(Workload w, Client c, java.util.function.ToDoubleFunction<Run> f) {
    List<Double> values = new ArrayList<>();
    for (Run r : runs) {
      if (r.round() > 0 && r.workload() == w && r.client() == c && r.valid()) {
        values.add(f.applyAsDouble(r));
      }
    }
    return Stat.of(values);
  }

  private long count(Workload w, Client c, boolean valid) {
    return runs.stream()
        .filter(r -> r.round() > 0 && r.workload() == w && r.client() == c && r.valid() == valid)
        .count();
  }

  private String report(
      List<Workload> workloads, Instant started, String loadBefore, String loadAfter) {
    StringBuilder md = new StringBuilder();
    int rounds = Integer.parseInt(option("runs", "3"));
    md.append("### HTTP run of ").append(started.truncatedTo(ChronoUnit.SECONDS)).append("\n\n");
    md.append("- Command: `")
        .append(option("command", "bash src/bench/run.sh"))
        .append("`")
        .append(options.containsKey("commit") ? " at commit `" + options.get("commit") + "`" : "")
        .append("\n");
    md.append("- Machine: `nproc` = ")
        .append(Runtime.getRuntime().availableProcessors())
        .append(", ")
        .append(cpuModel())
        .append("; load average (1, 5, 15 min) ")
        .append(loadBefore)
        .append(" before, ")
        .append(loadAfter)
        .append(" after\n");
    md.append("- `java -version`: ").append(javaVersion()).append("\n");
    md.append("- Each client run is a fresh JVM (`")
        .append(String.join(" ", clientJvm))
        .append("`), ")
        .append(rounds)
        .append(" rounds, every client once per round, the order " + "rotated each round");
    int warmups = Integer.parseInt(option("warmups", "0"));
    md.append(
        warmups == 0
            ? ", no in-process warm-up"
            : ", "
                + warmups
                + " untimed in-process warm-up run"
                + (warmups == 1 ? "" : "s")
                + " before the timed one");
    md.append(options.containsKey("jfr") ? ", with a JFR recording (adds overhead)" : "")
        .append(". Server: one `BenchServer` JVM (`")
        .append(String.join(" ", SERVER_JVM))
        .append("`, ")
        .append(option("server-threads", "1"))
        .append(" event-loop thread), warmed up by one untimed run.\n");
    md.append(
        "- *in-process* = subscription to last result inside the client JVM; *process* = "
            + "launching the client JVM to its exit, start-up and shutdown included.\n\n");

    for (Workload w : workloads) {
      if (w == Workload.SKEWED) {
        md.append("#### Skewed: 1,000 URLs of 20 ms, every 50th (0, 50, …) 1 s, C = 32\n\n");
        md.append(
            "| client | in-process s, median (min–max) | process s, median (min–max) "
                + "| first result s | CPU s in run | JVM start to run s (CPU s) | server peak in flight "
                + "(connections) | valid runs |\n");
        md.append("|---|---|---|---|---|---|---|---|\n");
      } else {
        md.append("#### Small bodies: 10,000 × 1 KiB, no delay, C = 64\n\n");
        md.append(
            "| client | requests/s in-process, median (min–max) | in-process s, median "
                + "(min–max) | process s, median (min–max) | CPU µs per request | JVM start to run s (CPU s) "
                + "| server peak in flight (connections) | valid runs |\n");
        md.append("|---|---|---|---|---|---|---|---|\n");
      }
      for (Client c : clients(w)) {
        Stat run = stat(w, c, Run::runMs);
        Stat proc = stat(w, c, Run::processMs);
        Stat first = stat(w, c, r -> r.ms("firstMs"));
        Stat cpu = stat(w, c, r -> r.ms("runCpuMs"));
        Stat startup = stat(w, c, r -> r.ms("startupMs"));
        Stat startupCpu = stat(w, c, r -> r.ms("startupCpuMs"));
        Stat rps = stat(w, c, r -> w.count / (r.runMs() / 1000));
        Stat peak = stat(w, c, r -> r.serverPeak());
        Stat conns = stat(w, c, r -> r.connections());
        md.append("| ").append(label(c)).append(" | ");
        if (w == Workload.SMALL) {
          md.append(rps == null ? "INVALID" : fmt0(rps)).append(" | ");
        }
        md.append(run == null ? "INVALID" : fmtSeconds(run))
            .append(" | ")
            .append(proc == null ? "INVALID" : fmtSeconds(proc))
            .append(" | ");
        if (w == Workload.SKEWED) {
          md.append(first == null ? "—" : String.format(Locale.ROOT, "%.2f", first.median() / 1000))
              .append(" | ")
              .append(cpu == null ? "—" : String.format(Locale.ROOT, "%.2f", cpu.median() / 1000));
        } else {
          md.append(
              cpu == null
                  ? "—"
                  : String.format(Locale.ROOT, "%.0f", cpu.median() * 1000 / w.count));
        }
        md.append(" | ")
            .append(
                startup == null || startupCpu == null
                    ? "—"
                    : String.format(
                        Locale.ROOT,
                        "%.2f (%.2f)",
                        startup.median() / 1000,
                        startupCpu.median() / 1000))
            .append(" | ");
        md.append(
                peak == null || conns == null
                    ? "—"
                    : String.format(Locale.ROOT, "%.0f (%.0f)", peak.max(), conns.max()))
            .append(" | ")
            .append(count(w, c, true))
            .append(" of ")
            .append(count(w, c, true) + count(w, c, false))
            .append(" |\n");
      }
      md.append("\n");
      targets(md, w);
    }

    md.append("<details><summary>Every run</summary>\n\n");
    md.append(
        "| round | workload | client | load avg before (1, 5, 15 min) | in-process ms "
            + "| process ms | first result ms | CPU ms in run | JVM start to run ms | server peak "
            + "| server requests | connections | result |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Run r : runs) {
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %s | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %d | %d | %d | %s |%n",
              r.round() == 0 ? "warm-up" : Integer.toString(r.round()),
              r.workload().id(),
              r.client().id(),
              r.load(),
              r.runMs(),
              r.processMs(),
              r.ms("firstMs"),
              r.ms("runCpuMs"),
              r.ms("startupMs"),
              r.serverPeak(),
              r.serverRequests(),
              r.connections(),
              r.valid() ? "ok" : "INVALID: " + escape(r.invalid())));
    }
    md.append("\n</details>\n");
    return md.toString();
  }

  private void targets(StringBuilder md, Workload w) {
    if (w == Workload.SKEWED) {
      md.append(
          ratioLine(
              w,
              "ordered ÷ unordered wall time",
              Client.ORDERED,
              Client.UNORDERED,
              false,
              "≤ 1.10",
              r -> r <= 1.10));
      md.append(
          ratioLine(
              w,
              "naive `flatMapSequential` ÷ ordered wall time",
              Client.NAIVE_SEQ,
              Client.ORDERED,
              false,
              "≥ 5",
              r -> r >= 5));
    } else {
      md.append(
          ratioLine(
              w,
              "ordered ÷ unordered requests/s",
              Client.ORDERED,
              Client.UNORDERED,
              true,
              "within 5 % (0.95–1.05)",
              r -> r >= 0.95 && r <= 1.05));
    }
    // CPU per run is much less sensitive to other load on the machine than wall time.
    Stat cpuOrdered = stat(w, Client.ORDERED, r -> r.ms("runCpuMs"));
    Stat cpuUnordered = stat(w, Client.UNORDERED, r -> r.ms("runCpuMs"));
    Stat cpuNaive = stat(w, Client.NAIVE_FLATMAP, r -> r.ms("runCpuMs"));
    if (cpuOrdered != null && cpuUnordered != null) {
      md.append(
          String.format(
              Locale.ROOT,
              "- CPU during the run, ordered ÷ unordered: %.2f",
              cpuOrdered.median() / cpuUnordered.median()));
      if (cpuNaive != null) {
        md.append(
            String.format(
                Locale.ROOT,
                "; fetchflux unordered ÷ naive `flatMap`: %.2f",
                cpuUnordered.median() / cpuNaive.median()));
      }
      md.append(" (not a target; a steadier view of cost on a busy machine)\n");
    }
    md.append("\n");
  }

  /**
   * One target line: the ratio of the medians (what the target is judged on), the same for whole
   * processes, and the median of the per-round ratios (a paired view: the two runs of a round ran
   * minutes apart at most, so slow drifts in machine load cancel out).
   *
   * @param rate compare rates (count / time) instead of times
   */
  private String ratioLine(
      Workload w,
      String what,
      Client a,
      Client b,
      boolean rate,
      String target,
      java.util.function.DoublePredicate ok) {
    Stat ra = stat(w, a, Run::runMs);
    Stat rb = stat(w, b, Run::runMs);
    if (ra == null || rb == null) {
      return "- "
          + what
          + ": not measured (a client was skipped or INVALID); target "
          + target
          + "\n";
    }
    double r = rate ? rb.median() / ra.median() : ra.median() / rb.median();
    StringBuilder line =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "- %s, in-process medians: **%.2f** (target %s): %s",
                what,
                r,
                target,
                ok.test(r) ? "met" : "**missed**"));
    Stat pa = stat(w, a, Run::processMs);
    Stat pb = stat(w, b, Run::processMs);
    if (pa != null && pb != null) {
      line.append(
          String.format(
              Locale.ROOT,
              "; whole-process medians: %.2f",
              rate ? pb.median() / pa.median() : pa.median() / pb.median()));
    }
    List<Double> paired = new ArrayList<>();
    for (Run x : runs) {
      if (x.round() == 0 || x.workload() != w || x.client() != a || !x.valid()) {
        continue;
      }
      for (Run y : runs) {
        if (y.round() == x.round() && y.workload() == w && y.client() == b && y.valid()) {
          paired.add(rate ? y.runMs() / x.runMs() : x.runMs() / y.runMs());
        }
      }
    }
    Stat p = Stat.of(paired);
    if (p != null) {
      line.append(
          String.format(
              Locale.ROOT,
              "; per-round ratios: median %.2f (%.2f–%.2f)",
              p.median(),
              p.min(),
              p.max()));
    }
    return line.append("\n").toString();
  }

  private static String label(Client c) {
    switch (c) {
      case ORDERED:
        return "fetchflux `fetch` (ordered)";
      case UNORDERED:
        return "fetchflux `fetchUnordered`";
      case NAIVE_SEQ:
        return "naive `flatMapSequential(…, C)`";
      case NAIVE_FLATMAP:
        return "naive `flatMap(…, C)`";
      default:
        return c.id();
    }
  }

  private static String fmtSeconds(Stat s) {
    return String.format(
        Locale.ROOT, "%.2f (%.2f–%.2f)", s.median() / 1000, s.min() / 1000, s.max() / 1000);
  }

  private static String fmt0(Stat s) {
    return String.format(Locale.ROOT, "%,.0f (%,.0f–%,.0f)", s.median(), s.min(), s.max());
  }

  private static String escape(@Nullable String s) {
    return s == null ? "" : s.replace("|", "\\|");
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Paths.get("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).strip();
        }
      }
    } catch (IOException e) {
      // Not Linux: no model name.
    }
    return "CPU model unknown";
  }

  private String javaVersion() {
    try {
      Process p = new ProcessBuilder(java.toString(), "-version").redirectErrorStream(true).start();
      String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor();
      return "`"
          + String.join(
              "` / `", Arrays.stream(text.strip().split("\n")).map(String::strip).toList())
          + "`";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }
}
