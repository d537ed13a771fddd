package dev.fetchflux.bench;

import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.jspecify.annotations.Nullable;

/**
 * The benchmark's HTTP server, run in its own JVM so that it does not share a heap, a JIT or
 * event loops with the client being measured. A {@link TestServer} on 127.0.0.1 with, besides its
 * built-in paths ({@code /delay/{ms}/…} answers after {@code ms} with the request path as body):
 *
 * <ul>
 *   <li>{@code /kib/{i}} — 200 with {@link Workload#kib(int)};
 *   <li>{@code /line/{ms}/{i}} — after {@code ms} milliseconds, 200 with the one-line body
 *       {@code line {i} {ms}\n} (the delay URLs of {@code src/bench/peers.sh}, see {@link Peers});
 *   <li>{@code /_reset} — forgets recorded requests and zeroes the peak-in-flight counter;
 *   <li>{@code /_stats} — {@code peak=<most requests served at once> requests=<received>
 *       abandoned=<replies the client went away from> connections=<TCP connections accepted>
 *       first=<when the first request arrived, microseconds since the epoch, 0 if none>} since the
 *       last reset (this request not counted; its connection is, when new).
 * </ul>
 *
 * <p>Usage: {@code BenchServer [threads]} (event-loop threads, default 1, so the client keeps the
 * other core of a 2-core machine). Prints {@code PORT <n>} on stdout once listening and stops when
 * its standard input closes, so it never outlives the driver that started it.
 */
public final class BenchServer {

  private BenchServer() {}

  public static void main(String[] args) throws IOException {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
    try (TestServer server = TestServer.builder().threads(threads).start()) {
      server.handler(
          request -> {
            String path = request.path();
            if (path.startsWith("/kib/")) {
              try {
                return Reply.ok(Workload.kib(Integer.parseInt(path.substring("/kib/".length()))));
              } catch (NumberFormatException e) {
                return null;
              }
            }
            if (path.startsWith("/line/")) {
              return line(path);
            }
            if (path.equals("/_reset")) {
              server.resetCounters();
              return Reply.ok("ok\n");
            }
            if (path.equals("/_stats")) {
              // The /_stats request itself is already recorded but not yet counted in flight.
              return Reply.ok(
                  "peak="
                      + server.peakInFlight()
                      + " requests="
                      + (server.requests().size() - 1)
                      + " abandoned="
                      + server.abandoned()
                      + " connections="
                      + server.connectionsOpened()
                      + " first="
                      + firstArrival(server)
                      + "\n");
            }
            return null;
          });
      System.out.println("PORT " + server.port());
      System.out.flush();
      InputStream in = System.in;
      byte[] sink = new byte[256];
      while (in.read(sink) >= 0) {
        // Wait for end of input: the driver closes our stdin (or dies) when it is done.
      }
    }
  }

  /** {@code /line/{ms}/{i}}: a distinct one-line body after a delay; null (404) when malformed. */
  private static @Nullable Reply line(String path) {
    String[] parts = path.split("/");
    if (parts.length != 4) {
      return null;
    }
    try {
      long ms = Long.parseLong(parts[2]);
      long i = Long.parseLong(parts[3]);
      Reply reply = Reply.ok("line " + i + " " + ms + "\n");
      return ms > 0 ? reply.withDelay(Duration.ofMillis(ms)) : reply;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Arrival of the earliest request since the last reset (control requests aside), in µs. */
  private static long firstArrival(TestServer server) {
    long first = 0;
    for (RecordedRequest r : server.requests()) {
      if (r.path().startsWith("/_")) {
        continue;
      }
      long micros = ChronoUnit.MICROS.between(Instant.EPOCH, r.received());
      if (first == 0 || micros < first) {
        first = micros;
      }
    }
    return first;
  }
}
