package dev.fetchflux.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * The command's standard error: failure lines, the summary, and the live progress line, which is
 * wiped before any other line is printed and redrawn after it, so that the two never interleave.
 */
final class Stderr {
  private static final String CLEAR_LINE = "\r\033[K";

  private final PrintWriter err;
  private String progress = "";
  private boolean suspended;

  Stderr(PrintWriter err) {
    this.err = err;
  }

  /** Prints one line (any progress line is kept below it). */
  synchronized void line(String text) {
    wipe();
    err.println(text);
    draw();
    err.flush();
  }

  /** Prints a stack trace (for {@code -v}). */
  synchronized void stackTrace(Throwable t) {
    wipe();
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    err.print(w);
    draw();
    err.flush();
  }

  /**
   * Runs {@code write}, which writes to stdout, with the progress line wiped, and redraws the line
   * after it. For when stdout and stderr are the same terminal; {@code write} must flush.
   */
  synchronized void above(IoAction write) throws java.io.IOException {
    wipe();
    err.flush();
    try {
      write.run();
    } finally {
      draw();
      err.flush();
    }
  }

  /**
   * Wipes the progress line and keeps it off until {@link #resume()}: stdout, the same terminal,
   * is getting a body that streams for a while. Lines printed meanwhile still appear.
   */
  synchronized void suspend() {
    wipe();
    err.flush();
    suspended = true;
  }

  /** Draws the progress line again after {@link #suspend()}. */
  synchronized void resume() {
    suspended = false;
    draw();
    err.flush();
  }

  /** A write that may fail. */
  interface IoAction {
    void run() throws java.io.IOException;
  }

  /** Replaces the live progress line; an empty text removes it. */
  synchronized void progress(String text) {
    wipe();
    progress = text;
    draw();
    err.flush();
  }

  private void wipe() {
    if (!progress.isEmpty() && !suspended) {
      err.print(CLEAR_LINE);
    }
  }

  private void draw() {
    if (!progress.isEmpty() && !suspended) {
      err.print(progress);
    }
  }
}
