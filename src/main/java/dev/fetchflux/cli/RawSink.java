package dev.fetchflux.cli;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchResult;
import dev.fetchflux.StreamedResult;
import java.io.IOException;
import java.io.OutputStream;
import org.jspecify.annotations.Nullable;

/**
 * Response bodies, as raw bytes, one after the other (like curl with several URLs). A streamed body
 * is written as it arrives; one that fails before any of it left the output's buffer is taken back
 * ({@link RawOutput}).
 */
final class RawSink implements ResultSink {
  private final RawOutput out;
  private final @Nullable Stderr terminal;

  /**
   * @param terminal the live progress line's stderr when stdout is the same terminal (each body is
   *     then written and flushed with the line wiped), else {@code null}
   */
  RawSink(OutputStream stdout, @Nullable Stderr terminal) {
    this.out = new RawOutput(stdout);
    this.terminal = terminal;
  }

  @Override
  public void write(FetchResult result, String method, @Nullable String failure)
      throws IOException {
    if (result instanceof FetchResult.Success ok) {
      if (terminal != null) {
        terminal.above(
            () -> {
              Bodies.writeTo(ok, out.stream());
              out.flush();
            });
      } else {
        Bodies.writeTo(ok, out.stream());
      }
    }
  }

  @Override
  public long writeStreamed(StreamedResult.Success result, String method) throws IOException {
    Stderr t = terminal;
    if (t != null) {
      // The progress line stays off the terminal while the body streams onto it.
      t.suspend();
    }
    out.beginBody();
    boolean whole = false;
    try {
      long n = result.body().transferTo(out.channel());
      whole = true;
      if (t != null) {
        out.flush();
      }
      return n;
    } catch (FetchException | IllegalStateException e) {
      out.abandonBody();
      throw e;
    } finally {
      if (whole) {
        out.endBody();
      }
      if (t != null) {
        t.resume();
      }
    }
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    out.flush();
  }
}
