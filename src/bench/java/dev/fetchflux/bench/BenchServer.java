package dev.fetchflux.bench;

import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.io.InputStream;

/**
 * The benchmark's HTTP server, run in its own JVM so that it does not share a heap, a JIT or
 * event loops with the client being measured. A {@link TestServer} on 127.0.0.1 with, besides its
 * built-in paths ({@code /delay/{ms}/…} answers after {@code ms} with the request path as body):
 *
 * <ul>
 *   <li>{@code /kib/{i}} — 200 with {@link Workload#kib(int)};
 *   <li>{@code /_reset} — forgets recorded requests and zeroes the peak-in-flight counter;
 *   <li>{@code /_stats} — {@code peak=<most requests served at once> requests=<received>
 *       abandoned=<replies the client went away from> connections=<TCP connections accepted>}
 *       since the last reset (this request not counted; its connection is, when new).
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
      server.handler(request -> {
        String path = request.path();
        if (path.startsWith("/kib/")) {
          try {
            return Reply.ok(Workload.kib(Integer.parseInt(path.substring("/kib/".length()))));
          } catch (NumberFormatException e) {
            return null;
          }
        }
        if (path.equals("/_reset")) {
          server.resetCounters();
          return Reply.ok("ok\n");
        }
        if (path.equals("/_stats")) {
          // The /_stats request itself is already recorded but not yet counted in flight.
          return Reply.ok("peak=" + server.peakInFlight()
              + " requests=" + (server.requests().size() - 1)
              + " abandoned=" + server.abandoned()
              + " connections=" + server.connectionsOpened() + "\n");
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
}
