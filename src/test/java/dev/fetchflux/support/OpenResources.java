package dev.fetchflux.support;

import java.io.IOException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What a test can leak besides Netty buffers: open file descriptors (sockets, files) and the
 * library's temporary files. {@link #snapshot()} before, {@link #leaksSince} after; used by
 * {@link ResourceLeakExtension} for Jupiter tests and directly by the TestNG-run TCK classes.
 *
 * <h2>Descriptors (Linux only)</h2>
 * Every descriptor in {@code /proc/self/fd} that was not open before counts, except kinds that
 * the JVM and process-wide libraries open lazily and keep for the life of the process; they are
 * listed in {@link #processWide} with the reason for each. Sockets and regular files always count:
 * a TCP connection left open is exactly what a fetcher that was not closed, or an idle pool that
 * outlives its fetcher, leaves behind.
 *
 * <h2>Temporary files</h2>
 * Files under {@code java.io.tmpdir} (recursively, so {@code @TempDir} directories and spill
 * directories inside them are covered) whose names are the library's temporaries:
 * <ul>
 *   <li>{@code fetchflux-*.body}: a body spilled to disk ({@code internal.BodySink});
 *   <li>{@code .fetchflux-*.part}: the CLI's output-directory files and manifest being written
 *       ({@code cli.DirectorySink});
 *   <li>{@code .*.tmp}: the Flink job's atomic writes ({@code flink.BodyStore},
 *       {@code flink.MergeParts}).
 * </ul>
 * The test JVM gets its own {@code java.io.tmpdir} under {@code target/} (surefire's argLine), so
 * only the suite's own files are seen; {@code @TempDir} directories are made there too.
 */
public final class OpenResources {

  /** How long to wait for asynchronous closes (event loops, boundedElastic) before calling a leak. */
  public static final Duration DEFAULT_WAIT =
      Duration.ofMillis(Long.getLong("fetchflux.leakcheck.waitMillis", 3000));

  private static final List<Pattern> TEMPORARY_NAMES =
      List.of(
          Pattern.compile("fetchflux-.*\\.body"),
          Pattern.compile("\\.fetchflux-.*\\.part"),
          Pattern.compile("\\..*\\.tmp"));

  private static final String JAVA_HOME = System.getProperty("java.home");
  private static final String DELETED = " (deleted)";

  /**
   * Descriptors (as {@code fd -> target}) and temporary files open at one moment, and the ports of
   * the listening sockets among those descriptors.
   */
  public record Snapshot(
      Set<String> descriptors, Set<Path> temporaries, Set<Integer> listeningPorts) {}

  private OpenResources() {}

  /** Whether the descriptor check runs here (Linux); the file check runs everywhere. */
  public static boolean descriptorsChecked() {
    return OpenDescriptors.supported();
  }

  /** The descriptors (as {@code fd -> target}) and temporary files open now. */
  public static Snapshot snapshot() {
    Set<String> fds = new HashSet<>();
    Set<Integer> listening = new HashSet<>();
    if (OpenDescriptors.supported()) {
      Map<String, OpenDescriptors.Socket> sockets = null;
      for (Map.Entry<Integer, String> e : OpenDescriptors.read().entrySet()) {
        // A file deleted while open reads "<path> (deleted)": still the same open file.
        String target =
            e.getValue().endsWith(DELETED)
                ? e.getValue().substring(0, e.getValue().length() - DELETED.length())
                : e.getValue();
        if (processWide(target)) {
          continue;
        }
        fds.add(e.getKey() + " -> " + target);
        if (target.startsWith("socket:")) {
          if (sockets == null) {
            sockets = OpenDescriptors.sockets();
          }
          OpenDescriptors.Socket s = OpenDescriptors.socket(target, sockets);
          if (s != null && s.listening()) {
            listening.add(s.localPort());
          }
        }
      }
    }
    return new Snapshot(fds, temporaries(Path.of(System.getProperty("java.io.tmpdir"))), listening);
  }

  /**
   * Descriptor targets that are not checked, because the JVM or a process-wide library opens them
   * once, lazily (so in whichever test first needs them), and keeps them until the JVM exits.
   */
  static boolean processWide(String target) {
    // Event-loop and selector plumbing (epoll instances, eventfd/timerfd wake-ups, NIO's wake-up
    // pipes), made by process-wide loops (reactor-netty's HttpResources, the JDK's default channel
    // group, Flink's RPC system) as well as by a fetcher's own loops. A fetcher left open is still
    // caught by its connections, which are sockets.
    if (target.startsWith("anon_inode:") || target.startsWith("pipe:")) {
      return true;
    }
    // Jars stay open in the class loaders' caches once a class or resource is loaded from them.
    if (target.endsWith(".jar") || target.endsWith(".zip")) {
      return true;
    }
    // The JDK's own files (the modules image, opened on first use of a module's resources).
    if (JAVA_HOME != null && target.startsWith(JAVA_HOME + "/")) {
      return true;
    }
    // SecureRandom's NativePRNG opens both once and keeps them (java.security.SecureRandom).
    if (target.equals("/dev/random") || target.equals("/dev/urandom")) {
      return true;
    }
    // The JVM's container support reads cgroup limits (/sys/fs/cgroup/...) on whichever thread asks
    // for processors or memory, opening and closing the file at once: seen by a snapshot taken in
    // that instant (a CI run), never kept. Kernel pseudo-files are not resources a test can leak.
    if (target.startsWith("/sys/")) {
      return true;
    }
    // This check itself, reading /proc/self/fd and /proc/self/net.
    return target.startsWith("/proc/");
  }

  /**
   * One resource open now that was not before: {@code key} identifies it across snapshots (the
   * descriptor number and target, or the path), {@code description} is what a failure prints.
   */
  public record Leak(String key, String description) {
    @Override
    public String toString() {
      return description;
    }
  }

  /**
   * What is open now and was not in {@code before}, waiting up to {@code wait} for it to close
   * (closes on event loops and {@code boundedElastic} finish after the test's last line), minus
   * what {@code kept} matches and what {@code ignored} lists by key. Empty when nothing leaked.
   */
  public static List<Leak> leaksSince(
      Snapshot before, List<Pattern> kept, Set<String> ignored, Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      List<Leak> leaks = compare(before, snapshot(), ignored);
      leaks.removeIf(l -> matchesAny(l.description(), kept));
      if (leaks.isEmpty() || System.nanoTime() - deadline > 0) {
        return leaks;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return leaks;
      }
    }
  }

  /**
   * Everything in {@code now} and not in {@code before}, except the keys in {@code ignored} and the
   * connections accepted by a server that was already listening in {@code before}: those belong to
   * that server (a class's server started in {@code @BeforeAll}), which closes them when a client
   * goes or when it stops, and are checked with it (the class check, whose snapshot was taken
   * before the server listened). The other end of such a connection, when it is in this process, is
   * a client's, and counts.
   */
  static List<Leak> compare(Snapshot before, Snapshot now, Set<String> ignored) {
    List<Leak> leaks = new ArrayList<>();
    Map<String, OpenDescriptors.Socket> sockets = null;
    for (String fd : new TreeSet<>(now.descriptors())) {
      if (before.descriptors().contains(fd) || ignored.contains(fd)) {
        continue;
      }
      int arrow = fd.indexOf(" -> ");
      String target = fd.substring(arrow + 4);
      if (target.startsWith("socket:") && sockets == null) {
        sockets = OpenDescriptors.sockets();
      }
      OpenDescriptors.Socket socket =
          sockets == null ? null : OpenDescriptors.socket(target, sockets);
      if (socket != null
          && !socket.listening()
          && before.listeningPorts().contains(socket.localPort())) {
        continue;
      }
      leaks.add(
          new Leak(
              fd,
              "descriptor "
                  + fd.substring(0, arrow)
                  + " -> "
                  + (sockets == null ? target : OpenDescriptors.describe(target, sockets))));
    }
    for (Path p : new TreeSet<>(now.temporaries())) {
      if (!before.temporaries().contains(p) && !ignored.contains(p.toString())) {
        leaks.add(new Leak(p.toString(), "temporary file " + p));
      }
    }
    return leaks;
  }

  /** The resources new since {@code before} that {@code kept} matches (declared kept on purpose). */
  public static List<Leak> keptSince(Snapshot before, List<Pattern> kept) {
    if (kept.isEmpty()) {
      return List.of();
    }
    List<Leak> all = compare(before, snapshot(), Set.of());
    all.removeIf(l -> !matchesAny(l.description(), kept));
    return all;
  }

  private static boolean matchesAny(String description, List<Pattern> kept) {
    for (Pattern p : kept) {
      if (p.matcher(description).find()) {
        return true;
      }
    }
    return false;
  }

  /** The library's temporary files under {@code root}. */
  static Set<Path> temporaries(Path root) {
    Set<Path> found = new HashSet<>();
    if (!Files.isDirectory(root)) {
      return found;
    }
    try {
      Files.walkFileTree(
          root,
          EnumSet.noneOf(FileVisitOption.class),
          8,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              String name = file.getFileName().toString();
              for (Pattern p : TEMPORARY_NAMES) {
                if (p.matcher(name).matches()) {
                  found.add(file);
                  break;
                }
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
              // Deleted while walking, or unreadable: not a temporary left behind by us.
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) {
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw new IllegalStateException("cannot walk " + root, e);
    }
    return found;
  }
}
