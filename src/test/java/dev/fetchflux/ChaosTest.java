package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.netty.http.client.PrematureCloseException;

/**
 * A seeded, reproducible chaos run: N URLs against a server that, for each attempt, delays, resets,
 * truncates, stalls or answers 503 at random, with retries on. Every attempt's fault is a pure
 * function of (seed, URL index, attempt number), so the test computes what each URL must end with
 * and checks every result against it: exactly N results, indexes 0..N-1 in order, successes
 * byte-identical to what was served, every failure of the predicted kind with its original cause,
 * attempts and suppressed failures as predicted, the server's request count equal to the attempts,
 * and the server's peak in flight never above C.
 *
 * <p>{@code mvn test} runs N = 600. The long run:
 * {@code mvn -o -q test -Dtest=ChaosTest -Dfetchflux.chaos.urls=10000} (optionally
 * {@code -Dfetchflux.chaos.seed=...}); its figures are printed to the test's output
 * ({@code target/surefire-reports/dev.fetchflux.ChaosTest-output.txt}) and recorded in
 * {@code docs/reliability.md}.
 */
@Timeout(600)
class ChaosTest {

  private static final int URLS = Integer.getInteger("fetchflux.chaos.urls", 600);
  private static final long SEED = Long.getLong("fetchflux.chaos.seed", 20261125L);
  private static final int C = 16;
  private static final int MAX_ATTEMPTS = 3;
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2);

  /** What the server does for one attempt. */
  enum Fault {
    OK(560),
    SLOW(80),
    NOT_FOUND(20),
    UNAVAILABLE(100),
    RESET_BEFORE_RESPONSE(80),
    RESET_AFTER_HEADERS(30),
    TRUNCATED(50),
    CLOSE_DELIMITED_RESET(40),
    STALL(40);

    /** Per mille. */
    final int weight;

    Fault(int weight) {
      this.weight = weight;
    }

    static Fault pick(int perMille) {
      int acc = 0;
      for (Fault f : values()) {
        acc += f.weight;
        if (perMille < acc) {
          return f;
        }
      }
      throw new IllegalStateException("weights do not add up to 1000");
    }
  }

  private static SplittableRandom random(int index, int attempt) {
    return new SplittableRandom(
        SEED ^ (index * 0x9E3779B97F4A7C15L) ^ (attempt * 0xC2B2AE3D27D4EB4FL));
  }

  static Fault fault(int index, int attempt) {
    return Fault.pick(random(index, attempt).nextInt(1000));
  }

  /** The body served for {@code index} when the attempt succeeds (same for every attempt). */
  static byte[] body(int index) {
    SplittableRandom r = random(index, 0);
    byte[] b = new byte[r.nextInt(8192)];
    r.nextBytes(b);
    return b;
  }

  static Reply reply(int index, int attempt) {
    SplittableRandom r = random(index, attempt);
    Fault f = Fault.pick(r.nextInt(1000));
    switch (f) {
      case OK:
        return Reply.ok(body(index)).withDelay(Duration.ofMillis(r.nextInt(20)));
      case SLOW:
        return Reply.ok(body(index)).withDelay(Duration.ofMillis(50 + r.nextInt(100)));
      case NOT_FOUND:
        return Reply.status(404, "gone " + index);
      case UNAVAILABLE:
        Reply busy = Reply.status(503, "busy");
        return r.nextBoolean() ? busy.withHeader("Retry-After", "0") : busy;
      case RESET_BEFORE_RESPONSE:
        return Reply.resetBeforeResponse();
      case RESET_AFTER_HEADERS:
        return Reply.resetAfterHeaders(1000);
      case TRUNCATED:
        return Reply.truncated(2000, 1 + r.nextInt(1999));
      case CLOSE_DELIMITED_RESET:
        return Reply.closeDelimitedReset(2000, 1 + r.nextInt(1999));
      case STALL:
        return Reply.stall();
      default:
        throw new IllegalStateException(f.name());
    }
  }

  /** What the fetcher must report for {@code index}: the model the run is checked against. */
  record Expected(int attempts, int status, FetchException.@Nullable Kind kind) {}

  static Expected expected(int index) {
    for (int attempt = 1; ; attempt++) {
      boolean last = attempt == MAX_ATTEMPTS;
      switch (fault(index, attempt)) {
        case OK:
        case SLOW:
          return new Expected(attempt, 200, null);
        case NOT_FOUND:
          return new Expected(attempt, 404, null);
        case UNAVAILABLE:
          if (last) {
            return new Expected(attempt, 503, null);
          }
          break;
        case RESET_BEFORE_RESPONSE:
          if (last) {
            return new Expected(attempt, 0, FetchException.Kind.CONNECTION_RESET);
          }
          break;
        case RESET_AFTER_HEADERS:
        case CLOSE_DELIMITED_RESET:
          return new Expected(attempt, 200, FetchException.Kind.CONNECTION_RESET);
        case TRUNCATED:
          return new Expected(attempt, 0, FetchException.Kind.TRUNCATED_BODY);
        case STALL:
          return new Expected(attempt, 0, FetchException.Kind.DEADLINE);
        default:
          throw new IllegalStateException();
      }
    }
  }

  @Test
  void everyUrlYieldsExactlyThePredictedResultInOrderUnderSeededChaos() {
    Map<Integer, AtomicInteger> attemptsSeen = new ConcurrentHashMap<>();
    Map<Fault, AtomicInteger> injected = new ConcurrentHashMap<>();
    try (TestServer server = TestServer.start()) {
      server.handler(
          req -> {
            if (!req.path().startsWith("/chaos/")) {
              return null;
            }
            int index = Integer.parseInt(req.path().substring("/chaos/".length()));
            int attempt =
                attemptsSeen.computeIfAbsent(index, k -> new AtomicInteger()).incrementAndGet();
            injected
                .computeIfAbsent(fault(index, attempt), k -> new AtomicInteger())
                .incrementAndGet();
            return reply(index, attempt);
          });
      RetryPolicy retries =
          RetryPolicy.builder()
              .maxAttempts(MAX_ATTEMPTS)
              .backoff(Duration.ofMillis(5), Duration.ofMillis(20))
              .build();
      List<String> urls = new ArrayList<>(URLS);
      for (int i = 0; i < URLS; i++) {
        urls.add(server.url("/chaos/" + i));
      }

      long started = System.nanoTime();
      List<FetchResult> results;
      try (Fetcher fetcher =
          Fetcher.builder()
              .maxInFlight(C)
              .retry(retries)
              .connectTimeout(Duration.ofSeconds(5))
              .readTimeout(Duration.ofSeconds(10))
              .requestTimeout(REQUEST_TIMEOUT)
              .build()) {
        results =
            fetcher
                .fetch(Flux.fromIterable(urls))
                .collectList()
                .block(Duration.ofSeconds(Math.max(120, URLS / 10)));
      }
      Duration took = Duration.ofNanos(System.nanoTime() - started);

      assertThat(results).hasSize(URLS);
      Map<String, Integer> outcomes = new TreeMap<>();
      long attemptsTotal = 0;
      for (int i = 0; i < URLS; i++) {
        FetchResult r = results.get(i);
        Expected e = expected(i);
        assertThat(r.index()).isEqualTo(i);
        assertThat(r.url()).isEqualTo(urls.get(i));
        if (e.kind() == null) {
          assertThat(r).as("#%d %s", i, r).isInstanceOf(FetchResult.Success.class);
          FetchResult.Success ok = (FetchResult.Success) r;
          assertThat(ok.status()).as("#%d status", i).isEqualTo(e.status());
          assertThat(ok.attempts()).as("#%d attempts", i).isEqualTo(e.attempts());
          if (e.status() == 200) {
            assertThat(Arrays.equals(ok.body().toByteArray(), body(i)))
                .as("#%d body byte-identical", i)
                .isTrue();
          }
          outcomes.merge("success " + e.status(), 1, Integer::sum);
          attemptsTotal += ok.attempts();
        } else {
          assertThat(r).as("#%d %s", i, r).isInstanceOf(FetchResult.Failure.class);
          FetchException error = ((FetchResult.Failure) r).error();
          assertThat(error.kind()).as("#%d %s", i, error.getMessage()).isEqualTo(e.kind());
          assertThat(error.attempts()).as("#%d attempts", i).isEqualTo(e.attempts());
          assertThat(error.getSuppressed()).as("#%d earlier attempts", i).hasSize(e.attempts() - 1);
          assertThat(error.index()).isEqualTo(i);
          assertThat(error.getMessage()).startsWith("#" + i + " GET " + urls.get(i) + ": ");
          assertCause(e.kind(), error);
          outcomes.merge("failure " + e.kind(), 1, Integer::sum);
          attemptsTotal += error.attempts();
        }
      }
      int seenTotal = attemptsSeen.values().stream().mapToInt(AtomicInteger::get).sum();
      assertThat(server.requests()).hasSize(seenTotal);
      assertThat((long) seenTotal).as("server requests = attempts").isEqualTo(attemptsTotal);
      for (int i = 0; i < URLS; i++) {
        assertThat(attemptsSeen.get(i).get())
            .as("#%d attempts seen by the server", i)
            .isEqualTo(expected(i).attempts());
      }
      assertThat(outcomes.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(URLS);
      assertThat(server.peakInFlight()).isLessThanOrEqualTo(C);

      Map<Fault, Integer> faults = new EnumMap<>(Fault.class);
      injected.forEach((f, n) -> faults.put(f, n.get()));
      System.out.printf("CHAOS seed=%d urls=%d C=%d maxAttempts=%d%n", SEED, URLS, C, MAX_ATTEMPTS);
      System.out.printf(
          "CHAOS attempts (server requests)=%d faults injected=%s%n", seenTotal, faults);
      System.out.printf("CHAOS results=%s%n", outcomes);
      System.out.printf(
          "CHAOS peakInFlight=%d time=%d ms%n", server.peakInFlight(), took.toMillis());
    }
  }

  private static void assertCause(FetchException.Kind kind, FetchException error) {
    Throwable cause = error.getCause();
    assertThat(cause).as("original cause of %s", error.getMessage()).isNotNull();
    switch (kind) {
      case CONNECTION_RESET:
        assertThat(cause).isInstanceOf(IOException.class);
        break;
      case TRUNCATED_BODY:
        assertThat(cause).isInstanceOf(PrematureCloseException.class);
        break;
      case DEADLINE:
        assertThat(cause).isInstanceOf(TimeoutException.class);
        break;
      default:
        throw new AssertionError("unexpected kind " + kind);
    }
  }

  @Test
  void theModelIsAPureFunctionOfSeedIndexAndAttempt() {
    for (int i = 0; i < 50; i++) {
      assertThat(fault(i, 1)).isEqualTo(fault(i, 1));
      assertThat(body(i)).isEqualTo(body(i));
    }
    // And it covers every fault often enough to matter at the default size.
    Map<Fault, Integer> counts = new EnumMap<>(Fault.class);
    for (int i = 0; i < 600; i++) {
      counts.merge(fault(i, 1), 1, Integer::sum);
    }
    assertThat(counts.keySet()).containsExactlyInAnyOrder(Fault.values());
  }
}
