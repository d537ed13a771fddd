package dev.fetchflux.testing;

import dev.fetchflux.Body;
import dev.fetchflux.Headers;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.Http11SslContextSpec;
import reactor.netty.http.Http2SslContextSpec;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.resources.LoopResources;

/**
 * A real HTTP server on {@code 127.0.0.1}, scripted per path, for tests and demos.
 *
 * <p>Concurrent requests arrive in no fixed order, so replies are scripted per path (exact match on
 * the path, query ignored) with {@link #route}, or computed by a function with {@link #handler};
 * anything else falls through to the {@linkplain #builtin built-in paths}. The server records every
 * request and the peak number of requests in flight, and counts requests the client abandoned
 * before the reply was complete.
 *
 * <pre>{@code
 * try (TestServer server = TestServer.start()) {
 *   server.route("/a", Reply.ok("A").withDelay(Duration.ofMillis(50)));
 *   URI a = server.uri("/a");
 *   // ... fetch it ...
 *   assertThat(server.requests()).hasSize(1);
 * }
 * }</pre>
 *
 * <p>Failure modes that break HTTP (resets, truncation, invalid status lines) write raw bytes under
 * the HTTP codec and need a plain-text ({@code http://}) server.
 */
public final class TestServer implements AutoCloseable {

  private final DisposableServer server;
  private final LoopResources loops;
  private final boolean tls;
  private final Map<String, Reply> routes = new ConcurrentHashMap<>();
  private volatile @Nullable Function<RecordedRequest, @Nullable Reply> handler;
  private final ConcurrentLinkedQueue<RecordedRequest> requests = new ConcurrentLinkedQueue<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger peakInFlight = new AtomicInteger();
  private final AtomicInteger abandoned = new AtomicInteger();
  private final AtomicLong bytesSent = new AtomicLong();
  private final AtomicInteger connectionsOpened = new AtomicInteger();
  private final AtomicInteger connectionsOpen = new AtomicInteger();

  /** Accepted connections still open, to close on {@link #close()}. */
  private final ChannelGroup accepted = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  private TestServer(Builder b) {
    this.tls = b.key != null;
    this.loops = LoopResources.create("test-server", b.threads, true);
    HttpServer s =
        HttpServer.create()
            .host("127.0.0.1")
            .port(b.port)
            .runOn(loops)
            .childOption(ChannelOption.SO_LINGER, -1)
            // Called once per accepted TCP connection (HTTP/2 streams are not connections).
            .doOnChannelInit(
                (observer, channel, remote) -> {
                  accepted.add(channel);
                  connectionsOpened.incrementAndGet();
                  connectionsOpen.incrementAndGet();
                  channel.closeFuture().addListener(f -> connectionsOpen.decrementAndGet());
                })
            .handle(this::serve);
    if (b.key != null) {
      PrivateKey key = b.key;
      X509Certificate[] chain = b.chain;
      if (b.http2) {
        s =
            s.protocol(HttpProtocol.H2, HttpProtocol.HTTP11)
                .secure(
                    spec ->
                        spec.sslContext(
                            (reactor.netty.tcp.SslProvider.GenericSslContextSpec<?>)
                                Http2SslContextSpec.forServer(key, chain)));
      } else {
        s =
            s.secure(
                spec ->
                    spec.sslContext(
                        (reactor.netty.tcp.SslProvider.GenericSslContextSpec<?>)
                            Http11SslContextSpec.forServer(key, chain)));
      }
    }
    this.server = s.bindNow(Duration.ofSeconds(10));
  }

  /** Starts a plain-text server on an ephemeral port of 127.0.0.1. */
  public static TestServer start() {
    return builder().start();
  }

  /** Options: port, TLS, HTTP/2, threads. */
  public static Builder builder() {
    return new Builder();
  }

  /** The port the server listens on. */
  public int port() {
    return server.port();
  }

  /** {@code http(s)://127.0.0.1:<port><pathAndQuery>}. */
  public URI uri(String pathAndQuery) {
    return URI.create(url(pathAndQuery));
  }

  /** {@code http(s)://127.0.0.1:<port><pathAndQuery>} as a string. */
  public String url(String pathAndQuery) {
    String p = pathAndQuery.startsWith("/") ? pathAndQuery : "/" + pathAndQuery;
    return (tls ? "https" : "http") + "://127.0.0.1:" + port() + p;
  }

  /** Replies to requests for {@code path} (exact, query ignored) with {@code reply}. */
  public TestServer route(String path, Reply reply) {
    routes.put(path, Objects.requireNonNull(reply, "reply"));
    return this;
  }

  /**
   * Computes replies for paths without a {@link #route}; a {@code null} reply falls through to the
   * built-in paths.
   */
  public TestServer handler(Function<RecordedRequest, @Nullable Reply> handler) {
    this.handler = Objects.requireNonNull(handler, "handler");
    return this;
  }

  /** Every request received so far, in arrival order. */
  public List<RecordedRequest> requests() {
    return new ArrayList<>(requests);
  }

  /** Requests received so far for {@code path}. */
  public List<RecordedRequest> requests(String path) {
    List<RecordedRequest> list = new ArrayList<>();
    for (RecordedRequest r : requests) {
      if (r.path().equals(path)) {
        list.add(r);
      }
    }
    return list;
  }

  /** Requests being served right now (see {@link #peakInFlight()} for when one counts). */
  public int inFlight() {
    return inFlight.get();
  }

  /**
   * The most requests served at once since start (or {@link #resetCounters()}). A request counts
   * from the arrival of the whole request until its last response bytes are handed to the socket
   * (or the exchange ends otherwise), a span inside the client's own, so a client that never has
   * more than N requests in flight is never seen with more than N. A request the client cancelled
   * still counts until this server notices the closed connection: as the connection closes, before
   * any request that arrived with the close is counted.
   */
  public int peakInFlight() {
    return peakInFlight.get();
  }

  /** Requests whose connection the client closed before the reply was complete. */
  public int abandoned() {
    return abandoned.get();
  }

  /** TCP connections accepted since start (or {@link #resetCounters()}). */
  public int connectionsOpened() {
    return connectionsOpened.get();
  }

  /** TCP connections open right now (idle keep-alive connections included). */
  public int connectionsOpen() {
    return connectionsOpen.get();
  }

  /** Body bytes written by normal replies. */
  public long bytesSent() {
    return bytesSent.get();
  }

  /** Forgets recorded requests and zeroes the counters. */
  public void resetCounters() {
    requests.clear();
    peakInFlight.set(inFlight.get());
    abandoned.set(0);
    bytesSent.set(0);
    connectionsOpened.set(0);
  }

  @Override
  public void close() {
    server.disposeNow(Duration.ofSeconds(5));
    // Every accepted connection, closed and waited for: left to the loops' shutdown, one the client
    // had half-closed could stay in CLOSE_WAIT with its descriptor open (epoll, Netty 4.2).
    accepted.close().awaitUninterruptibly(5, java.util.concurrent.TimeUnit.SECONDS);
    loops.disposeLater(Duration.ZERO, Duration.ofSeconds(2)).block(Duration.ofSeconds(5));
  }

  // ---------------------------------------------------------------------------------------------

  private Mono<Void> serve(HttpServerRequest request, HttpServerResponse response) {
    String uri = request.uri();
    int q = uri.indexOf('?');
    String path = q < 0 ? uri : uri.substring(0, q);
    List<Map.Entry<String, String>> hs = new ArrayList<>();
    request.requestHeaders().forEach(e -> hs.add(Map.entry(e.getKey(), e.getValue())));
    return request
        .receive()
        .aggregate()
        .asByteArray()
        .defaultIfEmpty(new byte[0])
        .flatMap(
            bytes -> {
              RecordedRequest recorded =
                  new RecordedRequest(
                      request.method().name(),
                      uri,
                      path,
                      Headers.ofDecoded(hs),
                      Body.of(bytes),
                      Instant.now(),
                      request.protocol());
              requests.add(recorded);
              Reply reply = routes.get(path);
              Function<RecordedRequest, @Nullable Reply> h = handler;
              if (reply == null && h != null) {
                reply = h.apply(recorded);
              }
              if (reply == null) {
                reply = builtin(recorded);
              }
              Reply chosen = reply;
              Exchange exchange = new Exchange();
              // A closed connection ends its exchange at once: the close future completes as the
              // channel closes, before the channel-inactive events that cancel the reply run, and
              // before a request the client sent next (on another connection) may be counted.
              response.withConnection(
                  c -> c.channel().closeFuture().addListener(f -> exchange.lastBytes()));
              Mono<Void> delay =
                  chosen.delay().isZero() ? Mono.empty() : Mono.delay(chosen.delay()).then();
              return delay
                  .then(Mono.defer(() -> reply(chosen, response, exchange)))
                  .doFinally(signal -> exchange.end());
            });
  }

  /**
   * One request being served: counts in flight from its arrival until its last response bytes are
   * handed to the socket ({@link #lastBytes()}) or, failing that, until it ends; it is abandoned
   * unless the whole reply was sent ({@link #completed()}).
   *
   * <p>Leaving before the last write, not when the send completes, keeps {@link #peakInFlight()}
   * sound: the client can read the last bytes, finish, and start its next request before the send's
   * completion reaches this server's event loop, which would show one request too many.
   */
  private final class Exchange {
    private final AtomicBoolean left = new AtomicBoolean();
    private volatile boolean completed;

    Exchange() {
      peakInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    }

    /** The reply's last bytes are about to be written. */
    void lastBytes() {
      if (left.compareAndSet(false, true)) {
        inFlight.decrementAndGet();
      }
    }

    /** All of the reply was sent. */
    void completed() {
      lastBytes();
      completed = true;
    }

    /** The exchange is over, however it went. */
    void end() {
      // Counted abandoned before it leaves the in-flight count: a test that waits for no request
      // in flight and then reads abandoned() must see it (a CI run read one too few).
      if (!completed) {
        abandoned.incrementAndGet();
      }
      lastBytes();
    }
  }

  /**
   * Sends {@code reply}, telling {@code exchange} when its last bytes go out and when all of it was
   * sent. A streamed body (chunked, dribble) is checked at its source: when the client goes away,
   * reactor-netty cancels the source and completes the send quietly, which must count as abandoned.
   */
  private Mono<Void> reply(Reply reply, HttpServerResponse response, Exchange exchange) {
    byte[] body = reply.bodyUnsafe();
    switch (reply.mode()) {
      case NORMAL:
        {
          response.status(reply.status());
          reply.headers().entries().forEach(e -> response.addHeader(e.getKey(), e.getValue()));
          response.header("Content-Length", Integer.toString(body.length));
          bytesSent.addAndGet(body.length);
          return response
              .sendByteArray(
                  Mono.fromSupplier(
                      () -> {
                        exchange.lastBytes();
                        return body;
                      }))
              .then()
              .doOnSuccess(v -> exchange.completed());
        }
      case CHUNKED:
        {
          response.status(reply.status());
          reply.headers().entries().forEach(e -> response.addHeader(e.getKey(), e.getValue()));
          int chunk = reply.sendBytes();
          bytesSent.addAndGet(body.length);
          // A publisher of several buffers and no Content-Length: reactor-netty sends it chunked.
          int chunks = (body.length + chunk - 1) / chunk;
          return sendStream(
              response,
              exchange,
              chunks,
              Flux.range(0, chunks)
                  .map(
                      i ->
                          Unpooled.wrappedBuffer(
                              body, i * chunk, Math.min(chunk, body.length - i * chunk))));
        }
      case STALL:
        return Mono.never();
      case RESET_BEFORE_RESPONSE:
        return raw(response, null, true);
      case RESET_AFTER_HEADERS:
        return raw(response, head(200, "Content-Length: " + body.length), true);
      case TRUNCATED:
        return raw(
            response,
            concat(head(200, "Content-Length: " + body.length), slice(body, reply.sendBytes())),
            false);
      case CHUNKED_WITHOUT_LAST_CHUNK:
        {
          String chunk = Integer.toHexString(body.length) + "\r\n";
          return raw(
              response,
              concat(
                  head(200, "Transfer-Encoding: chunked"),
                  chunk.getBytes(StandardCharsets.US_ASCII),
                  body,
                  "\r\n".getBytes(StandardCharsets.US_ASCII)),
              false);
        }
      case CLOSE_DELIMITED_RESET:
        return raw(
            response, concat(head(200, "Connection: close"), slice(body, reply.sendBytes())), true);
      case CLOSE_DELIMITED:
        return raw(response, concat(head(200, "Connection: close"), body), false, exchange);
      case DRIBBLE:
        return dribble(response, body, reply.interval(), exchange);
      case ENDLESS_HEADERS:
        return endlessHeaders(response, reply.interval());
      case INVALID_STATUS_LINE:
        return raw(response, "HTTTP/9.9 banana\r\n\r\n".getBytes(StandardCharsets.US_ASCII), false);
      case STALL_AFTER:
        return rawThenStall(
            response,
            concat(head(200, "Content-Length: " + reply.headers().first("Content-Length")), body));
      default:
        throw new IllegalStateException("unknown mode " + reply.mode());
    }
  }

  private static byte[] head(int status, String extraHeader) {
    return ("HTTP/1.1 "
            + status
            + " "
            + HttpResponseStatus.valueOf(status).reasonPhrase()
            + "\r\n"
            + extraHeader
            + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] slice(byte[] b, int n) {
    return java.util.Arrays.copyOf(b, Math.min(n, b.length));
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int pos = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, pos, p.length);
      pos += p.length;
    }
    return out;
  }

  /**
   * Writes {@code bytes} straight to the socket, below the HTTP codec, then closes: with a TCP
   * reset ({@code SO_LINGER 0}) when {@code reset}, cleanly otherwise.
   */
  private Mono<Void> raw(HttpServerResponse response, byte @Nullable [] bytes, boolean reset) {
    return raw(response, bytes, reset, null);
  }

  /** Like {@link #raw(HttpServerResponse, byte[], boolean)}; a whole reply tells {@code whole}. */
  private Mono<Void> raw(
      HttpServerResponse response,
      byte @Nullable [] bytes,
      boolean reset,
      @Nullable Exchange whole) {
    return Mono.<Void>create(
            sink ->
                response.withConnection(
                    conn -> {
                      Channel ch = conn.channel();
                      Runnable close =
                          () -> {
                            if (reset) {
                              ch.config().setOption(ChannelOption.SO_LINGER, 0);
                            }
                            ch.close();
                          };
                      if (bytes == null) {
                        close.run();
                      } else {
                        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
                        if (whole != null) {
                          whole.lastBytes();
                        }
                        ch.pipeline()
                            .firstContext()
                            .writeAndFlush(buf)
                            .addListener(
                                f -> {
                                  if (whole != null && f.isSuccess()) {
                                    whole.completed();
                                  }
                                  close.run();
                                });
                      }
                    }))
        .then(Mono.never());
  }

  /** Writes {@code bytes} below the HTTP codec and keeps the connection open, silent. */
  private static Mono<Void> rawThenStall(HttpServerResponse response, byte[] bytes) {
    return Mono.<Void>create(
            sink ->
                response.withConnection(
                    conn ->
                        conn.channel()
                            .pipeline()
                            .firstContext()
                            .writeAndFlush(Unpooled.wrappedBuffer(bytes))))
        .then(Mono.never());
  }

  private Mono<Void> dribble(
      HttpServerResponse response, byte[] body, Duration interval, Exchange exchange) {
    response.status(200);
    response.header("Content-Length", Integer.toString(body.length));
    return sendStream(
        response,
        exchange,
        body.length,
        Flux.range(0, body.length)
            .delayElements(interval)
            .map(i -> Unpooled.wrappedBuffer(body, i, 1)));
  }

  private static Mono<Void> sendStream(
      HttpServerResponse response, Exchange exchange, int count, Flux<ByteBuf> chunks) {
    AtomicBoolean allSent = new AtomicBoolean();
    AtomicInteger produced = new AtomicInteger();
    Flux<ByteBuf> counted =
        chunks
            .doOnNext(
                c -> {
                  if (produced.incrementAndGet() == count) {
                    exchange.lastBytes();
                  }
                })
            .doOnComplete(() -> allSent.set(true));
    return response
        .sendObject(counted)
        .then()
        .doOnSuccess(
            v -> {
              if (allSent.get()) {
                exchange.completed();
              }
            });
  }

  private Mono<Void> endlessHeaders(HttpServerResponse response, Duration interval) {
    return Mono.<Void>create(
            sink ->
                response.withConnection(
                    conn -> {
                      Channel ch = conn.channel();
                      ch.pipeline()
                          .firstContext()
                          .writeAndFlush(
                              Unpooled.wrappedBuffer(
                                  "HTTP/1.1 200 OK\r\n".getBytes(StandardCharsets.US_ASCII)));
                      Flux.interval(interval)
                          .takeWhile(i -> ch.isActive())
                          .subscribe(
                              i ->
                                  ch.pipeline()
                                      .firstContext()
                                      .writeAndFlush(
                                          Unpooled.wrappedBuffer(
                                              ("X-Filler-" + i + ": " + "x".repeat(100) + "\r\n")
                                                  .getBytes(StandardCharsets.US_ASCII))));
                    }))
        .then(Mono.never());
  }

  /**
   * The built-in paths, used when no route or handler answers:
   *
   * <ul>
   *   <li>{@code /delay/{ms}[/...]} — waits, then 200 with the request URI as the body;
   *   <li>{@code /bytes/{n}[/...]} — 200 with {@code n} pattern bytes;
   *   <li>{@code /status/{code}[/...]} — that status, body the request URI;
   *   <li>{@code /redirect/{n}} — 302 to {@code /redirect/{n-1}}; {@code /redirect/0} is 200;
   *   <li>{@code /loop} — 302 to itself;
   *   <li>{@code /gzip/{n}} — {@code n} zero bytes, gzip-compressed;
   *   <li>{@code /stall}, {@code /reset}, {@code /reset-after-headers}, {@code /truncate/{n}},
   * {@code /chunked-no-end/{n}}, {@code /close-reset/{n}}, {@code /dribble/{n}} (one byte every
   *       200 ms), {@code /endless-headers}, {@code /invalid-status};
   *   <li>{@code /echo} — 200 with the request URI (path and query);
   *   <li>anything else — 404.
   * </ul>
   */
  public static Reply builtin(RecordedRequest request) {
    String[] parts = request.path().split("/");
    String head = parts.length > 1 ? parts[1] : "";
    long n = parts.length > 2 ? number(parts[2]) : -1;
    switch (head) {
      case "delay":
        return n < 0 ? notFound(request) : Reply.ok(request.uri()).withDelay(Duration.ofMillis(n));
      case "bytes":
        return n < 0 || n > Integer.MAX_VALUE - 8
            ? notFound(request)
            : Reply.ok(Reply.pattern((int) n));
      case "status":
        return n < 100 || n > 599 ? notFound(request) : Reply.status((int) n, request.uri());
      case "redirect":
        return n < 0
            ? notFound(request)
            : n == 0 ? Reply.ok(request.uri()) : Reply.redirect(302, "/redirect/" + (n - 1));
      case "loop":
        return Reply.redirect(302, request.path());
      case "gzip":
        return n < 0 || n > Integer.MAX_VALUE - 8
            ? notFound(request)
            : Reply.gzip(new byte[(int) n]);
      case "stall":
        return Reply.stall();
      case "reset":
        return Reply.resetBeforeResponse();
      case "reset-after-headers":
        return Reply.resetAfterHeaders(1000);
      case "truncate":
        return n < 1 ? notFound(request) : Reply.truncated((int) n, (int) (n / 2));
      case "chunked-no-end":
        return n < 1 ? notFound(request) : Reply.chunkedWithoutLastChunk((int) n);
      case "close-reset":
        return n < 1 ? notFound(request) : Reply.closeDelimitedReset((int) n, (int) (n / 2));
      case "dribble":
        return n < 1 ? notFound(request) : Reply.dribble((int) n, Duration.ofMillis(200));
      case "endless-headers":
        return Reply.endlessHeaders(Duration.ofMillis(5));
      case "invalid-status":
        return Reply.invalidStatusLine();
      case "echo":
        return Reply.ok(request.uri());
      default:
        return notFound(request);
    }
  }

  private static Reply notFound(RecordedRequest request) {
    return Reply.status(404, "not found: " + request.path() + "\n");
  }

  private static long number(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Options for {@link TestServer}. */
  public static final class Builder {
    private int port;
    private int threads = 1;
    private @Nullable PrivateKey key;
    private X509Certificate[] chain = new X509Certificate[0];
    private boolean http2;

    private Builder() {}

    /** The port on 127.0.0.1; default 0 (an ephemeral port). */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      this.port = port;
      return this;
    }

    /** Event-loop threads; default 1 (the client under test keeps the other cores). */
    public Builder threads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("threads < 1: " + threads);
      }
      this.threads = threads;
      return this;
    }

    /** Serves HTTPS with this key and certificate chain. */
    public Builder https(PrivateKey key, X509Certificate... chain) {
      this.key = Objects.requireNonNull(key, "key");
      this.chain = chain.clone();
      return this;
    }

    /** With {@link #https}, also offers HTTP/2 by ALPN. */
    public Builder http2(boolean http2) {
      this.http2 = http2;
      return this;
    }

    /** Binds and starts the server. */
    public TestServer start() {
      return new TestServer(this);
    }
  }
}
