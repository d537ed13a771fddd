package dev.fetchflux;

import dev.fetchflux.internal.AdmissionMetrics;
import dev.fetchflux.internal.Checks;
import dev.fetchflux.internal.EngineSettings;
import dev.fetchflux.internal.Errors;
import dev.fetchflux.internal.HttpEngine;
import dev.fetchflux.internal.OrderedAdmission;
import dev.fetchflux.internal.Politeness;
import dev.fetchflux.internal.Release;
import dev.fetchflux.internal.RetrySchedule;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Fetches many requests concurrently and streams the results back in input order.
 *
 * <pre>{@code
 * try (Fetcher fetcher = Fetcher.builder().maxInFlight(32).build()) {
 *   fetcher.fetch(Flux.just("http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b"))
 *       .doOnNext(r -> System.out.println(r.index() + " " + r.isSuccess()))
 *       .blockLast();
 * }
 * }</pre>
 *
 * <h2>Inputs</h2>
 * Every method that takes a {@code Publisher<?>} accepts elements of three types: a
 * {@link CharSequence} (a URL, parsed here), a {@link URI}, or a {@link FetchRequest}. Input is pulled
 * lazily: at most {@link Builder#reorderWindow(int) reorderWindow} inputs are admitted ahead of the
 * output, so a source of a million URLs is fine. An input that is not an absolute http(s) URL, or of
 * another type, becomes a {@link FetchResult.Failure} of kind {@link FetchException.Kind#INVALID_REQUEST}
 * at its index; it neither stops the stream nor is skipped.
 *
 * <h2>Signals</h2>
 * <ul>
 *   <li>{@link #fetch} and {@link #fetchUnordered} emit exactly one {@link FetchResult} per input and
 *       never signal {@code onError} for a failed request; {@code onError} comes only from the input
 *       publisher's own error, after the results of every input before it.
 *   <li>{@link #fetchOrFail} emits the successes in input order and, at the first failure in input
 *       order, signals {@code onError(FetchException)} and cancels every request behind it.
 *   <li>{@link #fetchOne} emits one result and completes.
 * </ul>
 * Every method is cold: nothing is sent until subscription, and each subscription fetches again.
 * Cancelling a subscription (for example by {@code take(n)}) aborts the requests in flight and closes
 * their connections. Results are emitted on the event-loop thread that completed the last needed
 * response; move blocking work downstream with {@code publishOn}.
 *
 * <h2>Limits</h2>
 * {@code maxInFlight} (C) bounds the requests on the wire per {@code fetch} call; {@code reorderWindow}
 * (W ≥ C) bounds inputs admitted but not yet emitted, so a slow response at the head lets up to W - 1
 * results behind it finish and wait instead of stalling after C; {@code reorderWindowBytes} bounds the
 * bytes those waiting results hold. See {@code docs/architecture.md}.
 *
 * <p>Towards servers, {@link Builder#maxInFlightPerHost}, {@link Builder#maxRequestsPerSecond},
 * {@link Builder#maxRequestsPerSecondPerHost} and {@link Builder#adaptiveRate} (slowing a host down
 * on 429/503 and {@code Retry-After}) are shared by every call on the fetcher; waiting for them
 * never blocks a thread. With a {@link Builder#retry retry policy} a failed attempt may be
 * repeated; the input still yields one result, which counts the attempts and keeps the earlier
 * failures as suppressed exceptions. See {@code docs/reliability.md}.
 *
 * <p>A fetcher is immutable and thread-safe; share one. It owns its connection pool and event loops:
 * {@link #close()} it when done.
 */
public final class Fetcher implements AutoCloseable {

  /** The default {@link Builder#maxInFlight(int)}: 32. */
  public static final int DEFAULT_MAX_IN_FLIGHT = 32;
  /** The default {@link Builder#reorderWindow(int)}: 4096 (raised to maxInFlight when smaller). */
  public static final int DEFAULT_REORDER_WINDOW = 4096;
  /** The default {@link Builder#reorderWindowBytes(long)}: 64 MiB. */
  public static final long DEFAULT_REORDER_WINDOW_BYTES = 64L << 20;
  /** The default {@link Builder#maxBodySize(long)}: 32 MiB. */
  public static final long DEFAULT_MAX_BODY_SIZE = 32L << 20;
  /** The default {@link Builder#connectTimeout(Duration)}: 10 seconds. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /** The default {@link Builder#readTimeout(Duration)}: 30 seconds. */
  public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(30);
  /** The default {@link Builder#requestTimeout(Duration)}: 60 seconds. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);
  /** The default {@link Builder#maxIdleTime(Duration)}: 30 seconds. */
  public static final Duration DEFAULT_MAX_IDLE_TIME = Duration.ofSeconds(30);
  /** The default {@link Builder#maxRedirects(int)}: 10. */
  public static final int DEFAULT_MAX_REDIRECTS = 10;
  /** The default {@code User-Agent}. */
  public static final String DEFAULT_USER_AGENT = "fetchflux/" + Version.VERSION;

  private static final AtomicInteger INSTANCES = new AtomicInteger();
  private static final long RESULT_OVERHEAD_BYTES = 256;

  private final Builder config;
  private final AdmissionMetrics metrics = new AdmissionMetrics();
  private final LongAdder succeeded = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder bodyBytes = new LongAdder();
  private final LongAdder retries = new LongAdder();
  private final Transport transport;
  private final boolean ownsTransport;
  private final RetrySchedule retry;
  private final @Nullable Politeness politeness;

  private Fetcher(Builder b) {
    this.config = b.copy();
    RetryPolicy rp = b.retryPolicy;
    this.retry = new RetrySchedule(rp.maxAttempts(), rp.baseDelay(), rp.maxDelay(),
        rp.retryStatuses(), rp.retryNonIdempotent(), rp.maxRetryTime(), rp.jitter());
    // Waits and their clock come from the same scheduler, looked up on each use: virtual time in
    // tests that install it, System.nanoTime() otherwise (Scheduler.now for sub-millisecond units).
    Politeness p = new Politeness(b.maxInFlightPerHost, b.maxRequestsPerSecond,
        b.maxRequestsPerSecondPerHost, b.adaptiveRate, Schedulers::parallel,
        () -> Schedulers.parallel().now(TimeUnit.NANOSECONDS));
    this.politeness = p.enabled() ? p : null;
    if (b.transport != null) {
      this.transport = b.transport;
      this.ownsTransport = false;
      return;
    }
    Headers defaults = b.headers;
    if (!defaults.contains("User-Agent")) {
      defaults = defaults.with("User-Agent", b.userAgent);
    }
    EngineSettings settings =
        new EngineSettings(
            "fetchflux-" + INSTANCES.incrementAndGet(),
            b.connectTimeout,
            b.readTimeout,
            b.requestTimeout,
            b.maxBodySize,
            b.spillThreshold,
            b.spillDirectory,
            b.followRedirects,
            b.maxRedirects,
            b.allowHttpsToHttpRedirect,
            b.compression,
            defaults,
            Set.copyOf(b.sensitiveHeaders),
            b.protocol,
            b.insecure,
            b.trustManagerFactory,
            b.eventLoopThreads,
            b.proxies,
            List.copyOf(b.resolveRules),
            List.copyOf(b.connectToRules),
            b.effectiveMaxIdleConnections(),
            b.maxIdleTime);
    this.transport = new HttpEngine(settings);
    this.ownsTransport = true;
  }

  /** A builder with every default. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this fetcher's settings, to build a variant (with its own pool). */
  public Builder toBuilder() {
    return config.copy();
  }

  /**
   * Fetches every input and emits one result per input, in input order; failures are values.
   *
   * @param requests {@link CharSequence}, {@link URI} or {@link FetchRequest} elements
   */
  public Flux<FetchResult> fetch(Publisher<?> requests) {
    return merge(requests, 0, true);
  }

  /**
   * Like {@link #fetch(Publisher)}, but the first input is numbered {@code firstIndex} instead of 0:
   * results, failure messages ({@code #firstIndex GET ...}) and {@link FetchException#index()} count
   * from there. For continuing a numbered run where an earlier one stopped (the CLI's
   * {@code --resume}) or fetching one part of a larger input; limits and ordering are unchanged.
   *
   * @param firstIndex the index of the first input, at least 0
   * @throws IllegalArgumentException if {@code firstIndex} is negative
   */
  public Flux<FetchResult> fetch(Publisher<?> requests, long firstIndex) {
    if (firstIndex < 0) {
      throw new IllegalArgumentException("firstIndex < 0: " + firstIndex);
    }
    return merge(requests, firstIndex, true);
  }

  /** Like {@link #fetch} but emits each result as soon as it is ready; each still has its index. */
  public Flux<FetchResult> fetchUnordered(Publisher<?> requests) {
    return merge(requests, 0, false);
  }

  /**
   * Emits the successes in input order and ends with {@code onError(FetchException)} at the first
   * failure in input order, cancelling the requests behind it.
   */
  public Flux<FetchResult.Success> fetchOrFail(Publisher<?> requests) {
    return fetch(requests)
        .handle((result, sink) -> {
          if (result instanceof FetchResult.Success ok) {
            sink.next(ok);
          } else if (result instanceof FetchResult.Failure failed) {
            sink.error(failed.error());
          }
        });
  }

  /**
   * Fetches one request, with the same timeouts, limits and error mapping; emits its result (index 0)
   * and completes. Never signals {@code onError} for a failed request.
   *
   * @param request a {@link CharSequence}, {@link URI} or {@link FetchRequest}
   */
  public Mono<FetchResult> fetchOne(Object request) {
    return one(0, request).doOnDiscard(Object.class, Fetcher::discarded);
  }

  private Flux<FetchResult> merge(Publisher<?> requests, long firstIndex, boolean ordered) {
    Objects.requireNonNull(requests, "requests");
    // The ordering stage counts from 0 for its own bookkeeping; only the results are shifted.
    OrderedAdmission.Mapper<Object, FetchResult> mapper =
        firstIndex == 0 ? this::one : (index, input) -> one(firstIndex + index, input);
    return OrderedAdmission.create(
            requests,
            mapper,
            config.maxInFlight,
            config.effectiveWindow(),
            config.reorderWindowBytes,
            Fetcher::weight,
            ordered,
            metrics)
        // Results the subscriber never gets (waiting behind a cancelled head, finished after the
        // cancel, dropped by an operator in between) have their spilled bodies deleted now.
        .doOnDiscard(Object.class, Fetcher::discarded);
  }

  /** The library's discard hook: {@link Release#discarded}, and this class's own attempt outcomes. */
  private static void discarded(Object element) {
    if (element instanceof Outcome o) {
      Transport.Response r = o.response();
      if (r != null) {
        Release.later(r.body());
      }
    } else {
      Release.discarded(element);
    }
  }

  /**
   * What this fetcher is doing right now, across all its streams, including per-host figures when
   * a per-host limit is set. Cheap enough to call several times a second.
   */
  public FetcherStats stats() {
    Politeness p = politeness;
    return new FetcherStats(metrics.inFlight(), metrics.waiting(), metrics.waitingBytes(),
        metrics.admitted(), metrics.emitted(), succeeded.sum(), failed.sum(), bodyBytes.sum(),
        retries.sum(), p == null ? List.of() : p.hosts());
  }

  private FetchResult count(FetchResult result) {
    if (result instanceof FetchResult.Success ok) {
      succeeded.increment();
      bodyBytes.add(ok.body().size());
    } else {
      failed.increment();
    }
    return result;
  }

  private static long weight(FetchResult result) {
    long weight = RESULT_OVERHEAD_BYTES;
    if (result instanceof FetchResult.Success ok) {
      if (ok.body().isInMemory()) {
        weight += ok.body().size();
      }
      // A success keeps its request, so a waiting POST's body is held too (batches of API calls).
      if (ok.request().body().isInMemory()) {
        weight += ok.request().body().size();
      }
    }
    return weight;
  }

  private Mono<FetchResult> one(long index, Object input) {
    FetchRequest request;
    try {
      request = toRequest(input);
    } catch (IllegalArgumentException e) {
      String text = String.valueOf(input);
      FetchException error = new FetchException(index, text, null, "GET",
          FetchException.Kind.INVALID_REQUEST, 0, 0, String.valueOf(e.getMessage()), e);
      return Mono.fromSupplier(
          () -> count(new FetchResult.Failure(index, text, error, Timings.none())));
    }
    FetchRequest req = request;
    return Mono.defer(() -> new Run(index, req).attempt()).map(this::count);
  }

  /** What one attempt ended with: a response, or an error. */
  private record Outcome(Transport.@Nullable Response response, @Nullable Throwable error) {}

  /**
   * The attempts of one input, run one after another (so its mutable state needs no locking: each
   * step happens-after the previous one through the reactive chain). Each attempt takes its politeness
   * permits, then gets {@code requestTimeout} for the exchange; between attempts it waits on a timer.
   */
  private final class Run {
    private final long index;
    private final FetchRequest req;
    private final List<FetchException> earlier = new ArrayList<>(0);
    private int attempts;
    /** When the first attempt was sent: wall clock, monotonic, and the timer's clock (budget). */
    private Instant startWall = Instant.now();
    private long start = System.nanoTime();
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
      Duration deadline = config.requestTimeout;
      Mono<Transport.Response> exchange =
          Mono.defer(() -> {
                if (attempts == 1) {
                  startWall = Instant.now();
                  start = System.nanoTime();
                  startTimer = timerMillis();
                }
                return exchange(req);
              })
              .timeout(deadline, Mono.error(() -> new TransportException(
                  FetchException.Kind.DEADLINE,
                  "no complete response within " + human(deadline) + " (requestTimeout)", 0, 0,
                  new TimeoutException("requestTimeout " + deadline + " elapsed"))))
              .checkpoint("fetchflux #" + index + " " + req.method() + " " + req.uri());
      Politeness p = politeness;
      if (p == null) {
        return exchange;
      }
      return p.acquire(req.host())
          .flatMap(permit -> {
            Mono<Transport.Response> sent = exchange;
            if (p.adaptive()) {
              sent = sent.doOnNext(r -> permit.responded(r.status(),
                  Politeness.throttles(r.status())
                      ? RetrySchedule.parseRetryAfter(r.headers().first("Retry-After"),
                          r.headers().first("Date"), timerMillis())
                      : null));
            }
            return sent.doFinally(signal -> permit.release());
          });
    }

    private Mono<FetchResult> settle(Outcome o) {
      Duration wait = retry.enabled() ? retryDelay(o) : null;
      if (wait == null) {
        return Mono.just(finish(o));
      }
      earlier.add(attemptError(o));
      retries.increment();
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
        retryAfter = RetrySchedule.parseRetryAfter(
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

    /** An attempt that will be retried, kept as a suppressed exception of the final failure. */
    private FetchException attemptError(Outcome o) {
      Transport.Response r = o.response();
      String suffix = " (attempt " + attempts + ", retried)";
      if (r != null) {
        return new FetchException(index, req.uri().toString(), req.uri(), req.method(),
            FetchException.Kind.HTTP_STATUS, attempts, r.status(), "status " + r.status() + suffix,
            null);
      }
      return failure(Objects.requireNonNull(o.error()), suffix).error();
    }

    private FetchResult finish(Outcome o) {
      Transport.Response r = o.response();
      FetchResult result = r != null ? toResult(r) : failure(Objects.requireNonNull(o.error()), "");
      if (result instanceof FetchResult.Failure f) {
        for (FetchException e : earlier) {
          f.error().addSuppressed(e);
        }
      }
      return result;
    }

    private String attemptsNote() {
      return attempts > 1 ? " (after " + attempts + " attempts)" : "";
    }

    private FetchResult toResult(Transport.Response o) {
      long now = System.nanoTime();
      Timings timings = new Timings(startWall,
          Duration.ofNanos(Math.max(0, o.headersNanos() - start)), Duration.ofNanos(now - start));
      if (config.failOnHttpError && o.status() >= 400) {
        Release.later(o.body());
        FetchException error = new FetchException(index, req.uri().toString(), req.uri(),
            req.method(), FetchException.Kind.HTTP_STATUS, attempts, o.status(),
            o.status() + (o.finalUri().equals(req.uri()) ? "" : " from " + o.finalUri())
                + attemptsNote(),
            null);
        return new FetchResult.Failure(index, req.uri().toString(), error, timings);
      }
      return new FetchResult.Success(index, req, o.finalUri(), o.status(), o.headers(), o.body(),
          timings, attempts, o.redirects());
    }

    private FetchResult.Failure failure(Throwable e, String suffix) {
      long now = System.nanoTime();
      Errors.Classified c = Errors.classify(e);
      Throwable cause = e;
      int status = 0;
      long headersAt = 0;
      if (e instanceof TransportException f) {
        status = f.status();
        headersAt = f.headersNanos();
        if (f.getCause() != null) {
          cause = f.getCause();
        }
      }
      String detail = c.detail() + (suffix.isEmpty() ? attemptsNote() : suffix);
      FetchException error = new FetchException(index, req.uri().toString(), req.uri(),
          req.method(), c.kind(), attempts, status, detail.strip(), cause);
      Timings timings = new Timings(startWall,
          headersAt == 0 ? Duration.ZERO : Duration.ofNanos(Math.max(0, headersAt - start)),
          Duration.ofNanos(now - start));
      return new FetchResult.Failure(index, req.uri().toString(), error, timings);
    }
  }

  /**
   * The transport's exchange of {@code req}, held to its contract: a transport that throws instead
   * of returning a {@code Mono}, returns {@code null} or completes empty would otherwise cost the
   * input its result (and, in the ordering stage, end the whole stream); each becomes an error
   * naming the transport, so the input fails in its place and the rest goes on.
   */
  private Mono<Transport.Response> exchange(FetchRequest req) {
    String name = transport.getClass().getName();
    Mono<Transport.Response> m;
    try {
      m = transport.exchange(req);
    } catch (Throwable t) {
      Exceptions.throwIfJvmFatal(t);
      return Mono.error(new TransportException(FetchException.Kind.OTHER,
          "transport " + name + " threw from exchange: " + t, 0, 0, t));
    }
    if (m == null) {
      return Mono.error(new TransportException(FetchException.Kind.OTHER,
          "transport " + name + " returned null from exchange", 0, 0,
          new NullPointerException(name + ".exchange returned null")));
    }
    return m.switchIfEmpty(Mono.error(() -> new TransportException(FetchException.Kind.OTHER,
        "transport " + name + " completed without a response", 0, 0,
        new java.util.NoSuchElementException(name + ".exchange completed empty"))));
  }

  /** The clock of the scheduler that runs retry waits (virtual in tests that install virtual time). */
  private static long timerMillis() {
    return Schedulers.parallel().now(TimeUnit.MILLISECONDS);
  }

  private static String human(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + " s" : ms + " ms";
  }

  private static FetchRequest toRequest(Object input) {
    if (input instanceof FetchRequest r) {
      return r;
    }
    if (input instanceof URI u) {
      return FetchRequest.get(u);
    }
    if (input instanceof CharSequence s) {
      return FetchRequest.get(s.toString());
    }
    throw new IllegalArgumentException(
        "unsupported request type " + input.getClass().getName()
            + " (expected CharSequence, URI or FetchRequest)");
  }

  /**
   * Releases the connection pool and the event loops, waiting up to 10 seconds. Blocking: do not call
   * it on an event loop; use {@link #closeLater()} there. An interrupt does not cut it short (a
   * half-closed fetcher would keep its connections open): the release finishes, and the thread's
   * interrupt flag is set again on return.
   *
   * @throws IllegalStateException if the release did not finish within 10 seconds
   */
  @Override
  public void close() {
    java.util.concurrent.CompletableFuture<Void> done = closeLater().toFuture();
    boolean interrupted = Thread.interrupted();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    try {
      for (;;) {
        try {
          done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
          return;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (java.util.concurrent.ExecutionException e) {
          throw Exceptions.propagate(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
          throw new IllegalStateException("fetcher not closed within 10 s", e);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Releases the pool and event loops when subscribed, without blocking. A transport handed to
   * {@link Builder#transport(Transport)} is not closed: its owner closes it.
   */
  public Mono<Void> closeLater() {
    return ownsTransport ? transport.closeLater() : Mono.empty();
  }

  /**
   * Configures a {@link Fetcher}. Every setting has a stated default; {@link #build()} checks the
   * settings together and names the offending option.
   */
  public static final class Builder {
    private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;
    private int reorderWindow = -1;
    private long reorderWindowBytes = DEFAULT_REORDER_WINDOW_BYTES;
    private long maxBodySize = DEFAULT_MAX_BODY_SIZE;
    private long spillThreshold = Long.MAX_VALUE;
    private Path spillDirectory = Path.of(System.getProperty("java.io.tmpdir"));
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration readTimeout = DEFAULT_READ_TIMEOUT;
    private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
    private boolean followRedirects = true;
    private int maxRedirects = DEFAULT_MAX_REDIRECTS;
    private boolean allowHttpsToHttpRedirect;
    private boolean compression = true;
    private boolean failOnHttpError;
    private Headers headers = Headers.empty();
    private String userAgent = DEFAULT_USER_AGENT;
    private Set<String> sensitiveHeaders = new LinkedHashSet<>();
    private HttpProtocol protocol = HttpProtocol.HTTP_1_1;
    private boolean insecure;
    private @Nullable TrustManagerFactory trustManagerFactory;
    private int eventLoopThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
    private @Nullable Transport transport;
    private RetryPolicy retryPolicy = RetryPolicy.none();
    private int maxInFlightPerHost;
    private double maxRequestsPerSecond;
    private double maxRequestsPerSecondPerHost;
    private AdaptiveRate adaptiveRate = AdaptiveRate.off();

    private Builder() {}

    private Builder copy() {
      Builder b = new Builder();
      b.maxInFlight = maxInFlight;
      b.reorderWindow = reorderWindow;
      b.reorderWindowBytes = reorderWindowBytes;
      b.maxBodySize = maxBodySize;
      b.spillThreshold = spillThreshold;
      b.spillDirectory = spillDirectory;
      b.connectTimeout = connectTimeout;
      b.readTimeout = readTimeout;
      b.requestTimeout = requestTimeout;
      b.followRedirects = followRedirects;
      b.maxRedirects = maxRedirects;
      b.allowHttpsToHttpRedirect = allowHttpsToHttpRedirect;
      b.compression = compression;
      b.failOnHttpError = failOnHttpError;
      b.headers = headers;
      b.userAgent = userAgent;
      b.sensitiveHeaders = new LinkedHashSet<>(sensitiveHeaders);
      b.protocol = protocol;
      b.insecure = insecure;
      b.trustManagerFactory = trustManagerFactory;
      b.eventLoopThreads = eventLoopThreads;
      b.transport = transport;
      b.retryPolicy = retryPolicy;
      b.maxInFlightPerHost = maxInFlightPerHost;
      b.maxRequestsPerSecond = maxRequestsPerSecond;
      b.maxRequestsPerSecondPerHost = maxRequestsPerSecondPerHost;
      b.adaptiveRate = adaptiveRate;
      b.proxies = proxies;
      b.resolveRules = new ArrayList<>(resolveRules);
      b.connectToRules = new ArrayList<>(connectToRules);
      b.maxIdleConnections = maxIdleConnections;
      b.maxIdleTime = maxIdleTime;
      return b;
    }

    int effectiveWindow() {
      return reorderWindow < 0 ? Math.max(DEFAULT_REORDER_WINDOW, maxInFlight) : reorderWindow;
    }

    /**
     * Requests on the wire at once per {@code fetch} call (C). Default
     * {@value #DEFAULT_MAX_IN_FLIGHT}. The connection pool has no limit of its own per host, so
     * concurrent calls never wait for each other's connections; {@link #maxInFlightPerHost} bounds
     * what one host gets across calls.
     */
    public Builder maxInFlight(int maxInFlight) {
      if (maxInFlight < 1) {
        throw new IllegalArgumentException("maxInFlight < 1: " + maxInFlight);
      }
      this.maxInFlight = maxInFlight;
      return this;
    }

    /**
     * Inputs admitted and not yet emitted (W), in flight or finished and waiting for the head. Must be
     * at least {@code maxInFlight}. Default {@value #DEFAULT_REORDER_WINDOW}, or maxInFlight if larger.
     */
    public Builder reorderWindow(int reorderWindow) {
      if (reorderWindow < 1) {
        throw new IllegalArgumentException("reorderWindow < 1: " + reorderWindow);
      }
      this.reorderWindow = reorderWindow;
      return this;
    }

    /**
     * Bytes that finished results may hold while they wait for the head; past it no new request starts
     * until the head moves. Default 64 MiB.
     */
    public Builder reorderWindowBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("reorderWindowBytes < 0: " + bytes);
      }
      this.reorderWindowBytes = bytes;
      return this;
    }

    /**
     * The largest body accepted, counted after decompression; a larger one is a
     * {@link FetchException.Kind#BODY_TOO_LARGE} failure for that input. Default 32 MiB.
     */
    public Builder maxBodySize(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("maxBodySize < 0: " + bytes);
      }
      if (bytes > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("maxBodySize > " + (Integer.MAX_VALUE - 8) + ": " + bytes);
      }
      this.maxBodySize = bytes;
      return this;
    }

    /**
     * Bodies larger than this many bytes are kept in a temporary file instead of memory (see
     * {@link Body#release()}); the file is written without blocking event loops. Spilled bodies do not
     * count against {@link #reorderWindowBytes}, which bounds memory. Default: never spill.
     */
    public Builder spillThreshold(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("spillThreshold < 0: " + bytes);
      }
      this.spillThreshold = bytes;
      return this;
    }

    /** Where spilled bodies go. Default: {@code java.io.tmpdir}. */
    public Builder spillDirectory(Path directory) {
      this.spillDirectory = Objects.requireNonNull(directory, "spillDirectory");
      return this;
    }

    /** Time allowed for the TCP connect. Default 10 seconds. */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Checks.positive("connectTimeout", timeout);
      return this;
    }

    /**
     * Longest silence while waiting for response bytes (an idle timeout, reset by every read). Default
     * 30 seconds. A body dribbled in byte by byte never trips it; {@link #requestTimeout} does.
     */
    public Builder readTimeout(Duration timeout) {
      this.readTimeout = Checks.positive("readTimeout", timeout);
      return this;
    }

    /**
     * Total deadline for one attempt, from sending the request to the last byte read, across
     * redirects; past it the attempt fails with {@link FetchException.Kind#DEADLINE}, however slowly
     * bytes keep arriving. Default 60 seconds.
     *
     * <p>With {@link #retry retries}, each attempt has its own deadline (a timed-out attempt is not
     * retried); {@link RetryPolicy.Builder#maxRetryTime} bounds when the last attempt may start. Time
     * spent waiting for a {@link #maxInFlightPerHost per-host} or {@link #maxRequestsPerSecond rate}
     * permit does not count: the clock starts when the request is sent. No request waits for a
     * pooled connection (the pool has no limit per host), so concurrent {@code fetch} calls on one
     * host cannot use up each other's deadlines.
     */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = Checks.positive("requestTimeout", timeout);
      return this;
    }

    /** Whether to follow redirects (301, 302, 303, 307, 308). Default {@code true}. */
    public Builder followRedirects(boolean follow) {
      this.followRedirects = follow;
      return this;
    }

    /** Redirects followed before {@link FetchException.Kind#TOO_MANY_REDIRECTS}. Default 10. */
    public Builder maxRedirects(int max) {
      if (max < 0) {
        throw new IllegalArgumentException("maxRedirects < 0: " + max);
      }
      this.maxRedirects = max;
      return this;
    }

    /** Whether a redirect may go from https to http. Default {@code false}. */
    public Builder allowHttpsToHttpRedirect(boolean allow) {
      this.allowHttpsToHttpRedirect = allow;
      return this;
    }

    /**
     * Whether to ask for gzip/deflate and decode it; the body limit counts decoded bytes. Default
     * {@code true}.
     */
    public Builder compression(boolean compression) {
      this.compression = compression;
      return this;
    }

    /** Whether a status of 400 or more is a {@link FetchException.Kind#HTTP_STATUS} failure. Default off. */
    public Builder failOnHttpError(boolean fail) {
      this.failOnHttpError = fail;
      return this;
    }

    /**
     * Adds a header sent with every request (a request's own header of the same name wins).
     *
     * @throws IllegalArgumentException if the name is not a token or the value has CR, LF or other
     *     control characters
     */
    public Builder header(String name, String value) {
      this.headers = headers.with(name, value);
      return this;
    }

    /** The {@code User-Agent} header. Default {@code fetchflux/<version>}. */
    public Builder userAgent(String userAgent) {
      Headers.validateValue("User-Agent", userAgent);
      this.userAgent = userAgent;
      return this;
    }

    /**
     * Marks a header as secret: like {@code Authorization}, {@code Cookie} and
     * {@code Proxy-Authorization} (always stripped), it is not sent after a redirect to another origin.
     */
    public Builder sensitiveHeader(String name) {
      Headers.validateName(name);
      this.sensitiveHeaders.add(name);
      return this;
    }

    /** HTTP/1.1 (default) or HTTP/2 over TLS with ALPN. */
    public Builder protocol(HttpProtocol protocol) {
      this.protocol = Objects.requireNonNull(protocol, "protocol");
      return this;
    }

    /** Turns TLS certificate and host name verification off (like curl's {@code -k}). Default off. */
    public Builder insecure(boolean insecure) {
      this.insecure = insecure;
      return this;
    }

    /** Trust these certificates (for example a private CA) instead of the JDK's defaults. */
    public Builder trustManagerFactory(TrustManagerFactory factory) {
      this.trustManagerFactory = Objects.requireNonNull(factory, "trustManagerFactory");
      return this;
    }

    /** Event-loop threads this fetcher owns. Default: the number of processors. */
    public Builder eventLoopThreads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("eventLoopThreads < 1: " + threads);
      }
      this.eventLoopThreads = threads;
      return this;
    }

    /**
     * How failed attempts are repeated: which failures, how many times, how long to wait. Default
     * {@link RetryPolicy#none()}, one attempt per input. See {@link RetryPolicy} for what is retried.
     */
    public Builder retry(RetryPolicy policy) {
      this.retryPolicy = Objects.requireNonNull(policy, "retry");
      return this;
    }

    /**
     * Requests in flight to one host (by host name, any port) at once. Unlike {@link #maxInFlight},
     * which is per {@code fetch} call, this limit is shared by every call on this fetcher, because it
     * protects the server. A request waiting for its host's turn holds one of the call's
     * {@code maxInFlight} slots without a connection. Default: no per-host limit.
     */
    public Builder maxInFlightPerHost(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("maxInFlightPerHost < 1: " + max);
      }
      this.maxInFlightPerHost = max;
      return this;
    }

    /**
     * Requests sent per second across all hosts, spaced evenly ({@code 1/rate} apart, no bursts);
     * every attempt counts, redirects followed inside an attempt do not. Shared by every
     * {@code fetch} call on this fetcher. Waiting uses timers, never a parked thread. Default: no
     * limit.
     */
    public Builder maxRequestsPerSecond(double rate) {
      this.maxRequestsPerSecond = rate("maxRequestsPerSecond", rate);
      return this;
    }

    /**
     * Requests sent per second to each host, spaced evenly; otherwise like
     * {@link #maxRequestsPerSecond}. Default: no limit.
     */
    public Builder maxRequestsPerSecondPerHost(double rate) {
      this.maxRequestsPerSecondPerHost = rate("maxRequestsPerSecondPerHost", rate);
      return this;
    }

    /**
     * Slows a host down when it answers 429 or 503, pausing it for its {@code Retry-After}, and
     * speeds it back up as it succeeds again (additive increase, multiplicative decrease); see
     * {@link AdaptiveRate}. Like the other per-host limits it is shared by every {@code fetch} call
     * on this fetcher, and a {@link #maxRequestsPerSecondPerHost per-host rate} is its ceiling.
     * Combine it with {@link #retry retries} so the throttled requests themselves are repeated.
     * Default {@link AdaptiveRate#off()}.
     */
    public Builder adaptiveRate(AdaptiveRate policy) {
      this.adaptiveRate = Objects.requireNonNull(policy, "adaptiveRate");
      return this;
    }

    private static double rate(String name, double rate) {
      if (!(rate > 0) || Double.isInfinite(rate)) {
        throw new IllegalArgumentException(name + " must be a positive finite number: " + rate);
      }
      return rate;
    }

    /**
     * Exchanges requests through {@code transport} instead of the built-in reactor-netty engine; the
     * ordering, limits, retries, politeness limits, {@link #requestTimeout total deadline},
     * {@link #failOnHttpError} and error mapping still apply, while the transport settings (connect
     * and read timeouts, redirects, TLS, compression, body size, headers, proxies, resolve rules)
     * are the transport's business. The fetcher does not close it. Used by
     * {@code dev.fetchflux.testing.StubFetcher}.
     */
    public Builder transport(Transport transport) {
      this.transport = Objects.requireNonNull(transport, "transport");
      return this;
    }

    /**
     * Builds the fetcher, which owns a new connection pool and event loops.
     *
     * @throws IllegalArgumentException if reorderWindow &lt; maxInFlight, or insecure is combined with
     *     a trust manager factory
     */
    public Fetcher build() {
      if (reorderWindow >= 0 && reorderWindow < maxInFlight) {
        throw new IllegalArgumentException(
            "reorderWindow (" + reorderWindow + ") must be >= maxInFlight (" + maxInFlight + ")");
      }
      if (insecure && trustManagerFactory != null) {
        throw new IllegalArgumentException("insecure and trustManagerFactory exclude each other");
      }
      return new Fetcher(this);
    }

    // Proxies and resolve overrides (docs/library.md, "Proxies and resolve overrides").

    private ProxySettings proxies = ProxySettings.direct();
    private List<ResolveRule> resolveRules = new ArrayList<>();
    private List<ConnectToRule> connectToRules = new ArrayList<>();

    /**
     * Which proxy each request goes through, by URL scheme, with hosts that go direct. Default
     * {@link ProxySettings#direct()}: no proxy, and no environment variable is read. For curl's
     * behaviour pass {@code ProxySettings.fromEnvironment(System.getenv())}. Replaces an earlier
     * {@code proxy(...)} call.
     */
    public Builder proxy(ProxySettings proxies) {
      this.proxies = Objects.requireNonNull(proxies, "proxies");
      return this;
    }

    /**
     * Sends every request through {@code proxy} (curl's {@code -x}), with no exceptions; the same as
     * {@code proxy(ProxySettings.of(proxy))}. Default: no proxy.
     */
    public Builder proxy(Proxy proxy) {
      return proxy(ProxySettings.of(proxy));
    }

    /**
     * Adds a fixed address for a host and port (curl's {@code --resolve}): connections to it go to
     * the rule's addresses; {@code Host} and TLS SNI stay the URL's. Repeatable; a later rule for the
     * same host and port replaces an earlier one. Default: none, DNS decides.
     */
    public Builder resolve(ResolveRule rule) {
      this.resolveRules.add(Objects.requireNonNull(rule, "rule"));
      return this;
    }

    /**
     * Adds a connection redirect (curl's {@code --connect-to}): requests to the rule's host and port
     * connect to its target instead; {@code Host} and TLS SNI stay the URL's. Repeatable; the first
     * matching rule wins. Default: none.
     */
    public Builder connectTo(ConnectToRule rule) {
      this.connectToRules.add(Objects.requireNonNull(rule, "rule"));
      return this;
    }

    // Connections kept open between requests (docs/architecture.md, "The transport").

    private int maxIdleConnections = -1;
    private Duration maxIdleTime = DEFAULT_MAX_IDLE_TIME;

    /**
     * Idle keep-alive connections kept open across all hosts; past it the least recently used one
     * is closed. Default: 4 × {@link #maxInFlight} (128 with the defaults), as curl keeps 4 times
     * its parallel transfers: room for the connections of a few calls on a handful of hosts, while a
     * crawl over many hosts holds about {@code maxInFlight} connections plus this cache instead of
     * one per host it ever touched. 0 closes every connection after its response.
     *
     * <p>If the process runs out of descriptors ("Too many open files") when a new connection is
     * opened, the least recently used half of the idle connections is closed, the connection tried
     * again, and the cap lowered to what remains; see {@code docs/reliability.md}.
     */
    public Builder maxIdleConnections(int max) {
      if (max < 0) {
        throw new IllegalArgumentException("maxIdleConnections < 0: " + max);
      }
      this.maxIdleConnections = max;
      return this;
    }

    /**
     * How long a keep-alive connection may stay idle before it is closed. Default 30 seconds.
     * Servers close idle connections too (often after 5 to 75 seconds); a request that meets one
     * closed before it was sent is retried on another connection by reactor-netty.
     */
    public Builder maxIdleTime(Duration maxIdleTime) {
      this.maxIdleTime = Checks.positive("maxIdleTime", maxIdleTime);
      return this;
    }

    int effectiveMaxIdleConnections() {
      return maxIdleConnections >= 0 ? maxIdleConnections
          : (int) Math.min(Integer.MAX_VALUE, 4L * maxInFlight);
    }
  }
}
