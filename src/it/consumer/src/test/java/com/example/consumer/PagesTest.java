package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fetchflux.Fetcher;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.StubFetcher;
import dev.fetchflux.testing.StubReply;
import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/** The user's pipeline, tested the two ways docs/testing.md shows. */
@Timeout(30)
class PagesTest {

  @Test
  void linesKeepInputOrderAgainstARealServer() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().maxInFlight(4).build()) {
      server.route("/first", Reply.ok("first").withDelay(Duration.ofMillis(300)));
      server.route("/second", Reply.ok("second"));
      server.route("/gone", Reply.status(404, "gone"));

      Flux<String> urls =
          Flux.just(
              server.url("/first"),
              server.url("/second"),
              server.url("/gone"),
              "htp:/not-a-url",
              server.url("/reset"));

      StepVerifier.create(Pages.lines(fetcher, urls))
          .expectNext("0 200 first") // answered last, comes first
          .expectNext("1 200 second")
          .expectNext("2 404 gone")
          .expectNext("3 INVALID_REQUEST")
          .expectNext("4 CONNECTION_RESET")
          .expectComplete()
          .verify(Duration.ofSeconds(10));

      assertEquals(1, server.requests("/first").size());
    }
  }

  @Test
  void takeEndsTheStreamEarly() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.route("/a", Reply.ok("a"));
      server.route("/hangs", Reply.stall());

      StepVerifier.create(
              Pages.lines(fetcher, Flux.just(server.url("/a"), server.url("/hangs"))).take(1))
          .expectNext("0 200 a")
          .expectComplete()
          .verify(Duration.ofSeconds(10));
    }
  }

  @Test
  void deadlinesAndOrderInVirtualTime() {
    StubFetcher stub =
        StubFetcher.builder()
            .on("https://api.test/late", StubReply.ok("late").withDelay(Duration.ofSeconds(20)))
            .on("https://api.test/now", StubReply.ok("now"))
            .on("https://api.test/never", StubReply.ok("too late").withDelay(Duration.ofHours(1)))
            .configure(fetcher -> fetcher.requestTimeout(Duration.ofSeconds(30)))
            .build();

    StepVerifier.withVirtualTime(
            () ->
                Pages.lines(
                    stub.fetcher(),
                    Flux.just(
                        "https://api.test/late", "https://api.test/now", "https://api.test/never")))
        .expectSubscription()
        .expectNoEvent(Duration.ofSeconds(19)) // /now is done, but waits for /late
        .thenAwait(Duration.ofSeconds(1))
        .expectNext("0 200 late", "1 200 now")
        .expectNoEvent(Duration.ofSeconds(9))
        .thenAwait(Duration.ofSeconds(1)) // 30 s: the deadline
        .expectNext("2 DEADLINE")
        .expectComplete()
        .verify(Duration.ofSeconds(10));

    assertEquals(1, stub.cancelled().size());
  }
}
