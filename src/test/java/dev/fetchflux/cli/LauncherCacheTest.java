package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fetchflux.support.ChildJvm;
import dev.fetchflux.testing.TestServer;
import dev.fetchflux.testing.TestServerExtension;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's start-up cache (a class-data sharing archive on JDK 17 to 24, an ahead-of-time
 * cache on 25 and later), end to end: the real script on a jar built here from the compiled
 * classes, whose manifest names the dependency jars, in a directory of its own (so no build runs).
 * A cache is made once, then used; one the JVM cannot use never breaks a run; a newer jar gets a new
 * one.
 */
@Timeout(300)
class LauncherCacheTest {
  private static final Duration EXIT = Duration.ofSeconds(120);

  @RegisterExtension
  static final TestServerExtension server = new TestServerExtension(TestServer::start);

  @TempDir Path root;

  @Test
  void cacheIsMadeOnceUsedThenAndNeverBreaksARun() throws IOException {
    checkTheCacheLifecycle(Path.of(System.getProperty("java.home")), ".jsa", true);
  }

  @Test
  void onJdk25TheAheadOfTimeCacheIsUsed() throws IOException {
    Optional<Path> jdk = newerJdk(25);
    assumeTrue(jdk.isPresent(), "no JDK 25 or later in /usr/lib/jvm");
    // The rebuild after a newer jar is the launcher's same code for both kinds, checked above; a
    // training on 25 takes several seconds (the cache is written by a second JVM).
    checkTheCacheLifecycle(jdk.get(), ".aot", false);
  }

  private void checkTheCacheLifecycle(Path javaHome, String suffix, boolean rebuild)
      throws IOException {
    Path jar = launcherWithJar();
    String url = server.url("/echo?cache");

    Run first = run(javaHome, "", "-s", url);
    assertThat(first.exit()).as(first.toString()).isZero();
    assertThat(first.stdout()).isEqualTo("/echo?cache");
    assertThat(first.stderr()).contains("fetchflux: preparing faster starts");
    Path cache = onlyCache(suffix);

    Path classLog = root.resolve("classes.log");
    Run second = run(javaHome, "-Xlog:class+load=info:file=" + classLog, "-s", url);
    assertThat(second.exit()).as(second.toString()).isZero();
    assertThat(second.stdout()).isEqualTo("/echo?cache");
    assertThat(second.stderr()).isEmpty();
    assertThat(onlyCache(suffix)).isEqualTo(cache);
    // The command's classes came from the cache, not from the jar.
    List<String> loaded =
        Files.readAllLines(classLog).stream()
            .filter(
                l ->
                    l.contains(" dev.fetchflux.Fetcher ")
                        || l.contains(" dev.fetchflux.cli.Runner ")
                        || l.contains(" dev.fetchflux.cli.FetchCommand "))
            .toList();
    assertThat(loaded).hasSize(3).allMatch(l -> l.contains(" source: shared objects file"));

    // A cache the JVM cannot map (here: garbage) costs speed, never the run or its output.
    byte[] garbage = new byte[64 * 1024];
    new java.util.Random(1).nextBytes(garbage);
    Files.write(cache, garbage);
    Run broken = run(javaHome, "", "-s", url);
    assertThat(broken.exit()).as(broken.toString()).isZero();
    assertThat(broken.stdout()).isEqualTo("/echo?cache");
    assertThat(broken.stderr()).isEmpty();

    if (!rebuild) {
      return;
    }
    // A newer jar (a build) gets a cache of its own, used from then on.
    Files.setLastModifiedTime(jar, FileTime.from(Instant.now().plusSeconds(5)));
    Run rebuilt = run(javaHome, "", "-s", url);
    assertThat(rebuilt.exit()).as(rebuilt.toString()).isZero();
    assertThat(rebuilt.stdout()).isEqualTo("/echo?cache");
    assertThat(rebuilt.stderr()).contains("fetchflux: preparing faster starts");
    List<Path> caches = caches(suffix);
    assertThat(caches).hasSize(2).contains(cache);
    Path remade = caches.get(caches.get(0).equals(cache) ? 1 : 0);
    assertThat(Files.readAllBytes(remade)).isNotEqualTo(garbage);
    Run again = run(javaHome, "", "-s", url);
    assertThat(again.exit()).as(again.toString()).isZero();
    assertThat(again.stdout()).isEqualTo("/echo?cache");
    assertThat(again.stderr()).isEmpty();
    assertThat(caches(suffix)).hasSize(2);
  }

  private List<Path> caches(String suffix) throws IOException {
    try (Stream<Path> files = Files.list(root.resolve("target"))) {
      return files.filter(p -> p.toString().endsWith(suffix)).toList();
    }
  }

  /** The one cache file of the jar in target/, with that suffix. */
  private Path onlyCache(String suffix) throws IOException {
    List<Path> caches = caches(suffix);
    assertThat(caches).hasSize(1);
    return caches.get(0);
  }

  /**
   * The launcher script copied into {@link #root}, with {@code target/fetchflux-test-all.jar}: the
   * compiled classes, and a manifest whose Main-Class is the command's and whose Class-Path names
   * the jars of the runtime dependencies. pom.xml and src/main are older than the jar, so the
   * launcher builds nothing.
   */
  private Path launcherWithJar() throws IOException {
    Files.copy(Path.of("fetchflux").toAbsolutePath(), root.resolve("fetchflux"));
    root.resolve("fetchflux").toFile().setExecutable(true);
    Files.createDirectories(root.resolve("src/main"));
    Files.writeString(root.resolve("pom.xml"), "");
    FileTime old = FileTime.from(Instant.parse("2020-01-01T00:00:00Z"));
    Files.setLastModifiedTime(root.resolve("src/main"), old);
    Files.setLastModifiedTime(root.resolve("pom.xml"), old);
    Path target = Files.createDirectories(root.resolve("target"));
    Path jar = target.resolve("fetchflux-test-all.jar");

    Path classes =
        Path.of(FetchCommand.class.getProtectionDomain().getCodeSource().getLocation().getPath());
    List<String> dependencies = new ArrayList<>();
    for (String entry : ChildJvm.classPath().split(File.pathSeparator)) {
      if (entry.endsWith(".jar") && isRuntimeDependency(entry)) {
        dependencies.add(Path.of(entry).toUri().toString());
      }
    }
    Manifest manifest = new Manifest();
    Attributes main = manifest.getMainAttributes();
    main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
    main.put(Attributes.Name.MAIN_CLASS, Main.class.getName());
    main.put(Attributes.Name.CLASS_PATH, String.join(" ", dependencies));
    try (OutputStream out = Files.newOutputStream(jar);
        JarOutputStream jarOut = new JarOutputStream(out, manifest);
        Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        jarOut.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
        Files.copy(f, jarOut);
        jarOut.closeEntry();
      }
    }
    return jar;
  }

  /** The libraries the command runs on (the test class path has many more). */
  private static boolean isRuntimeDependency(String jar) {
    String p = jar.replace('\\', '/');
    return Stream.of(
            "/io/netty/",
            "/io/projectreactor/netty/",
            "/io/projectreactor/reactor-core/",
            "/org/reactivestreams/",
            "/org/jspecify/",
            "/info/picocli/",
            "/com/fasterxml/jackson/")
        .anyMatch(p::contains);
  }

  /** The first JDK of at least that feature release under /usr/lib/jvm, by its release file. */
  private static Optional<Path> newerJdk(int feature) throws IOException {
    Path jvms = Path.of("/usr/lib/jvm");
    if (!Files.isDirectory(jvms)) {
      return Optional.empty();
    }
    try (Stream<Path> homes = Files.list(jvms)) {
      for (Path home : homes.sorted().toList()) {
        Path release = home.resolve("release");
        if (Files.isRegularFile(release) && Files.isExecutable(home.resolve("bin/java"))) {
          for (String line : Files.readAllLines(release)) {
            if (line.startsWith("JAVA_VERSION=\"")) {
              String v = line.substring("JAVA_VERSION=\"".length());
              int end = 0;
              while (end < v.length() && Character.isDigit(v.charAt(end))) {
                end++;
              }
              if (end > 0 && Integer.parseInt(v.substring(0, end)) >= feature) {
                return Optional.of(home);
              }
            }
          }
        }
      }
    }
    return Optional.empty();
  }

  private record Run(int exit, String stdout, String stderr) {
    @Override
    public String toString() {
      return "exit " + exit + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
    }
  }

  /** Runs {@code root/fetchflux args} on that JDK with these FETCHFLUX_JAVA_OPTS. */
  private Run run(Path javaHome, String javaOpts, String... args) {
    List<String> command = new ArrayList<>();
    command.add(root.resolve("fetchflux").toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    Map<String, String> env = pb.environment();
    env.put("JAVA_HOME", javaHome.toString());
    env.remove("JAVA_OPTS");
    env.remove("FETCHFLUX_CLASSPATH");
    env.remove("FETCHFLUX_CDS");
    env.keySet().removeIf(k -> k.toLowerCase(java.util.Locale.ROOT).endsWith("_proxy"));
    env.put("FETCHFLUX_JAVA_OPTS", javaOpts);
    try {
      Path out = Files.createTempFile(root, "run-", ".out");
      Path err = Files.createTempFile(root, "run-", ".err");
      Process p =
          pb.redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      if (!p.waitFor(EXIT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError("the launcher did not exit within " + EXIT + ": " + err);
      }
      return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
