package dev.fetchflux.internal;

import dev.fetchflux.AdaptiveRate;
import dev.fetchflux.ConnectToRule;
import dev.fetchflux.Headers;
import dev.fetchflux.HttpProtocol;
import dev.fetchflux.ProxySettings;
import dev.fetchflux.ResolveRule;
import dev.fetchflux.RetryPolicy;
import dev.fetchflux.Transport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;

/**
 * Everything a {@code Fetcher} was configured with, immutable: built once by
 * {@code FetcherBuilder.build()} (which validates each option and their combinations), and
 * read by the parts of the data flow: admission ({@link OrderedAdmission}), the attempt loop
 * ({@link Attempts}) and the engine ({@link HttpEngine}). The meaning and default of each component
 * are documented on the builder method of the same name; {@code reorderWindow},
 * {@code reorderWindowBytes}, {@code maxIdleConnections} and {@code maxBodyMemory} are -1 when left
 * to their defaults, which depend on {@code maxInFlight} or the heap (so a variant built with
 * {@code toBuilder()} keeps following them).
 */
public record FetcherConfig(
    int maxInFlight,
    int reorderWindow,
    long reorderWindowBytes,
    long maxBodySize,
    long spillThreshold,
    Path spillDirectory,
    long maxBodyMemory,
    Duration connectTimeout,
    Duration readTimeout,
    Duration requestTimeout,
    boolean followRedirects,
    int maxRedirects,
    boolean allowHttpsToHttpRedirect,
    boolean compression,
    boolean failOnHttpError,
    Headers headers,
    String userAgent,
    Set<String> sensitiveHeaders,
    HttpProtocol protocol,
    boolean insecure,
    @Nullable TrustManagerFactory trustManagerFactory,
    int eventLoopThreads,
    @Nullable Transport transport,
    RetryPolicy retryPolicy,
    int maxInFlightPerHost,
    double maxRequestsPerSecond,
    double maxRequestsPerSecondPerHost,
    AdaptiveRate adaptiveRate,
    ProxySettings proxies,
    List<ResolveRule> resolveRules,
    List<ConnectToRule> connectToRules,
    int maxIdleConnections,
    Duration maxIdleTime) {

  /** The most the default reorderWindowBytes is (an eighth of the heap when that is less). */
  public static final long DEFAULT_REORDER_WINDOW_BYTES = 64L << 20;

  /** The default reorder window, when maxInFlight is not larger. */
  public static final int DEFAULT_REORDER_WINDOW = 4096;

  public FetcherConfig {
    sensitiveHeaders = Set.copyOf(sensitiveHeaders);
    resolveRules = List.copyOf(resolveRules);
    connectToRules = List.copyOf(connectToRules);
  }

  /** Inputs admitted and not yet emitted: as set, or the default (4096, or maxInFlight if larger). */
  public int effectiveReorderWindow() {
    return reorderWindow < 0 ? Math.max(DEFAULT_REORDER_WINDOW, maxInFlight) : reorderWindow;
  }

  /**
   * Bytes that finished results may hold while they wait for the head: as set, or the default,
   * 64 MiB or an eighth of the JVM's maximum heap if that is less.
   */
  public long effectiveReorderWindowBytes() {
    return reorderWindowBytes >= 0
        ? reorderWindowBytes
        : Math.min(DEFAULT_REORDER_WINDOW_BYTES, eighthOfTheHeap());
  }

  /**
   * Memory for bodies being received whole, across the fetcher: as set, or the default, an eighth
   * of the JVM's maximum heap.
   */
  public long effectiveMaxBodyMemory() {
    return maxBodyMemory >= 0 ? maxBodyMemory : eighthOfTheHeap();
  }

  /** The heap ({@code -Xmx}) each memory default may take: bodies received, bodies waiting. */
  private static long eighthOfTheHeap() {
    return Runtime.getRuntime().maxMemory() / 8;
  }

  /** Idle connections kept across hosts: as set, or the default 4 × maxInFlight. */
  public int effectiveMaxIdleConnections() {
    return maxIdleConnections >= 0
        ? maxIdleConnections
        : (int) Math.min(Integer.MAX_VALUE, 4L * maxInFlight);
  }

  /** The headers sent with every request: the configured ones, with the User-Agent unless set. */
  public Headers defaultHeaders() {
    return headers.contains("User-Agent") ? headers : headers.with("User-Agent", userAgent);
  }
}
