package dev.fetchflux.cli;

import dev.fetchflux.testing.TestServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The launcher's training run for its start-up cache: the command itself, as a user runs it, on
 * URLs of a local server, so that the cache holds what a real fetch loads (and, on JDK 25 and later,
 * how its methods ran). The launcher runs it once per build, JVM and set of JVM options, with
 * {@code -XX:ArchiveClassesAtExit} (class-data sharing, JDK 17 to 24) or {@code -XX:AOTCacheOutput}
 * (the ahead-of-time cache, JEPs 483, 514 and 515, JDK 25 and later); see {@code docs/cli.md},
 * "Launcher".
 *
 * <p>Two runs: 38 http URLs of the demo's server, 8 in flight, bodies to stdout (discarded), which
 * must succeed; then one https URL on that plain-text server, whose handshake fails at once but only
 * after the client's TLS set-up (provider, trust store, engine), the part of a first https request
 * that costs most. Exit status 0 when the first run succeeded, 1 otherwise (then the launcher keeps
 * no cache).
 */
public final class StartupTraining {
  /** URLs of the http run; the demo's slow items (every 25th from 12) are left out. */
  static final int URLS = 40;

  private StartupTraining() {}

  /** Runs the training; see the class comment. */
  public static void main(String[] args) {
    Logging.configure(false);
    int status;
    try (TestServer server = DemoServer.start(0)) {
      List<String> http = new ArrayList<>(List.of("-s", "-c", "8"));
      for (int i = 0; i < URLS; i++) {
        if (DemoServer.latencyMillis(i) != DemoServer.SLOW_MILLIS) {
          http.add(server.url("/item/" + i));
        }
      }
      status = run(http);
      run(List.of("-s", server.url("/item/1").replaceFirst("^http:", "https:")));
    }
    System.exit(status == 0 ? 0 : 1);
  }

  private static int run(List<String> args) {
    return FetchCommand.commandLine(
            InputStream.nullInputStream(), OutputStream.nullOutputStream(), System.getenv())
        .execute(args.toArray(String[]::new));
  }
}
