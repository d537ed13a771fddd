package dev.fetchflux.cli;

import dev.fetchflux.support.Await;
import dev.fetchflux.support.ChildJvm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The real launcher script ({@code ./fetchflux}) run as a process. It runs the compiled classes
 * ({@code FETCHFLUX_CLASSPATH}, the test class path) rather than the shaded jar, so {@code mvn test}
 * needs no package step, while the script's own work (JVM options, terminal detection, exec) is
 * still exercised.
 */
final class LauncherProcess implements AutoCloseable {
  private final Process process;
  private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
  private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
  private final Thread outPump;
  private final Thread errPump;

  private LauncherProcess(Process process) {
    this.process = process;
    this.outPump = pump(process.getInputStream(), stdout, "stdout");
    this.errPump = pump(process.getErrorStream(), stderr, "stderr");
  }

  /** Starts {@code ./fetchflux args...} from the project directory. */
  static LauncherProcess start(String... args) {
    Path launcher = Path.of("fetchflux").toAbsolutePath();
    if (!Files.isExecutable(launcher)) {
      throw new IllegalStateException(launcher + " is missing or not executable");
    }
    List<String> command = new ArrayList<>();
    command.add(launcher.toString());
    command.addAll(Arrays.asList(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("FETCHFLUX_CLASSPATH", classPath());
    pb.environment().remove("JAVA_OPTS");
    // The tests talk to 127.0.0.1 directly whatever proxies the machine's environment names.
    pb.environment()
        .keySet()
        .removeIf(k -> k.toLowerCase(java.util.Locale.ROOT).endsWith("_proxy"));
    // Netty's leak detector at its strictest, as in the rest of the test run; a leak report is
    // printed on stderr, which the tests check line by line.
    pb.environment().put("FETCHFLUX_JAVA_OPTS", "-Dio.netty.leakDetection.level=paranoid");
    try {
      return new LauncherProcess(pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The class path of this test run (see {@link ChildJvm#classPath()}). */
  static String classPath() {
    return ChildJvm.classPath();
  }

  long pid() {
    return process.pid();
  }

  OutputStream stdin() {
    return process.getOutputStream();
  }

  void closeStdin() {
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits for the exit, at most {@code timeout}; returns the exit status. */
  int waitFor(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError(
            "fetchflux did not exit within " + timeout + "; stderr so far:\n" + stderr());
      }
      outPump.join(5_000);
      errPump.join(5_000);
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Waits until stdout satisfies {@code condition}, at most {@code timeout}. */
  void awaitStdout(Predicate<String> condition, Duration timeout) {
    // Stops early when the process has exited: its stdout will not change any more.
    Await.until(
        "stdout matched",
        timeout,
        () -> condition.test(stdout()) || !process.isAlive(),
        () -> "; stdout:\n" + stdout() + "\nstderr:\n" + stderr());
    if (!condition.test(stdout())) {
      throw new AssertionError(
          "fetchflux exited ("
              + process.exitValue()
              + ") before stdout matched; stdout:\n"
              + stdout()
              + "\nstderr:\n"
              + stderr());
    }
  }

  /** Sends a signal with kill(1), as a terminal's Ctrl-C would send SIGINT. */
  void signal(String name) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid())).start();
      if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new AssertionError("kill -" + name + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Whether the process ignores SIGINT (inherited from a parent started in the background). */
  boolean ignoresSigint() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid() + "/status"))) {
        if (line.startsWith("SigIgn:")) {
          return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & 0x2) != 0;
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }

  byte[] stdoutBytes() {
    synchronized (stdout) {
      return stdout.toByteArray();
    }
  }

  String stdout() {
    return new String(stdoutBytes(), StandardCharsets.UTF_8);
  }

  String stderr() {
    synchronized (stderr) {
      return stderr.toString(StandardCharsets.UTF_8);
    }
  }

  List<String> stderrLines() {
    return stderr().lines().toList();
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }

  private static Thread pump(InputStream in, ByteArrayOutputStream sink, String name) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[8192];
              try (in) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                  synchronized (sink) {
                    sink.write(buf, 0, n);
                  }
                }
              } catch (IOException e) {
                // The process is gone; what was read is kept.
              }
            },
            "pump-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }
}
