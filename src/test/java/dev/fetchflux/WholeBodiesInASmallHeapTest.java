package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.ChildJvm;
import dev.fetchflux.testing.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

/**
 * With library defaults, bodies received whole that together are far larger than the heap still all
 * arrive: past the fetcher's body memory ({@code maxBodyMemory}, by default an eighth of the heap)
 * they continue into temporary files instead of failing with {@code OutOfMemoryError}. Run in a JVM
 * of its own with a 96 MB heap: 48 bodies of 16 MB, 32 at a time (the default), are 512 MB in
 * flight. Before the budget, 60 of 64 such bodies failed with {@code OutOfMemoryError} in a 128 MB
 * heap.
 */
@Timeout(120)
class WholeBodiesInASmallHeapTest {

  static final int BODIES = 48;
  static final int SIZE = 16_000_000;

  @TempDir Path tmp;

  @Test
  void bodiesFarLargerThanTheHeapTogetherAllArriveWithDefaults() throws Exception {
    try (TestServer server = TestServer.start()) {
      ChildJvm.Outcome out =
          ChildJvm.run(
              Child.class,
              List.of("-Xmx96m", "-Djava.io.tmpdir=" + tmp),
              0,
              Duration.ofSeconds(100),
              server.url("/bytes/" + SIZE));
      assertThat(out.exitCode()).as(out.toString()).isZero();
      assertThat(out.stdout()).as(out.toString()).contains("ok " + BODIES + " failed 0 wrong 0");
      // Some bodies went to files (the budget is 12 MB), and every one was released.
      assertThat(out.stdout()).as(out.toString()).doesNotContain("spilled 0 ");
      try (Stream<Path> left = Files.list(tmp)) {
        assertThat(left.filter(p -> p.getFileName().toString().startsWith("fetchflux-"))).isEmpty();
      }
    }
  }

  /** The child: fetches the bodies with a fetcher of library defaults, checks and releases each. */
  static final class Child {
    public static void main(String[] args) {
      String url = args[0];
      int[] counts = new int[4]; // ok, failed, wrong size, spilled
      try (Fetcher fetcher = Fetcher.builder().build()) {
        fetcher
            .fetch(Flux.range(0, BODIES).map(i -> url + "?i=" + i))
            .doOnNext(
                r -> {
                  if (r instanceof FetchResult.Success ok) {
                    counts[0]++;
                    if (ok.body().size() != SIZE) {
                      counts[2]++;
                    }
                    if (!ok.body().isInMemory()) {
                      counts[3]++;
                    }
                    ok.body().release();
                  } else {
                    counts[1]++;
                    System.out.println(r);
                  }
                })
            .blockLast(Duration.ofSeconds(90));
      }
      System.out.println(
          "ok "
              + counts[0]
              + " failed "
              + counts[1]
              + " wrong "
              + counts[2]
              + " spilled "
              + counts[3]
              + " ");
    }
  }
}
