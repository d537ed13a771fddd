package dev.fetchflux.cli;

import dev.fetchflux.FetchResult;
import dev.fetchflux.StreamedResult;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * Where results go: stdout as raw bodies or JSON lines, or files in a directory. Called on the writer
 * thread only, one result at a time, in the order the results are to appear; blocking is expected.
 * Collected results (unordered runs) come whole through {@link #write}; in ordered runs a success's
 * body streams through {@link #writeStreamed} as it arrives.
 */
interface ResultSink {
  /**
   * Writes one result.
   *
   * @param method the request's method, as reported (for a rejected JSONL line, the line's)
   * @param failure for a failure, its message as printed on stderr (without the program name)
   */
  void write(FetchResult result, String method, @Nullable String failure) throws IOException;

  /**
   * Writes one streamed success: its body as it arrives, then what the sink records of it, and
   * returns the body's length. A body that fails on its way throws its {@link
   * dev.fetchflux.FetchException} (unchecked) after the sink has dropped what it can of it (a file
   * not yet in place); the caller then writes the failure with {@link #write}.
   *
   * @param method the request's method, as reported
   */
  long writeStreamed(StreamedResult.Success result, String method) throws IOException;

  /** Pushes buffered output out, so a reader downstream sees results while the run goes on. */
  void flush() throws IOException;

  /** Flushes and releases the sink's files; does not close stdout. */
  void close() throws IOException;
}
