package dev.fetchflux.bench;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * A peer of issue 7's benchmark ({@code src/bench/peers.sh}): the Reactor program a user writes to
 * fetch URLs concurrently, without fetchflux. Reads URLs from stdin, one per line, and writes the
 * bodies to stdout, either in input order ({@code flatMapSequential}) or as they arrive
 * ({@code flatMap}), C requests at a time over a reactor-netty {@code HttpClient} whose pool holds
 * C connections. Everything else is reactor-netty's defaults (event loops, TLS with the JDK's trust
 * store, timeouts); no status check, as in most such programs.
 *
 * <p>Usage: {@code NaiveReactorPeer --sequential|--flatmap -c C [--http2] < urls > bodies}
 */
public final class NaiveReactorPeer {

  private NaiveReactorPeer() {}

  public static void main(String[] args) throws IOException {
    boolean sequential = List.of(args).contains("--sequential");
    boolean http2 = List.of(args).contains("--http2");
    int c = Integer.parseInt(args[List.of(args).indexOf("-c") + 1]);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    List<String> urls = in.lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
    OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);

    ConnectionProvider provider = ConnectionProvider.builder("peer").maxConnections(c).build();
    HttpClient client = HttpClient.create(provider);
    if (http2) {
      client = client.protocol(HttpProtocol.H2, HttpProtocol.HTTP11).secure();
    }
    HttpClient http = client;
    Function<String, Publisher<byte[]>> get =
        u -> http.get().uri(u).responseContent().aggregate().asByteArray();
    Flux<byte[]> bodies =
        sequential
            ? Flux.fromIterable(urls).flatMapSequential(get, c)
            : Flux.fromIterable(urls).flatMap(get, c);
    bodies.doOnNext(b -> write(out, b)).blockLast();
    out.flush();
    provider.dispose();
  }

  private static void write(OutputStream out, byte[] b) {
    try {
      out.write(b);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
