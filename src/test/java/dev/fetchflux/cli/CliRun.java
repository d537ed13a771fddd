package dev.fetchflux.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/**
 * Runs the command in-process, as picocli teaches: captured writers, exit status returned. The
 * command line is built as {@link Main} builds it.
 */
record CliRun(int status, byte[] stdoutBytes, String stdoutText, String stderr) {

  static CliRun of(String... args) {
    return withStdin("", args);
  }

  static CliRun withStdin(String stdin, String... args) {
    return withStdin(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), args);
  }

  static CliRun withStdin(InputStream stdin, String... args) {
    return run(stdin, Map.of(), args);
  }

  /** With these environment variables (the proxy variables are the only ones read). */
  static CliRun withEnvironment(Map<String, String> environment, String... args) {
    return run(InputStream.nullInputStream(), environment, args);
  }

  private static CliRun run(InputStream stdin, Map<String, String> environment, String... args) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CliRun run = withStreams(stdin, bytes, environment, args);
    return new CliRun(run.status(), bytes.toByteArray(), run.stdoutText(), run.stderr());
  }

  /** Bodies go to {@code stdout}; {@link #stdoutBytes()} is then empty. */
  static CliRun withStreams(
      InputStream stdin, OutputStream stdout, Map<String, String> environment, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    // As Main builds it: the subcommands only when the arguments may need them.
    CommandLine cl =
        FetchCommand.commandLine(stdin, stdout, environment, FetchCommand.needsSubcommands(args));
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int status = cl.execute(args);
    return new CliRun(status, new byte[0], out.toString(), err.toString());
  }

  /** The bodies written, as UTF-8. */
  String stdout() {
    return new String(stdoutBytes, StandardCharsets.UTF_8);
  }

  List<String> stderrLines() {
    return stderr.lines().toList();
  }
}
