package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.support.Await;
import dev.fetchflux.support.ChildJvm;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import javax.management.ObjectName;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.LoopResources;

/**
 * Connections within a budget: idle connections are bounded for the whole fetcher (count and idle
 * time), pools of hosts gone quiet are disposed, a new connection does not fail because idle ones
 * hold the descriptors, and concurrent {@code fetch} calls on one host do not wait for each other's
 * connections.
 *
 * <p>The descriptor tests run the fetcher in a child JVM started under {@code ulimit -n 1024}
 * (soft and hard: the JVM raises its soft limit to the hard one at start) against servers in this
 * JVM, all on 127.0.0.1. Distinct hosts are distinct ports, or distinct names that one
 * {@link ResolveRule} maps to 127.0.0.1: reactor-netty keeps a pool per remote address, so each name
 * gets its own pool and connection.
 */
@Timeout(120)
class ConnectionBudgetTest {

  private static final int CHILD_DESCRIPTORS = 1024;

  @TempDir Path dir;

  // --- Descriptors --------------------------------------------------------------------------

  @Test
  void thousandsOfDistinctHostsAllSucceedUnderADescriptorLimitOf1024WithDefaults()
      throws Exception {
    int hosts = 3000;
    // 3,000 listening sockets, each accepting one connection, in this JVM.
    assumeDescriptors(2 * hosts + 500);
    try (PortFarm farm = PortFarm.start(hosts)) {
      Path urls = dir.resolve("urls.txt");
      Files.write(urls, farm.ports().stream().map(p -> "http://127.0.0.1:" + p + "/x").toList());

      Child.Run run = Child.run("defaults", urls.toString());

      assertThat(run.exit()).as(run.output()).isZero();
      assertThat(run.value("SUCCEEDED")).as(run.output()).isEqualTo(hosts);
      assertThat(run.value("FAILED")).as(run.output()).isZero();
      // What the crawl left open: the idle cache (4 x 32 connections), not one per host, and the
      // fetcher's event loops (an epoll, an eventfd and a timerfd each; at least four loops).
      int loops = Math.max(4, Runtime.getRuntime().availableProcessors());
      assertThat(run.value("DESCRIPTORS") - run.value("DESCRIPTORS_BEFORE"))
          .as(run.output())
          .isLessThanOrEqualTo(4 * Fetcher.DEFAULT_MAX_IN_FLIGHT + 3 * loops + 16);
    }
  }

  @Test
  void aNewConnectionSucceedsWhenIdleConnectionsHoldTheDescriptors() throws Exception {
    int hosts = 1500;
    assumeDescriptors(hosts + 500);
    try (TestServer server = TestServer.start()) {
      Path urls = dir.resolve("urls.txt");
      Files.write(
          urls,
          IntStream.range(0, hosts)
              .mapToObj(i -> "http://h" + i + ".test:" + server.port() + "/x")
              .toList());

      // An idle cap far above the descriptor limit: idle connections pile up until a connect
      // fails with "Too many open files".
      Child.Run run = Child.run("no-idle-cap", urls.toString(), Integer.toString(server.port()));

      assertThat(run.exit()).as(run.output()).isZero();
      assertThat(run.value("SUCCEEDED")).as(run.output()).isEqualTo(hosts);
      assertThat(run.value("FAILED")).as(run.output()).isZero();
      assertThat(run.value("DESCRIPTORS")).as(run.output()).isLessThan(CHILD_DESCRIPTORS);
    }
  }

  @Test
  void withNothingIdleToCloseARequestThatFindsNoDescriptorFailsInItsPlace() throws Exception {
    // More requests in flight than descriptors, and no idle connection to give one back: some
    // connects fail. Each is a failure at its index, at once; the others succeed.
    int requests = 1100;
    assumeDescriptors(requests + 500);
    try (TestServer server = TestServer.start()) {
      server.route("/x", Reply.ok("x").withDelay(Duration.ofMillis(500)));
      Path urls = dir.resolve("urls.txt");
      Files.write(
          urls,
          IntStream.range(0, requests)
              .mapToObj(i -> "http://h" + i + ".test:" + server.port() + "/x")
              .toList());

      Child.Run run = Child.run("all-in-flight", urls.toString(), Integer.toString(server.port()));

      assertThat(run.exit()).as(run.output()).isZero();
      assertThat(run.value("SUCCEEDED") + run.value("FAILED")).isEqualTo(requests);
      assertThat(run.value("SUCCEEDED")).as(run.output()).isPositive();
      assertThat(run.value("FAILED"))
          .as(run.output())
          .isPositive()
          .isEqualTo(run.value("FAILED_TOO_MANY_OPEN_FILES"));
    }
  }

  // --- Idle connections ---------------------------------------------------------------------

  @Test
  void idleConnectionsStayUnderTheCapAndTheLeastRecentlyUsedAreClosedFirst() {
    int cap = 10;
    int hosts = 40;
    try (TestServer server = TestServer.start();
        Fetcher fetcher = namesToServer(server).maxInFlight(1).maxIdleConnections(cap).build()) {
      // One host after another: host i's connection is released before host i+1's is opened.
      assertAllSucceed(fetcher, hostUrls(server, 0, hosts));

      Await.until(
          "the idle connections are down to the cap",
          () -> server.connectionsOpen() == cap,
          () -> "open: " + server.connectionsOpen());
      assertThat(server.connectionsOpened()).isEqualTo(hosts);

      // The 10 hosts used last kept their connections ...
      server.resetCounters();
      assertAllSucceed(fetcher, hostUrls(server, hosts - cap, hosts));
      assertThat(server.connectionsOpened()).as("new connections for the last hosts").isZero();
      // ... the first host's was closed.
      assertAllSucceed(fetcher, hostUrls(server, 0, 1));
      assertThat(server.connectionsOpened()).as("new connections for the first host").isEqualTo(1);
      Await.until(
          "still at the cap",
          () -> server.connectionsOpen() == cap,
          () -> "open: " + server.connectionsOpen());
    }
  }

  @Test
  void aCapOfZeroClosesEveryConnectionAfterItsResponse() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = namesToServer(server).maxInFlight(1).maxIdleConnections(0).build()) {
      assertAllSucceed(fetcher, hostUrls(server, 0, 5));
      assertAllSucceed(fetcher, hostUrls(server, 0, 5));

      assertThat(server.connectionsOpened()).isEqualTo(10);
      Await.until(
          "no connection open",
          () -> server.connectionsOpen() == 0,
          () -> "open: " + server.connectionsOpen());
    }
  }

  @Test
  void idleConnectionsPastMaxIdleTimeAreClosed() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = namesToServer(server).maxIdleTime(Duration.ofMillis(300)).build()) {
      assertAllSucceed(fetcher, hostUrls(server, 0, 5));
      assertThat(server.connectionsOpened()).isEqualTo(5);

      // Checked every second in the background: closed within about 1.3 s.
      Await.until(
          "every idle connection is closed",
          () -> server.connectionsOpen() == 0,
          () -> "open: " + server.connectionsOpen());
    }
  }

  @Test
  void poolsOfHostsNotSeenForAWhileAreDisposedSoMemoryDoesNotGrowWithTheNumberOfHosts()
      throws Exception {
    int hostsPerRound = 500;
    int cap = 4 * Fetcher.DEFAULT_MAX_IN_FLIGHT;
    try (TestServer server = TestServer.start();
        Fetcher fetcher = namesToServer(server).build()) {
      Histogram before = Histogram.take();
      List<Histogram> rounds = new ArrayList<>();
      for (int round = 0; round < 2; round++) {
        assertAllSucceed(
            fetcher, hostUrls(server, round * hostsPerRound, (round + 1) * hostsPerRound));
        assertThat(server.connectionsOpened()).isEqualTo(hostsPerRound);
        // The server's own record of the requests is not the client's memory.
        server.resetCounters();
        // reactor-netty's pools, counted after a full collection: live objects only. One per host
        // that still has an idle connection (at most the cap); the others are disposed.
        Histogram settled =
            Histogram.awaitUntil(Duration.ofSeconds(30), h -> h.pools() - before.pools() <= cap);
        rounds.add(settled);
        System.out.printf(
            "after %d hosts: live pools %d (before: %d), live heap %d KiB"
                + " (before: %d KiB), connections open %d%n",
            (round + 1) * hostsPerRound,
            settled.pools(),
            before.pools(),
            settled.bytes() >> 10,
            before.bytes() >> 10,
            server.connectionsOpen());
        assertThat(server.connectionsOpen()).isLessThanOrEqualTo(cap);
      }
      // 500 more hosts, and the live heap stays where it was: less than a kilobyte per host (a
      // pool and a connection kept per host, as before, cost several).
      assertThat(rounds.get(1).bytes() - rounds.get(0).bytes()).isLessThan(hostsPerRound * 1024L);
    }
  }

  // --- The pool never makes a request wait --------------------------------------------------

  @Test
  void concurrentFetchCallsOnOneHostDoNotWaitForEachOthersConnections() {
    // Two calls of maxInFlight 2 on one host, each request taking 1 s, deadline 1.9 s. With a
    // pool of 2 connections per host (one call's maxInFlight), the second call's requests waited
    // 1 s for a connection and then needed 1 s more: DEADLINE.
    try (TestServer server = TestServer.start();
        Fetcher fetcher =
            Fetcher.builder().maxInFlight(2).requestTimeout(Duration.ofMillis(1900)).build()) {
      server.route("/slow", Reply.ok("slow").withDelay(Duration.ofSeconds(1)));
      Flux<FetchResult> a =
          fetcher.fetch(Flux.just(server.url("/slow?a0"), server.url("/slow?a1")));
      Flux<FetchResult> b =
          fetcher.fetch(Flux.just(server.url("/slow?b0"), server.url("/slow?b1")));

      List<FetchResult> results = Flux.merge(a, b).collectList().block(Results.WAIT);

      assertThat(results)
          .hasSize(4)
          .allSatisfy(r -> assertThat(r.isSuccess()).as("%s", r).isTrue());
      assertThat(server.peakInFlight()).isEqualTo(4);
    }
  }

  // --- Options ------------------------------------------------------------------------------

  @Test
  void maxIdleConnectionsMustNotBeNegative() {
    assertThatThrownBy(() -> Fetcher.builder().maxIdleConnections(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxIdleConnections < 0: -1");
  }

  @Test
  void maxIdleTimeMustBePositive() {
    assertThatThrownBy(() -> Fetcher.builder().maxIdleTime(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxIdleTime must be positive: PT0S");
    assertThat(Fetcher.DEFAULT_MAX_IDLE_TIME).isEqualTo(Duration.ofSeconds(30));
  }

  // ------------------------------------------------------------------------------------------

  /** A builder whose every {@code hN.test} host on the server's port connects to the server. */
  private static FetcherBuilder namesToServer(TestServer server) {
    return Fetcher.builder().resolve(ResolveRule.parse("*:" + server.port() + ":127.0.0.1"));
  }

  private static List<String> hostUrls(TestServer server, int from, int to) {
    return IntStream.range(from, to)
        .mapToObj(i -> "http://h" + i + ".test:" + server.port() + "/x")
        .toList();
  }

  private static void assertAllSucceed(Fetcher fetcher, List<String> urls) {
    List<FetchResult> results =
        fetcher.fetch(Flux.fromIterable(urls)).collectList().block(Duration.ofSeconds(60));
    assertThat(results)
        .hasSize(urls.size())
        .allSatisfy(r -> assertThat(r.isSuccess()).as("%s", r).isTrue());
  }

  private static void assumeDescriptors(long needed) {
    long max = -1;
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.UnixOperatingSystemMXBean os) {
      max = os.getMaxFileDescriptorCount();
    }
    Assumptions.assumeTrue(
        max >= needed,
        "this test JVM may open " + max + " descriptors; the servers of this test need " + needed);
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "needs /bin/bash for ulimit");
  }

  /** Many reactor-netty servers on 127.0.0.1, one port each, sharing one event loop. */
  private static final class PortFarm implements AutoCloseable {
    private final LoopResources loops = LoopResources.create("port-farm", 1, true);
    private final List<DisposableServer> servers = new ArrayList<>();

    static PortFarm start(int n) {
      PortFarm farm = new PortFarm();
      try {
        for (int i = 0; i < n; i++) {
          farm.servers.add(
              HttpServer.create()
                  .host("127.0.0.1")
                  .port(0)
                  .runOn(farm.loops)
                  .handle((req, res) -> res.sendString(Mono.just("ok")))
                  .bindNow(Duration.ofSeconds(10)));
        }
      } catch (RuntimeException e) {
        farm.close();
        throw e;
      }
      return farm;
    }

    List<Integer> ports() {
      return servers.stream().map(DisposableServer::port).toList();
    }

    @Override
    public void close() {
      servers.forEach(DisposableServer::disposeNow);
      loops.disposeLater(Duration.ZERO, Duration.ofSeconds(2)).block(Duration.ofSeconds(5));
    }
  }

  /** Live objects after a full collection, from the JVM's class histogram (jcmd GC.class_histogram). */
  private record Histogram(long pools, long bytes) {

    static Histogram take() throws Exception {
      String text =
          (String)
              ManagementFactory.getPlatformMBeanServer()
                  .invoke(
                      new ObjectName("com.sun.management:type=DiagnosticCommand"),
                      "gcClassHistogram",
                      new Object[] {new String[0]},
                      new String[] {String[].class.getName()});
      long pools = 0;
      long bytes = 0;
      for (String line : text.split("\n")) {
        String[] f = line.trim().split("\\s+");
        if (f.length >= 4 && f[0].endsWith(":")) {
          // reactor-netty's shaded reactor-pool: one SimpleDequePool per remote address.
          if (f[3].endsWith("reactor.pool.SimpleDequePool")) {
            pools += Long.parseLong(f[1]);
          }
        } else if (f.length >= 3 && f[0].equals("Total")) {
          bytes = Long.parseLong(f[2]);
        }
      }
      return new Histogram(pools, bytes);
    }

    static Histogram awaitUntil(Duration timeout, java.util.function.Predicate<Histogram> ok)
        throws Exception {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        Histogram h = take();
        if (ok.test(h)) {
          return h;
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError("live objects did not settle within " + timeout + ": " + h);
        }
        Thread.sleep(250);
      }
    }
  }

  /** The fetching side, in its own JVM with its own descriptor limit. */
  public static final class Child {
    record Run(int exit, String output) {
      long value(String key) {
        return output
            .lines()
            .filter(l -> l.startsWith(key + " "))
            .findFirst()
            .map(l -> Long.parseLong(l.substring(key.length() + 1).trim()))
            .orElseThrow(() -> new AssertionError("no " + key + " in:\n" + output));
      }
    }

    static Run run(String mode, String... args) {
      List<String> childArgs = new ArrayList<>(List.of(mode));
      childArgs.addAll(List.of(args));
      ChildJvm.Outcome o =
          ChildJvm.run(
              Child.class,
              List.of(
                  "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dio.netty.leakDetection.level=paranoid"),
              CHILD_DESCRIPTORS,
              Duration.ofSeconds(90),
              childArgs.toArray(String[]::new));
      String output = o.output();
      System.out.println("child " + mode + " exit " + o.exitCode() + ":\n" + output);
      assertThat(output).as("leak reports").doesNotContain("LEAK:");
      return new Run(o.exitCode(), output);
    }

    public static void main(String[] args) throws IOException {
      preloadClassesFromDirectories();
      String mode = args[0];
      List<String> urls = Files.readAllLines(Path.of(args[1]));
      FetcherBuilder builder = Fetcher.builder();
      if (mode.equals("no-idle-cap")) {
        builder
            .maxIdleConnections(1_000_000)
            .resolve(ResolveRule.parse("*:" + args[2] + ":127.0.0.1"));
      } else if (mode.equals("all-in-flight")) {
        builder
            .maxInFlight(urls.size())
            .maxIdleConnections(0)
            .resolve(ResolveRule.parse("*:" + args[2] + ":127.0.0.1"));
      }
      long start = System.nanoTime();
      int succeeded = 0;
      int failed = 0;
      int tooManyOpenFiles = 0;
      long descriptors;
      try (Fetcher fetcher = builder.build()) {
        System.out.println("DESCRIPTORS_BEFORE " + descriptors());
        List<FetchResult> results =
            fetcher.fetch(Flux.fromIterable(urls)).collectList().block(Duration.ofSeconds(60));
        for (FetchResult r : results) {
          if (r instanceof FetchResult.Failure f) {
            if (failed++ < 5) {
              System.out.println("FAILURE " + f.error().getMessage());
            }
            if (f.kind() == FetchException.Kind.OTHER
                && String.valueOf(f.error().getCause()).contains("Too many open files")) {
              tooManyOpenFiles++;
            }
          } else {
            succeeded++;
          }
        }
        System.out.println("MILLIS " + (System.nanoTime() - start) / 1_000_000);
        System.out.println("SUCCEEDED " + succeeded);
        System.out.println("FAILED " + failed);
        System.out.println("FAILED_TOO_MANY_OPEN_FILES " + tooManyOpenFiles);
        descriptors = descriptors();
      }
      System.out.println("DESCRIPTORS " + descriptors);
      System.out.flush();
      System.exit(0);
    }

    private static long descriptors() throws IOException {
      try (var fds = Files.list(Path.of("/proc/self/fd"))) {
        return fds.count();
      }
    }

    /**
     * Loads (without initialising) every class of the class path's directories. A class loaded
     * from a directory needs a descriptor to open its file, so one first needed while descriptors
     * are short would fail with {@code NoClassDefFoundError}; from a jar, as users run the library,
     * it needs none (the jar stays open). The test is about sockets, not about the class path.
     */
    private static void preloadClassesFromDirectories() throws IOException {
      ClassLoader loader = Child.class.getClassLoader();
      for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
        Path root = Path.of(entry);
        if (!Files.isDirectory(root)) {
          continue;
        }
        try (var files = Files.walk(root)) {
          for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
            String name = root.relativize(f).toString().replace(java.io.File.separatorChar, '.');
            try {
              Class.forName(name.substring(0, name.length() - ".class".length()), false, loader);
            } catch (ClassNotFoundException | LinkageError e) {
              // Not needed here (a test class whose dependencies are absent, say).
            }
          }
        }
      }
    }
  }
}
