package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Await;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.netty.resources.ConnectionProvider;

/** Fetchers own their pools and event loops: many coexist, and each closes what it owns. */
@Timeout(60)
class FetcherLifecycleTest {

  private static Set<String> fetcherThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(name -> name.startsWith("fetchflux-"))
        .collect(Collectors.toSet());
  }

  @Test
  void manyFetchersCoexistAndCloseCleanly() {
    Set<String> threadsBefore = fetcherThreads();
    try (TestServer server = TestServer.start()) {
      List<Fetcher> fetchers = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        fetchers.add(
            Fetcher.builder()
                .maxInFlight(4)
                .eventLoopThreads(1)
                .header("X-Fetcher", Integer.toString(i))
                .build());
      }
      try {
        // All of them at once, against one server.
        List<List<FetchResult>> all =
            Flux.range(0, fetchers.size())
                .flatMap(
                    i ->
                        fetchers
                            .get(i)
                            .fetch(
                                Flux.range(0, 10).map(j -> server.url("/echo?f=" + i + "&j=" + j)))
                            .collectList())
                .collectList()
                .block(Results.WAIT);

        assertThat(all).hasSize(6);
        assertThat(all)
            .allSatisfy(
                results -> assertThat(results).hasSize(10).allMatch(FetchResult::isSuccess));
        assertThat(server.requests()).hasSize(60);
        // Each fetcher sent its own headers: nothing is shared between them by accident.
        assertThat(server.requests())
            .allSatisfy(
                r -> assertThat(r.uri()).contains("f=" + r.headers().first("X-Fetcher") + "&"));
        assertThat(server.connectionsOpen()).as("pooled connections").isPositive();
      } finally {
        fetchers.forEach(Fetcher::close);
      }

      Await.until(
          "every pooled connection is closed",
          () -> server.connectionsOpen() == 0,
          server::connectionsOpen);
    }
    Await.until(
        "the fetchers' event-loop threads are gone",
        () -> threadsBefore.containsAll(fetcherThreads()),
        FetcherLifecycleTest::fetcherThreads);
  }

  @Test
  void closedFetcherReleasesItsConnectionsWhileAnotherKeepsWorking() {
    try (TestServer server = TestServer.start();
        Fetcher survivor = Fetcher.builder().build()) {
      Fetcher closing = Fetcher.builder().build();
      closing.fetch(Flux.just(server.url("/echo?a"))).blockLast(Results.WAIT);
      survivor.fetch(Flux.just(server.url("/echo?b"))).blockLast(Results.WAIT);
      assertThat(server.connectionsOpen()).isEqualTo(2);

      closing.close();

      Await.until("the closed fetcher's connection is gone", () -> server.connectionsOpen() == 1);
      List<FetchResult> again =
          survivor.fetch(Flux.just(server.url("/echo?c"))).collectList().block(Results.WAIT);
      assertThat(again).singleElement().matches(FetchResult::isSuccess);
      // The survivor reused its pooled connection.
      assertThat(server.connectionsOpened()).isEqualTo(2);
    }
  }

  @Test
  void toBuilderMakesAVariantWithTheSameSettings() {
    try (TestServer server = TestServer.start();
        Fetcher base = Fetcher.builder().header("X-Team", "core").userAgent("probe/2").build();
        Fetcher variant = base.toBuilder().maxInFlight(1).build()) {
      variant.fetch(Flux.just(server.url("/echo"))).blockLast(Results.WAIT);

      assertThat(server.requests().get(0).headers().first("X-Team")).isEqualTo("core");
      assertThat(server.requests().get(0).headers().first("User-Agent")).isEqualTo("probe/2");
    }
  }

  @Test
  void poolIsSizedFromTheFetchersOwnLimit() {
    // reactor-netty's default pool allows DEFAULT_POOL_MAX_CONNECTIONS (16 here) per host; more
    // requests than that on the server at once show the fetcher's pool follows maxInFlight.
    int c = 40;
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlight(c).build()) {
      List<FetchResult> results =
          fetcher
              .fetch(Flux.range(0, c).map(i -> server.url("/delay/500?i=" + i)))
              .collectList()
              .block(Results.WAIT);

      assertThat(results).hasSize(c).allMatch(FetchResult::isSuccess);
      assertThat(server.connectionsOpened()).isLessThanOrEqualTo(c);
      assertThat(server.peakInFlight())
          .isGreaterThan(ConnectionProvider.DEFAULT_POOL_MAX_CONNECTIONS);
    }
  }
}
