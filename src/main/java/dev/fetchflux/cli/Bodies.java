package dev.fetchflux.cli;

import dev.fetchflux.FetchResult;
import java.io.IOException;
import java.io.OutputStream;
import reactor.core.scheduler.Schedulers;

/**
 * The one place where the writers touch a response body: size, write, release. Writers stream the
 * body to their output instead of copying it into an array, so a body the library keeps on disk is
 * never loaded into the heap, and each result's body is released once written (or skipped).
 */
final class Bodies {
  private Bodies() {}

  /** The body's length in bytes; 0 for a failure. */
  static long size(FetchResult result) {
    return result instanceof FetchResult.Success ok ? ok.body().size() : 0;
  }

  /** Writes the body of a success to {@code out}; blocking. */
  static void writeTo(FetchResult.Success result, OutputStream out) throws IOException {
    result.body().writeTo(out);
  }

  /**
   * Frees what the body holds beyond the heap (deletes a spilled temporary file); idempotent.
   * Blocking: for the writer thread.
   */
  static void release(FetchResult result) {
    if (result instanceof FetchResult.Success ok) {
      ok.body().release();
    }
  }

  /**
   * Like {@link #release} for results dropped by a cancelled stream, which may be dropped on an event
   * loop: the file deletion is moved to a thread that may block.
   */
  static void releaseDiscarded(FetchResult result) {
    if (result instanceof FetchResult.Success ok && !ok.body().isInMemory()) {
      Schedulers.boundedElastic().schedule(ok.body()::release);
    }
  }
}
