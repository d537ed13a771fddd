package dev.fetchflux.bench;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The HTTP benchmark scenarios, shared by the server ({@link BenchServer}), the client runs
 * ({@link ClientRun}) and the driver ({@link Bench}), so that all three agree on the URLs and on the
 * body each URL must return.
 *
 * <p>Every URL's body is unique and derived from its index, so a client run can check count, order
 * and content of its output without keeping a copy of what the server sent.
 */
enum Workload {

  /**
   * Issue 3's skewed load: 1,000 URLs of 20 ms where every 50th (index 0, 50, …, 950) takes 1 s,
   * C = 32. The slow URLs sit at the head of each block of 50, the worst place for an ordered merge
   * that stalls behind its head. Body: the request path (the server's {@code /delay} echoes it).
   */
  SKEWED(1_000, 32) {
    @Override
    String path(int i) {
      return "/delay/" + (i % 50 == 0 ? 1000 : 20) + "/" + i;
    }

    @Override
    byte[] body(int i) {
      return path(i).getBytes(StandardCharsets.US_ASCII);
    }
  },

  /** Issue 3's throughput load: 10,000 small bodies (1 KiB, no delay), C = 64. */
  SMALL(10_000, 64) {
    @Override
    String path(int i) {
      return "/kib/" + i;
    }

    @Override
    byte[] body(int i) {
      return kib(i);
    }
  };

  /** Body size of {@link #SMALL}. */
  static final int KIB = 1024;

  final int count;
  final int concurrency;

  Workload(int count, int concurrency) {
    this.count = count;
    this.concurrency = concurrency;
  }

  /** Path and query of URL {@code i}. */
  abstract String path(int i);

  /** The body URL {@code i} must return. */
  abstract byte[] body(int i);

  /** Lower-case name used on command lines and in the report. */
  String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  static Workload of(String id) {
    return valueOf(id.toUpperCase(Locale.ROOT));
  }

  /** The URLs against {@code base} ({@code http://127.0.0.1:port}). */
  List<String> urls(String base) {
    List<String> urls = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      urls.add(base + path(i));
    }
    return urls;
  }

  /**
   * 1 KiB for index {@code i}: its decimal index and a newline, then letters that depend on {@code i},
   * so a body delivered at the wrong index or cut short does not compare equal.
   */
  static byte[] kib(int i) {
    byte[] b = new byte[KIB];
    byte[] head = (i + "\n").getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(head, 0, b, 0, head.length);
    for (int j = head.length; j < KIB; j++) {
      b[j] = (byte) ('a' + (i * 31 + j) % 26);
    }
    return b;
  }
}
