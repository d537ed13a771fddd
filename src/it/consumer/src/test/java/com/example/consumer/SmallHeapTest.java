package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;

/**
 * The defaults fit a small heap: this JVM runs with -Xmx128m (see pom.xml), and a default fetcher
 * fetches 100 MiB of bodies in order while a slow first URL makes the rest wait for it, up to the
 * default reorder-window budget of 64 MiB.
 */
@Timeout(60)
class SmallHeapTest {

  @Test
  void defaultFetcherOrdersLargeBodiesBehindASlowHeadInASmallHeap() {
    long maxHeap = Runtime.getRuntime().maxMemory();
    assertTrue(maxHeap <= 128L << 20, () -> "the test JVM should have a small heap: " + maxHeap);

    int count = 400;
    int size = 256 << 10;
    AtomicLong next = new AtomicLong();
    AtomicLong bytes = new AtomicLong();
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.route("/body", Reply.ok(new byte[size]));
      Flux<String> urls =
          Flux.range(0, count)
              .map(i -> i == 0 ? server.url("/delay/1000") : server.url("/body?i=" + i));

      fetcher
          .fetch(urls)
          .doOnNext(
              r -> {
                assertEquals(next.getAndIncrement(), r.index(), "input order");
                assertTrue(r instanceof FetchResult.Success, () -> "failed: " + r);
                bytes.addAndGet(((FetchResult.Success) r).body().size());
              })
          .blockLast(Duration.ofSeconds(50));
    }
    assertEquals(count, next.get());
    assertEquals((long) (count - 1) * size + "/delay/1000".length(), bytes.get());
  }
}
