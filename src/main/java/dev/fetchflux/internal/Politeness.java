package dev.fetchflux.internal;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.scheduler.Scheduler;

/**
 * Limits towards servers, shared by every {@code fetch} of one fetcher: requests in flight per host,
 * and request rates (globally and per host). Nothing here parks a thread: a request that must wait is
 * a queued {@link MonoSink} (per-host limit) or a timer (rate limit), and the permit is handed to the
 * next waiter by whoever releases it.
 *
 * <p>Order of acquisition for one attempt: the host's concurrency slot first (so a queue of waiters
 * does not burn rate slots), then the host's rate slot, then the global one; the request is sent right
 * after the last, so the server sees the configured spacing.
 *
 * <p>Rates are enforced by reservation (a generic cell rate algorithm with a burst of one): each
 * request reserves the next free slot, {@code max(now, previous + 1/rate)}, and waits until then. A
 * reservation abandoned by cancellation is not given back; that only makes later requests a little
 * more polite.
 *
 * <p>Per-host state lives in a map keyed by lower-case host name; an entry is removed when no request
 * of that host holds or awaits a permit and its rate slot has passed, so a run over a million hosts
 * does not keep a million entries.
 */
public final class Politeness {

  /** How many acquisitions between sweeps of idle per-host entries (when the map is large). */
  private static final int SWEEP_EVERY = 1024;
  private static final int SWEEP_ABOVE = 4096;

  private final int perHostInFlight;
  private final long globalIntervalNanos;
  private final long hostIntervalNanos;
  private final Supplier<Scheduler> timer;
  private final LongSupplier nanoClock;

  private final RateCell global = new RateCell();
  private final ConcurrentHashMap<String, Host> hosts = new ConcurrentHashMap<>();
  private final AtomicInteger acquisitions = new AtomicInteger();

  /**
   * @param perHostInFlight requests in flight per host, or 0 for no limit
   * @param globalRate requests per second across all hosts, or 0 for no limit
   * @param hostRate requests per second per host, or 0 for no limit
   * @param timer the scheduler for rate-limit waits, looked up on each use (virtual time in tests)
   * @param nanoClock monotonic nanoseconds on the same time line as {@code timer}
   */
  public Politeness(int perHostInFlight, double globalRate, double hostRate,
      Supplier<Scheduler> timer, LongSupplier nanoClock) {
    if (perHostInFlight < 0) {
      throw new IllegalArgumentException("perHostInFlight < 0: " + perHostInFlight);
    }
    this.perHostInFlight = perHostInFlight;
    this.globalIntervalNanos = interval("globalRate", globalRate);
    this.hostIntervalNanos = interval("hostRate", hostRate);
    this.timer = Objects.requireNonNull(timer, "timer");
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
  }

  private static long interval(String name, double rate) {
    if (!(rate >= 0) || Double.isInfinite(rate)) {
      throw new IllegalArgumentException(name + " must be a finite number >= 0: " + rate);
    }
    return rate == 0 ? 0 : Math.max(1, (long) (1e9 / rate));
  }

  /** Whether any limit is set; when not, callers may skip {@link #acquire} entirely. */
  public boolean enabled() {
    return perHostInFlight > 0 || globalIntervalNanos > 0 || hostIntervalNanos > 0;
  }

  /** Hosts with live state (held or awaited permits, or a rate slot not yet passed). */
  int trackedHosts() {
    return hosts.size();
  }

  /**
   * A permit to send one request to {@code host}, emitted when every limit allows it. The receiver
   * must {@link Permit#release()} it exactly when the request is done (success, error or
   * cancellation); cancelling the returned {@code Mono} before it emits gives back whatever was taken.
   */
  public Mono<Permit> acquire(String host) {
    Objects.requireNonNull(host, "host");
    return Mono.defer(() -> {
      @Nullable Host h = needsHostState() ? enter(host) : null;
      Permit permit = new Permit(h);
      return slot(h, permit)
          .then(Mono.defer(() -> waitFor(h == null ? 0 : h.rate.reserve(hostIntervalNanos, nanoClock.getAsLong()))))
          .then(Mono.defer(() -> waitFor(global.reserve(globalIntervalNanos, nanoClock.getAsLong()))))
          .then(Mono.fromSupplier(() -> {
            permit.delivered = true;
            return permit;
          }))
          .doOnCancel(permit::abandon)
          .doOnError(e -> permit.abandon());
    });
  }

  private boolean needsHostState() {
    return perHostInFlight > 0 || hostIntervalNanos > 0;
  }

  private Mono<Void> waitFor(long nanos) {
    return nanos <= 0 ? Mono.empty() : Mono.delay(Duration.ofNanos(nanos), timer.get()).then();
  }

  private Host enter(String host) {
    String key = host.toLowerCase(java.util.Locale.ROOT);
    Host h = hosts.compute(key, (k, v) -> {
      Host e = v == null ? new Host(k) : v;
      e.users++;
      return e;
    });
    if (acquisitions.incrementAndGet() % SWEEP_EVERY == 0 && hosts.size() > SWEEP_ABOVE) {
      sweep();
    }
    return h;
  }

  private void leave(Host h) {
    long now = nanoClock.getAsLong();
    hosts.computeIfPresent(h.key, (k, v) -> {
      if (v != h) {
        return v;
      }
      v.users--;
      return v.users == 0 && v.rate.passed(now) ? null : v;
    });
  }

  private void sweep() {
    long now = nanoClock.getAsLong();
    for (Map.Entry<String, Host> e : hosts.entrySet()) {
      hosts.computeIfPresent(e.getKey(), (k, v) -> v.users == 0 && v.rate.passed(now) ? null : v);
    }
  }

  /** Completes when {@code permit} holds one of the host's in-flight slots (at once if there is no limit). */
  private Mono<Void> slot(@Nullable Host h, Permit permit) {
    if (h == null || perHostInFlight == 0) {
      return Mono.empty();
    }
    return Mono.create(sink -> {
      boolean granted = false;
      Waiter w = new Waiter(sink, permit);
      synchronized (h) {
        if (h.active < perHostInFlight && h.waiters.isEmpty()) {
          h.active++;
          permit.hasSlot = true;
          granted = true;
        } else {
          h.waiters.add(w);
        }
      }
      if (granted) {
        sink.success();
        return;
      }
      sink.onCancel(() -> {
        synchronized (h) {
          h.waiters.remove(w);
        }
      });
    });
  }

  /** Gives a freed slot to the next waiters; a queue-drain loop, so grants never recurse. */
  private void grant(Host h) {
    if (h.wip.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    for (;;) {
      for (;;) {
        Waiter next;
        synchronized (h) {
          if (h.active >= perHostInFlight || (next = h.waiters.poll()) == null) {
            break;
          }
          h.active++;
          next.permit.hasSlot = true;
        }
        next.sink.success();
      }
      missed = h.wip.addAndGet(-missed);
      if (missed == 0) {
        return;
      }
    }
  }

  private void freeSlot(Host h) {
    synchronized (h) {
      h.active--;
    }
    grant(h);
  }

  /** Permission to send one request; release it once, when the request is done. */
  public final class Permit {
    private final @Nullable Host host;
    private final AtomicBoolean released = new AtomicBoolean();
    /** Guarded by the host's monitor. */
    boolean hasSlot;
    volatile boolean delivered;

    private Permit(@Nullable Host host) {
      this.host = host;
    }

    /** Gives the permit back; later calls do nothing. */
    public void release() {
      Host host = this.host;
      if (!released.compareAndSet(false, true) || host == null) {
        return;
      }
      boolean slot;
      synchronized (host) {
        slot = hasSlot;
        hasSlot = false;
      }
      if (slot) {
        freeSlot(host);
      }
      leave(host);
    }

    /** Cancellation or error before the permit reached its receiver. */
    void abandon() {
      if (!delivered) {
        release();
      }
    }
  }

  private static final class Waiter {
    final MonoSink<Void> sink;
    final Permit permit;

    Waiter(MonoSink<Void> sink, Permit permit) {
      this.sink = sink;
      this.permit = permit;
    }
  }

  private static final class Host {
    final String key;
    /** Acquisitions of this host not yet released; changed only inside the map's compute. */
    int users;
    /** Slots held; guarded by this. */
    int active;
    /** Guarded by this. */
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    final AtomicInteger wip = new AtomicInteger();
    final RateCell rate = new RateCell();

    Host(String key) {
      this.key = key;
    }
  }

  /** The next free send time of one rate limit. */
  private static final class RateCell {
    private long next = Long.MIN_VALUE;

    /** Reserves the next slot and returns how long to wait for it (0 when the limit is off). */
    synchronized long reserve(long interval, long now) {
      if (interval == 0) {
        return 0;
      }
      long slot = next == Long.MIN_VALUE || next - now < 0 ? now : next;
      next = slot + interval;
      return slot - now;
    }

    /** Whether the last reserved slot's interval has run out, so forgetting this cell loses nothing. */
    synchronized boolean passed(long now) {
      return next == Long.MIN_VALUE || next - now <= 0;
    }
  }
}
