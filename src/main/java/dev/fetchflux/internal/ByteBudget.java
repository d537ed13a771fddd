package dev.fetchflux.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A number of bytes shared by many holders, taken and given back from any thread without a lock:
 * the memory of the bodies one fetcher receives whole ({@link BodySink}), or of the bodies one
 * streaming call holds behind its head ({@link Hold}).
 */
public final class ByteBudget {
  private final long total;
  private final AtomicLong used = new AtomicLong();

  /** A budget of {@code total} bytes ({@code Long.MAX_VALUE}: no limit). */
  public ByteBudget(long total) {
    this.total = total;
  }

  /** Takes {@code n} bytes if they are free; {@code false} (and nothing taken) if not. */
  boolean tryReserve(long n) {
    for (; ; ) {
      long u = used.get();
      if (u + n > total || u + n < 0) {
        return false;
      }
      if (used.compareAndSet(u, u + n)) {
        return true;
      }
    }
  }

  /** Gives {@code n} bytes back. */
  void release(long n) {
    if (n > 0) {
      used.addAndGet(-n);
    }
  }

  /** Bytes taken now. */
  public long used() {
    return used.get();
  }

  /** The budget's size. */
  public long total() {
    return total;
  }
}
