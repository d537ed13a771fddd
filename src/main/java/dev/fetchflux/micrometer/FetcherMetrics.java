package dev.fetchflux.micrometer;

import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherStats;
import dev.fetchflux.internal.Checks;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

/**
 * Exports a fetcher's {@link Fetcher#stats()} to Micrometer.
 *
 * <pre>{@code
 * new FetcherMetrics(fetcher, "crawler").bindTo(registry);
 * }</pre>
 *
 * <p>Meters, each tagged {@code fetcher=<name>}: gauges {@code fetchflux.in.flight},
 * {@code fetchflux.reorder.waiting} and {@code fetchflux.reorder.waiting.bytes} (the backlog behind
 * a slow head); counters {@code fetchflux.results} (tag {@code outcome=success|failure}),
 * {@code fetchflux.retries}, {@code fetchflux.admitted} and {@code fetchflux.body.bytes}. The
 * meters read the fetcher on scrape; they hold it weakly, as Micrometer's function meters do.
 *
 * <h2>Per-host gauges</h2>
 * When the fetcher has a per-host limit ({@code maxInFlightPerHost},
 * {@code maxRequestsPerSecondPerHost} or {@code adaptiveRate}; see {@link FetcherStats#hosts()}),
 * three more gauges are tagged {@code host=<name>}: {@code fetchflux.host.queued} (requests waiting
 * for the host's permits), {@code fetchflux.host.in.flight} and {@code fetchflux.host.rate.limit}
 * (requests per second allowed now, 0 for none; it falls when adaptive politeness slows the host
 * down).
 *
 * <p>Host names are unbounded (a crawl meets millions), and every tag value is a time series in
 * the monitoring system, so the set of hosts is bounded: every {@code hostRefresh} (default
 * 10 seconds) the binder takes the {@code maxHosts} busiest hosts (default 10, by requests queued,
 * then in flight) and registers gauges for them; the gauges of a host that has left that set (it
 * went idle, or others got busier) are removed from the registry at the same moment. Between
 * refreshes the values are live. At most {@code 3 × maxHosts} host series exist per fetcher at
 * any time; over a long crawl, series still come and go as the busiest hosts change. A
 * {@code maxHosts} of 0 turns the per-host gauges off. The refresh runs on a Reactor timer:
 * {@link #close()} stops it and removes the host gauges (it also stops by itself once the fetcher
 * is garbage-collected).
 */
public final class FetcherMetrics implements MeterBinder, AutoCloseable {

  /** The default {@code maxHosts}: the 10 busiest hosts get gauges. */
  public static final int DEFAULT_MAX_HOSTS = 10;

  /** The default {@code hostRefresh}: the set of hosts with gauges is renewed every 10 seconds. */
  public static final Duration DEFAULT_HOST_REFRESH = Duration.ofSeconds(10);

  private final Fetcher fetcher;
  private final Tags tags;
  private final int maxHosts;
  private final Duration hostRefresh;
  private final List<HostGauges> hostGauges = new CopyOnWriteArrayList<>();

  /**
   * Binds {@code fetcher} under the tag {@code fetcher=name}, with per-host gauges for the
   * {@value #DEFAULT_MAX_HOSTS} busiest hosts, refreshed every 10 seconds.
   */
  public FetcherMetrics(Fetcher fetcher, String name) {
    this(fetcher, name, DEFAULT_MAX_HOSTS, DEFAULT_HOST_REFRESH);
  }

  /**
   * Binds {@code fetcher} under the tag {@code fetcher=name}.
   *
   * @param maxHosts how many of the busiest hosts get gauges at a time; 0 for none
   * @param hostRefresh how often that set of hosts is renewed
   * @throws IllegalArgumentException if {@code maxHosts} is negative or {@code hostRefresh} is not
   *     positive
   */
  public FetcherMetrics(Fetcher fetcher, String name, int maxHosts, Duration hostRefresh) {
    this.fetcher = Objects.requireNonNull(fetcher, "fetcher");
    this.tags = Tags.of(Tag.of("fetcher", Objects.requireNonNull(name, "name")));
    if (maxHosts < 0) {
      throw new IllegalArgumentException("maxHosts < 0: " + maxHosts);
    }
    this.maxHosts = maxHosts;
    this.hostRefresh = Checks.positive("hostRefresh", hostRefresh);
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    gauge(registry, "fetchflux.in.flight", "requests on the wire", FetcherStats::inFlight);
    gauge(
        registry,
        "fetchflux.reorder.waiting",
        "finished results waiting to be emitted",
        FetcherStats::waiting);
    Gauge.builder("fetchflux.reorder.waiting.bytes", fetcher, f -> f.stats().waitingBytes())
        .description("body bytes held by waiting results")
        .baseUnit("bytes")
        .tags(tags)
        .register(registry);
    counter(registry, "fetchflux.results", Tags.of("outcome", "success"), FetcherStats::succeeded);
    counter(registry, "fetchflux.results", Tags.of("outcome", "failure"), FetcherStats::failed);
    counter(registry, "fetchflux.retries", Tags.empty(), FetcherStats::retries);
    counter(registry, "fetchflux.admitted", Tags.empty(), FetcherStats::admitted);
    FunctionCounter.builder("fetchflux.body.bytes", fetcher, f -> f.stats().bodyBytes())
        .description("body bytes received")
        .baseUnit("bytes")
        .tags(tags)
        .register(registry);
    if (maxHosts > 0) {
      HostGauges hosts = new HostGauges(registry, fetcher, tags, maxHosts);
      hostGauges.add(hosts);
      hosts.start(hostRefresh);
    }
  }

  /** Renews the per-host gauges now instead of at the next tick (tests). */
  void refreshHosts() {
    hostGauges.forEach(HostGauges::refresh);
  }

  /** Stops renewing the per-host gauges and removes them; the other meters stay. Idempotent. */
  @Override
  public void close() {
    hostGauges.forEach(HostGauges::dispose);
  }

  private void gauge(
      MeterRegistry registry,
      String name,
      String description,
      ToDoubleFunction<FetcherStats> value) {
    Gauge.builder(name, fetcher, f -> value.applyAsDouble(f.stats()))
        .description(description)
        .tags(tags)
        .register(registry);
  }

  private void counter(
      MeterRegistry registry, String name, Tags extra, ToDoubleFunction<FetcherStats> value) {
    FunctionCounter.builder(name, fetcher, f -> value.applyAsDouble(f.stats()))
        .tags(tags.and(extra))
        .register(registry);
  }

  /**
   * The per-host gauges of one registry. Holds the fetcher weakly, so the timer that renews them
   * does not keep a forgotten fetcher alive; the gauges read one shared snapshot, taken at most
   * every 100 ms, instead of a snapshot each.
   */
  private static final class HostGauges implements Disposable {
    private static final long SNAPSHOT_NANOS = 100_000_000L;

    private final WeakReference<Fetcher> fetcher;
    private final int maxHosts;
    private final MultiGauge queued;
    private final MultiGauge inFlight;
    private final MultiGauge rateLimit;
    private volatile @Nullable Disposable timer;
    private volatile boolean disposed;
    private volatile Map<String, FetcherStats.Host> snapshot = Map.of();
    private volatile long snapshotAt = System.nanoTime() - SNAPSHOT_NANOS;

    HostGauges(MeterRegistry registry, Fetcher fetcher, Tags tags, int maxHosts) {
      this.fetcher = new WeakReference<>(fetcher);
      this.maxHosts = maxHosts;
      this.queued =
          MultiGauge.builder("fetchflux.host.queued")
              .tags(tags)
              .description("requests waiting for this host's politeness permits")
              .register(registry);
      this.inFlight =
          MultiGauge.builder("fetchflux.host.in.flight")
              .tags(tags)
              .description("requests in flight to this host")
              .register(registry);
      this.rateLimit =
          MultiGauge.builder("fetchflux.host.rate.limit")
              .tags(tags)
              .description("requests per second allowed to this host now (0: no rate limit)")
              .baseUnit("requests/s")
              .register(registry);
    }

    void start(Duration every) {
      timer = Flux.interval(every, every, Schedulers.parallel()).subscribe(tick -> refresh());
    }

    /** Registers gauges for the busiest hosts and removes those of hosts no longer among them. */
    synchronized void refresh() {
      if (disposed) {
        return;
      }
      Fetcher f = fetcher.get();
      if (f == null) {
        dispose();
        return;
      }
      List<FetcherStats.Host> busiest = f.stats().hosts(); // busiest first
      List<MultiGauge.Row<?>> q = new ArrayList<>();
      List<MultiGauge.Row<?>> i = new ArrayList<>();
      List<MultiGauge.Row<?>> r = new ArrayList<>();
      for (FetcherStats.Host h : busiest.subList(0, Math.min(maxHosts, busiest.size()))) {
        Tags host = Tags.of("host", h.host());
        q.add(MultiGauge.Row.of(host, this, g -> g.value(h.host(), FetcherStats.Host::queued)));
        i.add(MultiGauge.Row.of(host, this, g -> g.value(h.host(), FetcherStats.Host::inFlight)));
        r.add(MultiGauge.Row.of(host, this, g -> g.value(h.host(), FetcherStats.Host::rateLimit)));
      }
      // overwrite=false: gauges of hosts still listed stay as they are; the others are removed.
      queued.register(q, false);
      inFlight.register(i, false);
      rateLimit.register(r, false);
    }

    /** A host's live figure: 0 once it is idle, NaN once the fetcher is gone. */
    private double value(String host, ToDoubleFunction<FetcherStats.Host> what) {
      Fetcher f = fetcher.get();
      if (f == null) {
        return Double.NaN;
      }
      long now = System.nanoTime();
      Map<String, FetcherStats.Host> hosts = snapshot;
      if (now - snapshotAt >= SNAPSHOT_NANOS) {
        Map<String, FetcherStats.Host> fresh = new HashMap<>();
        for (FetcherStats.Host h : f.stats().hosts()) {
          fresh.put(h.host(), h);
        }
        hosts = fresh;
        snapshot = fresh;
        snapshotAt = now;
      }
      FetcherStats.Host h = hosts.get(host);
      return h == null ? 0 : what.applyAsDouble(h);
    }

    @Override
    public synchronized void dispose() {
      if (disposed) {
        return;
      }
      disposed = true;
      Disposable t = timer;
      if (t != null) {
        t.dispose();
      }
      queued.register(List.of(), false);
      inFlight.register(List.of(), false);
      rateLimit.register(List.of(), false);
    }

    @Override
    public boolean isDisposed() {
      return disposed;
    }
  }
}
