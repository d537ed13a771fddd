package dev.fetchflux.flink.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fetchflux.flink.FetchRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The scale-out check of issue 16, end to end on real processes: starts a Flink 2.3 session
 * cluster ({@link LocalFlinkCluster}: one JobManager, two task managers, each its own JVM), submits
 * fetchflux's job jar with {@code flink run} ({@code CliFrontend}) at parallelism 2 against a few
 * thousand loopback URLs (some slow, some failing), once undisturbed and once with a task manager
 * killed ({@code SIGKILL}) after a checkpoint, a replacement started as a supervisor would; then
 * merges each run's parts with {@code fetchflux merge} and checks the answer.
 *
 * <p>Checks (each printed as {@code ok} or {@code FAIL}, then a closing {@code N passed, M failed}
 * line; exit status 1 if any failed):
 * <ul>
 *   <li>the cluster registers both task managers; each run finishes;
 *   <li>the failover run lost a task manager that ran a fetch subtask while the job was running,
 *       restarted, and restored from a completed checkpoint;
 *   <li>{@code fetchflux merge --expect N} finds every seq from 0 to N-1 exactly once (it fails
 *       with status 2 otherwise) and {@code --raw} writes the bodies in input order, each checked
 *       against its record's SHA-256;
 *   <li>every record is for the URL at its seq, with the outcome that URL must have (success,
 *       500, cut body, reset, deadline); every success's body file is complete, matches its
 *       SHA-256 and holds the bytes the server sent;
 *   <li>the two runs give the same records, timings aside;
 *   <li>no host ever had more than {@code --per-host} requests in flight, counted at its server.
 * </ul>
 *
 * <p>Run through {@code src/cluster/run.sh}, which builds the jars and class paths and kills any
 * process left behind. {@code --figures} adds timed runs for {@code docs/scale-out.md}.
 */
public final class ClusterCheck {
  private static final String ENTRY = "dev.fetchflux.flink.FetchJob";

  /**
   * The job's deadline per URL: long enough that a healthy URL never meets it on a busy shared
   * machine (a fresh task manager's first requests include class loading), short enough that the
   * URLs that never answer do not drag the run out.
   */
  private static final String MAX_TIME = "6s";

  private final Path work;
  private final String flinkLib;
  private final Path jobJar;
  private final int n;
  private final int perHost;
  private final int hostCount;
  private final PrintStream out = System.out;
  private int passed;
  private int failed;

  private ClusterCheck(Map<String, String> options) throws IOException {
    this.work = Path.of(require(options, "--work")).toAbsolutePath();
    this.flinkLib = Files.readString(Path.of(require(options, "--flink-lib"))).strip();
    this.jobJar = Path.of(require(options, "--job-jar")).toAbsolutePath();
    this.n = Integer.parseInt(options.getOrDefault("--urls", "3000"));
    this.perHost = Integer.parseInt(options.getOrDefault("--per-host", "4"));
    this.hostCount = Integer.parseInt(options.getOrDefault("--hosts", "4"));
  }

  /**
   * {@code --work DIR --flink-lib FILE --job-jar JAR [--urls N] [--per-host N] [--hosts N]
   * [--figures]}: exits 0 when every check passed.
   */
  public static void main(String[] args) throws Exception {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--figures")) {
        options.put("--figures", "true");
      } else if (i + 1 < args.length) {
        options.put(args[i], args[++i]);
      } else {
        throw new IllegalArgumentException("missing value for " + args[i]);
      }
    }
    ClusterCheck check = new ClusterCheck(options);
    int status = check.run(options.containsKey("--figures"));
    System.exit(status);
  }

  private static String require(Map<String, String> options, String name) {
    return Objects.requireNonNull(options.get(name), () -> "missing option " + name);
  }

  /** What one submitted job did. */
  record JobRun(
      String name,
      String id,
      String state,
      long durationMillis,
      long wallMillis,
      Path out,
      Path bodies,
      List<Integer> peaks,
      int requests,
      @Nullable Failover failover) {}

  /**
   * The failover of a run with a killed task manager; times in milliseconds after the kill (-1:
   * never seen).
   *
   * @param jobRestarting the job switched to RESTARTING (the loss was noticed)
   * @param tasksRestoring every task was deployed again and restoring its state
   * @param tasksRunning every task was running again (restored state and in-flight data)
   * @param checkpointAfter the first checkpoint triggered after the kill completed
   * @param requestsResumed the first request to a host of the killed subtask reached its server
   * @param restoredCheckpoint the checkpoint the job restored from
   * @param restoredTakenBeforeKill whether that checkpoint was triggered before the kill (and
   *     completed: every task, the killed one's included, had acknowledged it)
   */
  record Failover(
      String killed,
      int requestsBeforeKill,
      long jobRestarting,
      long tasksRestoring,
      long tasksRunning,
      long requestsResumed,
      long checkpointAfter,
      long restoredCheckpoint,
      boolean restoredTakenBeforeKill,
      String rootCause) {}

  private int run(boolean figures) throws Exception {
    Files.createDirectories(work);
    long started = System.nanoTime();
    out.printf(
        "cluster check: %d URLs over %d hosts, --per-host %d; work %s; load %s%n",
        n, hostCount, perHost, work, load());
    try (Workload workload = Workload.start(hostCount, n, true)) {
      Path input = workload.write(work.resolve("urls.txt"));
      long t = System.nanoTime();
      try (LocalFlinkCluster cluster =
          LocalFlinkCluster.start(work.resolve("cluster"), flinkLib, 2, Duration.ofMinutes(3))) {
        check(
            "cluster up: 1 JobManager and 2 task managers registered "
                + cluster.taskManagers()
                + " in "
                + seconds(System.nanoTime() - t),
            cluster.taskManagers().size() == 2,
            "");
        JobRun steady = runJob(cluster, workload, input, "steady", 2, 16, perHost, false);
        verify(steady, workload);
        JobRun failover = runJob(cluster, workload, input, "failover", 2, 16, perHost, true);
        verify(failover, workload);
        compare(steady, failover);
        if (figures) {
          figures(cluster, steady, failover);
        }
        out.printf("processes still running before shutdown: %s%n", cluster.running());
      }
    } catch (Exception | AssertionError e) {
      fail("cluster check stopped: " + e, e);
    }
    out.printf("cluster check took %s; load %s%n", seconds(System.nanoTime() - started), load());
    // The plain closing line CI reads as a test count.
    out.printf("cluster: %d passed, %d failed%n", passed, failed);
    return failed == 0 ? 0 : 1;
  }

  private List<String> jobArgs(
      Path input,
      Path output,
      Path bodies,
      String name,
      int c,
      int perHostLimit,
      Workload workload) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--input",
                input.toUri().toString(),
                "--output",
                output.toUri().toString(),
                "--bodies",
                bodies.toString(),
                "-c",
                Integer.toString(c),
                "--fail",
                "--max-time",
                MAX_TIME,
                "--timeout-margin",
                "2s",
                "--checkpoint-interval",
                "1s",
                "--job-name",
                "fetchflux " + name));
    if (perHostLimit > 0) {
      args.addAll(List.of("--per-host", Integer.toString(perHostLimit)));
    }
    for (String rule : workload.resolveRules()) {
      args.addAll(List.of("--resolve", rule));
    }
    return args;
  }

  private JobRun runJob(
      LocalFlinkCluster cluster,
      Workload workload,
      Path input,
      String name,
      int parallelism,
      int c,
      int perHostLimit,
      boolean kill)
      throws Exception {
    Path dir = Files.createDirectories(work.resolve(name));
    Path output = dir.resolve("out");
    Path bodies = Files.createDirectories(dir.resolve("bodies"));
    workload.resetCounters();
    long submitted = System.nanoTime();
    String id =
        cluster.submit(
            jobJar,
            ENTRY,
            parallelism,
            jobArgs(input, output, bodies, name, c, perHostLimit, workload));
    out.printf(
        "%s: submitted job %s (P=%d, C=%d%s) in %s%n",
        name,
        id,
        parallelism,
        c,
        perHostLimit > 0 ? ", --per-host " + perHostLimit : "",
        seconds(System.nanoTime() - submitted));
    String[] victim = {""};
    int[] requestsBefore = {0};
    long killEpoch = kill ? killOneTaskManager(cluster, workload, id, victim, requestsBefore) : 0;
    String state = cluster.awaitTerminal(id, Duration.ofMinutes(4));
    long wall = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - submitted);
    JsonNode job = cluster.job(id);
    Failover failover = null;
    if (kill) {
      failover = failoverReport(cluster, workload, id, killEpoch, victim[0], requestsBefore[0]);
      out.printf(
          "failover: after the kill: job RESTARTING at %d ms (%s); every task restoring at"
              + " %d ms; requests to the killed subtask's hosts resumed at %d ms; every task"
              + " RUNNING (restored in-flight URLs fetched) at %d ms; first checkpoint after the"
              + " kill completed at %d ms; restored checkpoint %d%n",
          failover.jobRestarting(),
          failover.rootCause(),
          failover.tasksRestoring(),
          failover.requestsResumed(),
          failover.tasksRunning(),
          failover.checkpointAfter(),
          failover.restoredCheckpoint());
      check(
          "failover: the job noticed the loss, restarted and ran every task again",
          failover.jobRestarting() > 0 && failover.tasksRunning() > failover.jobRestarting(),
          failover.toString());
      check(
          "failover: restored from checkpoint "
              + failover.restoredCheckpoint()
              + ", taken before the kill",
          failover.restoredTakenBeforeKill(),
          failover.toString());
    }
    JobRun run =
        new JobRun(
            name,
            id,
            state,
            job.path("duration").asLong(),
            wall,
            output,
            bodies,
            workload.peaks(),
            workload.requests(),
            failover);
    out.printf(
        "%s: %s, job %.2f s (%.0f URLs/s), wall %.2f s from submission, %d requests,"
            + " peak in flight per host %s; load %s%n",
        name,
        state,
        run.durationMillis() / 1e3,
        n / (run.durationMillis() / 1e3),
        wall / 1e3,
        run.requests(),
        run.peaks(),
        load());
    check(name + ": job FINISHED", state.equals("FINISHED"), state + "; see " + cluster.logs());
    return run;
  }

  /**
   * Waits until a checkpoint has completed and about a third of the URLs were requested, then
   * kills the task manager that runs fetch subtask 0 and at once starts a replacement, as a
   * supervisor would; returns the kill's wall-clock time.
   */
  private long killOneTaskManager(
      LocalFlinkCluster cluster,
      Workload workload,
      String id,
      String[] victim,
      int[] requestsBefore)
      throws Exception {
    LocalFlinkCluster.await(
        "job " + id + " has completed a checkpoint and requested a third of" + " its URLs",
        Duration.ofMinutes(2),
        () -> {
          try {
            return completedCheckpoints(cluster, id) >= 1 && workload.requests() >= n / 3;
          } catch (IOException e) {
            return false;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        });
    String state = cluster.job(id).path("state").asText();
    check(
        "failover: job still RUNNING when the task manager is killed",
        state.equals("RUNNING"),
        state);
    victim[0] = fetchSubtaskHost(cluster, id, 0);
    requestsBefore[0] = workload.requests();
    long killEpoch = System.currentTimeMillis();
    cluster.killOnPurpose(cluster.node(victim[0]));
    cluster.startTaskManager();
    out.printf(
        "failover: kill -9 %s (ran fetch subtask 0) after %d of %d requests; started a"
            + " replacement%n",
        victim[0], requestsBefore[0], n);
    return killEpoch;
  }

  /** What the JobManager recorded about the failover, read once the job is over. */
  private Failover failoverReport(
      LocalFlinkCluster cluster,
      Workload workload,
      String id,
      long killEpoch,
      String victim,
      int requestsBefore)
      throws IOException, InterruptedException {
    JsonNode job = cluster.job(id);
    long restarting = job.path("timestamps").path("RESTARTING").asLong(0);
    long restoring = 0;
    long running = 0;
    for (JsonNode v : job.path("vertices")) {
      JsonNode times =
          cluster.get("/jobs/" + id + "/vertices/" + v.path("id").asText() + "/subtasktimes");
      for (JsonNode subtask : times.path("subtasks")) {
        restoring = Math.max(restoring, subtask.path("timestamps").path("INITIALIZING").asLong());
        running = Math.max(running, subtask.path("timestamps").path("RUNNING").asLong());
      }
    }
    long restartingAt = restarting;
    long firstRestore = Long.MAX_VALUE;
    for (JsonNode v : job.path("vertices")) {
      JsonNode times =
          cluster.get("/jobs/" + id + "/vertices/" + v.path("id").asText() + "/subtasktimes");
      for (JsonNode subtask : times.path("subtasks")) {
        long t = subtask.path("timestamps").path("INITIALIZING").asLong();
        if (t > 0) {
          firstRestore = Math.min(firstRestore, t);
        }
      }
    }
    int between = workload.requestsBetween(restartingAt + 500, firstRestore);
    out.printf(
        "failover: requests sent between the cancel of the old tasks (+0.5 s) and the"
            + " first restore: %d%n",
        between);
    JsonNode checkpoints = cluster.get("/jobs/" + id + "/checkpoints");
    long restored = checkpoints.path("latest").path("restored").path("id").asLong(-1);
    boolean restoredBeforeKill = false;
    long firstAfter = Long.MAX_VALUE;
    for (JsonNode c : checkpoints.path("history")) {
      long ack = c.path("latest_ack_timestamp").asLong();
      if (c.path("id").asLong() == restored) {
        restoredBeforeKill =
            c.path("status").asText().equals("COMPLETED")
                && c.path("trigger_timestamp").asLong() < killEpoch;
      }
      if (c.path("status").asText().equals("COMPLETED")
          && c.path("trigger_timestamp").asLong() > killEpoch) {
        firstAfter = Math.min(firstAfter, ack);
      }
    }
    String cause =
        cluster
            .get("/jobs/" + id + "/exceptions")
            .path("exceptionHistory")
            .path("entries")
            .path(0)
            .path("exceptionName")
            .asText("?");
    // Fetch subtask 0 was killed: its hosts got no request from the moment the job noticed (by
    // then the server has read whatever the dead process had sent) until the replacement subtask
    // fetched again.
    long resumed = workload.firstRequestAfter(Math.max(killEpoch, restarting), 0);
    return new Failover(
        victim,
        requestsBefore,
        since(killEpoch, restarting),
        since(killEpoch, restoring),
        since(killEpoch, running),
        since(killEpoch, resumed),
        firstAfter == Long.MAX_VALUE ? -1 : firstAfter - killEpoch,
        restored,
        restoredBeforeKill,
        cause);
  }

  private static long since(long epoch, long t) {
    return t <= 0 ? -1 : t - epoch;
  }

  private static long completedCheckpoints(LocalFlinkCluster cluster, String id)
      throws IOException, InterruptedException {
    return cluster.get("/jobs/" + id + "/checkpoints").path("counts").path("completed").asLong();
  }

  /** The task manager (resource id) running fetch subtask {@code index}. */
  private static String fetchSubtaskHost(LocalFlinkCluster cluster, String id, int index)
      throws IOException, InterruptedException {
    for (JsonNode v : cluster.job(id).path("vertices")) {
      if (v.path("name").asText().contains("fetch")) {
        JsonNode subtasks =
            cluster.get("/jobs/" + id + "/vertices/" + v.path("id").asText()).path("subtasks");
        for (JsonNode s : subtasks) {
          if (s.path("subtask").asInt() == index) {
            return s.path("taskmanager-id").asText();
          }
        }
      }
    }
    throw new IllegalStateException("no fetch subtask " + index + " in job " + id);
  }

  /** Merges the run's parts with {@code fetchflux merge} and checks the answer. */
  private void verify(JobRun run, Workload workload) throws Exception {
    Path merged = work.resolve(run.name()).resolve("merged.jsonl");
    Merge m =
        fetchfluxMerge(
            run.name(),
            List.of("--expect", Integer.toString(n), "-o", merged.toString(), run.out().toString()),
            null);
    // Status 1: complete, and some records are errors (the failing URLs), as with the fetch CLI.
    check(
        run.name()
            + ": fetchflux merge --expect "
            + n
            + " found seq 0 to "
            + (n - 1)
            + " exactly once",
        m.status() == 1 && Files.exists(merged),
        m.toString());
    if (!Files.exists(merged)) {
      return;
    }
    List<FetchRecord> records = new ArrayList<>();
    for (String line : Files.readAllLines(merged)) {
      records.add(FetchRecord.parse(line));
    }
    List<String> wrong = new ArrayList<>();
    MessageDigest expectedBodies = sha256();
    for (int seq = 0; seq < n && seq < records.size(); seq++) {
      FetchRecord r = records.get(seq);
      Workload.Url u = workload.urls().get(seq);
      if (r.seq() != seq || !r.url().equals(u.url())) {
        wrong.add("seq " + seq + ": record for " + r.seq() + " " + r.url() + ", input " + u.url());
        continue;
      }
      if (!Objects.equals(r.errorKind(), u.kind().errorKind)) {
        wrong.add(
            "seq "
                + seq
                + " ("
                + u.kind()
                + "): errorKind "
                + r.errorKind()
                + ": "
                + r.errorMessage());
        continue;
      }
      if (r.succeeded()) {
        byte[] expected = Workload.expectedBody(u);
        expectedBodies.update(expected);
        String problem = checkBody(run.bodies(), r, expected);
        if (problem != null) {
          wrong.add("seq " + seq + ": " + problem);
        }
      }
    }
    check(
        run.name()
            + ": "
            + records.size()
            + " records, each for the URL at its seq with the"
            + " outcome it must have, every body file complete and matching its SHA-256",
        records.size() == n && wrong.isEmpty(),
        wrong.size() + " wrong, first: " + wrong.stream().limit(3).toList());

    Path raw = work.resolve(run.name()).resolve("bodies.bin");
    Merge bodies =
        fetchfluxMerge(
            run.name() + "-raw",
            List.of(
                "--raw",
                "--bodies",
                run.bodies().toString(),
                "--expect",
                Integer.toString(n),
                run.out().toString()),
            raw);
    String expected = HexFormat.of().formatHex(expectedBodies.digest());
    String actual = sha256Hex(raw);
    check(
        run.name() + ": fetchflux merge --raw writes every body in input order",
        bodies.status() == 1 && expected.equals(actual),
        bodies + "; SHA-256 " + actual + ", expected " + expected);

    int max = run.peaks().stream().mapToInt(Integer::intValue).max().orElse(0);
    check(
        run.name()
            + ": no host had more than --per-host "
            + perHost
            + " requests in flight"
            + " (peaks at the servers "
            + run.peaks()
            + ")",
        max <= perHost && max > 0,
        run.peaks().toString());
    check(
        run.name()
            + ": every URL was requested ("
            + run.requests()
            + " requests for "
            + n
            + " URLs)",
        run.requests() >= n,
        "");
  }

  private static @Nullable String checkBody(Path bodies, FetchRecord r, byte[] expected)
      throws IOException {
    if (r.body() == null) {
      return "no body file";
    }
    Path file = bodies.resolve(r.body());
    if (!Files.isRegularFile(file)) {
      return "body file missing: " + file;
    }
    byte[] actual = Files.readAllBytes(file);
    String sha = HexFormat.of().formatHex(sha256().digest(actual));
    if (!sha.equals(r.sha256()) || actual.length != r.bytes()) {
      return "body file " + file + " does not match its record";
    }
    if (!Arrays.equals(actual, expected)) {
      return "body file "
          + file
          + " is not what the server sent ("
          + actual.length
          + " of "
          + expected.length
          + " bytes)";
    }
    return null;
  }

  /** The two runs' records, timings aside (digits in error messages masked: ms, ports). */
  private void compare(JobRun steady, JobRun failover) throws IOException {
    Path a = work.resolve(steady.name()).resolve("merged.jsonl");
    Path b = work.resolve(failover.name()).resolve("merged.jsonl");
    if (!Files.exists(a) || !Files.exists(b)) {
      check(
          "the run with a killed task manager gives the same records as the run without",
          false,
          "a merged file is missing");
      return;
    }
    List<String> x = Files.readAllLines(a).stream().map(ClusterCheck::withoutTimings).toList();
    List<String> y = Files.readAllLines(b).stream().map(ClusterCheck::withoutTimings).toList();
    int first = -1;
    for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
      if (!x.get(i).equals(y.get(i))) {
        first = i;
        break;
      }
    }
    check(
        "the run with a killed task manager gives the same records as the run without"
            + " (timings aside)",
        x.size() == y.size() && first < 0,
        first < 0
            ? "sizes " + x.size() + " and " + y.size()
            : "first difference at seq " + first + ":\n  " + x.get(first) + "\n  " + y.get(first));
  }

  private static String withoutTimings(String line) {
    FetchRecord r = FetchRecord.parse(line);
    String message = r.errorMessage() == null ? null : r.errorMessage().replaceAll("[0-9]+", "#");
    return new FetchRecord(
            r.seq(),
            r.url(),
            r.finalUrl(),
            r.status(),
            r.bytes(),
            r.sha256(),
            r.body(),
            0,
            0,
            0,
            r.attempts(),
            r.redirects(),
            r.errorKind(),
            message)
        .toJson();
  }

  /** What {@code java -jar JOB_JAR merge ...} did. */
  record Merge(int status, String stderr) {}

  private Merge fetchfluxMerge(String name, List<String> args, @Nullable Path stdout)
      throws IOException, InterruptedException {
    Path log = work.resolve(name.replace('/', '-') + "-merge.err");
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m",
                "-jar",
                jobJar.toString(),
                "merge"));
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command).redirectError(log.toFile());
    pb.redirectOutput(
        stdout != null
            ? ProcessBuilder.Redirect.to(stdout.toFile())
            : ProcessBuilder.Redirect.DISCARD);
    Process p = pb.start();
    if (!p.waitFor(2, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      return new Merge(-1, "timed out");
    }
    return new Merge(p.exitValue(), Files.readString(log).strip());
  }

  /**
   * Timed runs for docs/scale-out.md on the same cluster: the CLI alone and the job at P = 1 and
   * P = 2, on the check's input without the never-answering URLs (their deadline would dominate)
   * and without a per-host limit (so that parallelism can show).
   */
  private void figures(LocalFlinkCluster cluster, JobRun steady, JobRun failover) throws Exception {
    out.println("figures: " + n + " URLs, no stalls, no --per-host; load " + load());
    try (Workload plain = Workload.start(hostCount, n, false)) {
      Path plainInput = plain.write(work.resolve("urls-figures.txt"));
      for (int rep = 0; rep < 2; rep++) {
        cli(plain, plainInput, 32);
        cli(plain, plainInput, 64);
        runJob(cluster, plain, plainInput, "p1-c32-" + rep, 1, 32, 0, false);
        runJob(cluster, plain, plainInput, "p2-c32-" + rep, 2, 32, 0, false);
      }
    }
    out.printf(
        "figures: the check's runs (P=2, C=16, --per-host %d): steady %.2f s, with the"
            + " kill %.2f s; %s%n",
        perHost,
        steady.durationMillis() / 1e3,
        failover.durationMillis() / 1e3,
        failover.failover());
  }

  private void cli(Workload workload, Path input, int c) throws Exception {
    Path jsonl = work.resolve("cli-c" + c + ".jsonl");
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                jobJar.toString(),
                "-i",
                input.toString(),
                "-c",
                Integer.toString(c),
                "--fail",
                "-s",
                "--max-time",
                "2s",
                "--jsonl-file",
                jsonl.toString()));
    for (String rule : workload.resolveRules()) {
      command.addAll(List.of("--resolve", rule));
    }
    workload.resetCounters();
    long t = System.nanoTime();
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    p.waitFor(5, TimeUnit.MINUTES);
    double s = (System.nanoTime() - t) / 1e9;
    out.printf(
        "cli -c %d: exit %d, %.2f s with JVM start (%.0f URLs/s), %d requests; load %s%n",
        c, p.exitValue(), s, n / s, workload.requests(), load());
  }

  private void check(String what, boolean ok, String detail) {
    if (ok) {
      passed++;
      out.println("ok   " + what);
    } else {
      failed++;
      out.println("FAIL " + what + (detail.isEmpty() ? "" : ": " + detail));
    }
  }

  private void fail(String what, Throwable e) {
    failed++;
    out.println("FAIL " + what);
    e.printStackTrace(out);
  }

  private static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
  }

  private static String load() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return String.join(" ", Arrays.copyOf(f, 3));
    } catch (IOException e) {
      return "?";
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String sha256Hex(Path file) throws IOException {
    MessageDigest md = sha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
