package dev.fetchflux.bench;

import io.netty.handler.codec.http.HttpMethod;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;
import reactor.util.context.Context;

/**
 * reactor-netty used as cheaply as this job allows, without fetchflux: the row "bare reactor-netty,
 * cheapest" of {@code src/bench/peers.sh}, so that fetchflux's own layer and reactor-netty's cost
 * are measured apart (issue 14). Reads URLs from stdin, one per line, and writes the bodies to
 * stdout in input order ({@code flatMapSequential}) or as they arrive ({@code --flatmap}), C
 * requests at a time over one {@code HttpClient} whose pool holds C connections.
 *
 * <p>What it does per request, and why each choice (measured; docs/benchmarks-method.md,
 * "Per-request cost"): the request sender is built once ({@code HttpClient.request(GET)} copies the
 * client's whole configuration, and {@code uri(...)} copies it again: one copy per request instead
 * of two); the URL is handed over as the {@code String} read (reactor-netty parses it into its own
 * endpoint anyway; a {@code java.net.URI} is only parsed twice); the body is read with
 * {@code responseSingle(..., asByteArray())}, one aggregate and one copy; bodies are written on the
 * event loop into a 64 KiB buffer (a user's program does this; fetchflux writes on a thread of its
 * own, which is the contract an event loop needs). Nothing else: no deadline, no retry, no status
 * check, no limits, event loops as reactor-netty's and fetchflux's default (one per core, at least
 * four; colocated: four measured 3.1–3.4 s for 100,000 URLs against 4.5–4.7 s on two).
 *
 * <p>The options pick the other variants measured, for the comparison: {@code --sender naive}
 * ({@code client.get().uri(url)} per request), {@code --sender deferred} (one sender whose URI comes
 * from the subscriber's context: the configuration is copied once per request on subscription);
 * {@code --receive aggregate} ({@code responseContent().aggregate().asByteArray()}), {@code
 * --receive connection} ({@code responseConnection} and the inbound aggregated); {@code --uri} (a
 * pre-parsed {@code java.net.URI}); {@code --loops N}, {@code --default-loops} (reactor-netty's
 * global loops); {@code --repeat K} runs the list K times in one JVM and prints
 * each pass's wall and process CPU time on stderr (the output is then the last pass's bodies).
 *
 * <p>Usage: {@code BareReactorPeer [--flatmap] -c C [--http2] [options] < urls > bodies}
 */
public final class BareReactorPeer {

  private BareReactorPeer() {}

  private static final String URL_KEY = "bare.url";

  public static void main(String[] args) throws IOException {
    List<String> a = List.of(args);
    boolean flatMap = a.contains("--flatmap");
    boolean asUri = a.contains("--uri");
    int c = Integer.parseInt(value(a, "-c", "64"));
    String sender = value(a, "--sender", "prebuilt");
    String receive = value(a, "--receive", "single");
    int repeat = Integer.parseInt(value(a, "--repeat", "1"));

    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    List<String> urls = new ArrayList<>();
    for (String line; (line = in.readLine()) != null; ) {
      String u = line.strip();
      if (!u.isEmpty()) {
        urls.add(u);
      }
    }
    List<URI> uris = asUri ? urls.stream().map(URI::create).toList() : List.of();
    OutputStream stdout = new FileOutputStream(FileDescriptor.out);
    PrintStream err = System.err;

    ConnectionProvider provider = ConnectionProvider.builder("bare").maxConnections(c).build();
    int loopCount =
        Integer.parseInt(
            value(
                a,
                "--loops",
                Integer.toString(Math.max(4, Runtime.getRuntime().availableProcessors()))));
    LoopResources loops = LoopResources.create("bare", Math.max(1, loopCount), true);
    HttpClient client =
        a.contains("--default-loops")
            ? HttpClient.create(provider)
            : HttpClient.create(provider).runOn(loops);
    if (a.contains("--http2")) {
      client = client.protocol(HttpProtocol.H2, HttpProtocol.HTTP11).secure();
    }
    HttpClient http = client;
    HttpClient.RequestSender get = http.request(HttpMethod.GET);
    HttpClient.RequestSender fromContext =
        http.request(HttpMethod.GET)
            .uri(Mono.deferContextual(ctx -> Mono.just(ctx.<String>get(URL_KEY))));

    Function<Integer, Publisher<byte[]>> fetch =
        i -> {
          String u = urls.get(i);
          HttpClient.ResponseReceiver<?> r =
              switch (sender) {
                case "naive" -> asUri ? http.get().uri(uris.get(i)) : http.get().uri(u);
                case "deferred" -> fromContext;
                default -> asUri ? get.uri(uris.get(i)) : get.uri(u);
              };
          Mono<byte[]> body =
              switch (receive) {
                case "aggregate" -> r.responseContent().aggregate().asByteArray();
                case "connection" ->
                    r.responseConnection((res, conn) -> conn.inbound().receive().aggregate())
                        .singleOrEmpty()
                        .map(
                            buf -> {
                              try {
                                byte[] b = new byte[buf.readableBytes()];
                                buf.readBytes(b);
                                return b;
                              } finally {
                                buf.release();
                              }
                            });
                default -> r.responseSingle((res, b) -> b.asByteArray());
              };
          return sender.equals("deferred") ? body.contextWrite(Context.of(URL_KEY, u)) : body;
        };

    for (int pass = 1; pass <= repeat; pass++) {
      OutputStream out =
          new BufferedOutputStream(
              pass == repeat ? stdout : OutputStream.nullOutputStream(), 1 << 16);
      long wall0 = System.nanoTime();
      long cpu0 = processCpuNanos();
      Flux<Integer> indexes = Flux.range(0, urls.size());
      Flux<byte[]> bodies =
          flatMap ? indexes.flatMap(fetch, c) : indexes.flatMapSequential(fetch, c);
      bodies.doOnNext(b -> write(out, b)).blockLast();
      out.flush();
      if (repeat > 1) {
        double wall = (System.nanoTime() - wall0) / 1e9;
        double cpu = (processCpuNanos() - cpu0) / 1e9;
        err.printf(
            Locale.ROOT,
            "pass %d: %d URLs in %.2f s, process CPU %.2f s (%.1f µs per request)%n",
            pass,
            urls.size(),
            wall,
            cpu,
            cpu * 1e6 / urls.size());
      }
    }
    provider.dispose();
    loops.dispose();
  }

  private static String value(List<String> args, String name, String fallback) {
    int i = args.indexOf(name);
    return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : fallback;
  }

  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static void write(OutputStream out, byte[] b) {
    try {
      out.write(b);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
