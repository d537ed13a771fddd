package dev.fetchflux.internal;

import dev.fetchflux.AdaptiveRate;
import dev.fetchflux.FetcherStats;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
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
 * <p>With adaptive politeness ({@link AdaptivePace}) each host also has a rate that its 429/503
 * answers cut and its successes raise, and a {@code Retry-After} pause; the host's rate wait takes
 * both into account, and a request whose host was paused while it waited (for its rate slot or the
 * global one) waits again, so nothing reaches a paused host.
 *
 * <p>Per-host state lives in a map keyed by lower-case host name; an entry is removed when no request
 * of that host holds or awaits a permit and its rate slot has passed, so a run over a million hosts
 * does not keep a million entries. An adaptive entry is kept while it still knows something (the
 * host is slowed or paused, or succeeded within the last second, which the first cut needs) and is
 * forgotten after a minute idle; past 4,096 entries a periodic sweep removes what may go.
 */
public final class Politeness {

  /** How many acquisitions between sweeps of idle per-host entries (when the map is large). */
  private static final int SWEEP_EVERY = 1024;

  private static final int SWEEP_ABOVE = 4096;

  /** An adaptive host idle this long is forgotten: whatever limit it had has likely reset. */
  static final long FORGET_IDLE_NANOS = 60_000_000_000L;

  /** About 146 years: any longer pause is the same in practice and would overflow. */
  private static final long MAX_PAUSE_NANOS = 1L << 62;

  private static final Comparator<FetcherStats.Host> BUSIEST_FIRST =
      Comparator.comparingInt(FetcherStats.Host::queued)
          .reversed()
          .thenComparing(Comparator.comparingInt(FetcherStats.Host::inFlight).reversed())
          .thenComparing(FetcherStats.Host::host);

  private final int perHostInFlight;
  private final long globalIntervalNanos;
  private final long hostIntervalNanos;
  private final double hostRate;
  private final AdaptivePace.@Nullable Settings adaptive;
  private final Supplier<Scheduler> timer;
  private final LongSupplier nanoClock;

  private final RateCell global = new RateCell();
  private final ConcurrentHashMap<String, Host> hosts = new ConcurrentHashMap<>();

  /** Entries with at least one user: what {@link #hosts()} reports, without walking idle ones. */
  private final Set<Host> active = ConcurrentHashMap.newKeySet();

  private final AtomicInteger acquisitions = new AtomicInteger();

  /**
   * @param perHostInFlight requests in flight per host, or 0 for no limit
   * @param globalRate requests per second across all hosts, or 0 for no limit
   * @param hostRate requests per second per host, or 0 for no limit
   * @param timer the scheduler for rate-limit waits, looked up on each use (virtual time in tests)
   * @param nanoClock monotonic nanoseconds on the same time line as {@code timer}
   */
  public Politeness(
      int perHostInFlight,
      double globalRate,
      double hostRate,
      Supplier<Scheduler> timer,
      LongSupplier nanoClock) {
    this(perHostInFlight, globalRate, hostRate, AdaptiveRate.off(), timer, nanoClock);
  }

  /**
   * @param perHostInFlight requests in flight per host, or 0 for no limit
   * @param globalRate requests per second across all hosts, or 0 for no limit
   * @param hostRate requests per second per host, or 0 for no limit; the ceiling of adaptive rates
   * @param adaptive how hosts are slowed down on 429/503 and sped up again
   * @param timer the scheduler for rate-limit waits, looked up on each use (virtual time in tests)
   * @param nanoClock monotonic nanoseconds on the same time line as {@code timer}
   */
  public Politeness(
      int perHostInFlight,
      double globalRate,
      double hostRate,
      AdaptiveRate adaptive,
      Supplier<Scheduler> timer,
      LongSupplier nanoClock) {
    if (perHostInFlight < 0) {
      throw new IllegalArgumentException("perHostInFlight < 0: " + perHostInFlight);
    }
    this.perHostInFlight = perHostInFlight;
    this.globalIntervalNanos = interval("globalRate", globalRate);
    this.hostIntervalNanos = interval("hostRate", hostRate);
    this.hostRate = hostRate;
    this.adaptive =
        adaptive.enabled()
            ? new AdaptivePace.Settings(
                adaptive.decreaseFactor(),
                adaptive.minRate(),
                saturatedNanos(adaptive.recoveryTime()),
                // Capped so that "now + pause" stays comparable on the wrapping nanosecond clock.
                Math.min(saturatedNanos(adaptive.maxPause()), MAX_PAUSE_NANOS),
                hostRate)
            : null;
    this.timer = Objects.requireNonNull(timer, "timer");
    this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
  }

  private static long interval(String name, double rate) {
    if (!(rate >= 0) || Double.isInfinite(rate)) {
      throw new IllegalArgumentException(name + " must be a finite number >= 0: " + rate);
    }
    return rate == 0 ? 0 : Math.max(1, (long) (1e9 / rate));
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** Whether any limit is set; when not, callers may skip {@link #acquire} entirely. */
  public boolean enabled() {
    return perHostInFlight > 0
        || globalIntervalNanos > 0
        || hostIntervalNanos > 0
        || adaptive != null;
  }

  /** Whether hosts adapt to their answers (callers report them: {@link Permit#responded}). */
  public boolean adaptive() {
    return adaptive != null;
  }

  /** Whether a response with {@code status} slows its host down (429 and 503). */
  public static boolean throttles(int status) {
    return AdaptiveRate.THROTTLE_STATUSES.contains(status);
  }

  /**
   * The hosts with requests queued for a permit or in flight, busiest first; empty unless a
   * per-host limit is set (only then is per-host state kept).
   */
  public List<FetcherStats.Host> hosts() {
    if (active.isEmpty()) {
      return List.of();
    }
    long now = nanoClock.getAsLong();
    List<FetcherStats.Host> list = new ArrayList<>(active.size());
    for (Host h : active) {
      int users = h.users;
      int sending = h.sending.get();
      if (users <= 0) {
        continue; // left between the two reads
      }
      boolean throttled;
      double rate;
      long pause;
      synchronized (h) {
        AdaptivePace pace = h.pace;
        throttled = pace != null && pace.throttled();
        rate = throttled ? pace.rate() : hostRate;
        pause = pace == null ? 0 : pace.pauseRemaining(now);
      }
      int inFlight = Math.min(users, Math.max(0, sending));
      list.add(
          new FetcherStats.Host(
              h.key, users - inFlight, inFlight, rate, Duration.ofNanos(pause), throttled));
    }
    list.sort(BUSIEST_FIRST);
    return List.copyOf(list);
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
    return Mono.defer(
        () -> {
          @Nullable Host h = needsHostState() ? enter(host) : null;
          Permit permit = new Permit(h);
          return slot(h, permit)
              .then(pace(h))
              .then(
                  Mono.fromSupplier(
                      () -> {
                        permit.deliver(nanoClock.getAsLong());
                        return permit;
                      }))
              .doOnCancel(permit::abandon)
              .doOnError(e -> permit.abandon());
        });
  }

  private boolean needsHostState() {
    return perHostInFlight > 0 || hostIntervalNanos > 0 || adaptive != null;
  }

  /**
   * Waits for the host's rate slot (after any pause), then the global one; again when the host was
   * paused in the meantime, so a request never starts inside its host's pause.
   */
  private Mono<Void> pace(@Nullable Host h) {
    return Mono.defer(() -> waitFor(hostDelay(h)))
        .then(Mono.defer(() -> waitFor(global.reserve(globalIntervalNanos, nanoClock.getAsLong()))))
        .then(
            Mono.defer(
                () -> h != null && h.paused(nanoClock.getAsLong()) ? pace(h) : Mono.empty()));
  }

  /** Reserves the host's next rate slot, no earlier than the end of its pause; returns the wait. */
  private long hostDelay(@Nullable Host h) {
    if (h == null) {
      return 0;
    }
    long now = nanoClock.getAsLong();
    synchronized (h) {
      AdaptivePace pace = h.pace;
      if (pace == null) {
        return h.rate.reserve(hostIntervalNanos, now, now);
      }
      long notBefore = pace.paused(now) ? pace.pausedUntil() : now;
      return h.rate.reserve(pace.intervalNanos(hostIntervalNanos), now, notBefore);
    }
  }

  private Mono<Void> waitFor(long nanos) {
    return nanos <= 0 ? Mono.empty() : Mono.delay(Duration.ofNanos(nanos), timer.get()).then();
  }

  private Host enter(String host) {
    String key = host.toLowerCase(java.util.Locale.ROOT);
    long now = nanoClock.getAsLong();
    Host h =
        hosts.compute(
            key,
            (k, v) -> {
              Host e =
                  v != null
                      ? v
                      : new Host(k, adaptive == null ? null : new AdaptivePace(adaptive, now));
              if (e.users++ == 0) {
                active.add(e);
                AdaptivePace pace = e.pace;
                if (pace != null && v != null && now - e.lastUsed > FORGET_IDLE_NANOS) {
                  synchronized (e) {
                    pace.reset(now);
                  }
                }
              }
              return e;
            });
    if (acquisitions.incrementAndGet() % SWEEP_EVERY == 0 && hosts.size() > SWEEP_ABOVE) {
      sweep();
    }
    return h;
  }

  private void leave(Host h) {
    long now = nanoClock.getAsLong();
    hosts.computeIfPresent(
        h.key,
        (k, v) -> {
          if (v != h) {
            return v;
          }
          if (--v.users == 0) {
            active.remove(v);
            v.lastUsed = now;
            return removable(v, now) ? null : v;
          }
          return v;
        });
  }

  private void sweep() {
    long now = nanoClock.getAsLong();
    for (Map.Entry<String, Host> e : hosts.entrySet()) {
      hosts.computeIfPresent(e.getKey(), (k, v) -> v.users == 0 && removable(v, now) ? null : v);
    }
  }

  /**
   * Whether an idle entry may go: its rate slot has passed and, when adaptive, it knows nothing
   * worth keeping or has been idle long enough to be forgotten. Called inside the map's compute.
   */
  private static boolean removable(Host v, long now) {
    if (!v.rate.passed(now)) {
      return false;
    }
    AdaptivePace pace = v.pace;
    if (pace == null) {
      return true;
    }
    synchronized (v) {
      return pace.disposable(now) || now - v.lastUsed > FORGET_IDLE_NANOS;
    }
  }

  /** Completes when {@code permit} holds one of the host's in-flight slots (at once if there is no limit). */
  private Mono<Void> slot(@Nullable Host h, Permit permit) {
    if (h == null || perHostInFlight == 0) {
      return Mono.empty();
    }
    return Mono.create(
        sink -> {
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
          sink.onCancel(
              () -> {
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
    for (; ; ) {
      for (; ; ) {
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

    /** 0 not yet counted in the host's in-flight figure, 1 counted, 2 released. */
    private final AtomicInteger sending = new AtomicInteger();

    /** Guarded by the host's monitor. */
    boolean hasSlot;

    volatile boolean delivered;

    /** When the permit was delivered (the request sent); written before {@link #delivered}. */
    private long sentAt;

    private Permit(@Nullable Host host) {
      this.host = host;
    }

    private void deliver(long now) {
      sentAt = now;
      delivered = true;
      Host h = host;
      // A cancellation racing this may release first; then the request is not counted at all.
      if (h != null && sending.compareAndSet(0, 1)) {
        h.sending.incrementAndGet();
      }
    }

    /**
     * Tells the host's adaptive rate how the request went: a 429 or 503 slows the host down (and
     * pauses it for {@code retryAfter}, if given), any other status counts as a success. Does
     * nothing without adaptive politeness; call it before {@link #release()}.
     */
    public void responded(int status, @Nullable Duration retryAfter) {
      Host h = host;
      if (h == null || !delivered) {
        return;
      }
      long now = nanoClock.getAsLong();
      synchronized (h) {
        AdaptivePace pace = h.pace;
        if (pace == null) {
          return;
        }
        if (throttles(status)) {
          pace.throttle(sentAt, now, retryAfter == null ? -1 : saturatedNanos(retryAfter));
        } else {
          pace.success(sentAt, now);
        }
      }
    }

    /** Gives the permit back; later calls do nothing. */
    public void release() {
      Host host = this.host;
      if (!released.compareAndSet(false, true) || host == null) {
        return;
      }
      if (sending.getAndSet(2) == 1) {
        host.sending.decrementAndGet();
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
    volatile int users;

    /** When the last user left; changed only inside the map's compute. */
    long lastUsed;

    /** Permits delivered and not released: requests in flight to this host. */
    final AtomicInteger sending = new AtomicInteger();

    /** Slots held; guarded by this. */
    int active;

    /** Guarded by this. */
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

    final AtomicInteger wip = new AtomicInteger();
    final RateCell rate = new RateCell();

    /** The adaptive rate, or {@code null} when off; guarded by this. */
    final @Nullable AdaptivePace pace;

    Host(String key, @Nullable AdaptivePace pace) {
      this.key = key;
      this.pace = pace;
    }

    boolean paused(long now) {
      AdaptivePace p = pace;
      if (p == null) {
        return false;
      }
      synchronized (this) {
        return p.paused(now);
      }
    }
  }

  /** The next free send time of one rate limit. */
  private static final class RateCell {
    private long next = Long.MIN_VALUE;

    /** Reserves the next slot and returns how long to wait for it (0 when the limit is off). */
    synchronized long reserve(long interval, long now) {
      return reserve(interval, now, now);
    }

    /**
     * Reserves the next slot no earlier than {@code notBefore} and returns how long to wait for it;
     * with the limit off ({@code interval} 0) only {@code notBefore} counts.
     */
    synchronized long reserve(long interval, long now, long notBefore) {
      long earliest = notBefore - now > 0 ? notBefore : now;
      if (interval == 0) {
        return earliest - now;
      }
      long slot = next == Long.MIN_VALUE || next - earliest < 0 ? earliest : next;
      next = slot + interval;
      return slot - now;
    }

    /** Whether the last reserved slot's interval has run out, so forgetting this cell loses nothing. */
    synchronized boolean passed(long now) {
      return next == Long.MIN_VALUE || next - now <= 0;
    }
  }
}
