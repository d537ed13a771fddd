package dev.fetchflux;

import dev.fetchflux.internal.Attempts;
import dev.fetchflux.internal.ByteBudget;
import dev.fetchflux.internal.FetchCounters;
import dev.fetchflux.internal.FetcherConfig;
import dev.fetchflux.internal.HandlerScope;
import dev.fetchflux.internal.Hold;
import dev.fetchflux.internal.HttpEngine;
import dev.fetchflux.internal.OrderedAdmission;
import dev.fetchflux.internal.RetrySchedule;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

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
 * URLs as text ({@link #fetch(Publisher)}: any {@code Publisher<? extends CharSequence>}, such as a
 * {@code Flux<String>}), requests ({@link #fetchRequests}), or anything else with a function that
 * makes it a request ({@link #fetch(Publisher, Function)}; for {@link java.net.URI}s,
 * {@code fetch(uris, FetchRequest::get)}). A URL that is not an absolute http(s) URL, or an input
 * the function refuses (it throws or returns {@code null}), becomes a {@link FetchResult.Failure} of
 * kind {@link FetchException.Kind#INVALID_REQUEST} at its index; it neither stops the stream nor is
 * skipped. Input is pulled lazily: at most {@link FetcherBuilder#reorderWindow(int) reorderWindow}
 * inputs are admitted ahead of the output, so a source of a million URLs is fine.
 *
 * <h2>Signals</h2>
 * <ul>
 *   <li>{@code fetch}, {@code fetchRequests} and {@code fetchUnordered} emit exactly one
 *       {@link FetchResult} per input and never signal {@code onError} for a failed request;
 *       {@code onError} comes only from the input publisher's own error, after the results of every
 *       input before it.
 *   <li>{@code fetchOrFail} emits the successes in input order and, at the first failure in input
 *       order, signals {@code onError(FetchException)} and cancels every request behind it.
 *   <li>{@code fetchOne} emits one result and completes.
 * </ul>
 * Every method is cold: nothing is sent until subscription, and each subscription fetches again.
 * Cancelling a subscription (for example by {@code take(n)}) aborts the requests in flight, closes
 * their connections and deletes the spilled bodies of results it never delivered. Results are emitted
 * on the event-loop thread that completed the last needed response; move blocking work downstream
 * with {@code publishOn}.
 *
 * <h2>Limits</h2>
 * {@code maxInFlight} (C) bounds the requests on the wire per {@code fetch} call; {@code reorderWindow}
 * (W ≥ C) bounds inputs admitted but not yet emitted, so a slow response at the head lets up to W - 1
 * results behind it finish and wait instead of stalling after C; {@code reorderWindowBytes} bounds the
 * bytes those waiting results hold. See {@code docs/architecture.md}.
 *
 * <p>Towards servers, {@link FetcherBuilder#maxInFlightPerHost},
 * {@link FetcherBuilder#maxRequestsPerSecond}, {@link FetcherBuilder#maxRequestsPerSecondPerHost} and
 * {@link FetcherBuilder#adaptiveRate} (slowing a host down on 429/503 and {@code Retry-After}) are
 * shared by every call on the fetcher; waiting for them never blocks a thread. With a
 * {@link FetcherBuilder#retry retry policy} a failed attempt may be repeated; the input still yields
 * one result, which counts the attempts and keeps the earlier failures as suppressed exceptions. See
 * {@code docs/reliability.md}.
 *
 * <p>A fetcher is immutable and thread-safe; share one. It owns its connection pool and event loops:
 * {@link #close()} it when done.
 */
public final class Fetcher implements AutoCloseable {

  /** The default {@link FetcherBuilder#maxInFlight(int)}: 32. */
  public static final int DEFAULT_MAX_IN_FLIGHT = 32;

  /** The default {@link FetcherBuilder#reorderWindow(int)}: 4096 (maxInFlight when larger). */
  public static final int DEFAULT_REORDER_WINDOW = FetcherConfig.DEFAULT_REORDER_WINDOW;

  /**
   * The default {@link FetcherBuilder#reorderWindowBytes(long)}: 64 MiB, or an eighth of the JVM's
   * maximum heap if that is less.
   */
  public static final long DEFAULT_REORDER_WINDOW_BYTES =
      FetcherConfig.DEFAULT_REORDER_WINDOW_BYTES;

  /** The default {@link FetcherBuilder#maxBodySize(long)}: 32 MiB. */
  public static final long DEFAULT_MAX_BODY_SIZE = 32L << 20;

  /** The default {@link FetcherBuilder#connectTimeout(Duration)}: 10 seconds. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /** The default {@link FetcherBuilder#readTimeout(Duration)}: 30 seconds. */
  public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(30);

  /** The default {@link FetcherBuilder#requestTimeout(Duration)}: 60 seconds. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);

  /** The default {@link FetcherBuilder#maxIdleTime(Duration)}: 30 seconds. */
  public static final Duration DEFAULT_MAX_IDLE_TIME = Duration.ofSeconds(30);

  /** The default {@link FetcherBuilder#maxRedirects(int)}: 10. */
  public static final int DEFAULT_MAX_REDIRECTS = 10;

  /** The default {@code User-Agent}. */
  public static final String DEFAULT_USER_AGENT = "fetchflux/" + Version.VERSION;

  private static final AtomicInteger INSTANCES = new AtomicInteger();

  /** How long a body waiting behind the head, past its memory, stops reading before it spills. */
  private static final Duration PAUSE_BEFORE_SPILL = Duration.ofSeconds(1);

  /** Streamed results made ahead of their handler's turn (their bodies held meanwhile). */
  private static final int HANDLER_PREFETCH = 32;

  /** What a waiting result weighs besides its body, for {@code reorderWindowBytes}. */
  private static final long RESULT_OVERHEAD_BYTES = 256;

  private static final Function<CharSequence, FetchRequest> URL =
      s -> FetchRequest.get(s.toString());

  private final FetcherConfig config;
  private final FetchCounters counters = new FetchCounters();
  private final Transport transport;
  private final boolean ownsTransport;
  private final Attempts attempts;

  /** Memory for the bodies this fetcher receives whole ({@code maxBodyMemory}), shared. */
  private final ByteBudget bodyMemory;

  Fetcher(FetcherConfig config) {
    this.config = config;
    this.bodyMemory = new ByteBudget(config.effectiveMaxBodyMemory());
    Transport t = config.transport();
    this.ownsTransport = t == null;
    this.transport =
        t != null
            ? t
            : new HttpEngine("fetchflux-" + INSTANCES.incrementAndGet(), config, bodyMemory);
    RetryPolicy rp = config.retryPolicy();
    this.attempts =
        new Attempts(
            config,
            transport,
            new RetrySchedule(
                rp.maxAttempts(),
                rp.baseDelay(),
                rp.maxDelay(),
                rp.retryStatuses(),
                rp.retryNonIdempotent(),
                rp.maxRetryTime(),
                rp.jitter()),
            counters);
  }

  /** A builder with every default. */
  public static FetcherBuilder builder() {
    return new FetcherBuilder();
  }

  /** A builder holding this fetcher's settings, to build a variant (with its own pool). */
  public FetcherBuilder toBuilder() {
    return FetcherBuilder.from(config);
  }

  /** Fetches every URL; emits one result per URL, in input order; failures are values. */
  public Flux<FetchResult> fetch(Publisher<? extends CharSequence> urls) {
    return merge(urls, URL, 0, true);
  }

  /**
   * Fetches the request {@code toRequest} makes of each input; emits one result per input, in input
   * order. An input {@code toRequest} refuses (an exception, or {@code null}) is an
   * {@link FetchException.Kind#INVALID_REQUEST} failure at its index, with that exception as its
   * cause. For example {@code fetch(uris, FetchRequest::get)} for a {@code Flux<URI>}.
   */
  public <T> Flux<FetchResult> fetch(
      Publisher<T> inputs, Function<? super T, FetchRequest> toRequest) {
    return merge(inputs, toRequest, 0, true);
  }

  /**
   * Like {@link #fetch(Publisher, Function)}, but the first input is numbered {@code firstIndex}
   * instead of 0: results, failure messages ({@code #firstIndex GET ...}) and
   * {@link FetchException#index()} count from there. For continuing a numbered run where an earlier
   * one stopped (the CLI's {@code --resume}) or fetching one part of a larger input; limits and
   * ordering are unchanged.
   *
   * @param firstIndex the index of the first input, at least 0
   * @throws IllegalArgumentException if {@code firstIndex} is negative
   */
  public <T> Flux<FetchResult> fetch(
      Publisher<T> inputs, Function<? super T, FetchRequest> toRequest, long firstIndex) {
    if (firstIndex < 0) {
      throw new IllegalArgumentException("firstIndex < 0: " + firstIndex);
    }
    return merge(inputs, toRequest, firstIndex, true);
  }

  /** Fetches every request (method, headers, body); emits one result per request, in order. */
  public Flux<FetchResult> fetchRequests(Publisher<? extends FetchRequest> requests) {
    return merge(requests, Function.identity(), 0, true);
  }

  /** Like {@link #fetch(Publisher)} but emits each result as soon as it is ready, with its index. */
  public Flux<FetchResult> fetchUnordered(Publisher<? extends CharSequence> urls) {
    return merge(urls, URL, 0, false);
  }

  /** Like {@link #fetch(Publisher, Function)} but emits each result as soon as it is ready. */
  public <T> Flux<FetchResult> fetchUnordered(
      Publisher<T> inputs, Function<? super T, FetchRequest> toRequest) {
    return merge(inputs, toRequest, 0, false);
  }

  /**
   * Emits the successes in input order and ends with {@code onError(FetchException)} at the first
   * failure in input order, cancelling the requests behind it.
   */
  public Flux<FetchResult.Success> fetchOrFail(Publisher<? extends CharSequence> urls) {
    return orFail(fetch(urls));
  }

  /** Like {@link #fetchOrFail(Publisher)}, for inputs {@code toRequest} makes requests of. */
  public <T> Flux<FetchResult.Success> fetchOrFail(
      Publisher<T> inputs, Function<? super T, FetchRequest> toRequest) {
    return orFail(fetch(inputs, toRequest));
  }

  /**
   * Fetches one URL, with the same timeouts, limits and error mapping; emits its result (index 0)
   * and completes. Never signals {@code onError} for a failed request.
   */
  public Mono<FetchResult> fetchOne(CharSequence url) {
    return fetchOne(url, 0);
  }

  /** Like {@link #fetchOne(CharSequence)}, the result and its failure numbered {@code index}. */
  public Mono<FetchResult> fetchOne(CharSequence url, long index) {
    return one(attempts.fetch(index, url, URL));
  }

  /** Fetches one request; emits its result (index 0) and completes. */
  public Mono<FetchResult> fetchOne(FetchRequest request) {
    return fetchOne(request, 0);
  }

  /** Like {@link #fetchOne(FetchRequest)}, the result and its failure numbered {@code index}. */
  public Mono<FetchResult> fetchOne(FetchRequest request, long index) {
    Objects.requireNonNull(request, "request");
    return one(attempts.fetch(index, request));
  }

  /**
   * Fetches every URL and streams the bodies in input order: {@code handler} gets each input's
   * {@link StreamedResult} as soon as its headers are in and every earlier handler's publisher has
   * ended, reads the body from there as it arrives, and returns a publisher of what it made of it;
   * their elements, in input order, are the returned {@code Flux}.
   *
   * <pre>{@code
   * fetcher.fetchStreaming(urls, r -> {
   *       if (r instanceof StreamedResult.Success ok) {
   *         return Mono.fromCallable(() -> ok.body().transferTo(out))   // blocking writes
   *             .subscribeOn(Schedulers.boundedElastic())
   *             .map(bytes -> ok.index() + ": " + bytes + " bytes")
   *             .onErrorResume(FetchException.class, e -> Mono.just(e.getMessage()));
   *       }
   *       return Mono.just(((FetchResult.Failure) r).error().getMessage());
   *     })
   *     .subscribe(System.err::println);
   * }</pre>
   *
   * <h4>The body belongs to the handler's publisher</h4>
   * The body of result <i>i</i> ({@link BodyStream}) is read while the publisher that {@code handler}
   * returned for it runs; when that publisher ends (completes, fails or is cancelled), a body not read
   * to its end is discarded (its connection closed, what was held for it released), and the handler of
   * <i>i + 1</i> is called. So bodies are read one at a time, in input order, and none can be
   * forgotten or outlive its turn. Read it inside the publisher, and do not block in the handler
   * itself (it runs on an event loop or on the thread that ended the previous publisher).
   *
   * <h4>Where bodies wait</h4>
   * The head's body streams from its connection at the pace its reader sets: back-pressure reaches
   * the socket. A body whose turn has not come is held: in memory, up to {@code reorderWindowBytes}
   * for all of them together ({@code spillThreshold} applies only to {@code toBody()}, which collects
   * a body whole as the other modes do); past that it stops reading while
   * the bodies being read move on (up to 20 seconds), and once the reader stalls for a second, or
   * after the 20 seconds, it goes on into a temporary file in {@code spillDirectory}, so its server
   * is not left waiting. Requests in flight ({@code
   * maxInFlight}) count until their body has been received, so connections and per-host limits hold
   * as in the other modes.
   *
   * <h4>Signals</h4>
   * Exactly one result per input reaches the handler: a {@link StreamedResult.Success} or a {@link
   * FetchResult.Failure}, never an error for a failed request. A body that fails on its way ends with
   * {@code onError(FetchException)} at its index, inside the handler's publisher: the handler decides
   * whether that ends the stream (let the error through) or not (turn it into a value). The returned
   * {@code Flux} fails only with an error of a handler's publisher, or of {@code urls} (after the
   * results before it). Cancelling it cancels the running handler's publisher and every request,
   * and releases every body held.
   *
   * @param handler called once per input, in input order, one at a time
   */
  public <R> Flux<R> fetchStreaming(
      Publisher<? extends CharSequence> urls,
      Function<? super StreamedResult, ? extends Publisher<? extends R>> handler) {
    return streaming(urls, URL, 0, handler);
  }

  /**
   * Like {@link #fetchStreaming(Publisher, Function)}, for inputs {@code toRequest} makes requests
   * of (an input it refuses is a {@link FetchException.Kind#INVALID_REQUEST} failure at its index).
   */
  public <T, R> Flux<R> fetchStreaming(
      Publisher<T> inputs,
      Function<? super T, FetchRequest> toRequest,
      Function<? super StreamedResult, ? extends Publisher<? extends R>> handler) {
    return streaming(inputs, toRequest, 0, handler);
  }

  /**
   * Like {@link #fetchStreaming(Publisher, Function, Function)}, the first input numbered {@code
   * firstIndex} (see {@link #fetch(Publisher, Function, long)}).
   *
   * @throws IllegalArgumentException if {@code firstIndex} is negative
   */
  public <T, R> Flux<R> fetchStreaming(
      Publisher<T> inputs,
      Function<? super T, FetchRequest> toRequest,
      long firstIndex,
      Function<? super StreamedResult, ? extends Publisher<? extends R>> handler) {
    if (firstIndex < 0) {
      throw new IllegalArgumentException("firstIndex < 0: " + firstIndex);
    }
    return streaming(inputs, toRequest, firstIndex, handler);
  }

  private <T, R> Flux<R> streaming(
      Publisher<T> inputs,
      Function<? super T, FetchRequest> toRequest,
      long firstIndex,
      Function<? super StreamedResult, ? extends Publisher<? extends R>> handler) {
    Objects.requireNonNull(inputs, "inputs");
    Objects.requireNonNull(toRequest, "toRequest");
    Objects.requireNonNull(handler, "handler");
    return Flux.defer(
            () -> {
              // Each subscription holds its waiting bodies within its own budget.
              Hold hold =
                  new Hold(
                      config.effectiveReorderWindowBytes(),
                      config.effectiveReorderWindowBytes(),
                      config.spillThreshold(),
                      config.spillDirectory(),
                      PAUSE_BEFORE_SPILL,
                      bodyMemory);
              OrderedAdmission.Mapper<T, StreamedResult> mapper =
                  (index, input) ->
                      attempts.fetchStreaming(firstIndex + index, input, toRequest, hold);
              return OrderedAdmission.create(
                      inputs,
                      mapper,
                      config.maxInFlight(),
                      config.effectiveReorderWindow(),
                      config.effectiveReorderWindowBytes(),
                      r -> RESULT_OVERHEAD_BYTES,
                      true,
                      counters.admission(),
                      HandlerScope::whenReceived)
                  .concatMap(r -> HandlerScope.run(r, handler), HANDLER_PREFETCH);
            })
        // Results no handler got (behind a cancel, or dropped by an operator) have their bodies
        // discarded: connections closed, held buffers and files released.
        .doOnDiscard(Object.class, Attempts::discarded);
  }

  private static Mono<FetchResult> one(Mono<FetchResult> result) {
    return result.doOnDiscard(Object.class, Attempts::discarded);
  }

  private static Flux<FetchResult.Success> orFail(Flux<FetchResult> results) {
    return results.handle(
        (result, sink) -> {
          if (result instanceof FetchResult.Success ok) {
            sink.next(ok);
          } else if (result instanceof FetchResult.Failure failed) {
            sink.error(failed.error());
          }
        });
  }

  private <T> Flux<FetchResult> merge(
      Publisher<T> inputs,
      Function<? super T, FetchRequest> toRequest,
      long firstIndex,
      boolean ordered) {
    Objects.requireNonNull(inputs, "inputs");
    Objects.requireNonNull(toRequest, "toRequest");
    // The ordering stage counts from 0 for its own bookkeeping; only the results are shifted.
    OrderedAdmission.Mapper<T, FetchResult> mapper =
        (index, input) -> attempts.fetch(firstIndex + index, input, toRequest);
    return OrderedAdmission.create(
            inputs,
            mapper,
            config.maxInFlight(),
            config.effectiveReorderWindow(),
            config.effectiveReorderWindowBytes(),
            Fetcher::weight,
            ordered,
            counters.admission())
        // Results the subscriber never gets (waiting behind a cancelled head, finished after the
        // cancel, dropped by an operator in between) have their spilled bodies deleted now.
        .doOnDiscard(Object.class, Attempts::discarded);
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

  /**
   * What this fetcher is doing right now, across all its streams, including per-host figures when
   * a per-host limit is set. Cheap enough to call several times a second.
   */
  public FetcherStats stats() {
    return counters.stats(attempts.politeness());
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
    CompletableFuture<Void> done = closeLater().toFuture();
    boolean interrupted = Thread.interrupted();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    try {
      for (; ; ) {
        try {
          done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
          return;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          throw Exceptions.propagate(e.getCause());
        } catch (TimeoutException e) {
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
   * {@link FetcherBuilder#transport(Transport)} is not closed: its owner closes it.
   */
  public Mono<Void> closeLater() {
    return ownsTransport ? transport.closeLater() : Mono.empty();
  }
}
