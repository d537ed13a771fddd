package dev.fetchflux.cli;

import dev.fetchflux.FetchResult;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.jspecify.annotations.Nullable;

/** Response bodies, as raw bytes, one after the other (like curl with several URLs). */
final class RawSink implements ResultSink {
  private final OutputStream out;
  private final @Nullable Stderr terminal;

  /**
   * @param terminal the live progress line's stderr when stdout is the same terminal (each body is
   *     then written and flushed with the line wiped), else {@code null}
   */
  RawSink(OutputStream stdout, @Nullable Stderr terminal) {
    this.out = new BufferedOutputStream(stdout, 64 * 1024);
    this.terminal = terminal;
  }

  @Override
  public void write(FetchResult result, String method, @Nullable String failure)
      throws IOException {
    if (result instanceof FetchResult.Success ok) {
      if (terminal != null) {
        terminal.above(
            () -> {
              Bodies.writeTo(ok, out);
              out.flush();
            });
      } else {
        Bodies.writeTo(ok, out);
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
