package dev.fetchflux.bench;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import reactor.core.publisher.Flux;

/**
 * fetchflux's library alone, pass after pass in one JVM, for the per-request cost once the JIT has
 * done its work (issue 14): reads URLs from stdin, fetches them all {@code --repeat} times with
 * {@code Fetcher.fetch} (or {@code --unordered}), C in flight, and prints each pass's wall and
 * process CPU time on stderr. Bodies are checked for their size only (the peers benchmark checks
 * bytes); the twin of {@code BareReactorPeer --repeat}.
 *
 * <p>Usage: {@code FetcherPasses -c C [--repeat K] [--unordered] [--loops N] < urls}
 */
public final class FetcherPasses {
  private FetcherPasses() {}

  public static void main(String[] args) throws IOException {
    List<String> a = List.of(args);
    int c = Integer.parseInt(a.get(a.indexOf("-c") + 1));
    int repeat = a.contains("--repeat") ? Integer.parseInt(a.get(a.indexOf("--repeat") + 1)) : 3;
    boolean unordered = a.contains("--unordered");
    int loops =
        a.contains("--loops")
            ? Integer.parseInt(a.get(a.indexOf("--loops") + 1))
            : Runtime.getRuntime().availableProcessors();
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    List<String> urls = new ArrayList<>();
    for (String line; (line = in.readLine()) != null; ) {
      if (!line.isBlank()) {
        urls.add(line.strip());
      }
    }
    try (Fetcher fetcher = Fetcher.builder().maxInFlight(c).eventLoopThreads(loops).build()) {
      for (int pass = 1; pass <= repeat; pass++) {
        long wall0 = System.nanoTime();
        long cpu0 = BareReactorPeer.processCpuNanos();
        Flux<FetchResult> results =
            unordered
                ? fetcher.fetchUnordered(Flux.fromIterable(urls))
                : fetcher.fetch(Flux.fromIterable(urls));
        long[] bytes = {0, 0};
        results
            .doOnNext(
                r -> {
                  if (r instanceof FetchResult.Success ok) {
                    bytes[0] += ok.body().size();
                  } else {
                    bytes[1]++;
                  }
                })
            .blockLast();
        double wall = (System.nanoTime() - wall0) / 1e9;
        double cpu = (BareReactorPeer.processCpuNanos() - cpu0) / 1e9;
        System.err.printf(
            Locale.ROOT,
            "pass %d: %d URLs in %.2f s, process CPU %.2f s (%.1f µs per request), %d bytes,"
                + " %d failed%n",
            pass,
            urls.size(),
            wall,
            cpu,
            cpu * 1e6 / urls.size(),
            bytes[0],
            bytes[1]);
      }
    }
  }
}
