package dev.fetchflux.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Checks what a tool wrote against the bodies its URLs must return ({@link PeerScenario}), after
 * the clock has stopped:
 *
 * <ul>
 *   <li>ordered output: the sha256 of the whole output must equal the sha256 of the expected bodies
 *       concatenated in input order;
 *   <li>unordered output: the output is cut back into bodies (each starts with its index, see
 *       {@link PeerScenario}) and must hold every expected body exactly once, byte for byte (sha256
 *       per body): a permutation of the whole bodies, nothing interleaved, missing or repeated;
 *   <li>one file per URL: file {@code i} must hold body {@code i} (sha256).
 * </ul>
 *
 * <p>A run stopped at a time limit (S5) may end inside a body; its complete bodies are checked the
 * same way and counted.
 */
final class OutputCheck {

  /**
   * What the check found.
   *
   * @param problem why the output is wrong, or null when it is right
   * @param results bodies found complete and correct
   * @param bytes output size
   */
  record Verdict(@Nullable String problem, long results, long bytes) {
    boolean valid() {
      return problem == null;
    }
  }

  private static final Map<String, byte[]> CONCATENATED = new ConcurrentHashMap<>();
  private static final int MAX_HEADER = 48;

  private OutputCheck() {}

  /**
   * Output that must be bodies {@code 0 … n-1} in order. With {@code stopped}, a prefix of it
   * (the run was stopped at its time limit).
   */
  static Verdict ordered(Path out, PeerScenario s, int n, boolean stopped) throws IOException {
    if (!stopped) {
      byte[] expected = CONCATENATED.computeIfAbsent(s.id() + "/" + n, k -> concatenated(s, n));
      if (Arrays.equals(fileDigest(out), expected)) {
        return new Verdict(null, n, Files.size(out));
      }
    }
    // Either a stopped run, or a mismatch whose first wrong result we want to name.
    Verdict v = cut(out, s, n, true, stopped);
    if (v.valid() && !stopped) {
      return new Verdict(
          "sha256 of the output differs from the expected bytes", v.results(), v.bytes());
    }
    return v;
  }

  /** Output that must be bodies {@code 0 … n-1} in any order, each whole and exactly once. */
  static Verdict unordered(Path out, PeerScenario s, int n, boolean stopped) throws IOException {
    return cut(out, s, n, false, stopped);
  }

  /** Directory in which file {@code i} must hold body {@code i}, for every {@code i < n}. */
  static Verdict files(Path dir, PeerScenario s, int n) throws IOException {
    long bytes = 0;
    for (int i = 0; i < n; i++) {
      Path f = dir.resolve(Integer.toString(i));
      if (!Files.isRegularFile(f)) {
        return new Verdict("no file for URL " + i, i, bytes);
      }
      bytes += Files.size(f);
      if (!Arrays.equals(fileDigest(f), s.digest(i))) {
        return new Verdict("file " + i + ": wrong body (" + Files.size(f) + " bytes)", i, bytes);
      }
    }
    return new Verdict(null, n, bytes);
  }

  private static byte[] concatenated(PeerScenario s, int n) {
    MessageDigest md = PeerScenario.sha256();
    try (OutputStream sink = new PeerScenario.DigestSink(md)) {
      for (int i = 0; i < n; i++) {
        s.write(i, sink);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return md.digest();
  }

  private static byte[] fileDigest(Path f) throws IOException {
    MessageDigest md = PeerScenario.sha256();
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(f)) {
      int r;
      while ((r = in.read(buf)) > 0) {
        md.update(buf, 0, r);
      }
    }
    return md.digest();
  }

  /**
   * Cuts the output into bodies: at each offset, reads {@code <tag> <index>} and then that body's
   * length, and compares its sha256 with the expected one.
   */
  private static Verdict cut(Path out, PeerScenario s, int n, boolean ordered, boolean stopped)
      throws IOException {
    BitSet seen = new BitSet(n);
    byte[] head = new byte[MAX_HEADER];
    byte[] buf = new byte[1 << 16];
    MessageDigest md = PeerScenario.sha256();
    long k = 0;
    long offset = 0;
    try (InputStream in = new BufferedInputStream(Files.newInputStream(out), 1 << 16)) {
      while (true) {
        int h = 0;
        int spaces = 0;
        int c;
        while (true) {
          c = in.read();
          if (c < 0) {
            break;
          }
          head[h++] = (byte) c;
          if (c == '\n' || (c == ' ' && ++spaces == 2)) {
            break;
          }
          if (h == MAX_HEADER) {
            return new Verdict(
                "result "
                    + k
                    + " (byte "
                    + offset
                    + ") does not start like a body: "
                    + ascii(head, h),
                k,
                offset);
          }
        }
        if (c < 0) {
          if (h == 0 || stopped) {
            break;
          }
          return new Verdict(
              "output ends inside result " + k + " (byte " + offset + ")", k, offset + h);
        }
        int index = index(head, h);
        if (index < 0 || index >= n) {
          return new Verdict(
              "result "
                  + k
                  + " (byte "
                  + offset
                  + ") is not one of the "
                  + n
                  + " bodies: "
                  + ascii(head, h),
              k,
              offset);
        }
        if (ordered && index != k) {
          return new Verdict("out of order: result " + k + " is URL " + index, k, offset);
        }
        if (seen.get(index)) {
          return new Verdict("URL " + index + " delivered twice (result " + k + ")", k, offset);
        }
        long length = s.length(index);
        md.reset();
        md.update(head, 0, h);
        long left = length - h;
        boolean cutShort = false;
        while (left > 0) {
          int r = in.read(buf, 0, (int) Math.min(buf.length, left));
          if (r < 0) {
            cutShort = true;
            break;
          }
          md.update(buf, 0, r);
          left -= r;
        }
        if (cutShort) {
          if (stopped) {
            break;
          }
          return new Verdict(
              "output ends inside result " + k + " (URL " + index + ")", k, offset + length - left);
        }
        if (!Arrays.equals(md.digest(), s.digest(index))) {
          return new Verdict("result " + k + " (URL " + index + "): wrong body", k, offset);
        }
        seen.set(index);
        k++;
        offset += length;
      }
    }
    if (!stopped && k != n) {
      return new Verdict(k + " of " + n + " bodies in the output", k, offset);
    }
    return new Verdict(null, k, offset);
  }

  /** The index in {@code <tag> <index>[ \n]}, or -1. */
  private static int index(byte[] head, int h) {
    int i = 0;
    while (i < h && head[i] != ' ') {
      i++;
    }
    long v = 0;
    int digits = 0;
    for (i++; i < h - 1; i++) {
      byte b = head[i];
      if (b < '0' || b > '9' || digits > 9) {
        return -1;
      }
      v = v * 10 + (b - '0');
      digits++;
    }
    return digits == 0 || v > Integer.MAX_VALUE ? -1 : (int) v;
  }

  private static String ascii(byte[] b, int n) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < n; i++) {
      int c = b[i] & 0xff;
      sb.append(
          c >= 0x20 && c < 0x7f
              ? String.valueOf((char) c)
              : String.format(Locale.ROOT, "\\x%02x", c));
    }
    return sb.append('"').toString().replace("|", "\\|");
  }
}
