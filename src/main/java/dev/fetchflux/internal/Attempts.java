package dev.fetchflux.internal;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Transport;
import dev.fetchflux.TransportException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The attempt loop: one input's request, exchanged through the {@link Transport} under the
 * politeness limits, the total deadline and the retry policy, ending in exactly one
 * {@link FetchResult} (a {@code Mono} that never errors and never completes empty, whatever the
 * transport does). It sits between admission ({@link OrderedAdmission}, which decides when an input
 * starts) and the wire (the transport).
 */
public final class Attempts {
  private final Transport transport;
  private final String transportName;
  private final Deadlines deadlines;
  private final boolean failOnHttpError;
  private final RetrySchedule retry;
  private final @Nullable Politeness politeness;
  private final FetchCounters counters;

  /**
   * @param retry the retry policy as a schedule (built by the fetcher, which can read the
   *     policy's source of jitter)
   */
  public Attempts(
      FetcherConfig config, Transport transport, RetrySchedule retry, FetchCounters counters) {
    this.transport = transport;
    this.transportName = transport.getClass().getName();
    this.deadlines = new Deadlines(config.requestTimeout(), Schedulers::parallel);
    this.failOnHttpError = config.failOnHttpError();
    this.retry = retry;
    // Waits and their clock come from the same scheduler, looked up on each use: virtual time in
    // tests that install it, System.nanoTime() otherwise (Scheduler.now for sub-millisecond units).
    Politeness p =
        new Politeness(
            config.maxInFlightPerHost(),
            config.maxRequestsPerSecond(),
            config.maxRequestsPerSecondPerHost(),
            config.adaptiveRate(),
            Schedulers::parallel,
            () -> Schedulers.parallel().now(TimeUnit.NANOSECONDS));
    this.politeness = p.enabled() ? p : null;
    this.counters = counters;
  }

  /** The per-host limits, or {@code null} when none is set (for the statistics). */
  public @Nullable Politeness politeness() {
    return politeness;
  }

  /**
   * The result of input {@code index}: {@code toRequest} turns it into a request (an exception it
   * throws, or a {@code null}, makes the input a {@link FetchException.Kind#INVALID_REQUEST} failure
   * at its index, nothing sent), which is then fetched. Cold.
   */
  public <T> Mono<FetchResult> fetch(
      long index, T input, Function<? super T, FetchRequest> toRequest) {
    FetchRequest request;
    try {
      request = Objects.requireNonNull(toRequest.apply(input), "no request for the input");
    } catch (RuntimeException e) {
      String text = String.valueOf(input);
      return Mono.fromSupplier(() -> counters.count(ResultMapping.invalid(index, text, e)));
    }
    return fetch(index, request);
  }

  /** The result of fetching {@code request} as input {@code index}. Cold. */
  public Mono<FetchResult> fetch(long index, FetchRequest request) {
    return Mono.defer(() -> new Run(index, request).attempt()).map(counters::count);
  }

  /**
   * The discard hook for what this loop may leave to an operator after a cancel: its own attempt
   * outcomes, and the results, responses and bodies of {@link Release#discarded}.
   */
  public static void discarded(Object element) {
    if (element instanceof Outcome o) {
      Transport.Response r = o.response();
      if (r != null) {
        Release.later(r.body());
      }
    } else {
      Release.discarded(element);
    }
  }

  /** What one attempt ended with: a response, or an error. */
  private record Outcome(Transport.@Nullable Response response, @Nullable Throwable error) {}

  /**
   * The attempts of one input, run one after another (so its mutable state needs no locking: each
   * step happens-after the previous one through the reactive chain). Each attempt takes its politeness
   * permits, then gets {@code requestTimeout} for the exchange; between attempts it waits on a timer.
   */
  private final class Run implements Supplier<Mono<Transport.Response>> {
    private final long index;
    private final FetchRequest req;
    private final List<FetchException> earlier = new ArrayList<>(0);
    private int attempts;

    /** When the first attempt was sent, and the timer's clock then (for the retry budget). */
    private ResultMapping.Start start = ResultMapping.Start.now();

    private long startTimer = timerMillis();

    Run(long index, FetchRequest req) {
      this.index = index;
      this.req = req;
    }

    Mono<FetchResult> attempt() {
      attempts++;
      return send()
          .map(r -> new Outcome(r, null))
          .onErrorResume(e -> Mono.just(new Outcome(null, e)))
          .flatMap(this::settle);
    }

    private Mono<Transport.Response> send() {
      // One operator for the deadline and the request's name in its errors; this Run is the
      // exchange's supplier (subscribed to once per attempt).
      Mono<Transport.Response> exchange = deadlines.watch(this, index, req);
      Politeness p = politeness;
      if (p == null) {
        return exchange;
      }
      return p.acquire(req.host())
          .flatMap(
              permit -> {
                Mono<Transport.Response> sent = exchange;
                if (p.adaptive()) {
                  sent =
                      sent.doOnNext(
                          r ->
                              permit.responded(
                                  r.status(),
                                  Politeness.throttles(r.status())
                                      ? RetrySchedule.parseRetryAfter(
                                          r.headers().first("Retry-After"),
                                          r.headers().first("Date"),
                                          timerMillis())
                                      : null));
                }
                return sent.doFinally(signal -> permit.release());
              });
    }

    /** The exchange of this attempt; the first one starts the input's clocks. */
    @Override
    public Mono<Transport.Response> get() {
      if (attempts == 1) {
        start = ResultMapping.Start.now();
        startTimer = timerMillis();
      }
      return exchange(req);
    }

    private Mono<FetchResult> settle(Outcome o) {
      Duration wait = retry.enabled() ? retryDelay(o) : null;
      if (wait == null) {
        return Mono.just(finish(o));
      }
      earlier.add(ResultMapping.retried(index, req, o.response(), o.error(), attempts, start));
      counters.retried();
      Transport.Response r = o.response();
      if (r != null) {
        Release.later(r.body());
      }
      return Mono.delay(wait, Schedulers.parallel()).then(Mono.defer(this::attempt));
    }

    /** The wait before another attempt, or {@code null} when this outcome is final. */
    private @Nullable Duration retryDelay(Outcome o) {
      boolean idempotent = req.isIdempotent();
      Duration retryAfter = null;
      Transport.Response r = o.response();
      if (r != null) {
        if (!retry.retryableStatus(r.status(), idempotent)) {
          return null;
        }
        retryAfter =
            RetrySchedule.parseRetryAfter(
                r.headers().first("Retry-After"), r.headers().first("Date"), timerMillis());
      } else {
        Throwable e = Objects.requireNonNull(o.error());
        boolean responseStarted = e instanceof TransportException t && t.headersNanos() != 0;
        if (!retry.retryable(Errors.classify(e).kind(), responseStarted, idempotent)) {
          return null;
        }
      }
      Duration elapsed = Duration.ofMillis(Math.max(0, timerMillis() - startTimer));
      return retry.nextDelay(attempts, elapsed, retryAfter);
    }

    private FetchResult finish(Outcome o) {
      Transport.Response r = o.response();
      FetchResult result =
          r != null
              ? ResultMapping.response(index, req, r, attempts, start, failOnHttpError)
              : ResultMapping.failure(
                  index, req, Objects.requireNonNull(o.error()), attempts, start, "");
      if (result instanceof FetchResult.Failure f) {
        for (FetchException e : earlier) {
          f.error().addSuppressed(e);
        }
      }
      return result;
    }
  }

  /**
   * The transport's exchange of {@code req}, held to its contract: a transport that throws instead
   * of returning a {@code Mono}, returns {@code null} or completes empty would otherwise cost the
   * input its result (and, in the ordering stage, end the whole stream); each becomes an error
   * naming the transport, so the input fails in its place and the rest goes on.
   */
  private Mono<Transport.Response> exchange(FetchRequest req) {
    Mono<Transport.Response> m;
    try {
      m = transport.exchange(req);
    } catch (Throwable t) {
      Exceptions.throwIfJvmFatal(t);
      return Mono.error(
          new TransportException(
              FetchException.Kind.OTHER,
              "transport " + transportName + " threw from exchange: " + t,
              0,
              0,
              t));
    }
    if (m == null) {
      return Mono.error(
          new TransportException(
              FetchException.Kind.OTHER,
              "transport " + transportName + " returned null from exchange",
              0,
              0,
              new NullPointerException(transportName + ".exchange returned null")));
    }
    return m.switchIfEmpty(
        Mono.error(
            () ->
                new TransportException(
                    FetchException.Kind.OTHER,
                    "transport " + transportName + " completed without a response",
                    0,
                    0,
                    new NoSuchElementException(transportName + ".exchange completed empty"))));
  }

  /** The clock of the scheduler that runs retry waits (virtual in tests that install virtual time). */
  private static long timerMillis() {
    return Schedulers.parallel().now(TimeUnit.MILLISECONDS);
  }
}
