package dev.fetchflux.cli;

import java.io.Closeable;
import java.io.IOException;
import java.io.Reader;
import org.jspecify.annotations.Nullable;

/**
 * Reads lines with a bound on their length. {@code BufferedReader.readLine} would hold a line of any
 * length in memory, so one gigabyte without a newline on stdin would end the run with an
 * {@code OutOfMemoryError}; here a line longer than the bound is kept only up to it and flagged, and
 * the caller turns it into a failure at its index.
 */
final class LineReader implements Closeable {
  private final Reader in;
  private final int maxLength;
  private final char[] buf = new char[8192];
  private int pos;
  private int end;
  private long lineNumber;
  private long lastLength;

  LineReader(Reader in, int maxLength) {
    this.in = in;
    this.maxLength = maxLength;
  }

  /**
   * The next line without its terminator ({@code \n} or {@code \r\n}), cut at the bound, or
   * {@code null} at the end of the input. Blocks until a whole line (or the end) has been read.
   */
  @Nullable String next() throws IOException {
    StringBuilder line = new StringBuilder();
    long length = 0;
    boolean any = false;
    while (true) {
      if (pos >= end) {
        int n = in.read(buf);
        if (n < 0) {
          if (!any) {
            return null;
          }
          break;
        }
        pos = 0;
        end = n;
      }
      any = true;
      int start = pos;
      while (pos < end && buf[pos] != '\n') {
        pos++;
      }
      int chunk = pos - start;
      int room = (int) Math.max(0, Math.min(chunk, maxLength + 1L - length));
      line.append(buf, start, room);
      length += chunk;
      if (pos < end) {
        pos++;
        break;
      }
    }
    lineNumber++;
    if (length > 0 && length <= maxLength + 1L && line.charAt(line.length() - 1) == '\r') {
      line.setLength(line.length() - 1);
      length--;
    }
    lastLength = length;
    if (line.length() > maxLength) {
      line.setLength(maxLength);
    }
    return line.toString();
  }

  /** The number of the line last returned by {@link #next()}, from 1. */
  long lineNumber() {
    return lineNumber;
  }

  /** Whether the line last returned was longer than the bound (and was cut). */
  boolean lastWasTooLong() {
    return lastLength > maxLength;
  }

  /** The full length of the line last returned, before any cut. */
  long lastLength() {
    return lastLength;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
