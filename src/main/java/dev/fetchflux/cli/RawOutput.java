package dev.fetchflux.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import org.jspecify.annotations.Nullable;

/**
 * The raw output ({@link RawSink}): a 64 KiB buffer in front of stdout, with a channel a streamed
 * body is written to. Small writes are gathered in the buffer, so many small bodies make few system
 * calls; a large write goes straight to the file descriptor, when there is one, without a copy into
 * the heap (the buffer is written first, so bytes keep their order).
 *
 * <p>A body that fails on its way is taken back if none of it has left the buffer yet: the output
 * is then what it was before the body, as when bodies were written only once whole. Only a body
 * that had already filled the buffer, or made a large write, leaves a part of itself behind (curl
 * writes every part it receives). The buffer is pushed out when full, by a large write, by {@link
 * #flush()} between results (every 50 ms while results keep coming), and at the end; while a
 * body waits for the network, the bodies before it are pushed out, its own bytes kept back.
 */
final class RawOutput {
  /** Writes this large or larger skip the buffer when there is a file descriptor to write to. */
  static final int DIRECT_MIN = 32 * 1024;

  static final int BUFFER = 64 * 1024;

  private final OutputStream out;
  private final @Nullable FileChannel direct;
  private final byte[] buf = new byte[BUFFER];
  private int count;

  /** Where the body being written starts in the buffer; -1 between bodies. */
  private int bodyStart = -1;

  /** Whether a part of the body being written has left the buffer. */
  private boolean bodyLeft;

  private final OutputStream stream = new Stream();
  private final WritableByteChannel channel = new Channel();

  /**
   * @param out stdout; when it is a {@link java.io.FileOutputStream}, large writes use its channel
   */
  RawOutput(OutputStream out) {
    this.out = out;
    this.direct = out instanceof java.io.FileOutputStream f ? f.getChannel() : null;
  }

  /** The output as a stream (for bodies written whole). */
  OutputStream stream() {
    return stream;
  }

  /** The output as a channel (for streamed bodies). */
  WritableByteChannel channel() {
    return channel;
  }

  /** A body starts: what follows can be taken back by {@link #abandonBody} until it leaves. */
  void beginBody() {
    bodyStart = count;
    bodyLeft = false;
  }

  /** The body ended whole. */
  void endBody() {
    bodyStart = -1;
  }

  /** The body failed: takes it back if none of it has left the buffer. */
  void abandonBody() {
    if (bodyStart >= 0 && !bodyLeft) {
      count = bodyStart;
    }
    bodyStart = -1;
  }

  /** Writes the whole buffer out and flushes stdout. */
  void flush() throws IOException {
    drainBuffer();
    out.flush();
  }

  private void drainBuffer() throws IOException {
    if (count > 0) {
      out.write(buf, 0, count);
      count = 0;
      if (bodyStart >= 0) {
        bodyLeft = true;
        bodyStart = 0;
      }
    }
  }

  private void put(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      if (count == buf.length) {
        drainBuffer();
      }
      int k = Math.min(len, buf.length - count);
      System.arraycopy(b, off, buf, count, k);
      count += k;
      off += k;
      len -= k;
    }
  }

  private final class Stream extends OutputStream {
    @Override
    public void write(int b) throws IOException {
      put(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      put(b, off, len);
    }

    @Override
    public void flush() throws IOException {
      RawOutput.this.flush();
    }
  }

  /**
   * Writes out the bytes of the bodies before the one being written, keeping that one's (so that
   * it can still be taken back): a body's transfer calls this whenever it waits for the network, so
   * earlier bodies are not held back by a slow one.
   */
  private void flushFinished() throws IOException {
    if (bodyStart > 0 && !bodyLeft) {
      out.write(buf, 0, bodyStart);
      out.flush();
      System.arraycopy(buf, bodyStart, buf, 0, count - bodyStart);
      count -= bodyStart;
      bodyStart = 0;
    } else if (bodyStart < 0 || bodyLeft) {
      flush();
    }
  }

  private final class Channel implements WritableByteChannel, java.io.Flushable {
    /** See {@link RawOutput#flushFinished()}. */
    @Override
    public void flush() throws IOException {
      flushFinished();
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      int n = src.remaining();
      FileChannel d = direct;
      if (d != null && n >= DIRECT_MIN) {
        drainBuffer();
        if (bodyStart >= 0) {
          bodyLeft = true;
        }
        while (src.hasRemaining()) {
          d.write(src);
        }
        return n;
      }
      while (src.hasRemaining()) {
        if (count == buf.length) {
          drainBuffer();
        }
        int k = Math.min(src.remaining(), buf.length - count);
        src.get(buf, count, k);
        count += k;
      }
      return n;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    /** Does nothing: the output belongs to the sink. */
    @Override
    public void close() {}
  }
}
