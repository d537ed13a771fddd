package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Results;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * The retry loop of {@link Fetcher} against a scripted {@link Transport}, in virtual time: which
 * outcomes are retried, exactly when each attempt starts (backoff with a fixed jitter, Retry-After,
 * the budget), and what the single result per input says.
 */
@Timeout(20)
class ReliabilityRetryTest {

  private static final URI A = URI.create("http://a.test/x");

  /** One scripted attempt outcome. */
  @FunctionalInterface
  private interface Step {
    Mono<Transport.Response> get();
  }

  /** A transport that plays a script per URI and records when (on the virtual clock) each attempt came. */
  private static final class Script implements Transport {
    final Map<URI, Deque<Step>> steps = new ConcurrentHashMap<>();
    final Map<URI, List<Long>> attemptsAt = new ConcurrentHashMap<>();

    Script on(URI uri, Step... outcomes) {
      steps.computeIfAbsent(uri, k -> new ArrayDeque<>()).addAll(List.of(outcomes));
      return this;
    }

    @Override
    public Mono<Response> exchange(FetchRequest request) {
      return Mono.defer(
          () -> {
            attemptsAt
                .computeIfAbsent(
                    request.uri(), k -> Collections.synchronizedList(new ArrayList<>()))
                .add(Schedulers.parallel().now(TimeUnit.MILLISECONDS));
            Deque<Step> q = steps.get(request.uri());
            Step next = q == null ? null : q.poll();
            return next == null ? ok(request.uri()).get() : next.get();
          });
    }

    List<Long> times(URI uri) {
      return attemptsAt.getOrDefault(uri, List.of());
    }
  }

  /**
   * Fetches {@code request} in virtual time, lets {@code time} pass, and returns the one result,
   * which must then be there: the retries and their waits all fit in {@code time}.
   */
  private static FetchResult resultAfter(Duration time, Fetcher fetcher, Object request) {
    AtomicReference<FetchResult> result = new AtomicReference<>();
    StepVerifier.withVirtualTime(() -> fetcher.fetchOne(Results.toRequest(request)))
        .expectSubscription()
        .thenAwait(time)
        .consumeNextWith(result::set)
        .expectComplete()
        .verify(Duration.ofSeconds(5));
    return result.get();
  }

  private static Step status(int code, String... headers) {
    return () ->
        Mono.just(
            new Transport.Response(
                A, code, Headers.of(headers), Body.of("s" + code), System.nanoTime(), 0));
  }

  private static Step ok(URI uri) {
    return () ->
        Mono.just(
            new Transport.Response(
                uri, 200, Headers.empty(), Body.of("ok " + uri), System.nanoTime(), 0));
  }

  private static Step refused() {
    return () -> Mono.error(new ConnectException("Connection refused"));
  }

  private static Step resetBeforeResponse() {
    return () -> Mono.error(new IOException("Connection reset by peer"));
  }

  /** Jitter fixed at 0.5: retry n waits exactly half its cap, base × 2^(n-1) / 2. */
  private static RetryPolicy.Builder policy() {
    return RetryPolicy.builder()
        .backoff(Duration.ofSeconds(1), Duration.ofSeconds(30))
        .jitter(() -> 0.5);
  }

  private static Fetcher fetcher(Script script, RetryPolicy policy) {
    return Fetcher.builder().transport(script).retry(policy).build();
  }

  @Test
  void retryableStatusIsRetriedWithExponentialBackoff() {
    Script script = new Script().on(A, status(503), status(503));
    Fetcher fetcher = fetcher(script, policy().maxAttempts(3).build());

    StepVerifier.withVirtualTime(() -> fetcher.fetchOne(FetchRequest.get(A)))
        .expectSubscription()
        // attempt 1 at 0; wait 0.5 × 1 s; attempt 2 at 500 ms; wait 0.5 × 2 s; attempt 3 at 1500 ms
        .expectNoEvent(Duration.ofMillis(1499))
        .thenAwait(Duration.ofMillis(1))
        .assertNext(
            r -> {
              FetchResult.Success ok = (FetchResult.Success) r;
              assertThat(ok.status()).isEqualTo(200);
              assertThat(ok.attempts()).isEqualTo(3);
              assertThat(ok.index()).isZero();
            })
        .expectComplete()
        .verify(Duration.ofSeconds(5));
    assertThat(script.times(A)).containsExactly(0L, 500L, 1500L);
  }

  @Test
  void retryAfterSecondsReplacesTheBackoff() {
    Script script = new Script().on(A, status(429, "Retry-After", "7"));
    Fetcher fetcher = fetcher(script, policy().build());

    StepVerifier.withVirtualTime(() -> fetcher.fetchOne(FetchRequest.get(A)))
        .expectSubscription()
        .expectNoEvent(Duration.ofMillis(6999))
        .thenAwait(Duration.ofMillis(1))
        .assertNext(r -> assertThat(((FetchResult.Success) r).attempts()).isEqualTo(2))
        .expectComplete()
        .verify(Duration.ofSeconds(5));
    assertThat(script.times(A)).containsExactly(0L, 7000L);
  }

  @Test
  void retryAfterDateIsMeasuredFromTheServersDateHeader() {
    Script script =
        new Script()
            .on(
                A,
                status(
                    503,
                    "Date",
                    "Sun, 01 Mar 2026 12:00:00 GMT",
                    "Retry-After",
                    "Sun, 01 Mar 2026 12:00:04 GMT"));
    Fetcher fetcher = fetcher(script, policy().build());

    FetchResult r = resultAfter(Duration.ofSeconds(10), fetcher, A);
    assertThat(r.isSuccess()).isTrue();
    assertThat(script.times(A)).containsExactly(0L, 4000L);
  }

  @Test
  void retryAfterIsCappedAtTheMaximumDelay() {
    Script script = new Script().on(A, status(503, "Retry-After", "86400"));
    Fetcher fetcher =
        fetcher(script, policy().backoff(Duration.ofMillis(100), Duration.ofSeconds(5)).build());

    FetchResult r = resultAfter(Duration.ofSeconds(6), fetcher, A);
    assertThat(r.isSuccess()).isTrue();
    assertThat(script.times(A)).containsExactly(0L, 5000L);
  }

  @Test
  void noAttemptStartsPastTheRetryBudget() {
    // Waits 0.5 s, 1 s, 2 s, 4 s: attempts at 0, 0.5, 1.5, 3.5; the next would be at 7.5 > 5.
    Script script =
        new Script()
            .on(A, status(503), status(503), status(503), status(503), status(503), status(503));
    Fetcher fetcher =
        fetcher(script, policy().maxAttempts(10).maxRetryTime(Duration.ofSeconds(5)).build());

    FetchResult r = resultAfter(Duration.ofSeconds(60), fetcher, A);
    // The last response is the result, as it would be without retries.
    FetchResult.Success last = (FetchResult.Success) r;
    assertThat(last.status()).isEqualTo(503);
    assertThat(last.attempts()).isEqualTo(4);
    assertThat(script.times(A)).containsExactly(0L, 500L, 1500L, 3500L);
  }

  @Test
  void exhaustedRetriesKeepEveryEarlierFailureAsSuppressed() {
    Script script = new Script().on(A, refused(), refused(), refused());
    Fetcher fetcher = fetcher(script, policy().maxAttempts(3).build());

    FetchResult r = resultAfter(Duration.ofSeconds(10), fetcher, A);
    FetchResult.Failure f = (FetchResult.Failure) r;
    FetchException e = f.error();
    assertThat(e.kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
    assertThat(e.attempts()).isEqualTo(3);
    assertThat(e.getCause()).isInstanceOf(ConnectException.class);
    assertThat(e.getMessage())
        .startsWith("#0 GET " + A + ": connection refused")
        .endsWith("(after 3 attempts)");
    assertThat(e.getSuppressed()).hasSize(2);
    FetchException first = (FetchException) e.getSuppressed()[0];
    FetchException second = (FetchException) e.getSuppressed()[1];
    assertThat(first.attempts()).isEqualTo(1);
    assertThat(second.attempts()).isEqualTo(2);
    assertThat(first.kind()).isEqualTo(FetchException.Kind.CONNECT_REFUSED);
    assertThat(first.getCause()).isInstanceOf(ConnectException.class).isNotSameAs(e.getCause());
    assertThat(first.getMessage()).contains("(attempt 1, retried)");
  }

  @Test
  void failOnHttpErrorAfterExhaustedStatusRetriesIsAFailureWithSuppressedAttempts() {
    Script script = new Script().on(A, status(503), status(503));
    Fetcher fetcher =
        Fetcher.builder()
            .transport(script)
            .failOnHttpError(true)
            .retry(policy().maxAttempts(2).build())
            .build();

    FetchResult r = resultAfter(Duration.ofSeconds(10), fetcher, A);
    FetchException e = ((FetchResult.Failure) r).error();
    assertThat(e.kind()).isEqualTo(FetchException.Kind.HTTP_STATUS);
    assertThat(e.status()).isEqualTo(503);
    assertThat(e.attempts()).isEqualTo(2);
    assertThat(e.getSuppressed())
        .singleElement()
        .satisfies(s -> assertThat(((FetchException) s).status()).isEqualTo(503));
  }

  @Test
  void resetBeforeTheResponseIsRetried() {
    Script script = new Script().on(A, resetBeforeResponse());
    Fetcher fetcher = fetcher(script, policy().build());

    FetchResult r = resultAfter(Duration.ofSeconds(10), fetcher, A);
    assertThat(((FetchResult.Success) r).attempts()).isEqualTo(2);
  }

  @Test
  void resetAfterTheStatusLineIsNotRetried() {
    Script script =
        new Script()
            .on(
                A,
                () ->
                    Mono.error(
                        new TransportException(
                            FetchException.Kind.CONNECTION_RESET,
                            "after the status line, during the body",
                            200,
                            System.nanoTime(),
                            new IOException("Connection reset by peer"))));
    Fetcher fetcher = fetcher(script, policy().build());

    FetchResult r = resultAfter(Duration.ofSeconds(10), fetcher, A);
    FetchException e = ((FetchResult.Failure) r).error();
    assertThat(e.kind()).isEqualTo(FetchException.Kind.CONNECTION_RESET);
    assertThat(e.attempts()).isEqualTo(1);
    assertThat(e.getSuppressed()).isEmpty();
    assertThat(script.times(A)).hasSize(1);
  }

  @Test
  void timedOutAttemptIsNotRetried() {
    Script script = new Script().on(A, Mono::never);
    Fetcher fetcher =
        Fetcher.builder()
            .transport(script)
            .requestTimeout(Duration.ofSeconds(2))
            .retry(policy().build())
            .build();

    StepVerifier.withVirtualTime(() -> fetcher.fetchOne(FetchRequest.get(A)))
        .expectSubscription()
        .expectNoEvent(Duration.ofMillis(1999))
        .thenAwait(Duration.ofMillis(1))
        .assertNext(
            r -> {
              FetchException e = ((FetchResult.Failure) r).error();
              assertThat(e.kind()).isEqualTo(FetchException.Kind.DEADLINE);
              assertThat(e.attempts()).isEqualTo(1);
              assertThat(e.getMessage())
                  .contains("no complete response within 2 s (requestTimeout)");
            })
        .expectComplete()
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void eachAttemptHasItsOwnDeadline() {
    // A refused connect after 1.5 s (under the 2 s deadline), then a response after 1.5 s again:
    // a deadline over the whole input would have fired at 2 s.
    Script script =
        new Script()
            .on(
                A,
                () -> Mono.delay(Duration.ofMillis(1500)).then(refused().get()),
                () -> Mono.delay(Duration.ofMillis(1500)).then(ok(A).get()));
    Fetcher fetcher =
        Fetcher.builder()
            .transport(script)
            .requestTimeout(Duration.ofSeconds(2))
            .retry(policy().build())
            .build();

    FetchResult r = resultAfter(Duration.ofSeconds(10), fetcher, A);
    assertThat(((FetchResult.Success) r).attempts()).isEqualTo(2);
    assertThat(script.times(A)).containsExactly(0L, 2000L);
  }

  @Test
  void postIsNotRetriedAfterAStatusOrResetButIsAfterARefusedConnect() {
    FetchRequest post = FetchRequest.builder(A).method("POST").body(Body.of("x")).build();
    Fetcher fetcher503 = fetcher(new Script().on(A, status(503)), policy().build());
    Fetcher fetcherReset = fetcher(new Script().on(A, resetBeforeResponse()), policy().build());
    Fetcher fetcherRefused = fetcher(new Script().on(A, refused()), policy().build());

    FetchResult.Success afterStatus =
        (FetchResult.Success) resultAfter(Duration.ofSeconds(10), fetcher503, post);
    assertThat(afterStatus.status()).isEqualTo(503);
    assertThat(afterStatus.attempts()).isEqualTo(1);
    FetchResult.Failure afterReset =
        (FetchResult.Failure) resultAfter(Duration.ofSeconds(10), fetcherReset, post);
    assertThat(afterReset.attempts()).isEqualTo(1);
    FetchResult.Success afterRefused =
        (FetchResult.Success) resultAfter(Duration.ofSeconds(10), fetcherRefused, post);
    assertThat(afterRefused.attempts()).isEqualTo(2);
  }

  @Test
  void postIsRetriedAfterAStatusWhenAskedTo() {
    FetchRequest post = FetchRequest.builder(A).method("POST").body(Body.of("x")).build();
    Fetcher fetcher =
        fetcher(new Script().on(A, status(503)), policy().retryNonIdempotent(true).build());

    FetchResult r = resultAfter(Duration.ofSeconds(10), fetcher, post);
    assertThat(((FetchResult.Success) r).attempts()).isEqualTo(2);
  }

  @Test
  void withoutARetryPolicyNothingIsRetried() {
    Script script = new Script().on(A, status(503));
    Fetcher fetcher = Fetcher.builder().transport(script).build();

    StepVerifier.create(fetcher.fetchOne(FetchRequest.get(A)))
        .assertNext(
            r -> {
              assertThat(((FetchResult.Success) r).status()).isEqualTo(503);
              assertThat(((FetchResult.Success) r).attempts()).isEqualTo(1);
            })
        .expectComplete()
        .verify(Duration.ofSeconds(5));
    assertThat(script.times(A)).hasSize(1);
  }

  @Test
  void retriedInputYieldsOneResultInItsPlace() {
    List<URI> uris = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      uris.add(URI.create("http://a.test/" + i));
    }
    // Input 2 fails twice (about 1.5 s of waiting); the others answer at once.
    Script script = new Script().on(uris.get(2), refused(), resetBeforeResponse());
    Fetcher fetcher =
        Fetcher.builder().transport(script).maxInFlight(3).retry(policy().build()).build();

    StepVerifier.withVirtualTime(() -> fetcher.fetch(Flux.fromIterable(uris), FetchRequest::get))
        .expectSubscription()
        // 0 and 1 are out at once; 3, 4, 5 are done but wait behind 2.
        .expectNextCount(2)
        .expectNoEvent(Duration.ofMillis(1499))
        .thenAwait(Duration.ofMillis(1))
        .assertNext(
            r -> {
              assertThat(r.index()).isEqualTo(2);
              assertThat(((FetchResult.Success) r).attempts()).isEqualTo(3);
            })
        .assertNext(r -> assertThat(r.index()).isEqualTo(3))
        .assertNext(r -> assertThat(r.index()).isEqualTo(4))
        .assertNext(r -> assertThat(r.index()).isEqualTo(5))
        .expectComplete()
        .verify(Duration.ofSeconds(5));
    for (URI u : uris) {
      assertThat(script.times(u)).hasSize(u.equals(uris.get(2)) ? 3 : 1);
    }
  }
}
