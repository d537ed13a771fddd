package dev.fetchflux.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The scenarios of issue 7 ({@code src/bench/peers.sh}): which server, how many URLs, the
 * concurrency C and the exact body every URL must return, so that the driver ({@link Peers}) can
 * check any tool's output without keeping a copy of what the server sent.
 *
 * <p>Every body starts with {@code <tag> <index>} followed by a space or a newline ({@code kib 17 …},
 * {@code big 17\n…}, {@code line 17 50\n}, {@code n 17\n}), so output in any order can be cut back
 * into bodies: read the index at the current offset, then that body's known length. The small
 * bodies are one line each; the 20 MiB bodies are random bytes after their first line.
 */
enum PeerScenario {

  /** 10,000 × 1 KiB static files from nginx, C = 64. */
  S1(10_000, 64, Server.HTTP, "10,000 × 1 KiB static files from nginx") {
    @Override
    String path(int i) {
      return "/kib/" + i;
    }

    @Override
    byte[] body(int i) {
      return kib(i);
    }
  },

  /** 2,000 URLs that answer after 50 ms, from the delay server, C = 64. */
  S2(2_000, 64, Server.DELAY, "2,000 URLs answering after 50 ms") {
    @Override
    String path(int i) {
      return "/line/50/" + i;
    }

    @Override
    byte[] body(int i) {
      return line(i, 50);
    }
  },

  /** Skewed: 1,000 URLs of 20 ms where every 50th (0, 50, …) takes 1 s, C = 32. */
  S3(1_000, 32, Server.DELAY, "skewed: 1,000 URLs of 20 ms, every 50th 1 s") {
    @Override
    String path(int i) {
      return "/line/" + skewedMs(i) + "/" + i;
    }

    @Override
    byte[] body(int i) {
      return line(i, skewedMs(i));
    }
  },

  /** 50 × 20 MiB static files from nginx, C = 8, ordered to stdout. */
  S4(50, 8, Server.HTTP, "50 × 20 MiB static files from nginx") {
    @Override
    String path(int i) {
      return "/big/" + i;
    }

    @Override
    long length(int i) {
      return BIG;
    }

    @Override
    void write(int i, OutputStream out) throws IOException {
      writeBig(i, out);
    }
  },

  /** 1,000,000 URLs on stdin with small bodies (nginx's {@code return}), C = 64. */
  S5(1_000_000, 64, Server.HTTP, "1,000,000 URLs on stdin, small bodies") {
    @Override
    String path(int i) {
      return "/n?i=" + i;
    }

    @Override
    byte[] body(int i) {
      return small(i);
    }
  },

  /** S1's files over HTTPS with HTTP/2 (where the tool can), C = 64. */
  S6(10_000, 64, Server.HTTPS, "S1's files over HTTPS with HTTP/2") {
    @Override
    String path(int i) {
      return "/kib/" + i;
    }

    @Override
    byte[] body(int i) {
      return kib(i);
    }
  },

  /**
   * 100,000 URLs on stdin with bodies of about 1 KiB (issue 14's per-request cost), C = 64: nginx's
   * {@code return} makes each body from the URL ({@code k <i> <PAD>\n}, 1,019–1,023 bytes), so
   * every body is different, none is read from disk, and output in any order can still be checked.
   */
  S7(100_000, 64, Server.HTTP, "100,000 URLs on stdin, 1 KiB bodies") {
    @Override
    String path(int i) {
      return "/k?i=" + i;
    }

    @Override
    byte[] body(int i) {
      return ("k " + i + " " + PAD + "\n").getBytes(StandardCharsets.US_ASCII);
    }
  },

  /**
   * 5 × 1 GiB static files from nginx, C = 8, ordered to stdout (issue 14, "Large bodies streamed in
   * order"): each body is 200 times S4's, so only streaming keeps memory bounded.
   */
  S8(5, 8, Server.HTTP, "5 × 1 GiB static files from nginx") {
    @Override
    String path(int i) {
      return "/gib/" + i;
    }

    @Override
    long length(int i) {
      return GIB;
    }

    @Override
    void write(int i, OutputStream out) throws IOException {
      writeGib(i, out);
    }
  };

  // S8, 5 × 1 GiB streamed in order, belongs to the streaming work (issue 14, "Large bodies
  // streamed in order"): a constant here, a static-file generator beside writeBig, and its tools in
  // PeerTool.runsOn.

  /**
   * The filler of S7's bodies: the alphabet 39 times (1,014 bytes). {@code src/bench/peers.sh} writes
   * the same text into nginx's {@code location = /k}; the two must agree.
   */
  static final String PAD = "abcdefghijklmnopqrstuvwxyz".repeat(39);

  /** Which local server a scenario's URLs point at. */
  enum Server {
    /** nginx, one worker, plain HTTP/1.1. */
    HTTP,
    /** The same nginx on its TLS listener (HTTP/2 offered by ALPN). */
    HTTPS,
    /** {@link BenchServer}: {@code /line/{ms}/{i}}. */
    DELAY
  }

  /** Number of static files of 1 KiB (S1, S6). */
  static final int KIB_FILES = 10_000;

  /** Number of static files of 20 MiB (S4). */
  static final int BIG_FILES = 50;

  static final int KIB = 1024;
  static final int BIG = 20 << 20;

  /** Number of static files of 1 GiB (S8), and their size. */
  static final int GIB_FILES = 5;

  static final long GIB = 1L << 30;

  final int count;
  final int concurrency;
  final Server server;
  final String title;

  /** sha256 of the 20 MiB bodies, computed once from the generator (not from the served files). */
  private static final ConcurrentHashMap<String, byte[]> BIG_DIGESTS = new ConcurrentHashMap<>();

  PeerScenario(int count, int concurrency, Server server, String title) {
    this.count = count;
    this.concurrency = concurrency;
    this.server = server;
    this.title = title;
  }

  /** Path and query of URL {@code i}. */
  abstract String path(int i);

  /**
   * The body URL {@code i} must return, for scenarios whose bodies are small enough to build in
   * memory; S4's 20 MiB bodies are streamed instead ({@link #write}, {@link #length}).
   */
  byte[] body(int i) {
    throw new UnsupportedOperationException(name() + " streams its bodies");
  }

  /** Length of the body URL {@code i} must return. */
  long length(int i) {
    return body(i).length;
  }

  /** Writes the body URL {@code i} must return. */
  void write(int i, OutputStream out) throws IOException {
    out.write(body(i));
  }

  String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** sha256 of body {@code i}. */
  byte[] digest(int i) {
    if (this == S4 || this == S8) {
      return BIG_DIGESTS.computeIfAbsent(name() + "/" + i, k -> digestOf(this, i));
    }
    return digestOf(this, i);
  }

  private static byte[] digestOf(PeerScenario s, int i) {
    MessageDigest md = sha256();
    try (OutputStream out = new DigestSink(md)) {
      s.write(i, out);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return md.digest();
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** 20 ms, or 1 s for every 50th URL (the slow one heads each block of 50). */
  static int skewedMs(int i) {
    return i % 50 == 0 ? 1000 : 20;
  }

  /**
   * Static file {@code i} of 1 KiB: {@code kib <i> }, letters drawn from a generator seeded with
   * {@code i} (so every file differs), and a newline as its 1,024th byte.
   */
  static byte[] kib(int i) {
    byte[] b = new byte[KIB];
    byte[] head = ("kib " + i + " ").getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(head, 0, b, 0, head.length);
    SplittableRandom random = new SplittableRandom(i);
    for (int j = head.length; j < KIB - 1; j++) {
      b[j] = (byte) ('a' + random.nextInt(26));
    }
    b[KIB - 1] = '\n';
    return b;
  }

  /** The delay server's body for {@code /line/{ms}/{i}}. */
  static byte[] line(int i, int ms) {
    return ("line " + i + " " + ms + "\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** nginx's body for {@code /n?i={i}} ({@code return 200 "n $arg_i\n"}). */
  static byte[] small(int i) {
    return ("n " + i + "\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** Static file {@code i} of 20 MiB: {@code big <i>\n} and random bytes seeded with {@code i}. */
  static void writeBig(int i, OutputStream out) throws IOException {
    byte[] head = ("big " + i + "\n").getBytes(StandardCharsets.US_ASCII);
    out.write(head);
    SplittableRandom random = new SplittableRandom(0x5eed_0000L + i);
    byte[] chunk = new byte[1 << 16];
    long left = BIG - head.length;
    while (left > 0) {
      random.nextBytes(chunk);
      int n = (int) Math.min(chunk.length, left);
      out.write(chunk, 0, n);
      left -= n;
    }
  }

  /**
   * Static file {@code i} of 1 GiB (S8): {@code gib <i>\n} and random bytes seeded with {@code i},
   * as {@link #writeBig}.
   */
  static void writeGib(int i, OutputStream out) throws IOException {
    byte[] head = ("gib " + i + "\n").getBytes(StandardCharsets.US_ASCII);
    out.write(head);
    SplittableRandom random = new SplittableRandom(0x61b0_0000L + i);
    byte[] chunk = new byte[1 << 16];
    long left = GIB - head.length;
    while (left > 0) {
      random.nextBytes(chunk);
      int n = (int) Math.min(chunk.length, left);
      out.write(chunk, 0, n);
      left -= n;
    }
  }

  /**
   * Writes S8's files, {@code gib/0 … gib/4}, into nginx's document root, keeping those that exist
   * with the right size; only when S8 runs (5 GiB of disk).
   */
  static void generateGib(Path root) throws IOException {
    Path dir = Files.createDirectories(root.resolve("gib"));
    for (int i = 0; i < GIB_FILES; i++) {
      Path f = dir.resolve(Integer.toString(i));
      if (!Files.exists(f) || Files.size(f) != GIB) {
        Path tmp = dir.resolve(i + ".tmp");
        try (OutputStream out =
            new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
          writeGib(i, out);
        }
        Files.move(tmp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /**
   * Writes nginx's document root: {@code kib/0 … kib/9999} and {@code big/0 … big/49}. Files that
   * exist with the right size are kept (the content is a pure function of the index).
   */
  static void generate(Path root) throws IOException {
    Path kibDir = Files.createDirectories(root.resolve("kib"));
    for (int i = 0; i < KIB_FILES; i++) {
      Path f = kibDir.resolve(Integer.toString(i));
      if (!Files.exists(f) || Files.size(f) != KIB) {
        Files.write(f, kib(i));
      }
    }
    Path bigDir = Files.createDirectories(root.resolve("big"));
    for (int i = 0; i < BIG_FILES; i++) {
      Path f = bigDir.resolve(Integer.toString(i));
      if (!Files.exists(f) || Files.size(f) != BIG) {
        Path tmp = bigDir.resolve(i + ".tmp");
        try (OutputStream out =
            new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
          writeBig(i, out);
        }
        Files.move(tmp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /** An output stream that only feeds a digest. */
  static final class DigestSink extends OutputStream {
    private final MessageDigest md;

    DigestSink(MessageDigest md) {
      this.md = md;
    }

    @Override
    public void write(int b) {
      md.update((byte) b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      md.update(b, off, len);
    }
  }
}
