package dev.fetchflux.internal;

import dev.fetchflux.Body;
import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.Headers;
import dev.fetchflux.HttpProtocol;
import dev.fetchflux.Transport;
import dev.fetchflux.TransportException;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.ChannelGroupFuture;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.Connection;
import reactor.netty.http.Http11SslContextSpec;
import reactor.netty.http.Http2SslContextSpec;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.client.HttpClientResponse;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;
import reactor.netty.tcp.SslProvider;

/**
 * The reactor-netty glue: one {@link HttpClient} on a connection pool and event loops owned by this
 * engine, and the exchange of one request including redirects, the body limit and the deadline.
 *
 * <p>reactor-netty's own redirect following is off: it returns the last 3xx of a loop as a success
 * after about 50 hops and forwards custom secret headers to other hosts, so redirects are followed here,
 * with a hop limit, loop detection, sensitive-header stripping and no https→http downgrade.
 */
public final class HttpEngine implements Transport, StreamingTransport {

  /**
   * How often idle connections are checked against {@code maxIdleTime}, closed ones dropped from
   * their pools, and empty pools looked for; each pool checks its own idle queue.
   */
  private static final Duration EVICTION_INTERVAL = Duration.ofSeconds(1);

  /** How long a pool stays empty and unused before it is disposed (reactor-pool counts seconds). */
  private static final Duration POOL_INACTIVITY = Duration.ofSeconds(1);

  private final FetcherConfig settings;

  /** The configured headers, with the User-Agent: sent with every request. */
  private final Headers defaultHeaders;

  private final IdleConnections idle;

  /** Every channel this engine opened and that is still open (closed ones leave by themselves). */
  private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  private final ConnectionProvider provider;
  private final LoopResources loops;

  /** Plain-text base client: no TLS set up, so http-only runs never pay for an SSL context. */
  private final HttpClient client;

  private final Routing routing;

  /**
   * Routes for https URIs, built on first use. Building an {@code SslContext} loads the JDK's
   * security providers and CA store: ~0.65 s of CPU and ~870 classes in a fresh JVM (JFR, see
   * docs/benchmarks.md), and file I/O that must not run on an event loop. So it happens once, on
   * {@code boundedElastic}, when the first https hop needs it, and is cached (errors included: a
   * broken trust configuration fails every https request with its original exception).
   */
  private final Mono<Routing> secureRouting;

  private final AtomicReference<@Nullable Routing> secureBuilt = new AtomicReference<>();

  /**
   * System property: {@code false} keeps https on the JDK's TLS even where Netty's native TLS
   * loads. Read when an engine (a fetcher) is made.
   */
  public static final String NATIVE_TLS = "fetchflux.tls.native";

  /** {@link #NATIVE_TLS} as this engine was made. */
  private final boolean nativeTls;

  private final Redirects redirects;

  /** See {@link #requestOn}; racing threads may each make one, which is harmless. */
  private volatile @Nullable PlainGet plainGet;

  /** Memory for the bodies this engine is receiving whole ({@code maxBodyMemory}). */
  private final ByteBudget bodyMemory;

  /** {@link #collect}, made once. */
  private final Final<Response> collect = this::collect;

  public HttpEngine(String name, FetcherConfig settings) {
    this(name, settings, new ByteBudget(settings.effectiveMaxBodyMemory()));
  }

  /** An engine whose whole bodies share {@code bodyMemory} with the fetcher's other readers. */
  public HttpEngine(String name, FetcherConfig settings, ByteBudget bodyMemory) {
    this.settings = settings;
    this.bodyMemory = bodyMemory;
    this.nativeTls = Boolean.parseBoolean(System.getProperty(NATIVE_TLS, "true"));
    this.defaultHeaders = settings.defaultHeaders();
    this.idle = new IdleConnections(settings.effectiveMaxIdleConnections());
    this.provider = pool(name, settings.maxIdleTime());
    this.loops = LoopResources.create(name, settings.eventLoopThreads(), true);
    this.redirects =
        new Redirects(
            settings.maxRedirects(),
            settings.allowHttpsToHttpRedirect(),
            settings.sensitiveHeaders());
    this.client = buildClient(settings);
    NameRules rules = new NameRules(settings.resolveRules(), settings.connectToRules());
    // The base client already speaks HTTP/1.1 only (reactor-netty's default). Not calling
    // protocol(HTTP11) on it matters: that call initialises reactor-netty's HttpClientSecure, which
    // builds a default SSL context and probes for HTTP/3's native library, about 30 % of the
    // command's start-up, for nothing in a plain-http run (docs/benchmarks.md, "Profile of the
    // CLI").
    this.routing =
        Routing.create(client, settings.proxies(), rules, loops, settings.connectTimeout());
    this.secureRouting =
        Mono.fromCallable(
                () -> {
                  Routing r =
                      Routing.create(
                          secure(client, settings, tlsProvider(nativeTls)),
                          settings.proxies(),
                          rules,
                          loops,
                          settings.connectTimeout());
                  secureBuilt.set(r);
                  return r;
                })
            .subscribeOn(Schedulers.boundedElastic())
            .cache();
  }

  /**
   * The engine's connection pool: one per remote address, as reactor-netty keeps them, each with no
   * limit, closing connections idle for {@code maxIdleTime}, and disposed once empty for a while.
   * {@link IdleConnections} bounds the idle connections of all of them together.
   */
  static ConnectionProvider pool(String name, Duration maxIdleTime) {
    return ConnectionProvider.builder(name)
        // No limit per host: admission bounds what one fetch call has in flight (maxInFlight)
        // and politeness what a host gets (maxInFlightPerHost), so the pool never makes a
        // request wait. A per-host cap equal to one call's maxInFlight let concurrent fetch
        // calls on one host wait for each other's connections, and that wait ran on their
        // request deadlines: DEADLINE failures from a server that answered in time.
        .maxConnections(Integer.MAX_VALUE)
        .pendingAcquireMaxCount(-1)
        // No timer of the pool's own either (an acquire never waits now); a non-zero timeout
        // arms a task on Schedulers.parallel() for every acquire that waits (docs/benchmarks.md,
        // "Profile of the CLI").
        .pendingAcquireTimeout(Duration.ZERO)
        // Bounds on idle connections: their idle time here, their number across all hosts in
        // IdleConnections (reactor-netty bounds each per-address pool only).
        .maxIdleTime(maxIdleTime)
        .evictInBackground(EVICTION_INTERVAL)
        // A pool per remote address: without disposal a crawl keeps one per host it ever
        // touched. Only an empty pool (no connection, no acquire) is disposed, so disposing it
        // soon costs nothing but a small object made again if the host comes back.
        .disposeInactivePoolsInBackground(EVICTION_INTERVAL, POOL_INACTIVITY)
        .build();
  }

  private HttpClient buildClient(FetcherConfig s) {
    HttpClient c =
        HttpClient.create(provider)
            .runOn(loops)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) s.connectTimeout().toMillis())
            .responseTimeout(s.readTimeout())
            .followRedirect(false)
            .headers(
                h -> {
                  for (Map.Entry<String, String> e : defaultHeaders.entries()) {
                    h.add(e.getKey(), e.getValue());
                  }
                  if (s.compression() && !defaultHeaders.contains("Accept-Encoding")) {
                    // reactor-netty's compress(true) asks for gzip only; Netty decodes more.
                    h.set(HttpHeaderNames.ACCEPT_ENCODING, acceptEncoding());
                  }
                })
            .compress(s.compression())
            .keepAlive(true)
            .observe(idle)
            .mapConnect(idle::recovering)
            .doOnChannelInit((observer, channel, remote) -> channels.add(channel))
            // The attempt's trace learns which connection this hop's request went out on.
            .doOnRequest(
                (request, connection) -> {
                  ConnectionTrace trace =
                      request.currentContextView().getOrDefault(ConnectionTrace.KEY, null);
                  if (trace != null) {
                    trace.attach(connection.channel());
                  }
                })
            .doOnResponse(
                (response, connection) -> {
                  int status = response.status().code();
                  // A redirect's body is drained (up to a bound) and dropped, never held.
                  if (!(s.followRedirects() && Redirects.isRedirect(status))) {
                    connection.addHandlerLast(
                        DecodedSizeLimit.NAME,
                        new DecodedSizeLimit(
                            s.maxBodySize(), s.compression(), status, System.nanoTime()));
                  }
                });
    return c;
  }

  /**
   * {@code base} with TLS (and ALPN h2 when asked for): used for https URIs only. The TLS engine is
   * {@code provider}'s; certificate and host-name checks are on unless the fetcher is insecure,
   * whichever it is.
   */
  private static HttpClient secure(
      HttpClient base, FetcherConfig s, io.netty.handler.ssl.SslProvider provider) {
    HttpClient c = base;
    if (s.protocol() == HttpProtocol.HTTP_2) {
      c = c.protocol(reactor.netty.http.HttpProtocol.H2, reactor.netty.http.HttpProtocol.HTTP11);
    } else {
      c = c.protocol(reactor.netty.http.HttpProtocol.HTTP11);
    }
    TrustManagerFactory tmf =
        s.insecure() ? InsecureTrustManagerFactory.INSTANCE : s.trustManagerFactory();
    SslProvider.GenericSslContextSpec<?> spec =
        (s.protocol() == HttpProtocol.HTTP_2
                ? Http2SslContextSpec.forClient()
                : Http11SslContextSpec.forClient())
            .configure(
                b -> {
                  b.sslProvider(provider);
                  if (tmf != null) {
                    b.trustManager(tmf);
                  }
                });
    return c.secure(ssl -> ssl.sslContext(spec));
  }

  /**
   * The TLS engine for https: Netty's native one (BoringSSL, from {@code
   * netty-tcnative-boringssl-static}) when it is on the class path and loads on this platform, the
   * JDK's otherwise, or when the system property {@value #NATIVE_TLS} is {@code false} as this
   * engine is made. The native one builds its context in a fraction of the JDK's time and runs
   * handshakes and records in native code (docs/benchmarks-method.md, "HTTPS"). Looking costs
   * nothing in a plain-http run: it happens on the first https request.
   */
  static io.netty.handler.ssl.SslProvider tlsProvider(boolean nativeAllowed) {
    return nativeAllowed && OpenSsl.isAvailable()
        ? io.netty.handler.ssl.SslProvider.OPENSSL
        : io.netty.handler.ssl.SslProvider.JDK;
  }

  /** The TLS engine this engine's https requests run on (see {@link #tlsProvider(boolean)}). */
  public io.netty.handler.ssl.SslProvider tlsProvider() {
    return tlsProvider(nativeTls);
  }

  /**
   * Exchanges {@code request}: follows redirects, reads the whole (decoded) body under the limit,
   * Cold: nothing is sent until subscription. Errors are the original transport exceptions or a
   * {@link TransportException} for what this engine detects. The total deadline is the fetcher's.
   */
  @Override
  public Mono<Response> exchange(FetchRequest request) {
    return Mono.defer(() -> hop(request, 0, null, false, collect));
  }

  /**
   * Like {@link #exchange}, but the final response is emitted at its headers, its body streaming
   * through a {@link BodyRelay} (see {@link StreamingTransport}).
   */
  @Override
  public Mono<Streamed> exchangeStreaming(
      FetchRequest request, Hold hold, long deadlineNanos, RelaySlot slot) {
    Final<Streamed> streamed =
        (response, connection, current, headersAt, hops) -> {
          BodyRelay relay;
          try {
            relay =
                Bodies.stream(response, connection, headersAt, settings, hold, deadlineNanos, slot);
          } catch (TransportException e) {
            return Mono.error(e);
          }
          relay.mapFailures(e -> afterStatusLine(e, response, headersAt));
          if (hops > 0) {
            relay.mapFailures(e -> at(e, current.uri()));
          }
          return Mono.just(
              new Streamed(
                  current.uri(),
                  response.status().code(),
                  Bodies.headers(response),
                  relay,
                  Bodies.announcedLength(response),
                  headersAt,
                  hops));
        };
    return Mono.defer(() -> hop(request, 0, null, false, streamed));
  }

  /** What the engine makes of the final response of an exchange (after redirects). */
  @FunctionalInterface
  private interface Final<X> {
    Mono<X> respond(
        HttpClientResponse response,
        Connection connection,
        FetchRequest current,
        long headersAt,
        int hops);
  }

  /** The final response with its whole body, collected under the limit. */
  private Mono<Response> collect(
      HttpClientResponse response,
      Connection connection,
      FetchRequest current,
      long headersAt,
      int hops) {
    int status = response.status().code();
    return Bodies.response(response, connection, headersAt, settings, bodyMemory)
        .doOnNext(body -> readWhole(response, connection))
        .map(
            body ->
                new Response(
                    current.uri(), status, Bodies.headers(response), body, headersAt, hops))
        .onErrorMap(e -> afterStatusLine(e, response, headersAt));
  }

  /**
   * The client for one hop. The fetcher's default headers are configured once on {@link #client};
   * {@code HttpClient.headers(...)} copies the client's configuration, which is measurably slow per
   * request, so it is paid only by requests with headers of their own, or after a cross-origin
   * redirect, where sensitive default headers must go. The base client is the hop's route (direct or
   * through a proxy), chosen per hop so that a redirect to another host follows its own route.
   */
  private HttpClient clientFor(HttpClient route, FetchRequest current, boolean crossedOrigin) {
    if (current.headers().isEmpty() && !crossedOrigin) {
      return route;
    }
    Headers own = current.headers();
    return route.headers(
        h -> {
          if (crossedOrigin) {
            for (String name : defaultHeaders.names()) {
              if (redirects.isSensitive(name)) {
                h.remove(name);
              }
            }
          }
          for (String name : own.names()) {
            h.remove(name);
          }
          for (Map.Entry<String, String> e : own.entries()) {
            h.add(e.getKey(), e.getValue());
          }
        });
  }

  private <X> Mono<X> hop(
      FetchRequest current,
      int hops,
      @Nullable Set<String> visited,
      boolean crossedOrigin,
      Final<X> fin) {
    // The set of hops seen is made at the first redirect: most requests have none.
    if (visited != null) {
      visited.add(hopKey(current));
    }
    URI uri = current.uri();
    if ("https".equalsIgnoreCase(uri.getScheme())) {
      return secureRouting.flatMap(
          r -> send(r.client(uri), current, hops, visited, crossedOrigin, fin));
    }
    return send(routing.client(uri), current, hops, visited, crossedOrigin, fin);
  }

  private static String hopKey(FetchRequest request) {
    return request.method() + " " + request.uri();
  }

  /**
   * A GET on {@code route} with no headers of its own: reactor-netty's {@code request(method)}
   * copies the client's whole configuration, and {@code uri(...)} copies it again, so the first copy
   * is made once per route and kept ({@code uri} leaves it as it is).
   */
  private HttpClient.RequestSender requestOn(
      HttpClient route, FetchRequest current, boolean crossed) {
    if (current.headers().isEmpty() && !crossed && "GET".equals(current.method())) {
      PlainGet cached = plainGet;
      if (cached == null || cached.route() != route) {
        cached = new PlainGet(route, route.request(HttpMethod.GET));
        plainGet = cached;
      }
      return cached.sender();
    }
    return clientFor(route, current, crossed).request(HttpMethod.valueOf(current.method()));
  }

  /** The GET sender of the route last used (usually the only one). */
  private record PlainGet(HttpClient route, HttpClient.RequestSender sender) {}

  private <X> Mono<X> send(
      HttpClient route,
      FetchRequest current,
      int hops,
      @Nullable Set<String> visited,
      boolean crossedOrigin,
      Final<X> fin) {
    HttpClient.RequestSender sender = requestOn(route, current, crossedOrigin);
    // reactor-netty's uri(URI) needs URI.getHost(), which names like my_service do not have.
    sender =
        Urls.needsString(current.uri())
            ? sender.uri(Urls.requestString(current.uri()))
            : sender.uri(current.uri());
    Body requestBody = current.body();
    HttpClient.ResponseReceiver<?> receiver =
        requestBody.isEmpty()
            ? sender
            : sender.send(
                (req, out) -> {
                  // Announced, so a body sent in several buffers goes as is, not chunked.
                  req.header(HttpHeaderNames.CONTENT_LENGTH, Long.toString(requestBody.size()));
                  return out.send(Bodies.request(requestBody));
                });
    return receiver
        .responseConnection(
            (response, connection) -> {
              long headersAt = System.nanoTime();
              int status = response.status().code();
              if (settings.followRedirects() && Redirects.isRedirect(status)) {
                String location = response.responseHeaders().get(HttpHeaderNames.LOCATION);
                if (location != null) {
                  return Bodies.drain(connection)
                      .onErrorMap(e -> afterStatusLine(e, response, headersAt))
                      .then(
                          Mono.defer(
                              () -> {
                                readWhole(response, connection);
                                Set<String> seen = visited;
                                if (seen == null) {
                                  seen = new HashSet<>();
                                  seen.add(hopKey(current));
                                }
                                Redirects.Hop next =
                                    this.redirects.next(
                                        current, hops, seen, status, location, headersAt);
                                return hop(
                                    next.request(),
                                    hops + 1,
                                    seen,
                                    crossedOrigin || next.crossesOrigin(),
                                    fin);
                              }));
                }
              }
              return fin.respond(response, connection, current, headersAt, hops);
            })
        .next()
        .onErrorMap(e -> hops > 0, e -> at(e, current.uri()));
  }

  /** The hop's response was read whole: its connection is no longer the attempt's to close. */
  private static void readWhole(HttpClientResponse response, Connection connection) {
    ConnectionTrace trace = response.currentContextView().getOrDefault(ConnectionTrace.KEY, null);
    if (trace != null) {
      trace.detach(connection.channel());
    }
  }

  /**
   * An error of a redirect hop, saying where it happened (its {@link TransportException#uri()}, the
   * failure's final URI); another exception is classified and kept as the cause.
   */
  private static Throwable at(Throwable e, URI uri) {
    if (e instanceof TransportException t) {
      return t.at(uri);
    }
    Errors.Classified c = Errors.classify(e);
    return new TransportException(c.kind(), c.detail(), 0, 0, e).at(uri);
  }

  /** gzip and deflate always; br when Netty's Brotli decoder is on the classpath. */
  static String acceptEncoding() {
    return io.netty.handler.codec.compression.Brotli.isAvailable()
        ? "gzip, deflate, br"
        : "gzip, deflate";
  }

  /**
   * An error raised after the status line arrived, kept as the cause of a {@link TransportException}
   * that carries the status and the time the headers came: the fetcher then neither retries it as a
   * reset "before any response byte" nor reports a zero time to first byte. A reset of a body that
   * has no length and is not chunked says so: such a body ends when the connection closes, so a
   * clean close would have looked complete, and only the reset shows it was cut.
   */
  private static Throwable afterStatusLine(
      Throwable e, HttpClientResponse response, long headersAt) {
    if (e instanceof TransportException) {
      return e;
    }
    Errors.Classified c = Errors.classify(e);
    String detail = c.detail();
    if (c.kind() == Kind.CONNECTION_RESET) {
      detail =
          (Bodies.isCloseDelimited(response)
                  ? "during a body delimited by connection close (no Content-Length, not chunked)"
                  : "after the status line, during the body")
              + (detail.isEmpty() ? "" : ": " + detail);
    }
    return new TransportException(c.kind(), detail, response.status().code(), headersAt, e);
  }

  @Override
  public Mono<Void> closeLater() {
    return Mono.fromRunnable(idle::close)
        // Every connection this engine opened that is still open, closed and waited for before
        // the pools and loops go: left to the loops' shutdown, a connection the server had
        // half-closed stayed in CLOSE_WAIT, its descriptor open for the life of the JVM (epoll
        // transport, Netty 4.2). First, because a pool's disposal waits for the connections it
        // lent to come back, which those of stalled requests never do.
        .then(Mono.defer(this::closeChannels))
        .then(provider.disposeLater())
        .then(routing.closeLater())
        .then(
            Mono.defer(
                () -> {
                  Routing r = secureBuilt.get();
                  return r == null ? Mono.<Void>empty() : r.closeLater();
                }))
        // Again for what a connect under way made meanwhile, and after the loops are gone.
        .then(Mono.defer(this::closeChannels))
        .then(loops.disposeLater(Duration.ZERO, Duration.ofSeconds(2)))
        .then(Mono.defer(this::closeChannels));
  }

  private Mono<Void> closeChannels() {
    if (channels.isEmpty()) {
      return Mono.empty();
    }
    ChannelGroupFuture closing = channels.close();
    // The group's future completes on Netty's global executor, a thread that must not block; the
    // rest of the close (disposing pools and loops) takes locks, so it goes on elsewhere.
    return Mono.<Void>create(sink -> closing.addListener(f -> sink.success()))
        .publishOn(Schedulers.boundedElastic());
  }
}
