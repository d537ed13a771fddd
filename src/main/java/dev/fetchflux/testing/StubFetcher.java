package dev.fetchflux.testing;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherBuilder;
import dev.fetchflux.Transport;
import dev.fetchflux.TransportException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;

/**
 * A real {@link Fetcher} whose requests are answered by a script instead of the network, and a
 * record of what it was asked.
 *
 * <p>Code under test depends on {@code Fetcher}; hand it {@link #fetcher()}. That fetcher is built
 * with {@link FetcherBuilder#transport(Transport)}, so it has the real ordering and admission
 * stage, the real {@code maxInFlight} and reorder window, the real total deadline
 * ({@code requestTimeout}), {@code failOnHttpError} and the real error mapping into
 * {@link FetchException}; only the exchange is scripted.
 *
 * <pre>{@code
 * StubFetcher stub = StubFetcher.builder()
 *     .on("https://api.test/a", StubReply.ok("A").withDelay(Duration.ofSeconds(3)))
 *     .on("https://api.test/b", StubReply.ok("B"))
 *     .on("https://api.test/c", StubReply.error(new ConnectException("Connection refused")))
 *     .configure(fetcher -> fetcher.maxInFlight(2))
 *     .build();
 * Flux<FetchResult> results = stub.fetcher().fetch(Flux.just(
 *     "https://api.test/a", "https://api.test/b", "https://api.test/c"));
 * }</pre>
 *
 * <h2>Script</h2>
 * A request is answered by the first of:
 * <ol>
 *   <li>the rule for its exact URI ({@link Builder#on(String, StubReply, StubReply...)}); a later
 *       rule for the same URI replaces an earlier one;
 *   <li>the first matching predicate rule ({@link Builder#on(Predicate, StubReply, StubReply...)}),
 *       in the order they were added;
 *   <li>the {@linkplain Builder#handler handler}, unless it returns {@code null};
 *   <li>the {@linkplain Builder#otherwise fallback}: by default a {@link TransportException} of
 *       kind {@link FetchException.Kind#OTHER} that names the request, so a URL the test forgot to
 *       script is a visible failure and not a quiet success. Such requests are also listed by
 *       {@link #unmatched()}.
 * </ol>
 * A rule given several replies answers its first request with the first, its second with the
 * second, and every later request with the last (handy for "fails twice, then succeeds").
 *
 * <h2>Time</h2>
 * Delays ({@link StubReply#withDelay}) and the fetcher's {@code requestTimeout} both run on
 * {@code Schedulers.parallel()}, so under {@code StepVerifier.withVirtualTime} ordering, deadlines
 * and backoff are checked in zero wall time. Build the {@code Flux} inside the
 * {@code withVirtualTime} supplier. Timings in results use the wall clock and are near zero for
 * stubbed replies.
 *
 * <h2>Record</h2>
 * Requests are recorded when the fetcher subscribes to their exchange, which is in input order for
 * admitted requests; {@link #inFlight()} and {@link #peakInFlight()} count exchanges subscribed and
 * not yet answered, failed or cancelled; {@link #cancelled()} lists exchanges cancelled before
 * their reply (by {@code take(n)}, a fail-fast error, a deadline or a cancelled subscription).
 *
 * <h2>What is not simulated</h2>
 * Transport settings (connect and read timeouts, redirects, TLS, compression, body size limit,
 * default headers) belong to the real transport and are ignored here; script their outcome instead,
 * for example {@code StubReply.failure(Kind.BODY_TOO_LARGE, "...")} or
 * {@link StubReply#withRedirects}.
 *
 * <p>A stub is thread-safe; its script is fixed at {@link Builder#build()}, its record grows.
 */
public final class StubFetcher {

  private final Map<URI, Rule> exact;
  private final List<Rule> predicates;
  private final @Nullable Function<? super FetchRequest, @Nullable StubReply> handler;
  private final @Nullable StubReply otherwise;
  private final Fetcher fetcher;
  private final Transport transport = this::exchange;

  private final ConcurrentLinkedQueue<FetchRequest> requests = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<FetchRequest> cancelled = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<FetchRequest> unmatched = new ConcurrentLinkedQueue<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger peakInFlight = new AtomicInteger();

  private StubFetcher(Builder b) {
    this.exact = Map.copyOf(b.exact);
    this.predicates = List.copyOf(b.predicates);
    this.handler = b.handler;
    this.otherwise = b.otherwise;
    FetcherBuilder config = Fetcher.builder();
    b.configure.accept(config);
    this.fetcher = config.transport(transport).build();
  }

  /** A builder with an empty script: every request fails as unmatched until rules are added. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The fetcher to hand to the code under test. It owns nothing, so closing it is optional;
   * variants from {@link Fetcher#toBuilder()} keep this stub as their transport.
   */
  public Fetcher fetcher() {
    return fetcher;
  }

  /**
   * The scripted transport, to build a fetcher of one's own with
   * {@code Fetcher.builder()...transport(stub.transport()).build()}; it records into this stub.
   */
  public Transport transport() {
    return transport;
  }

  /** Every request exchanged so far, in the order the exchanges were subscribed. */
  public List<FetchRequest> requests() {
    return new ArrayList<>(requests);
  }

  /** The requests exchanged so far for exactly {@code url}, in order. */
  public List<FetchRequest> requests(String url) {
    URI uri = FetchRequest.parseUrl(url);
    List<FetchRequest> list = new ArrayList<>();
    for (FetchRequest r : requests) {
      if (r.uri().equals(uri)) {
        list.add(r);
      }
    }
    return list;
  }

  /** Requests whose exchange was cancelled before it answered, in the order of cancellation. */
  public List<FetchRequest> cancelled() {
    return new ArrayList<>(cancelled);
  }

  /** Requests no rule or handler answered: they got the {@linkplain Builder#otherwise fallback}. */
  public List<FetchRequest> unmatched() {
    return new ArrayList<>(unmatched);
  }

  /** Exchanges subscribed and not yet answered, failed or cancelled. */
  public int inFlight() {
    return inFlight.get();
  }

  /** The most exchanges in flight at once so far. */
  public int peakInFlight() {
    return peakInFlight.get();
  }

  private Mono<Transport.Response> exchange(FetchRequest request) {
    Objects.requireNonNull(request, "request");
    return Mono.defer(
        () -> {
          requests.add(request);
          peakInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
          AtomicBoolean open = new AtomicBoolean(true);
          Mono<Transport.Response> answer;
          try {
            answer = answer(request, replyFor(request));
          } catch (Throwable e) {
            // A handler that throws is a bug in the test: report it against the request, as a
            // failure.
            Exceptions.throwIfJvmFatal(e);
            answer = Mono.error(e);
          }
          // Count the exchange as finished before its signal goes downstream: the ordering stage
          // admits
          // the next request in the same call stack, and the peak must not see both at once.
          return answer
              .doOnSuccess(r -> finish(open))
              .doOnError(e -> finish(open))
              .doOnCancel(
                  () -> {
                    if (finish(open)) {
                      cancelled.add(request);
                    }
                  });
        });
  }

  private boolean finish(AtomicBoolean open) {
    if (open.compareAndSet(true, false)) {
      inFlight.decrementAndGet();
      return true;
    }
    return false;
  }

  private StubReply replyFor(FetchRequest request) {
    Rule rule = exact.get(request.uri());
    if (rule == null) {
      for (Rule r : predicates) {
        if (r.matcher.test(request)) {
          rule = r;
          break;
        }
      }
    }
    if (rule != null) {
      return rule.next();
    }
    Function<? super FetchRequest, @Nullable StubReply> h = handler;
    if (h != null) {
      StubReply reply = h.apply(request);
      if (reply != null) {
        return reply;
      }
    }
    unmatched.add(request);
    if (otherwise != null) {
      return otherwise;
    }
    return StubReply.error(
        new TransportException(
            FetchException.Kind.OTHER,
            "no stub reply for "
                + request.method()
                + " "
                + request.uri()
                + " (script it with StubFetcher.Builder.on, handler or otherwise)"));
  }

  private static Mono<Transport.Response> answer(FetchRequest request, StubReply reply) {
    if (reply.isNever()) {
      return Mono.never();
    }
    Mono<Transport.Response> now;
    if (reply.isResponse()) {
      URI finalUri = reply.finalUri();
      now =
          Mono.fromSupplier(
              () ->
                  new Transport.Response(
                      finalUri == null ? request.uri() : finalUri,
                      reply.status(),
                      reply.headers(),
                      reply.body(),
                      System.nanoTime(),
                      reply.redirects()));
    } else {
      now = Mono.error(reply::newError);
    }
    Duration delay = reply.delay();
    // Mono.delay picks Schedulers.parallel() here, at subscription time, so virtual time applies.
    return delay.isZero() ? now : Mono.delay(delay).then(now);
  }

  @Override
  public String toString() {
    return "StubFetcher["
        + exact.size()
        + " URLs, "
        + predicates.size()
        + " predicates, "
        + requests.size()
        + " requests]";
  }

  /** Replies for the requests one rule matches: each in turn, the last repeated. */
  private static final class Rule {
    final Predicate<? super FetchRequest> matcher;
    final List<StubReply> replies;
    final AtomicInteger uses = new AtomicInteger();

    Rule(Predicate<? super FetchRequest> matcher, StubReply first, StubReply... then) {
      this.matcher = matcher;
      List<StubReply> list = new ArrayList<>();
      list.add(Objects.requireNonNull(first, "reply"));
      for (StubReply r : then) {
        list.add(Objects.requireNonNull(r, "reply"));
      }
      this.replies = List.copyOf(list);
    }

    StubReply next() {
      int i = uses.getAndIncrement();
      return replies.get(Math.min(i, replies.size() - 1));
    }
  }

  /** Scripts a {@link StubFetcher} and configures its {@link Fetcher}. */
  public static final class Builder {
    private final Map<URI, Rule> exact = new HashMap<>();
    private final List<Rule> predicates = new ArrayList<>();
    private @Nullable Function<? super FetchRequest, @Nullable StubReply> handler;
    private @Nullable StubReply otherwise;
    private Consumer<FetcherBuilder> configure = b -> {};

    private Builder() {}

    /**
     * Answers requests for exactly {@code url} with {@code first}, then the next replies in turn,
     * the last one repeated.
     *
     * @throws IllegalArgumentException if {@code url} is not an absolute http(s) URL
     */
    public Builder on(String url, StubReply first, StubReply... then) {
      return on(FetchRequest.parseUrl(url), first, then);
    }

    /** Like {@link #on(String, StubReply, StubReply...)} for a {@link URI}. */
    public Builder on(URI uri, StubReply first, StubReply... then) {
      Objects.requireNonNull(uri, "uri");
      exact.put(uri, new Rule(r -> r.uri().equals(uri), first, then));
      return this;
    }

    /**
     * Answers requests {@code matcher} accepts (and no exact-URL rule took) with {@code first},
     * then the next replies in turn, the last one repeated. Predicate rules are tried in the order
     * added.
     */
    public Builder on(Predicate<? super FetchRequest> matcher, StubReply first, StubReply... then) {
      Objects.requireNonNull(matcher, "matcher");
      predicates.add(new Rule(matcher, first, then));
      return this;
    }

    /**
     * Computes the reply for requests no rule matched; returning {@code null} passes the request on
     * to {@link #otherwise}. Called on the thread that subscribes to the exchange; it must not
     * block.
     */
    public Builder handler(Function<? super FetchRequest, @Nullable StubReply> handler) {
      this.handler = Objects.requireNonNull(handler, "handler");
      return this;
    }

    /**
     * The reply for requests nothing else answered, for example {@code StubReply.status(404)}.
     * Default: a {@link TransportException} of kind {@link FetchException.Kind#OTHER} naming the
     * request.
     */
    public Builder otherwise(StubReply reply) {
      this.otherwise = Objects.requireNonNull(reply, "reply");
      return this;
    }

    /**
     * Configures the fetcher's own settings ({@code maxInFlight}, {@code reorderWindow},
     * {@code requestTimeout}, {@code failOnHttpError}, ...), starting from
     * {@link Fetcher#builder()}'s defaults. A transport set here is replaced by the stub's.
     * Default: all fetcher defaults.
     */
    public Builder configure(Consumer<FetcherBuilder> configure) {
      this.configure = Objects.requireNonNull(configure, "configure");
      return this;
    }

    /**
     * Builds the stub and its fetcher.
     *
     * @throws IllegalArgumentException if the fetcher settings are inconsistent (see
     *     {@link FetcherBuilder#build()})
     */
    public StubFetcher build() {
      return new StubFetcher(this);
    }
  }
}
