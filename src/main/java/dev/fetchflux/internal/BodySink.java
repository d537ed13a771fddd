package dev.fetchflux.internal;

import dev.fetchflux.Body;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.CompletionHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.scheduler.Schedulers;

/**
 * Collects one response body: in a growable array up to the spill threshold, then in a temporary file.
 *
 * <p>Chunks arrive on an event loop, which must never block, so the file is created on
 * {@code boundedElastic} and written with an {@link AsynchronousFileChannel}, whose writes complete on
 * the channel's own threads. {@link #write} returns a {@code Mono} that completes when the chunk is
 * stored; the caller writes chunks one at a time ({@code concatMap}), so reactor-netty's backpressure
 * stops reading from the socket while the disk catches up. Not thread-safe: one writer at a time.
 */
final class BodySink {
  private final long spillThreshold;
  private final Path spillDirectory;

  private byte[] memory;
  private int memorySize;

  private @Nullable Path file;
  private @Nullable AsynchronousFileChannel channel;
  private long fileSize;
  private boolean finished;

  BodySink(int expectedSize, long spillThreshold, Path spillDirectory) {
    this.spillThreshold = spillThreshold;
    this.spillDirectory = spillDirectory;
    int initial = expectedSize > 0 && expectedSize <= spillThreshold ? expectedSize : 256;
    this.memory = new byte[initial];
  }

  /** Bytes stored so far. */
  long size() {
    return channel == null ? memorySize : fileSize;
  }

  /** Stores {@code chunk} (which the sink now owns). */
  Mono<Void> write(byte[] chunk) {
    if (channel != null) {
      return writeToFile(chunk);
    }
    if ((long) memorySize + chunk.length <= spillThreshold) {
      append(chunk);
      return Mono.empty();
    }
    return openFile().then(Mono.defer(() -> {
      byte[] held = Arrays.copyOf(memory, memorySize);
      memory = new byte[0];
      memorySize = 0;
      return writeToFile(held).then(Mono.defer(() -> writeToFile(chunk)));
    }));
  }

  private void append(byte[] chunk) {
    if (memorySize + chunk.length > memory.length) {
      long grown = Math.max((long) memorySize + chunk.length, (long) memory.length * 2);
      memory = Arrays.copyOf(memory, (int) Math.min(grown, Integer.MAX_VALUE - 8));
    }
    System.arraycopy(chunk, 0, memory, memorySize, chunk.length);
    memorySize += chunk.length;
  }

  private Mono<Void> openFile() {
    return Mono.fromCallable(() -> {
          Files.createDirectories(spillDirectory);
          Path f = Files.createTempFile(spillDirectory, "fetchflux-", ".body");
          AsynchronousFileChannel ch =
              AsynchronousFileChannel.open(f, StandardOpenOption.WRITE);
          file = f;
          channel = ch;
          return f;
        })
        .subscribeOn(Schedulers.boundedElastic())
        .then();
  }

  private Mono<Void> writeToFile(byte[] chunk) {
    if (chunk.length == 0) {
      return Mono.empty();
    }
    AsynchronousFileChannel ch = channel;
    if (ch == null) {
      return Mono.error(new IllegalStateException("spill file not open"));
    }
    ByteBuffer buf = ByteBuffer.wrap(chunk);
    return Mono.create(sink -> writeFully(ch, buf, sink));
  }

  private void writeFully(AsynchronousFileChannel ch, ByteBuffer buf, MonoSink<Void> sink) {
    ch.write(buf, fileSize, null, new CompletionHandler<Integer, @Nullable Object>() {
      @Override
      public void completed(Integer written, @Nullable Object attachment) {
        fileSize += written;
        if (buf.hasRemaining()) {
          writeFully(ch, buf, sink);
        } else {
          sink.success();
        }
      }

      @Override
      public void failed(Throwable error, @Nullable Object attachment) {
        sink.error(error);
      }
    });
  }

  /** The collected body; the sink gives up ownership of its memory or file. */
  Mono<Body> finish() {
    finished = true;
    AsynchronousFileChannel ch = channel;
    Path f = file;
    if (ch == null || f == null) {
      return Mono.just(Body.adopt(
          memorySize == memory.length ? memory : Arrays.copyOf(memory, memorySize)));
    }
    long size = fileSize;
    return Mono.fromCallable(() -> {
          ch.close();
          return Body.adoptFile(f, size);
        })
        .subscribeOn(Schedulers.boundedElastic());
  }

  /** Drops what was collected (error or cancellation): closes and deletes the file, off the loop. */
  void abort() {
    memory = new byte[0];
    AsynchronousFileChannel ch = channel;
    Path f = file;
    if (finished || ch == null || f == null) {
      return;
    }
    Schedulers.boundedElastic().schedule(() -> {
      try {
        ch.close();
        Files.deleteIfExists(f);
      } catch (IOException ignored) {
        // best effort; nothing else to tell the caller, whose request already failed
      }
    });
  }
}
