package dev.fetchflux.cli;

import dev.fetchflux.testing.TestServer;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code fetchflux serve}: the demo's local server, for trying things by hand, until Ctrl-C. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    versionProvider = FetchCommand.VersionProvider.class,
    description = {"Run the local test server on 127.0.0.1 until Ctrl-C (paths: docs/cli.md)."})
final class ServeCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = {"-p", "--port"},
      paramLabel = "N",
      converter = Converters.Port.class,
      description = "Port on 127.0.0.1, 0 for any free one (default: ${DEFAULT-VALUE}).")
  int port = 8080;

  @Override
  public Integer call() throws InterruptedException {
    Logging.configure(false);
    TestServer server;
    try {
      server = DemoServer.start(port);
    } catch (RuntimeException e) {
      throw new ParameterException(
          spec.commandLine(),
          "cannot listen on option '--port' "
              + Converters.quote(Integer.toString(port))
              + ": "
              + Converters.oneLine(e.getMessage())
              + " (try --port 0)");
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "fetchflux-serve-stop"));
    String base = server.url("");
    PrintWriter out = spec.commandLine().getOut();
    out.println("fetchflux serve: listening on " + base + " (Ctrl-C to stop)");
    out.println("  " + base + "item/{i}        the demo's items: 5-47 ms, every 25th 600 ms");
    out.println("  " + base + "delay/{ms}      answers after ms milliseconds");
    out.println("  " + base + "bytes/{n}       n bytes");
    out.println("  " + base + "status/{code}   that status");
    out.println(
        "  "
            + base
            + "redirect/{n}    n redirects, then 200; "
            + base
            + "loop redirects "
            + "to itself");
    out.println("  " + base + "gzip/{n}        n zero bytes, gzip-compressed");
    out.println("  " + base + "echo            the request's path and query");
    out.println(
        "  failures: /stall /reset /reset-after-headers /truncate/{n} /chunked-no-end/{n} "
            + "/close-reset/{n} /dribble/{n} /endless-headers /invalid-status");
    out.flush();
    new CountDownLatch(1).await();
    return 0;
  }
}
