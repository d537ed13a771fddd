package dev.fetchflux.micrometer;

import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Exports a fetcher's {@link Fetcher#stats()} to Micrometer.
 *
 * {@snippet :
 * new FetcherMetrics(fetcher, "crawler").bindTo(registry);
 * }
 *
 * <p>Meters, each tagged {@code fetcher=<name>}: gauges {@code fetchflux.in.flight},
 * {@code fetchflux.reorder.waiting} and {@code fetchflux.reorder.waiting.bytes} (the backlog behind
 * a slow head); counters {@code fetchflux.results} (tag {@code outcome=success|failure}),
 * {@code fetchflux.admitted} and {@code fetchflux.body.bytes}. The meters read the fetcher on scrape;
 * they hold it weakly, as Micrometer's function meters do.
 */
public final class FetcherMetrics implements MeterBinder {
  private final Fetcher fetcher;
  private final Tags tags;

  /** Binds {@code fetcher} under the tag {@code fetcher=name}. */
  public FetcherMetrics(Fetcher fetcher, String name) {
    this.fetcher = Objects.requireNonNull(fetcher, "fetcher");
    this.tags = Tags.of(Tag.of("fetcher", Objects.requireNonNull(name, "name")));
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    gauge(registry, "fetchflux.in.flight", "requests on the wire", FetcherStats::inFlight);
    gauge(registry, "fetchflux.reorder.waiting", "finished results waiting to be emitted",
        FetcherStats::waiting);
    Gauge.builder("fetchflux.reorder.waiting.bytes", fetcher, f -> f.stats().waitingBytes())
        .description("body bytes held by waiting results").baseUnit("bytes").tags(tags)
        .register(registry);
    counter(registry, "fetchflux.results", Tags.of("outcome", "success"), FetcherStats::succeeded);
    counter(registry, "fetchflux.results", Tags.of("outcome", "failure"), FetcherStats::failed);
    counter(registry, "fetchflux.admitted", Tags.empty(), FetcherStats::admitted);
    FunctionCounter.builder("fetchflux.body.bytes", fetcher, f -> f.stats().bodyBytes())
        .description("body bytes received").baseUnit("bytes").tags(tags).register(registry);
  }

  private void gauge(MeterRegistry registry, String name, String description,
      ToDoubleFunction<FetcherStats> value) {
    Gauge.builder(name, fetcher, f -> value.applyAsDouble(f.stats()))
        .description(description).tags(tags).register(registry);
  }

  private void counter(MeterRegistry registry, String name, Tags extra,
      ToDoubleFunction<FetcherStats> value) {
    FunctionCounter.builder(name, fetcher, f -> value.applyAsDouble(f.stats()))
        .tags(tags.and(extra)).register(registry);
  }
}
