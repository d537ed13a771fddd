package dev.fetchflux.cli;

import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.time.Duration;
import java.util.Locale;

/**
 * The demo's server: {@link TestServer} plus {@code /item/{i}}, which answers one line after a
 * latency that depends only on {@code i} — 5 to 47 ms, except every 25th item (12, 37, 62, ...),
 * which takes 600 ms. The same server runs for {@code fetchflux serve}, so the demo can be replayed
 * by hand.
 */
final class DemoServer {
  /** Every {@value}th item is slow. */
  static final int SLOW_EVERY = 25;

  static final int SLOW_MILLIS = 600;

  private DemoServer() {}

  /** Starts the server on {@code port} of 127.0.0.1 (0 for any free port). */
  static TestServer start(int port) {
    TestServer server = TestServer.builder().port(port).threads(2).start();
    server.handler(
        request -> {
          String[] parts = request.path().split("/");
          if (parts.length == 3 && parts[1].equals("item")) {
            try {
              int i = Integer.parseInt(parts[2]);
              if (i >= 0) {
                return item(i);
              }
            } catch (NumberFormatException e) {
              return null;
            }
          }
          return null;
        });
    return server;
  }

  /** The latency of item {@code i}, in milliseconds. */
  static int latencyMillis(int i) {
    return i % SLOW_EVERY == 12 ? SLOW_MILLIS : 5 + 7 * ((i * 3) % 7);
  }

  private static Reply item(int i) {
    int ms = latencyMillis(i);
    String line =
        String.format(
            Locale.ROOT,
            "item %3d  answered after %3d ms%s\n",
            i,
            ms,
            ms == SLOW_MILLIS ? "  (slow)" : "");
    return Reply.ok(line).withDelay(Duration.ofMillis(ms));
  }
}
