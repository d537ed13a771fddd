package dev.fetchflux.support;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.resources.LoopResources;

/**
 * A real HTTP server on 127.0.0.1 whose bodies the test holds back: a gated path sends the first
 * part of its body, then waits until the test {@linkplain #open opens} it, then the rest; a
 * generated path sends a long body made as the socket takes it, counting the bytes it made, so a
 * test can see how far the server got ahead of the client. Bodies are {@code Reply.pattern} bytes.
 */
public final class GatedServer implements AutoCloseable {
  private record Gated(byte[] body, int first, Sinks.Empty<Void> gate, boolean resetAfter) {}

  private final Map<String, Gated> gated = new ConcurrentHashMap<>();
  private final Map<String, Long> generated = new ConcurrentHashMap<>();
  private final AtomicInteger atGate = new AtomicInteger();
  private final AtomicLong produced = new AtomicLong();
  private final LoopResources loops = LoopResources.create("gated-server", 1, true);
  private final DisposableServer server;
  private final ChannelGroup accepted = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  private GatedServer() {
    server =
        HttpServer.create()
            .host("127.0.0.1")
            .port(0)
            .runOn(loops)
            .childOption(ChannelOption.SO_LINGER, -1)
            .doOnChannelInit((observer, channel, remote) -> accepted.add(channel))
            .handle((req, res) -> serve(path(req.uri()), res))
            .bindNow(Duration.ofSeconds(10));
  }

  public static GatedServer start() {
    return new GatedServer();
  }

  /** {@code http://127.0.0.1:<port><path>}. */
  public String url(String path) {
    return "http://127.0.0.1:" + server.port() + path;
  }

  /**
   * Requests for {@code path} get {@code body} ({@code Content-Length} announced): its first {@code
   * first} bytes at once, the rest once {@link #open} is called, or, with {@code resetAfter}, a
   * reset of the connection instead of the rest.
   */
  public GatedServer gate(String path, byte[] body, int first, boolean resetAfter) {
    gated.put(path, new Gated(body.clone(), first, Sinks.empty(), resetAfter));
    return this;
  }

  /** Lets requests for {@code path} have the rest of their body. */
  public void open(String path) {
    Objects.requireNonNull(gated.get(path), path).gate().tryEmitEmpty();
  }

  /** Requests for {@code path} get {@code length} pattern bytes, made as the socket takes them. */
  public GatedServer generate(String path, long length) {
    generated.put(path, length);
    return this;
  }

  /** Requests that sent their first part and wait at a gate. */
  public int atGate() {
    return atGate.get();
  }

  /** Bytes of generated bodies made so far (handed to the socket, or about to be). */
  public long produced() {
    return produced.get();
  }

  private static String path(String uri) {
    int q = uri.indexOf('?');
    return q < 0 ? uri : uri.substring(0, q);
  }

  private Mono<Void> serve(String path, HttpServerResponse res) {
    Long length = generated.get(path);
    if (length != null) {
      res.header("Content-Length", Long.toString(length));
      int chunk = 64 * 1024;
      byte[] pattern = dev.fetchflux.testing.Reply.pattern(chunk + 26);
      Flux<ByteBuf> body =
          Flux.<ByteBuf, Long>generate(
              () -> 0L,
              (sent, sink) -> {
                long left = length - sent;
                if (left <= 0) {
                  sink.complete();
                  return sent;
                }
                int n = (int) Math.min(chunk, left);
                produced.addAndGet(n);
                sink.next(Unpooled.wrappedBuffer(pattern, (int) (sent % 26), n));
                return sent + n;
              });
      return res.send(body).then();
    }
    Gated g = gated.get(path);
    if (g == null) {
      return res.status(404).sendString(Mono.just("no such path: " + path)).then();
    }
    res.header("Content-Length", Integer.toString(g.body().length));
    Mono<ByteBuf> first = Mono.fromSupplier(() -> Unpooled.wrappedBuffer(g.body(), 0, g.first()));
    Mono<ByteBuf> rest =
        g.gate()
            .asMono()
            .doOnSubscribe(s -> atGate.incrementAndGet())
            .doFinally(s -> atGate.decrementAndGet())
            .then(
                Mono.fromSupplier(
                    () ->
                        Unpooled.wrappedBuffer(g.body(), g.first(), g.body().length - g.first())));
    if (g.resetAfter()) {
      return res.sendObject(first)
          .then()
          .then(g.gate().asMono().doOnSubscribe(s -> atGate.incrementAndGet()))
          .then(
              Mono.fromRunnable(
                  () ->
                      res.withConnection(
                          c -> {
                            atGate.decrementAndGet();
                            c.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                            c.channel().close();
                          })))
          .then(Mono.never());
    }
    // Flushed after each part, so the first part is on the wire while the rest waits.
    return res.send(Flux.concat(first, rest), b -> true).then();
  }

  @Override
  public void close() {
    for (Gated g : gated.values()) {
      g.gate().tryEmitEmpty();
    }
    server.disposeNow(Duration.ofSeconds(5));
    // Every accepted connection closed and waited for, as TestServer does: left to the loop's
    // shutdown, one whose client had gone could keep its descriptor open (a CI run's leak check).
    accepted.close().awaitUninterruptibly(5, java.util.concurrent.TimeUnit.SECONDS);
    loops.disposeLater(Duration.ZERO, Duration.ofSeconds(2)).block(Duration.ofSeconds(5));
  }
}
