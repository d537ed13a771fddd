package dev.fetchflux.cli;

import dev.fetchflux.FetchResult;
import java.io.IOException;
import java.io.OutputStream;
import org.jspecify.annotations.Nullable;

/** {@code --jsonl}: one JSON record per input on stdout, bodies included only with {@code --jsonl-body}. */
final class JsonlSink implements ResultSink {
  private final JsonLines out;

  JsonlSink(OutputStream stdout, boolean withBody) throws IOException {
    this.out = new JsonLines(stdout, withBody);
  }

  @Override
  public void write(FetchResult result, @Nullable String failure) throws IOException {
    out.write(result, failure, false, null);
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
