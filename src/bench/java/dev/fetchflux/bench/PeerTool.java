package dev.fetchflux.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The tools compared by {@code src/bench/peers.sh} ({@link Peers}), each run as its own process,
 * the way a user runs it: its command line, what its output is, and which package it needs.
 */
enum PeerTool {
  FETCHFLUX("fetchflux", "fetchflux", "fetchflux", Output.ORDERED, ""),
  FETCHFLUX_UNORDERED(
      "fetchflux-unordered",
      "fetchflux `--unordered`",
      "fetchflux --unordered",
      Output.UNORDERED,
      ""),
  /** The same launcher on the JDK 25 that {@code --jdk25} names ({@code JAVA_HOME}). */
  FETCHFLUX_JDK25(
      "fetchflux-jdk25", "fetchflux on JDK 25", "fetchflux (JDK 25)", Output.ORDERED, "jdk25"),
  FETCHFLUX_UNORDERED_JDK25(
      "fetchflux-unordered-jdk25",
      "fetchflux `--unordered` on JDK 25",
      "fetchflux --unordered (JDK 25)",
      Output.UNORDERED,
      "jdk25"),
  CURL_Z("curl-z", "`curl -Z`, to stdout", "curl -Z (stdout)", Output.UNORDERED, "curl"),
  CURL_Z_FILES(
      "curl-z-files", "`curl -Z`, a file per URL", "curl -Z (file per URL)", Output.FILES, "curl"),
  PARALLEL("parallel", "`parallel -k` + curl", "parallel -k + curl", Output.ORDERED, "parallel"),
  AIOHTTP(
      "aiohttp", "aiohttp `gather` (ordered)", "aiohttp gather", Output.ORDERED, "python3-aiohttp"),
  AIOHTTP_UNORDERED(
      "aiohttp-unordered",
      "aiohttp `as_completed`",
      "aiohttp as_completed",
      Output.UNORDERED,
      "python3-aiohttp"),
  REACTOR_SEQ(
      "reactor-seq",
      "Reactor `flatMapSequential`",
      "Reactor flatMapSequential",
      Output.ORDERED,
      ""),
  REACTOR_FLATMAP("reactor-flatmap", "Reactor `flatMap`", "Reactor flatMap", Output.UNORDERED, ""),
  /** {@link BareReactorPeer}: reactor-netty as cheaply as this job allows, in input order. */
  BARE(
      "bare-reactor",
      "bare reactor-netty, cheapest (ordered)",
      "bare reactor-netty",
      Output.ORDERED,
      ""),
  JDK("jdk", "JDK `HttpClient`, window of C", "JDK HttpClient window", Output.ORDERED, ""),
  CURL_LOOP("curl-loop", "sequential curl loop", "sequential curl loop", Output.ORDERED, "curl"),
  /**
   * The same command built from an earlier commit ({@code --before DIR}, a checkout with its own
   * {@code ./fetchflux}), for before/after figures in one interleaved run; large bodies only.
   */
  FETCHFLUX_BEFORE(
      "fetchflux-before", "fetchflux before streaming", "fetchflux (before)", Output.ORDERED, "");

  /** What a tool's output is, and so how it is checked ({@link OutputCheck}). */
  enum Output {
    ORDERED("in order"),
    UNORDERED("any order"),
    FILES("file per URL");

    final String label;

    Output(String label) {
      this.label = label;
    }
  }

  /** Where a run's inputs and the machine's tools are. */
  record Env(
      Path root,
      String python,
      String java,
      List<String> peerJvm,
      String classpath,
      Path cert,
      Path trustStore,
      String jdk25,
      String before) {

    /**
     * The Java peers' JVM flags for a run of {@code urls} URLs: the launcher's start-up flags, and
     * like the launcher both JIT compilers (no {@code TieredStopAtLevel=1}) from 250,000 URLs on,
     * where C2's code pays for its compilations; heap left to the JVM.
     */
    List<String> peerJvm(int urls) {
      if (urls < 250_000) {
        return peerJvm;
      }
      return peerJvm.stream().filter(f -> !f.startsWith("-XX:TieredStopAtLevel")).toList();
    }

    /** JVM system properties that make the JDK trust the benchmark's certificate. */
    List<String> trust() {
      return List.of(
          "-Djavax.net.ssl.trustStore=" + trustStore,
          "-Djavax.net.ssl.trustStorePassword=changeit",
          "-Djavax.net.ssl.trustStoreType=PKCS12");
    }
  }

  final String id;
  final String label;
  final String plain;
  final Output output;

  /** The Debian package the tool needs besides a JDK, or empty. */
  final String needs;

  PeerTool(String id, String label, String plain, Output output, String needs) {
    this.id = id;
    this.label = label;
    this.plain = plain;
    this.output = output;
    this.needs = needs;
  }

  static PeerTool of(String id) {
    for (PeerTool t : values()) {
      if (t.id.equals(id)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown tool " + id);
  }

  /** Whether the tool takes part in scenario {@code s}. */
  boolean runsOn(PeerScenario s) {
    if (this == FETCHFLUX_BEFORE) {
      return s == PeerScenario.S4 || s == PeerScenario.S8;
    }
    if (s == PeerScenario.S5) {
      // The S5 compares these three: one of each kind, streaming or not.
      return Set.of(FETCHFLUX, FETCHFLUX_JDK25, CURL_Z, AIOHTTP).contains(this);
    }
    if (s == PeerScenario.S8) {
      // 5 GiB: the tools that hold bodies in memory (aiohttp gather, the Reactor and JDK
      // programs) would need 5 GiB of heap; curl -Z to stdout interleaves, as in S4.
      return Set.of(
              FETCHFLUX, FETCHFLUX_UNORDERED, FETCHFLUX_JDK25, CURL_Z_FILES, CURL_LOOP, PARALLEL)
          .contains(this);
    }
    if (s == PeerScenario.S7) {
      // Per-request cost: fetchflux against reactor-netty alone and against curl; the tools that
      // take minutes for 100,000 URLs (a process per URL, aiohttp, a file per URL) are left out.
      return Set.of(
              FETCHFLUX,
              FETCHFLUX_UNORDERED,
              FETCHFLUX_JDK25,
              FETCHFLUX_UNORDERED_JDK25,
              CURL_Z,
              REACTOR_SEQ,
              REACTOR_FLATMAP,
              BARE)
          .contains(this);
    }
    if (this == FETCHFLUX_UNORDERED_JDK25) {
      return false;
    }
    // curl -Z writes to stdout whatever arrives on any transfer: 20 MiB bodies interleave; the
    // cheapest reactor-netty program holds whole bodies, C of 20 MiB each, in its 256 MB heap.
    return !(s == PeerScenario.S4 && (this == CURL_Z || this == BARE));
  }

  /**
   * True for the tools timed on the first URLs of a scenario and extrapolated to all of them,
   * because running them whole would not fit the script's 20 minutes: one process per URL.
   */
  boolean extrapolated() {
    return this == CURL_LOOP || this == PARALLEL;
  }

  /** The tool's input format: a URL per line, or a curl config file ({@code -K}). */
  String input() {
    return this == CURL_Z ? "curl.cfg" : this == CURL_Z_FILES ? "curl-files.cfg" : "urls.txt";
  }

  /** The command line for {@code urls} URLs of {@code s}; stdin is {@link #input()}, stdout the output file. */
  List<String> command(Env env, PeerScenario s, int urls) {
    boolean tls = s.server == PeerScenario.Server.HTTPS;
    String c = Integer.toString(s.concurrency);
    List<String> cmd = new ArrayList<>();
    switch (this) {
      case FETCHFLUX,
          FETCHFLUX_UNORDERED,
          FETCHFLUX_JDK25,
          FETCHFLUX_UNORDERED_JDK25,
          FETCHFLUX_BEFORE -> {
        if (this == FETCHFLUX_JDK25 || this == FETCHFLUX_UNORDERED_JDK25) {
          cmd.addAll(List.of("env", "JAVA_HOME=" + env.jdk25()));
        }
        Path home = this == FETCHFLUX_BEFORE ? Path.of(env.before()) : env.root();
        cmd.addAll(List.of(home.resolve("fetchflux").toString(), "-s", "-c", c));
        if (this == FETCHFLUX_UNORDERED || this == FETCHFLUX_UNORDERED_JDK25) {
          cmd.add("--unordered");
        }
        if (tls) {
          cmd.add("--http2");
        }
        if (s == PeerScenario.S8) {
          cmd.addAll(List.of("--max-filesize", "1100M")); // the default is 32M
        }
      }
      case CURL_Z, CURL_Z_FILES -> {
        cmd.addAll(List.of("curl", "-sS", "-Z", "--parallel-max", c));
        if (tls) {
          cmd.addAll(List.of("--cacert", env.cert().toString()));
        }
        cmd.addAll(List.of("-K", "-"));
      }
      case PARALLEL -> {
        cmd.addAll(List.of("parallel", "-k", "-j", c, "curl", "-sS"));
        if (tls) {
          cmd.addAll(List.of("--cacert", env.cert().toString()));
        }
        cmd.add("{}");
      }
      case AIOHTTP, AIOHTTP_UNORDERED -> {
        cmd.addAll(
            List.of(
                env.python(),
                env.root().resolve("src/bench/peers/aiohttp_fetch.py").toString(),
                "-c",
                c));
        if (this == AIOHTTP_UNORDERED) {
          cmd.add("--unordered");
        }
        if (tls) {
          cmd.addAll(List.of("--cafile", env.cert().toString()));
        }
      }
      case REACTOR_SEQ, REACTOR_FLATMAP -> {
        cmd.add(env.java());
        cmd.addAll(env.peerJvm(urls));
        cmd.addAll(env.trust());
        cmd.addAll(
            List.of(
                "-cp",
                env.classpath(),
                NaiveReactorPeer.class.getName(),
                this == REACTOR_SEQ ? "--sequential" : "--flatmap",
                "-c",
                c));
        if (tls) {
          cmd.add("--http2");
        }
      }
      case BARE -> {
        cmd.add(env.java());
        cmd.addAll(env.peerJvm(urls));
        // The heap fetchflux's launcher gives it, so that neither pays more for garbage collection.
        cmd.add("-Xmx256m");
        cmd.addAll(env.trust());
        cmd.addAll(List.of("-cp", env.classpath(), BareReactorPeer.class.getName(), "-c", c));
        if (tls) {
          cmd.add("--http2");
        }
      }
      case JDK -> {
        cmd.add(env.java());
        cmd.addAll(env.peerJvm(urls));
        cmd.addAll(env.trust());
        cmd.addAll(List.of("-cp", env.classpath(), JdkHttpClientPeer.class.getName(), "-c", c));
      }
      case CURL_LOOP -> {
        cmd.addAll(
            List.of(
                "bash", "-c", "while read -r url; do curl -sS \"$@\" \"$url\"; done", "curl-loop"));
        if (tls) {
          cmd.addAll(List.of("--cacert", env.cert().toString()));
        }
      }
      default -> throw new IllegalStateException(id);
    }
    return cmd;
  }

  /** What the report says about how the tool ran in {@code s}, besides its figures. */
  String note(PeerScenario s) {
    List<String> notes = new ArrayList<>();
    if (s.server == PeerScenario.Server.HTTPS) {
      if (this == AIOHTTP || this == AIOHTTP_UNORDERED) {
        notes.add("HTTP/1.1 (aiohttp has no HTTP/2 client)");
      } else if (this == PARALLEL || this == CURL_LOOP) {
        notes.add("HTTP/2, a TLS handshake per URL (a process each)");
      } else {
        notes.add("HTTP/2");
      }
    }
    if (this == PARALLEL || this == CURL_LOOP) {
      notes.add("peak RSS of the largest single process");
    }
    if (this == AIOHTTP) {
      notes.add("writes nothing until every body is in memory");
    }
    return String.join("; ", notes);
  }
}
