package dev.fetchflux.internal;

import dev.fetchflux.Body;
import dev.fetchflux.BodyStream;
import dev.fetchflux.Timings;
import io.netty.buffer.ByteBuf;
import java.io.Flushable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.concurrent.Queues;

/**
 * The {@link BodyStream} of a streamed success: the public ways to read a {@link BodyRelay}, each of
 * which releases every network buffer it is handed, whatever happens.
 */
public final class StreamedBody implements BodyStream {
  /**
   * Buffers a blocking transfer lets the relay hand it ahead of its writes (about 2 MiB of 64 KiB
   * socket reads): enough to cover its naps; it asks for half of them again once it wrote half.
   */
  static final int TRANSFER_PREFETCH = 32;

  /**
   * How long a transfer that found nothing to write naps before it looks again, and how many naps
   * it takes before it sleeps until woken. While it naps, the event loop hands buffers over without
   * waking it: a wake-up per buffer (a futex call on the event loop) cost more CPU than the reads
   * themselves (docs/benchmarks-method.md, "Large bodies streamed in order").
   */
  static final long NAP_NANOS = 500_000;

  static final int NAPS_BEFORE_SLEEP = 2;

  private static final Object COMPLETE = new Object();

  private final BodyRelay relay;
  private final ResultMapping.Start start;
  private final long headersNanos;
  private final long announced;
  private final long spillThreshold;
  private final Path spillDirectory;

  /** The fetcher's memory for bodies received whole, which {@link #toBody()} shares. */
  private final ByteBudget memory;

  StreamedBody(
      BodyRelay relay,
      ResultMapping.Start start,
      long headersNanos,
      long announced,
      long spillThreshold,
      Path spillDirectory,
      ByteBudget memory) {
    this.memory = memory;
    this.relay = relay;
    this.start = start;
    this.headersNanos = headersNanos;
    this.announced = announced;
    this.spillThreshold = spillThreshold;
    this.spillDirectory = spillDirectory;
  }

  BodyRelay relay() {
    return relay;
  }

  @Override
  public Flux<ByteBuffer> chunks() {
    return Flux.from(s -> relay.subscribe(new Copying<>(s, StreamedBody::heapCopy)));
  }

  @Override
  public long transferTo(WritableByteChannel channel) throws IOException {
    if (Schedulers.isInNonBlockingThread()) {
      throw new IllegalStateException(
          "transferTo is blocking, which is not supported in thread "
              + Thread.currentThread().getName());
    }
    Transfer t = new Transfer();
    relay.subscribe(t);
    Flushable flushable = channel instanceof Flushable f ? f : null;
    long written = 0;
    try {
      for (; ; ) {
        Object next = t.take(flushable);
        if (next instanceof ByteBuf buf) {
          try {
            written += writeFully(channel, buf);
          } finally {
            buf.release();
          }
          t.taken();
        } else if (next == COMPLETE) {
          return written;
        } else {
          throw Exceptions.propagate((Throwable) next);
        }
      }
    } catch (IOException | RuntimeException | Error e) {
      t.giveUp();
      throw e;
    }
  }

  private static long writeFully(WritableByteChannel channel, ByteBuf buf) throws IOException {
    long n = 0;
    for (ByteBuffer b :
        buf.nioBufferCount() == 1 ? new ByteBuffer[] {buf.nioBuffer()} : buf.nioBuffers()) {
      while (b.hasRemaining()) {
        n += channel.write(b);
      }
    }
    return n;
  }

  @Override
  public Mono<Body> toBody() {
    return Mono.defer(
        () ->
            new BodySink(announced, spillThreshold, spillDirectory, memory)
                .collect(
                    Flux.from(s -> relay.subscribe(new Copying<>(s, StreamedBody::arrayCopy)))));
  }

  @Override
  public void discard() {
    relay.discard(new IllegalStateException("the body was discarded while it was being read"));
  }

  /** Gives the body up at the end of its handler's publisher, with a reason its reader would see. */
  void release(String reason) {
    relay.discard(new IllegalStateException(reason));
  }

  @Override
  public Timings timings() {
    long end = relay.receivedNanos();
    long last = end != 0 ? end : headersNanos;
    return new Timings(
        start.wall(),
        Duration.ofNanos(Math.max(0, headersNanos - start.nanos())),
        Duration.ofNanos(Math.max(0, last - start.nanos())));
  }

  @Override
  public String toString() {
    return "BodyStream["
        + (announced >= 0 ? announced + " bytes announced" : "length unknown")
        + "]";
  }

  private static ByteBuffer heapCopy(ByteBuf buf) {
    byte[] bytes = new byte[buf.readableBytes()];
    buf.getBytes(buf.readerIndex(), bytes);
    return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
  }

  private static byte[] arrayCopy(ByteBuf buf) {
    byte[] bytes = new byte[buf.readableBytes()];
    buf.getBytes(buf.readerIndex(), bytes);
    return bytes;
  }

  /** Hands on a copy of each buffer and releases the buffer, in {@code onNext} itself. */
  private static final class Copying<T> implements Subscriber<ByteBuf>, Subscription {
    private final Subscriber<? super T> actual;
    private final java.util.function.Function<ByteBuf, T> copy;
    private @Nullable Subscription upstream;

    Copying(Subscriber<? super T> actual, java.util.function.Function<ByteBuf, T> copy) {
      this.actual = actual;
      this.copy = copy;
    }

    @Override
    public void onSubscribe(Subscription s) {
      upstream = s;
      actual.onSubscribe(this);
    }

    @Override
    public void onNext(ByteBuf buf) {
      T value;
      try {
        value = copy.apply(buf);
      } finally {
        buf.release();
      }
      actual.onNext(value);
    }

    @Override
    public void onError(Throwable t) {
      actual.onError(t);
    }

    @Override
    public void onComplete() {
      actual.onComplete();
    }

    @Override
    public void request(long n) {
      java.util.Objects.requireNonNull(upstream).request(n);
    }

    @Override
    public void cancel() {
      java.util.Objects.requireNonNull(upstream).cancel();
    }
  }

  /**
   * The relay's consumer for {@link #transferTo}: a queue between the relay's threads and the one
   * thread that writes, which naps, then parks, while the queue is empty (only a parked writer is
   * woken). It asks for {@link #TRANSFER_PREFETCH} buffers ahead, half of them again once it wrote
   * half.
   */
  private static final class Transfer implements Subscriber<ByteBuf> {
    private final Queue<Object> queue = Queues.unboundedMultiproducer().get();
    private final Thread reader = Thread.currentThread();
    private final AtomicReference<@Nullable Subscription> subscription = new AtomicReference<>();
    private volatile boolean parked;
    private volatile boolean gaveUp;

    /** Buffers written since the last request (the writer's own). */
    private int taken;

    @Override
    public void onSubscribe(Subscription s) {
      subscription.set(s);
      s.request(TRANSFER_PREFETCH);
    }

    @Override
    public void onNext(ByteBuf buf) {
      offer(buf);
    }

    @Override
    public void onError(Throwable t) {
      offer(t);
    }

    @Override
    public void onComplete() {
      offer(COMPLETE);
    }

    private void offer(Object o) {
      queue.offer(o);
      if (gaveUp) {
        releaseQueued(); // a buffer the relay was handing over as the writer gave up
      } else if (parked) {
        LockSupport.unpark(reader);
      }
    }

    /**
     * The next buffer, error or {@link #COMPLETE}; parks while there is none, after flushing {@code
     * flushable} once (bytes written before are not held back while the body waits).
     */
    Object take(@Nullable Flushable flushable) throws IOException {
      boolean flushed = false;
      int naps = 0;
      for (; ; ) {
        Object o = queue.poll();
        if (o != null) {
          return o;
        }
        if (flushable != null && !flushed) {
          flushable.flush();
          flushed = true;
          continue;
        }
        if (naps < NAPS_BEFORE_SLEEP) {
          naps++;
          LockSupport.parkNanos(this, NAP_NANOS);
        } else {
          parked = true;
          if (queue.isEmpty()) {
            LockSupport.park(this);
          }
          parked = false;
        }
        if (Thread.interrupted()) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for the body");
        }
      }
    }

    void taken() {
      if (++taken == TRANSFER_PREFETCH / 2) {
        taken = 0;
        Subscription s = subscription.get();
        if (s != null) {
          s.request(TRANSFER_PREFETCH / 2);
        }
      }
    }

    /** The writer stopped: the rest of the body is given up, and what was handed over released. */
    void giveUp() {
      gaveUp = true;
      Subscription s = subscription.get();
      if (s != null) {
        s.cancel();
      }
      releaseQueued();
    }

    private void releaseQueued() {
      Object o;
      while ((o = queue.poll()) != null) {
        if (o instanceof ByteBuf b) {
          b.release();
        }
      }
    }
  }
}
