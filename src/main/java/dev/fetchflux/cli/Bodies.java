package dev.fetchflux.cli;

import dev.fetchflux.FetchResult;
import java.io.IOException;
import java.io.OutputStream;

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

  /** Frees what the body holds beyond the heap (a spilled temporary file); idempotent. */
  static void release(FetchResult result) {
    if (result instanceof FetchResult.Success ok) {
      ok.body().release();
    }
  }
}
