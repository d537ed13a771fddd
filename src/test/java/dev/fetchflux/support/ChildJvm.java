package dev.fetchflux.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@code main} class of the test class path in a JVM of its own, for what must not happen in
 * the test JVM: a small heap that an out-of-memory error would exhaust for every later test, or a
 * lower descriptor limit ({@code ulimit -n}).
 */
public final class ChildJvm {

  /** What the child printed and how it ended. */
  public record Outcome(int exitCode, String stdout, String stderr) {
    /** Everything the child printed: standard output, then standard error. */
    public String output() {
      return stderr.isEmpty() ? stdout : stdout + stderr;
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
    }
  }

  private ChildJvm() {}

  /** The class path of this test run (surefire passes it in a property; its own is a stub jar). */
  public static String classPath() {
    String cp = System.getProperty("surefire.test.class.path");
    return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
  }

  /**
   * Runs {@code mainClass} with {@code jvmOptions} and {@code args}, through {@code sh -c} with
   * {@code ulimit -n openFiles} first when {@code openFiles > 0}; waits up to {@code timeout} and
   * kills it past that.
   */
  public static Outcome run(
      Class<?> mainClass,
      List<String> jvmOptions,
      int openFiles,
      Duration timeout,
      String... args) {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(classPath());
    command.add(mainClass.getName());
    command.addAll(List.of(args));
    if (openFiles > 0) {
      List<String> limited =
          new ArrayList<>(
              List.of("/bin/bash", "-c", "ulimit -n " + openFiles + " && exec \"$@\"", "bash"));
      limited.addAll(command);
      command = limited;
    }
    try {
      Path out = Files.createTempFile("child-jvm-", ".out");
      Path err = Files.createTempFile("child-jvm-", ".err");
      try {
        Process p =
            new ProcessBuilder(command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
          throw new AssertionError(
              mainClass.getSimpleName()
                  + " did not end within "
                  + timeout
                  + "\n--- stdout\n"
                  + Files.readString(out)
                  + "\n--- stderr\n"
                  + Files.readString(err));
        }
        return new Outcome(
            p.exitValue(),
            Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
