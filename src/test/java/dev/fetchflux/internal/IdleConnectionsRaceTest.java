package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;
import reactor.test.util.RaceTestUtils;

/**
 * Closing idle connections from outside their pools, raced against requests that take them: every
 * request still succeeds. The client is wired as the engine wires its own ({@link HttpEngine#pool},
 * {@code observe} and {@code mapConnect} with {@link IdleConnections}).
 *
 * <p>Each round leaves two idle connections to one host, then closes both while a request
 * acquires one. Whichever comes first: closed before the pool hands it out (the pool's eviction
 * predicate drops it), closed between the hand-out and the request's set-up on the event loop
 * (reactor-netty acquires again; a second closed one ends in "Error while acquiring", retried by
 * {@code IdleConnections}), or acquired first (the close sees a request bound and leaves it).
 */
@Timeout(120)
class IdleConnectionsRaceTest {

  private static final int ROUNDS = 600;

  private TestServer server;
  private ConnectionProvider pool;
  private LoopResources loops;
  private IdleConnections idle;
  private HttpClient client;

  @BeforeEach
  void setUp() {
    server = TestServer.start();
    pool = HttpEngine.pool("race", Duration.ofSeconds(30));
    loops = LoopResources.create("race", 2, true);
    idle = new IdleConnections(100);
    client = HttpClient.create(pool).runOn(loops).observe(idle).mapConnect(idle::recovering);
  }

  @AfterEach
  void tearDown() {
    pool.disposeLater().block(Duration.ofSeconds(5));
    loops.disposeLater(Duration.ZERO, Duration.ofSeconds(2)).block(Duration.ofSeconds(5));
    server.close();
  }

  @Test
  void requestsRacingTheEvictionOfTheirIdleConnectionAllSucceed() {
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    int closedUnderARequest = 0;
    for (int i = 0; i < ROUNDS; i++) {
      int round = i;
      // Two requests at once: two connections, both idle afterwards.
      Flux.merge(get("/bytes/10?a" + round), get("/bytes/10?b" + round))
          .then()
          .block(Duration.ofSeconds(5));
      int opened = server.connectionsOpened();

      RaceTestUtils.race(
          () -> idle.evict(Integer.MAX_VALUE).block(Duration.ofSeconds(5)),
          () ->
              get("/bytes/10?c" + round)
                  .doOnError(failures::add)
                  .onErrorComplete()
                  .block(Duration.ofSeconds(5)));

      if (server.connectionsOpened() > opened) {
        closedUnderARequest++;
      }
      assertThat(failures).as("round %d", round).isEmpty();
    }
    // The race was real: some requests found their connection closed and opened another.
    System.out.println(
        "rounds in which the request needed a new connection: "
            + closedUnderARequest
            + " of "
            + ROUNDS);
    assertThat(closedUnderARequest).isPositive();
  }

  private Mono<String> get(String path) {
    return client.get().uri(server.url(path)).responseContent().aggregate().asString();
  }
}
