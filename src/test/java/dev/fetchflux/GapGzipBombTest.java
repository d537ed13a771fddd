package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.ChildJvm;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.netty.http.client.HttpClient;

/**
 * Gap 5 with a small heap: 1 GiB of zeros, gzip-compressed to about 1 MiB, served to a JVM started
 * with {@code -Xmx128m}. reactor-netty's {@code compress(true)} with {@code aggregate()} runs out of
 * memory (128 MiB of direct memory too); fetchflux, with 32 MiB of direct memory, fails that input
 * with {@code BODY_TOO_LARGE} at its 8 MiB body limit, keeps the rest of the batch, and what it
 * keeps on the heap stays far below the heap size, with bodies in memory or spilled to disk.
 *
 * <p>Each half runs in its own child JVM ({@link Child}), so an {@code OutOfMemoryError} cannot
 * disturb the test JVM, and the heap limit is the child's own.
 */
@Timeout(180)
class GapGzipBombTest {

  private static final long DECODED = 1L << 30;

  @TempDir static Path dir;
  private static Path bomb;

  @BeforeAll
  static void buildBomb() throws IOException {
    bomb = dir.resolve("zeros-1g.gz");
    byte[] zeros = new byte[1 << 20];
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(bomb), 1 << 16)) {
      for (long written = 0; written < DECODED; written += zeros.length) {
        out.write(zeros);
      }
    }
  }

  @Test
  void bombIsAboutOneMegabyteOnTheWire() throws IOException {
    assertThat(Files.size(bomb)).isBetween(500_000L, 2_000_000L);
  }

  @Test
  void reactorNettyAggregatingTheBombRunsOutOfMemoryInA128MegabyteJvm() throws Exception {
    Child.Run run = runChild("raw");
    // -XX:+ExitOnOutOfMemoryError: the JVM ends at the first OutOfMemoryError, exit status 3.
    assertThat(run.exit()).as(run.output()).isEqualTo(3);
    assertThat(run.output()).contains("OutOfMemoryError");
  }

  @Test
  void fetchfluxFailsTheBombAtTheBodyLimitInA128MegabyteJvm() throws Exception {
    checkFetchfluxChild(runChild("fetchflux"));
  }

  @Test
  void fetchfluxFailsTheBombAtTheBodyLimitWhileSpillingBodiesToDisk() throws Exception {
    // The body consumer waits for disk writes here, so decoded pieces could pile up in front of
    // it; they are counted (and dropped past the limit) in the pipeline instead.
    checkFetchfluxChild(runChild("spill"));
  }

  private static void checkFetchfluxChild(Child.Run run) {
    assertThat(run.exit()).as(run.output()).isZero();
    List<String> out = run.output().lines().toList();
    assertThat(out).contains("RESULT 0 ok", "RESULT 1 BODY_TOO_LARGE", "RESULT 2 ok");
    assertThat(out).anySatisfy(l -> assertThat(l).contains("more than 8388608 bytes (decoded)"));
    // What outlives a young collection: the 8 MiB body (and the copies made while it grew), the
    // bomb itself, the server. Decoding 1 GiB leaves nothing behind; the heap is 128 MiB.
    long oldGenPeak =
        out.stream()
            .filter(l -> l.startsWith("POOL_PEAK ") && l.contains("Old"))
            .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1)))
            .sum();
    assertThat(oldGenPeak).as(run.output()).isPositive().isLessThan(64L << 20);
  }

  private static Child.Run runChild(String mode) {
    // The fetchflux children get a quarter of the direct memory the raw one gets.
    String direct = mode.equals("raw") ? "128m" : "32m";
    ChildJvm.Outcome o =
        ChildJvm.run(
            Child.class,
            List.of(
                "-Xmx128m",
                "-XX:MaxDirectMemorySize=" + direct,
                "-XX:+UseG1GC",
                "-XX:+ExitOnOutOfMemoryError",
                "-Dio.netty.leakDetection.level=disabled"),
            0,
            Duration.ofSeconds(150),
            mode,
            bomb.toString());
    System.out.println("child " + mode + " exit " + o.exitCode() + ":\n" + o.output());
    return new Child.Run(o.exitCode(), o.output());
  }

  /** The child JVM: serves the bomb from a TestServer and fetches it one way or the other. */
  public static final class Child {
    record Run(int exit, String output) {}

    public static void main(String[] args) throws Exception {
      String mode = args[0];
      byte[] gz = Files.readAllBytes(Path.of(args[1]));
      try (TestServer server = TestServer.start()) {
        server.route("/bomb", Reply.ok(gz).withHeader("Content-Encoding", "gzip"));
        if (mode.equals("raw")) {
          raw(server);
        } else {
          fetchflux(server, mode.equals("spill"));
        }
      }
      System.out.flush();
      System.exit(0);
    }

    private static void raw(TestServer server) {
      // Expected to end the JVM (ExitOnOutOfMemoryError) before it prints anything.
      byte[] body =
          HttpClient.create()
              .compress(true)
              .get()
              .uri(server.uri("/bomb"))
              .responseContent()
              .aggregate()
              .asByteArray()
              .block(Duration.ofSeconds(60));
      System.out.println("RAW OK " + (body == null ? 0 : body.length));
    }

    private static void fetchflux(TestServer server, boolean spill) {
      FetcherBuilder builder = Fetcher.builder().maxBodySize(8 << 20);
      if (spill) {
        builder
            .spillThreshold(64 << 10)
            .spillDirectory(Path.of(System.getProperty("java.io.tmpdir")));
      }
      try (Fetcher fetcher = builder.build()) {
        List<FetchResult> results =
            fetcher
                .fetch(
                    Flux.just(
                        server.url("/bytes/1000"), server.url("/bomb"), server.url("/echo?after")))
                .collectList()
                .block(Duration.ofSeconds(60));
        for (FetchResult r : results) {
          System.out.println(
              "RESULT "
                  + r.index()
                  + " "
                  + (r instanceof FetchResult.Failure f ? f.kind().name() : "ok"));
          if (r instanceof FetchResult.Failure f) {
            System.out.println("MESSAGE " + f.error().getMessage());
          }
        }
      }
      long peak = 0;
      for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
        if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
          peak += pool.getPeakUsage().getUsed();
          System.out.println(
              "POOL_PEAK "
                  + pool.getName().replace(' ', '_')
                  + " "
                  + pool.getPeakUsage().getUsed());
        }
      }
      System.out.println("PEAK_HEAP " + peak);
      for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
        System.out.println("BUFFER_POOL " + pool.getName() + " " + pool.getMemoryUsed());
      }
    }
  }
}
