package dev.fetchflux.cli;

import dev.fetchflux.Body;
import dev.fetchflux.FetchResult;
import dev.fetchflux.StreamedResult;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jspecify.annotations.Nullable;

/**
 * {@code --jsonl}: one JSON record per input on stdout, or in the {@code --jsonl-file}; bodies
 * included only with {@code --jsonl-body}.
 */
final class JsonlSink implements ResultSink {
  private final JsonLines out;
  private final @Nullable OutputStream owned;

  JsonlSink(OutputStream stdout, boolean withBody) throws IOException {
    this(stdout, withBody, null);
  }

  private JsonlSink(OutputStream out, boolean withBody, @Nullable OutputStream owned)
      throws IOException {
    this.out = new JsonLines(out, withBody);
    this.owned = owned;
  }

  /**
   * Writes the records to {@code file}, created or emptied ({@code --jsonl-file} without
   * {@code --resume}), and locked against another run until {@link #close()}.
   */
  static JsonlSink create(Path file, boolean withBody) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    try {
      // Emptied only once locked, so a run still writing it is not cut under its feet.
      Resume.lock(ch, file);
      ch.truncate(0);
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    return append(ch, withBody);
  }

  /**
   * Writes the records to {@code file} from its current position ({@code --resume}, after
   * {@link Resume#finish()}); closes it on {@link #close()}.
   */
  static JsonlSink append(FileChannel file, boolean withBody) throws IOException {
    OutputStream stream = new BufferedOutputStream(Channels.newOutputStream(file), 64 * 1024);
    return new JsonlSink(stream, withBody, stream);
  }

  @Override
  public void write(FetchResult result, String method, @Nullable String failure)
      throws IOException {
    out.write(result, method, failure, false, null);
  }

  /**
   * The record needs the body's length (and, with {@code --jsonl-body}, the body) before it can be
   * written: without the body, the body is read through and dropped as it arrives, nothing held;
   * with it, it is collected as the fetcher keeps bodies (in memory, or in a temporary file past the
   * spill threshold), written into the record, and released.
   */
  @Override
  public long writeStreamed(StreamedResult.Success ok, String method) throws IOException {
    if (!out.withBody()) {
      long bytes = ok.body().transferTo(Discard.INSTANCE);
      out.write(JsonLines.Done.of(ok, bytes, null), method, false, null);
      return bytes;
    }
    Body body = java.util.Objects.requireNonNull(ok.body().toBody().block());
    try {
      out.write(JsonLines.Done.of(ok, body.size(), body), method, false, null);
      return body.size();
    } finally {
      body.release();
    }
  }

  /** A channel that takes every byte and keeps none. */
  private static final class Discard implements WritableByteChannel {
    static final Discard INSTANCE = new Discard();

    @Override
    public int write(ByteBuffer src) {
      int n = src.remaining();
      src.position(src.limit());
      return n;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    try {
      out.close();
    } finally {
      if (owned != null) {
        owned.close();
      }
    }
  }
}
