package dev.fetchflux.internal;

import dev.fetchflux.Body;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Transport;
import java.util.concurrent.RejectedExecutionException;
import reactor.core.scheduler.Schedulers;

/**
 * Releasing what the library made and nobody will use: a spilled body behind a cancelled head, a
 * body finished after its request was cancelled, an attempt's body before a retry. Deleting a file
 * is blocking I/O, so it happens on {@code boundedElastic}, never on the caller's thread (often an
 * event loop). Bodies in memory hold nothing and are left to the garbage collector.
 */
public final class Release {
  private Release() {}

  /** Releases {@code body} off the calling thread if it holds a file; idempotent. */
  public static void later(Body body) {
    if (body.isInMemory()) {
      return;
    }
    try {
      Schedulers.boundedElastic().schedule(body::release);
    } catch (RejectedExecutionException e) {
      body.release(); // the scheduler is shut down (JVM exit): release here rather than leak
    }
  }

  /**
   * The library's discard hook ({@code doOnDiscard(Object.class, Release::discarded)}): releases the
   * bodies of results, responses and bodies that an operator dropped after cancellation or
   * termination; anything else (an input URL, a request) holds nothing and is ignored.
   */
  public static void discarded(Object element) {
    if (element instanceof Body b) {
      later(b);
    } else if (element instanceof FetchResult.Success ok) {
      later(ok.body());
    } else if (element instanceof Transport.Response r) {
      later(r.body());
    }
  }
}
