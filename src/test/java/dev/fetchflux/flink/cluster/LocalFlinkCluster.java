package dev.fetchflux.flink.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Flink 2.3 session cluster of separate JVMs on 127.0.0.1, started from the distribution's
 * entry-point classes (the {@code flink-dist} tarball is not on Maven Central; its processes are
 * plain classes in artifacts that are): one JobManager
 * ({@code StandaloneSessionClusterEntrypoint --configDir DIR}) and task managers
 * ({@code TaskManagerRunner --configDir DIR}), each its own process with its own log.
 *
 * <p>What the distribution's {@code bin/} scripts do, done here: write {@code conf/config.yaml}
 * (loopback addresses, free ports, one slot per task manager, a checkpoint directory on local disk
 * standing for the shared file system, a fixed-delay restart strategy, short heartbeats), ask
 * Flink's own {@code BashJavaUtils} for the JVM memory flags and dynamic properties (as
 * {@code config.sh} does), start the JVMs, and submit jobs through {@code CliFrontend} (what
 * {@code flink run} runs) over the REST API.
 *
 * <p>Every process it starts is listed, with its PID, in {@code work/pids} (one {@code PID NAME}
 * line each) and is stopped by {@link #close()} (SIGTERM, then SIGKILL after a grace period), by a
 * JVM shutdown hook if the driver is interrupted, and by {@code src/cluster/run.sh}'s exit trap if
 * the driver itself is killed. Each command line carries {@code -Dfetchflux.cluster=WORK} so that
 * trap can tell our processes from a PID that was reused.
 */
public final class LocalFlinkCluster implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern JOB_ID = Pattern.compile("JobID ([0-9a-f]{32})");

  /**
   * The module flags a Flink 2.x distribution's {@code config.yaml} gives every JVM it starts
   * ({@code env.java.default-opts.all}): Flink reflects into JDK internals (Kryo, the client's
   * translators, the network stack). Written to {@code config.yaml} too, as the distribution does.
   */
  static final List<String> JVM_MODULE_OPTIONS =
      List.of(
          "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
          "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
          "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
          "--add-opens=java.base/java.lang=ALL-UNNAMED",
          "--add-opens=java.base/java.net=ALL-UNNAMED",
          "--add-opens=java.base/java.io=ALL-UNNAMED",
          "--add-opens=java.base/java.nio=ALL-UNNAMED",
          "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
          "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
          "--add-opens=java.base/java.text=ALL-UNNAMED",
          "--add-opens=java.base/java.time=ALL-UNNAMED",
          "--add-opens=java.base/java.util=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

  /** One process this cluster started. */
  public record Node(String name, Process process) {
    public long pid() {
      return process.pid();
    }
  }

  private final Path work;
  private final Path conf;
  private final Path logs;
  private final String libClassPath;
  private final String javaBin;
  private final int restPort;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Node> nodes = new CopyOnWriteArrayList<>();
  private final Thread shutdownHook = new Thread(this::stopAll, "local-flink-cluster-stop");
  private List<String> taskManagerJvm = List.of();
  private List<String> taskManagerDynamic = List.of();
  private int taskManagersStarted;
  private int clients;

  private LocalFlinkCluster(Path work, String libClassPath) throws IOException {
    this.work = work.toAbsolutePath();
    this.conf = Files.createDirectories(this.work.resolve("conf"));
    this.logs = Files.createDirectories(this.work.resolve("log"));
    this.libClassPath = libClassPath;
    this.javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    this.restPort = freePort();
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * Writes the configuration, starts the JobManager and {@code taskManagers} task managers, and
   * waits (up to {@code timeout}) until all of them are registered.
   *
   * @param libClassPath the distribution's {@code lib/}: Flink's runtime, client, file connector
   *     and logging jars (see {@code src/cluster/pom.xml})
   */
  public static LocalFlinkCluster start(
      Path work, String libClassPath, int taskManagers, Duration timeout)
      throws IOException, InterruptedException {
    LocalFlinkCluster cluster = new LocalFlinkCluster(work, libClassPath);
    try {
      cluster.writeConfiguration();
      List<String> jm = cluster.resourceParams("GET_JM_RESOURCE_PARAMS");
      List<String> tm = cluster.resourceParams("GET_TM_RESOURCE_PARAMS");
      cluster.taskManagerJvm = List.of(tm.get(0).split(" "));
      cluster.taskManagerDynamic = List.of(tm.get(1).split(" "));
      List<String> jmArgs = new ArrayList<>(List.of(jm.get(1).split(" ")));
      cluster.spawn(
          "jobmanager",
          List.of(jm.get(0).split(" ")),
          "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
          jmArgs);
      for (int i = 0; i < taskManagers; i++) {
        cluster.startTaskManager();
      }
      cluster.awaitTaskManagers(taskManagers, timeout);
      return cluster;
    } catch (IOException | InterruptedException | RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
  }

  private void writeConfiguration() throws IOException {
    int rpcPort = freePort();
    String yaml =
        String.join(
            "\n",
            "# Written by LocalFlinkCluster: a Flink 2.3 session cluster on one host, for tests.",
            "jobmanager.rpc.address: 127.0.0.1",
            "jobmanager.rpc.port: " + rpcPort,
            "jobmanager.bind-host: 127.0.0.1",
            "jobmanager.memory.heap.size: 256m",
            "taskmanager.host: 127.0.0.1",
            "taskmanager.bind-host: 127.0.0.1",
            // One slot each: a job at parallelism 2 runs one fetch subtask in each task manager.
            "taskmanager.numberOfTaskSlots: 1",
            "taskmanager.memory.task.heap.size: 256m",
            // Streaming with heap state: no managed memory needed.
            "taskmanager.memory.managed.size: 0m",
            "rest.address: 127.0.0.1",
            "rest.bind-address: 127.0.0.1",
            "rest.port: " + restPort,
            // A local directory standing for the shared file system every process can reach.
            "execution.checkpointing.dir: " + work.resolve("checkpoints").toUri(),
            "restart-strategy.type: fixed-delay",
            "restart-strategy.fixed-delay.attempts: 10",
            "restart-strategy.fixed-delay.delay: 1s",
            // A killed task manager is noticed within seconds, not the default 50.
            "heartbeat.interval: 1s",
            "heartbeat.timeout: 10s",
            // Enough checkpoint history in the REST API to find the one a restart restored.
            "web.checkpoints.history: 100",
            "io.tmp.dirs: " + Files.createDirectories(work.resolve("tmp")),
            "env.java.default-opts.all: " + String.join(" ", JVM_MODULE_OPTIONS),
            "");
    Files.writeString(conf.resolve("config.yaml"), yaml);
    Files.writeString(
        conf.resolve("log4j.properties"),
        String.join(
            "\n",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = MainAppender",
            "appender.main.name = MainAppender",
            "appender.main.type = File",
            "appender.main.fileName = ${sys:log.file}",
            "appender.main.layout.type = PatternLayout",
            "appender.main.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-40c{1.} - %m%n",
            ""));
  }

  /**
   * The JVM flags and dynamic properties Flink derives from the memory configuration: the two
   * {@code BASH_JAVA_UTILS_EXEC_RESULT:} lines of {@code BashJavaUtils}, as {@code config.sh} reads
   * them.
   */
  private List<String> resourceParams(String command) throws IOException, InterruptedException {
    Path out = logs.resolve(command.toLowerCase(java.util.Locale.ROOT) + ".out");
    Process p =
        new ProcessBuilder(
                javaBin,
                "-Xmx64m",
                "-cp",
                libClassPath,
                "-Dlog.file=" + logs.resolve("bash-java-utils.log"),
                "-Dlog4j.configurationFile=" + conf.resolve("log4j.properties").toUri(),
                "org.apache.flink.runtime.util.bash.BashJavaUtils",
                command,
                "--configDir",
                conf.toString())
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("BashJavaUtils " + command + " did not finish in 60 s");
    }
    List<String> results = new ArrayList<>();
    for (String line : Files.readAllLines(out)) {
      if (line.startsWith("BASH_JAVA_UTILS_EXEC_RESULT:")) {
        results.add(line.substring("BASH_JAVA_UTILS_EXEC_RESULT:".length()).strip());
      }
    }
    if (p.exitValue() != 0 || results.size() != 2) {
      throw new IllegalStateException(
          "BashJavaUtils "
              + command
              + " failed (exit "
              + p.exitValue()
              + "): "
              + Files.readString(out));
    }
    return results;
  }

  /** Starts one more task manager (named {@code taskmanager-N}, also its Flink resource id). */
  public Node startTaskManager() throws IOException {
    String name = "taskmanager-" + (++taskManagersStarted);
    List<String> args = new ArrayList<>(taskManagerDynamic);
    args.addAll(List.of("-D", "taskmanager.resource-id=" + name));
    return spawn(
        name, taskManagerJvm, "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", args);
  }

  private Node spawn(String name, List<String> jvm, String mainClass, List<String> args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(javaBin);
    command.addAll(JVM_MODULE_OPTIONS);
    command.addAll(jvm);
    command.add("-Dfetchflux.cluster=" + work);
    command.add("-Dlog.file=" + logs.resolve(name + ".log"));
    command.add("-Dlog4j.configurationFile=" + conf.resolve("log4j.properties").toUri());
    command.addAll(List.of("-cp", libClassPath, mainClass, "--configDir", conf.toString()));
    command.addAll(args);
    Process p =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(logs.resolve(name + ".out").toFile())
            .start();
    return register(name, p);
  }

  private Node register(String name, Process p) throws IOException {
    Node node = new Node(name, p);
    nodes.add(node);
    Files.writeString(
        work.resolve("pids"),
        p.pid() + " " + name + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    return node;
  }

  /** The task manager named {@code name}, or an exception. */
  public Node node(String name) {
    return nodes.stream()
        .filter(n -> n.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no node " + name));
  }

  /** Ends {@code node} at once, as {@code kill -9} does (SIGKILL on Linux), and waits for it. */
  public void kill(Node node) throws InterruptedException {
    node.process().destroyForcibly();
    node.process().waitFor(10, TimeUnit.SECONDS);
  }

  /** The REST API's base address. */
  public URI rest() {
    return URI.create("http://127.0.0.1:" + restPort);
  }

  /** The directory holding {@code config.yaml}, for {@code FLINK_CONF_DIR}. */
  public Path configDir() {
    return conf;
  }

  /** GETs {@code path} from the REST API and parses the JSON answer. */
  public JsonNode get(String path) throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(rest().resolve(path)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("GET " + path + ": HTTP " + r.statusCode() + ": " + r.body());
    }
    return JSON.readTree(r.body());
  }

  /** The ids of the registered task managers. */
  public List<String> taskManagers() throws IOException, InterruptedException {
    List<String> ids = new ArrayList<>();
    get("/taskmanagers").path("taskmanagers").forEach(tm -> ids.add(tm.path("id").asText()));
    return ids;
  }

  private void awaitTaskManagers(int n, Duration timeout) throws InterruptedException {
    await(
        "the JobManager's REST API lists " + n + " task managers",
        timeout,
        () -> {
          checkAlive();
          try {
            return taskManagers().size() >= n;
          } catch (IOException e) {
            return false; // not listening yet
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        });
  }

  /** Fails when a process this cluster started (and did not kill on purpose) has exited. */
  void checkAlive() {
    for (Node n : nodes) {
      if (!n.process().isAlive() && !n.name().startsWith("client") && !killedOnPurpose(n)) {
        throw new IllegalStateException(
            n.name()
                + " exited with status "
                + n.process().exitValue()
                + "; see "
                + logs.resolve(n.name() + ".log"));
      }
    }
  }

  private final List<Node> killed = new CopyOnWriteArrayList<>();

  /** {@link #kill} that {@link #checkAlive()} does not count as a failure. */
  public void killOnPurpose(Node node) throws InterruptedException {
    killed.add(node);
    kill(node);
  }

  private boolean killedOnPurpose(Node n) {
    return killed.contains(n);
  }

  /**
   * Submits a job as {@code flink run --detached} does: runs {@code CliFrontend} in its own JVM
   * with {@code FLINK_CONF_DIR} pointing at this cluster's configuration, which executes the
   * jar's entry class and sends the job graph over REST; returns the job id it printed.
   */
  public String submit(Path jobJar, String entryClass, int parallelism, List<String> jobArgs)
      throws IOException, InterruptedException {
    String name = "client-" + (++clients);
    List<String> command = new ArrayList<>(List.of(javaBin, "-Xmx256m"));
    command.addAll(JVM_MODULE_OPTIONS);
    command.addAll(
        List.of(
            "-Dfetchflux.cluster=" + work,
            "-Dlog.file=" + logs.resolve(name + ".log"),
            "-Dlog4j.configurationFile=" + conf.resolve("log4j.properties").toUri(),
            "-cp",
            libClassPath,
            "org.apache.flink.client.cli.CliFrontend",
            "run",
            "--detached",
            "-p",
            Integer.toString(parallelism),
            "-c",
            entryClass,
            jobJar.toAbsolutePath().toString()));
    command.addAll(jobArgs);
    Path out = logs.resolve(name + ".out");
    ProcessBuilder pb =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
    pb.environment().put("FLINK_CONF_DIR", conf.toString());
    Process p = pb.start();
    register(name, p);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("flink run did not return in 120 s; see " + out);
    }
    String printed = Files.readString(out);
    Matcher m = JOB_ID.matcher(printed);
    if (p.exitValue() != 0 || !m.find()) {
      throw new IllegalStateException("flink run failed (exit " + p.exitValue() + "):\n" + printed);
    }
    return m.group(1);
  }

  /** The job's details ({@code GET /jobs/ID}). */
  public JsonNode job(String id) throws IOException, InterruptedException {
    return get("/jobs/" + id);
  }

  /** Waits up to {@code timeout} for the job to reach a globally terminal state; returns it. */
  public String awaitTerminal(String id, Duration timeout) throws InterruptedException {
    String[] state = {""};
    await(
        "job " + id + " ends",
        timeout,
        () -> {
          checkAlive();
          try {
            state[0] = job(id).path("state").asText();
          } catch (IOException e) {
            return false;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
          return List.of("FINISHED", "FAILED", "CANCELED").contains(state[0]);
        });
    return state[0];
  }

  /** Polls {@code condition} every 100 ms until it holds, or fails naming {@code what}. */
  public static void await(String what, Duration timeout, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "timed out after " + timeout.toSeconds() + " s waiting until " + what);
      }
      Thread.sleep(100);
    }
  }

  /** Where each process logs: {@code log/NAME.log} (Flink's log) and {@code log/NAME.out}. */
  public Path logs() {
    return logs;
  }

  /** Processes started and still running, by name. */
  public Map<String, Long> running() {
    Map<String, Long> running = new java.util.TreeMap<>();
    nodes.stream().filter(n -> n.process().isAlive()).forEach(n -> running.put(n.name(), n.pid()));
    return running;
  }

  /**
   * Stops every process this cluster started: SIGTERM to all, up to 15 s for them to exit, then
   * SIGKILL to what is left.
   */
  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // Already shutting down: the hook is running or ran.
    }
  }

  private void stopAll() {
    List<Node> all = new ArrayList<>(nodes);
    java.util.Collections.reverse(all); // clients and task managers before the JobManager
    all.forEach(n -> n.process().destroy());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    for (Node n : all) {
      try {
        long left = Math.max(0, deadline - System.nanoTime());
        if (!n.process().waitFor(left, TimeUnit.NANOSECONDS)) {
          n.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        n.process().destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
