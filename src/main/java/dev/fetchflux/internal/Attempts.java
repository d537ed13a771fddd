package dev.fetchflux.internal;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Headers;
import dev.fetchflux.StreamedResult;
import dev.fetchflux.Transport;
import dev.fetchflux.TransportException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
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
  private final Duration requestTimeout;
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
    this.requestTimeout = config.requestTimeout();
    this.deadlines = new Deadlines(requestTimeout, Schedulers::parallel);
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
    return Mono.defer(() -> new Run<>(index, request, collected).attempt()).map(counters::count);
  }

  /**
   * Like {@link #fetch(long, Object, Function)}, in streaming mode: a success is made at the final
   * response's headers, its body streaming in a relay that waits in {@code hold}. The politeness
   * permits of an attempt are kept until its body has been received (or given up), so per-host
   * limits count bodies on the wire. Never errors, never completes empty. Cold.
   */
  public <T> Mono<StreamedResult> fetchStreaming(
      long index, T input, Function<? super T, FetchRequest> toRequest, Hold hold) {
    FetchRequest request;
    try {
      request = Objects.requireNonNull(toRequest.apply(input), "no request for the input");
    } catch (RuntimeException e) {
      String text = String.valueOf(input);
      return Mono.fromSupplier(
          () -> (StreamedResult) counters.count(ResultMapping.invalid(index, text, e)));
    }
    return Mono.defer(() -> new Run<>(index, request, new StreamingMode(hold)).attempt());
  }

  /**
   * What the attempt loop needs from one way of exchanging: the exchange itself, what a response
   * says (for retries and adaptive politeness), dropping one, when its connection is free, and the
   * result made of it.
   *
   * @param <X> the transport's response
   * @param <R> the result
   */
  private interface Mode<X, R> {
    Mono<X> exchange(FetchRequest req, long deadlineNanos, StreamingTransport.RelaySlot slot);

    /** Whether responses carry a streaming body, which an attempt must release if it gives up. */
    boolean streams();

    int status(X response);

    Headers headers(X response);

    /** A response that will not be used (its attempt is retried): release what it holds. */
    void drop(X response);

    /** Runs {@code free} once the response's connection is free (at once for a whole body). */
    void whenReceived(X response, Runnable free);

    R result(long index, FetchRequest req, X response, int attempts, ResultMapping.Start start);

    R failure(FetchResult.Failure failure);
  }

  /** The slot of every whole-body attempt: never given a relay, so never one to release. */
  private static final StreamingTransport.RelaySlot NO_RELAY = new StreamingTransport.RelaySlot();

  /** Whole bodies, through {@link Transport#exchange}. */
  private final Mode<Transport.Response, FetchResult> collected =
      new Mode<>() {
        @Override
        public Mono<Transport.Response> exchange(
            FetchRequest req, long deadlineNanos, StreamingTransport.RelaySlot slot) {
          return Attempts.this.exchange(req);
        }

        @Override
        public boolean streams() {
          return false;
        }

        @Override
        public int status(Transport.Response r) {
          return r.status();
        }

        @Override
        public Headers headers(Transport.Response r) {
          return r.headers();
        }

        @Override
        public void drop(Transport.Response r) {
          Release.later(r.body());
        }

        @Override
        public void whenReceived(Transport.Response r, Runnable free) {
          free.run();
        }

        @Override
        public FetchResult result(
            long index,
            FetchRequest req,
            Transport.Response r,
            int attempts,
            ResultMapping.Start start) {
          return ResultMapping.response(index, req, r, attempts, start, failOnHttpError);
        }

        @Override
        public FetchResult failure(FetchResult.Failure f) {
          return f;
        }
      };

  /** Bodies streamed from the headers on, in relays that wait in one call's {@link Hold}. */
  private final class StreamingMode implements Mode<StreamingTransport.Streamed, StreamedResult> {
    private final Hold hold;

    StreamingMode(Hold hold) {
      this.hold = hold;
    }

    @Override
    public Mono<StreamingTransport.Streamed> exchange(
        FetchRequest req, long deadlineNanos, StreamingTransport.RelaySlot slot) {
      if (transport instanceof StreamingTransport st) {
        Mono<StreamingTransport.Streamed> m;
        try {
          m = st.exchangeStreaming(req, hold, deadlineNanos, slot);
        } catch (Throwable t) {
          Exceptions.throwIfJvmFatal(t);
          return Mono.error(t);
        }
        return m;
      }
      // A transport that only hands out whole bodies: stream what it collected.
      return Attempts.this
          .exchange(req)
          .map(
              r -> {
                BodyRelay relay = BodyRelay.whole(r.body(), hold);
                slot.put(relay);
                return new StreamingTransport.Streamed(
                    r.finalUri(),
                    r.status(),
                    r.headers(),
                    relay,
                    r.body().size(),
                    r.headersNanos(),
                    r.redirects());
              });
    }

    @Override
    public boolean streams() {
      return true;
    }

    @Override
    public int status(StreamingTransport.Streamed r) {
      return r.status();
    }

    @Override
    public Headers headers(StreamingTransport.Streamed r) {
      return r.headers();
    }

    @Override
    public void drop(StreamingTransport.Streamed r) {
      r.body().discard(new IllegalStateException("the response was retried"));
    }

    @Override
    public void whenReceived(StreamingTransport.Streamed r, Runnable free) {
      r.body().whenReceived(free);
    }

    @Override
    public StreamedResult result(
        long index,
        FetchRequest req,
        StreamingTransport.Streamed r,
        int attempts,
        ResultMapping.Start start) {
      StreamedResult result =
          ResultMapping.streamed(index, req, r, attempts, start, failOnHttpError, hold);
      if (result instanceof FetchResult.Failure f) {
        counters.count(f);
      } else {
        BodyRelay relay = r.body();
        relay.whenReceived(() -> counters.streamed(relay));
      }
      return result;
    }

    @Override
    public StreamedResult failure(FetchResult.Failure f) {
      counters.count(f);
      return f;
    }
  }

  /**
   * The discard hook for what this loop may leave to an operator after a cancel: its own attempt
   * outcomes, and the results, responses and bodies of {@link Release#discarded}.
   */
  public static void discarded(Object element) {
    if (element instanceof Outcome<?> o) {
      Object r = o.response();
      if (r != null) {
        discarded(r);
      }
    } else if (element instanceof StreamingTransport.Streamed r) {
      r.body().discard(new IllegalStateException("the response was discarded"));
    } else if (element instanceof StreamedResult.Success ok) {
      ok.body().discard();
    } else {
      Release.discarded(element);
    }
  }

  /** What one attempt ended with: a response, or an error. */
  private record Outcome<X>(@Nullable X response, @Nullable Throwable error) {}

  /**
   * The attempts of one input, run one after another (so its mutable state needs no locking: each
   * step happens-after the previous one through the reactive chain). Each attempt takes its politeness
   * permits, then gets {@code requestTimeout} for the exchange; between attempts it waits on a timer.
   */
  private final class Run<X, R> implements Supplier<Mono<X>> {
    private final long index;
    private final FetchRequest req;
    private final Mode<X, R> mode;

    /** The current attempt's slot for a streamed body (set before its exchange is subscribed). */
    private StreamingTransport.@Nullable RelaySlot slot;

    private final List<FetchException> earlier = new ArrayList<>(0);
    private int attempts;

    /** When the first attempt was sent, and the timer's clock then (for the retry budget). */
    private ResultMapping.Start start = ResultMapping.Start.now();

    private long startTimer = timerMillis();

    Run(long index, FetchRequest req, Mode<X, R> mode) {
      this.index = index;
      this.req = req;
      this.mode = mode;
    }

    Mono<R> attempt() {
      attempts++;
      // A streamed response's body, until this attempt makes a result of it (or drops it): if the
      // attempt is cancelled or times out as the response comes, the body is released here.
      // Whole bodies hold nothing in the slot: they share one, and need no release at the end.
      StreamingTransport.RelaySlot slot =
          mode.streams() ? new StreamingTransport.RelaySlot() : NO_RELAY;
      Mono<R> result =
          send(slot)
              .map(r -> new Outcome<>(r, null))
              .onErrorResume(e -> Mono.just(new Outcome<>(null, e)))
              .flatMap(o -> settle(o, slot));
      return slot == NO_RELAY ? result : result.doFinally(signal -> slot.releaseUnclaimed());
    }

    private Mono<X> send(StreamingTransport.RelaySlot slot) {
      this.slot = slot;
      // One operator for the deadline and the request's name in its errors; this Run is the
      // exchange's supplier (subscribed to once per attempt).
      Mono<X> exchange = deadlines.watch(this, index, req);
      Politeness p = politeness;
      if (p == null) {
        return exchange;
      }
      return p.acquire(req.host())
          .flatMap(
              permit -> {
                Mono<X> sent = exchange;
                if (p.adaptive()) {
                  sent =
                      sent.doOnNext(
                          r -> {
                            int status = mode.status(r);
                            Headers headers = mode.headers(r);
                            permit.responded(
                                status,
                                Politeness.throttles(status)
                                    ? RetrySchedule.parseRetryAfter(
                                        headers.first("Retry-After"),
                                        headers.first("Date"),
                                        timerMillis())
                                    : null);
                          });
                }
                // The permit is the host's until the response's connection is free: at once for
                // a whole body, when a streamed body has been received (or given up).
                AtomicBoolean released = new AtomicBoolean();
                Runnable release =
                    () -> {
                      if (released.compareAndSet(false, true)) {
                        permit.release();
                      }
                    };
                return sent.doOnNext(r -> mode.whenReceived(r, release))
                    .doFinally(
                        signal -> {
                          if (signal != SignalType.ON_COMPLETE) {
                            release.run();
                          }
                        });
              });
    }

    /** The exchange of this attempt; the first one starts the input's clocks. */
    @Override
    public Mono<X> get() {
      if (attempts == 1) {
        start = ResultMapping.Start.now();
        startTimer = timerMillis();
      }
      return mode.exchange(
          req, System.nanoTime() + requestTimeout.toNanos(), Objects.requireNonNull(slot));
    }

    private Mono<R> settle(Outcome<X> o, StreamingTransport.RelaySlot slot) {
      X r = o.response();
      if (r != null) {
        slot.claim();
      }
      Duration wait = retry.enabled() ? retryDelay(o) : null;
      if (wait == null) {
        return Mono.just(finish(o));
      }
      earlier.add(
          ResultMapping.retried(
              index, req, r == null ? 0 : mode.status(r), o.error(), attempts, start));
      counters.retried();
      if (r != null) {
        mode.drop(r);
      }
      return Mono.delay(wait, Schedulers.parallel()).then(Mono.defer(this::attempt));
    }

    /** The wait before another attempt, or {@code null} when this outcome is final. */
    private @Nullable Duration retryDelay(Outcome<X> o) {
      boolean idempotent = req.isIdempotent();
      Duration retryAfter = null;
      X r = o.response();
      if (r != null) {
        int status = mode.status(r);
        if (!retry.retryableStatus(status, idempotent)) {
          return null;
        }
        Headers headers = mode.headers(r);
        retryAfter =
            RetrySchedule.parseRetryAfter(
                headers.first("Retry-After"), headers.first("Date"), timerMillis());
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

    private R finish(Outcome<X> o) {
      X r = o.response();
      if (r == null) {
        FetchResult.Failure f =
            ResultMapping.failure(
                index, req, Objects.requireNonNull(o.error()), attempts, start, "");
        for (FetchException e : earlier) {
          f.error().addSuppressed(e);
        }
        return mode.failure(f);
      }
      R result = mode.result(index, req, r, attempts, start);
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
