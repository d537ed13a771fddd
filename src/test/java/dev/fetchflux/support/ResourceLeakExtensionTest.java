package dev.fetchflux.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Proves {@link ResourceLeakExtension} fails the test that leaves a file descriptor, a TCP
 * connection or a spill file behind, naming it; and passes tests that close everything, close it
 * asynchronously within the wait, declare what they keep, or share a resource the class closes.
 * The leaky classes run in their own launcher; whatever they leak is closed here afterwards.
 */
@Timeout(60)
class ResourceLeakExtensionTest {

  private static ServerSocket server;

  @BeforeAll
  static void startServer() throws IOException {
    // Connections to it stay in its backlog, never accepted: each is one descriptor on our side.
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
  }

  @AfterAll
  static void stopServer() throws IOException {
    server.close();
  }

  @AfterEach
  void closeWhatTheLaunchedTestsLeft() throws IOException {
    Leaky.launchedByOuterTest = false;
    Closeable c;
    while ((c = Leaky.LEFT.poll()) != null) {
      c.close();
    }
    for (Path p : Leaky.FILES) {
      Files.deleteIfExists(p);
    }
    Leaky.FILES.clear();
  }

  private static Map<String, Throwable> launch(Class<?> testClass) {
    Leaky.launchedByOuterTest = true;
    Leaky.port = server.getLocalPort();
    LauncherDiscoveryRequest request =
        LauncherDiscoveryRequestBuilder.request()
            .selectors(selectClass(testClass))
            .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
            .configurationParameter(ResourceLeakExtension.WAIT_KEY, "1500")
            .build();
    SummaryGeneratingListener listener = new SummaryGeneratingListener();
    LauncherFactory.create().execute(request, listener);
    TestExecutionSummary summary = listener.getSummary();
    return summary.getFailures().stream()
        .collect(
            Collectors.toMap(
                f -> f.getTestIdentifier().getDisplayName(),
                TestExecutionSummary.Failure::getException));
  }

  @Test
  void failsExactlyTheTestsThatLeakAndNamesWhatLeaked() {
    Assumptions.assumeTrue(OpenResources.descriptorsChecked(), "needs /proc/self/fd (Linux)");
    Map<String, Throwable> failures = launch(Leaky.class);

    assertThat(failures)
        .containsOnlyKeys("leaksAFileChannel()", "leaksAConnection()", "leaksASpillFile()");
    assertThat(failures.get("leaksAFileChannel()"))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("1 resource(s) left open or on disk after leaksAFileChannel()")
        .hasMessageContaining("-> " + Leaky.tmp().resolve("leaked-channel"));
    assertThat(failures.get("leaksAConnection()"))
        .hasMessageContaining("1 resource(s) left open or on disk after leaksAConnection()")
        .hasMessageMatching(
            "(?s).*descriptor \\d+ -> socket:\\[\\d+] tcp6? 127\\.0\\.0\\.1:\\d+ -> "
                + "127\\.0\\.0\\.1:"
                + server.getLocalPort()
                + " ESTABLISHED.*");
    assertThat(failures.get("leaksASpillFile()"))
        .hasMessageContaining("temporary file " + Leaky.tmp().resolve("fetchflux-leaked.body"));
  }

  @Test
  void aClassThatSharesAConnectionPassesWhenItsAfterAllClosesIt() {
    Assumptions.assumeTrue(OpenResources.descriptorsChecked(), "needs /proc/self/fd (Linux)");
    assertThat(launch(SharedAndClosed.class)).isEmpty();
  }

  @Test
  void aClassThatSharesAConnectionFailsWhenNothingClosesIt() {
    Assumptions.assumeTrue(OpenResources.descriptorsChecked(), "needs /proc/self/fd (Linux)");
    Map<String, Throwable> failures = launch(SharedNeverClosed.class);

    // Not the test that opened it (the class says its tests share it), but the class.
    String name = "ResourceLeakExtensionTest$SharedNeverClosed";
    assertThat(failures).containsOnlyKeys(name);
    assertThat(failures.get(name))
        .hasMessageContaining("after all of " + name + " (tests share: one connection")
        .hasMessageContaining("127.0.0.1:" + server.getLocalPort() + " ESTABLISHED");
  }

  @Test
  void connectionsAClassServerAcceptedAreTheClasssToClose() {
    Assumptions.assumeTrue(OpenResources.descriptorsChecked(), "needs /proc/self/fd (Linux)");
    Map<String, Throwable> failures = launch(ClassServerKeepsAConnection.class);

    // The test closed its client end; the server's end is the class's, and it never closes it.
    String name = "ResourceLeakExtensionTest$ClassServerKeepsAConnection";
    assertThat(failures).containsOnlyKeys(name);
    assertThat(failures.get(name))
        .hasMessageContaining("1 resource(s) left open or on disk after all of " + name)
        .hasMessageMatching(
            "(?s).*socket:\\[\\d+] tcp6? 127\\.0\\.0\\.1:"
                + ClassServerKeepsAConnection.port
                + " -> 127\\.0\\.0\\.1:\\d+ CLOSE_WAIT.*");
  }

  @Test
  void spillFilesAreCheckedWithoutDescriptorsToo() throws IOException {
    OpenResources.Snapshot before = OpenResources.snapshot();
    Path left = Files.createFile(Leaky.tmp().resolve("fetchflux-12345.body"));
    Path other = Files.createFile(Leaky.tmp().resolve("not-a-temporary.txt"));
    try {
      assertThat(OpenResources.compare(before, OpenResources.snapshot(), Set.of()))
          .extracting(OpenResources.Leak::description)
          .containsExactly("temporary file " + left);
    } finally {
      Files.delete(left);
      Files.delete(other);
    }
    assertThat(OpenResources.compare(before, OpenResources.snapshot(), Set.of())).isEmpty();
  }

  @Test
  void socketAddressesAreDecodedFromTheKernelsTables() {
    assertThat(OpenDescriptors.address("0100007F:9C40")).isEqualTo("127.0.0.1:40000");
    assertThat(OpenDescriptors.address("00000000000000000000000001000000:0050"))
        .isEqualTo("[0:0:0:0:0:0:0:1]:80");
    assertThat(OpenDescriptors.address("0000000000000000FFFF00000100007F:01BB"))
        .isEqualTo("127.0.0.1:443");
  }

  /** Launched by the tests above; surefire skips nested classes, the assumption IDE runs. */
  static class Leaky {
    static final Queue<Closeable> LEFT = new ConcurrentLinkedQueue<>();
    static final Queue<Path> FILES = new ConcurrentLinkedQueue<>();
    static volatile boolean launchedByOuterTest;
    static volatile int port;

    static Path tmp() {
      return Path.of(System.getProperty("java.io.tmpdir"));
    }

    @Test
    void leaksAFileChannel() throws IOException {
      Assumptions.assumeTrue(launchedByOuterTest);
      Path file = tmp().resolve("leaked-channel");
      FILES.add(file);
      LEFT.add(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE));
    }

    @Test
    void leaksAConnection() throws IOException {
      Assumptions.assumeTrue(launchedByOuterTest);
      LEFT.add(new Socket(InetAddress.getLoopbackAddress(), port));
    }

    @Test
    void leaksASpillFile() throws IOException {
      Assumptions.assumeTrue(launchedByOuterTest);
      Path file = tmp().resolve("fetchflux-leaked.body");
      FILES.add(file);
      Files.write(file, new byte[] {1});
    }

    @Test
    void closesEverything() throws IOException {
      Assumptions.assumeTrue(launchedByOuterTest);
      Path file = Files.createTempFile(tmp(), "fetchflux-", ".body");
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
          FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
        assertThat(s.isConnected()).isTrue();
        assertThat(ch.isOpen()).isTrue();
      } finally {
        Files.delete(file);
      }
    }

    @Test
    void closesAConnectionOnAnotherThreadSoonAfter() throws IOException {
      Assumptions.assumeTrue(launchedByOuterTest);
      Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
      Thread closer =
          new Thread(
              () -> {
                try {
                  Thread.sleep(50);
                  s.close();
                } catch (InterruptedException | IOException e) {
                  throw new IllegalStateException(e);
                }
              });
      closer.start();
    }

    @Test
    @KeepsResources(value = "fetchflux-kept\\.body", reason = "proves the declaration works")
    void keepsADeclaredFile() throws IOException {
      Assumptions.assumeTrue(launchedByOuterTest);
      Path file = tmp().resolve("fetchflux-kept.body");
      FILES.add(file);
      Files.write(file, new byte[] {1});
    }
  }

  /** A class-level server that accepts a connection per test and never closes it. */
  static class ClassServerKeepsAConnection {
    static ServerSocket classServer;
    static volatile int port;

    @BeforeAll
    static void start() throws IOException {
      classServer = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      port = classServer.getLocalPort();
    }

    @Test
    void connectsAndClosesItsEnd() throws IOException {
      Assumptions.assumeTrue(Leaky.launchedByOuterTest);
      try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
        Leaky.LEFT.add(classServer.accept());
        assertThat(client.isConnected()).isTrue();
      }
    }

    @AfterAll
    static void stop() throws IOException {
      classServer.close();
    }
  }

  @SharesResourcesAcrossTests(
      reason = "one connection opened by the first test, closed in @AfterAll")
  static class SharedAndClosed {
    static Socket shared;

    @Test
    void opensTheSharedConnection() throws IOException {
      Assumptions.assumeTrue(Leaky.launchedByOuterTest);
      shared = new Socket(InetAddress.getLoopbackAddress(), Leaky.port);
    }

    @Test
    void usesIt() {
      Assumptions.assumeTrue(Leaky.launchedByOuterTest);
    }

    @AfterAll
    static void close() throws IOException {
      if (shared != null) {
        shared.close();
      }
    }
  }

  @SharesResourcesAcrossTests(reason = "one connection, which @AfterAll forgets to close")
  static class SharedNeverClosed {
    @Test
    void opensTheSharedConnection() throws IOException {
      Assumptions.assumeTrue(Leaky.launchedByOuterTest);
      Leaky.LEFT.add(new Socket(InetAddress.getLoopbackAddress(), Leaky.port));
    }
  }
}
