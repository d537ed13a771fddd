package dev.fetchflux;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpServer;

/**
 * A TCP server on 127.0.0.1 that answers each HTTP request with scripted raw bytes (per path), then
 * closes the connection cleanly or with a reset. For the malformed responses {@code TestServer} has
 * no mode for: a reset in the middle of the headers or of a {@code Content-Length} body, an invalid
 * chunk size, one header line over the size limit.
 */
final class HostileRawServer implements AutoCloseable {

  private record Script(byte[] bytes, boolean reset) {}

  private final Map<String, Script> scripts = new ConcurrentHashMap<>();
  private final DisposableServer server;

  HostileRawServer() {
    this.server =
        TcpServer.create()
            .host("127.0.0.1")
            .port(0)
            .handle(
                (in, out) ->
                    in.receive()
                        .asString(StandardCharsets.ISO_8859_1)
                        .scan(new StringBuilder(), StringBuilder::append)
                        .filter(sb -> sb.indexOf("\r\n\r\n") >= 0)
                        .next()
                        .flatMap(
                            head -> {
                              String line = head.substring(0, head.indexOf("\r\n"));
                              String path = line.split(" ")[1];
                              Script s = scripts.get(path);
                              if (s == null) {
                                s =
                                    new Script(
                                        ascii(
                                            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
                                        false);
                              }
                              Script script = s;
                              return Mono.<Void>create(
                                  sink ->
                                      out.withConnection(
                                          conn -> {
                                            Channel ch = conn.channel();
                                            ch.writeAndFlush(Unpooled.wrappedBuffer(script.bytes()))
                                                .addListener(
                                                    f -> {
                                                      if (script.reset()) {
                                                        ch.config()
                                                            .setOption(ChannelOption.SO_LINGER, 0);
                                                      }
                                                      ch.close();
                                                    });
                                          }));
                            }))
            .bindNow(Duration.ofSeconds(10));
  }

  /** Answers {@code path} with {@code bytes}, then closes: with a TCP reset when {@code reset}. */
  HostileRawServer script(String path, String bytes, boolean reset) {
    return script(path, ascii(bytes), reset);
  }

  HostileRawServer script(String path, byte[] bytes, boolean reset) {
    scripts.put(path, new Script(bytes, reset));
    return this;
  }

  String url(String path) {
    return "http://127.0.0.1:" + server.port() + path;
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() {
    server.disposeNow(Duration.ofSeconds(5));
  }
}
