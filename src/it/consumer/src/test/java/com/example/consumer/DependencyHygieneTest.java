package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * What a user of fetchflux gets on the compile and run-time class path: fetchflux, Reactor,
 * reactor-netty (with Netty) and JSpecify; nothing of the command (picocli, Jackson), Netty's
 * native TLS (netty-tcnative, optional: https then runs on the JDK's TLS), Flink, Micrometer or the
 * test libraries.
 */
class DependencyHygieneTest {

  static List<String> runtimeJars() throws IOException {
    String file = System.getProperty("runtime.classpath.file");
    String classPath = Files.readString(Path.of(file)).strip();
    return Arrays.stream(classPath.split(java.io.File.pathSeparator))
        .map(p -> Path.of(p).getFileName().toString())
        .sorted()
        .collect(Collectors.toList());
  }

  @Test
  void runtimeClassPathHoldsTheLibraryAndWhatItNeeds() throws IOException {
    List<String> jars = runtimeJars();
    for (String needed :
        List.of(
            "fetchflux-",
            "reactor-core-",
            "reactor-netty-http-",
            "reactor-netty-core-",
            "netty-codec-http-",
            "reactive-streams-",
            "jspecify-")) {
      assertTrue(
          jars.stream().anyMatch(j -> j.startsWith(needed)),
          () -> needed + " missing from " + jars);
    }
  }

  @Test
  void runtimeClassPathHoldsNothingForTheCommandFlinkMetricsOrTests() throws IOException {
    List<String> jars = runtimeJars();
    List<String> unwanted =
        jars.stream()
            .filter(
                j ->
                    j.startsWith("picocli-")
                        || j.startsWith("jackson-")
                        || j.startsWith("netty-tcnative-")
                        || j.startsWith("flink-")
                        || j.startsWith("micrometer-")
                        || j.startsWith("HdrHistogram-")
                        || j.startsWith("junit-")
                        || j.startsWith("opentest4j-")
                        || j.startsWith("apiguardian-")
                        || j.startsWith("reactor-test-")
                        || j.startsWith("assertj-"))
            .collect(Collectors.toList());
    assertTrue(
        unwanted.isEmpty(),
        () -> "unwanted on the runtime class path: " + unwanted + " (all: " + jars + ")");
  }
}
