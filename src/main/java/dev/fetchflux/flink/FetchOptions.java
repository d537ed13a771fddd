package dev.fetchflux.flink;

import dev.fetchflux.AdaptiveRate;
import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherBuilder;
import dev.fetchflux.ResolveRule;
import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * What each subtask's {@link Fetcher} and {@link FetchFunction} are built from: a serializable,
 * immutable copy of the fetcher settings that matter in a job, plus where bodies go.
 *
 * <p>A {@link Fetcher} holds sockets and threads and cannot travel inside a Flink job graph, so the
 * job carries these options instead and every subtask builds its own fetcher in {@code open}.
 * Settings without a dedicated option (retries, protocol, TLS trust, ...) go through
 * {@link Builder#customize(Customizer)}, which runs on the task manager against the fetcher's
 * builder.
 *
 * <pre>{@code
 * FetchOptions options = FetchOptions.builder()
 *     .maxInFlight(64)
 *     .requestTimeout(Duration.ofSeconds(20))
 *     .bodyDirectory(Path.of("/data/crawl/bodies"))
 *     .build();
 * }</pre>
 */
public final class FetchOptions implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The default {@link Builder#timeoutMargin(Duration)}: 5 seconds. */
  public static final Duration DEFAULT_TIMEOUT_MARGIN = Duration.ofSeconds(5);

  /** The default {@link Builder#eventLoopThreads(int)}: 1 per subtask. */
  public static final int DEFAULT_EVENT_LOOP_THREADS = 1;

  /** The default {@link Builder#ioThreads(int)}: 2 per subtask. */
  public static final int DEFAULT_IO_THREADS = 2;

  /** The default {@link Builder#window(int)} is this many times maxInFlight, up to a cap. */
  public static final int DEFAULT_WINDOW_FACTOR = 16;

  /** The cap of the default {@link Builder#window(int)}: 2,048 elements per subtask. */
  public static final int MAX_DEFAULT_WINDOW = 2048;

  /**
   * Adjusts a subtask's {@link FetcherBuilder} after the options above were applied; runs on the
   * task manager, so it must be serializable (a lambda assigned to this type is).
   */
  @FunctionalInterface
  public interface Customizer extends Serializable {
    /** Changes {@code builder} in place. */
    void customize(FetcherBuilder builder);
  }

  private final int maxInFlight;
  private final int window;
  private final Duration requestTimeout;
  private final Duration connectTimeout;
  private final Duration readTimeout;
  private final Duration timeoutMargin;
  private final long maxBodySize;
  private final boolean followRedirects;
  private final int maxRedirects;
  private final boolean failOnHttpError;
  private final boolean compression;
  private final String userAgent;
  private final LinkedHashMap<String, String> headers;
  private final int eventLoopThreads;
  private final int ioThreads;
  private final int maxInFlightPerHost;
  private final double maxRequestsPerSecondPerHost;
  private final boolean adaptiveRate;
  private final ArrayList<String> resolveRules;
  private final TreeSet<String> spreadHosts;
  private final @Nullable String bodyDirectory;
  private final @Nullable Customizer customizer;

  private FetchOptions(Builder b) {
    this.maxInFlight = b.maxInFlight;
    this.window = b.window < 0 ? defaultWindow(b.maxInFlight) : b.window;
    this.requestTimeout = b.requestTimeout;
    this.connectTimeout = b.connectTimeout;
    this.readTimeout = b.readTimeout;
    this.timeoutMargin = b.timeoutMargin;
    this.maxBodySize = b.maxBodySize;
    this.followRedirects = b.followRedirects;
    this.maxRedirects = b.maxRedirects;
    this.failOnHttpError = b.failOnHttpError;
    this.compression = b.compression;
    this.userAgent = b.userAgent;
    this.headers = new LinkedHashMap<>(b.headers);
    this.eventLoopThreads = b.eventLoopThreads;
    this.ioThreads = b.ioThreads;
    this.maxInFlightPerHost = b.maxInFlightPerHost;
    this.maxRequestsPerSecondPerHost = b.maxRequestsPerSecondPerHost;
    this.adaptiveRate = b.adaptiveRate;
    this.resolveRules = new ArrayList<>(b.resolveRules);
    this.spreadHosts = new TreeSet<>(b.spreadHosts);
    this.bodyDirectory = b.bodyDirectory;
    this.customizer = b.customizer;
  }

  /** A builder with every default. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The window used when none is set: {@value #DEFAULT_WINDOW_FACTOR} × {@code maxInFlight}, at
   * most {@value #MAX_DEFAULT_WINDOW}, and never below {@code maxInFlight}.
   */
  public static int defaultWindow(int maxInFlight) {
    long w = Math.min((long) DEFAULT_WINDOW_FACTOR * maxInFlight, MAX_DEFAULT_WINDOW);
    return (int) Math.max(w, maxInFlight);
  }

  /** Requests in flight per subtask (C). */
  public int maxInFlight() {
    return maxInFlight;
  }

  /**
   * The capacity to give {@code AsyncDataStream.orderedWait}: the {@linkplain Builder#window(int)
   * window} W, which is {@link #maxInFlight()} unless set larger.
   */
  public int capacity() {
    return window;
  }

  /** The fetcher's total deadline per URL. */
  public Duration requestTimeout() {
    return requestTimeout;
  }

  /**
   * The timeout to give {@code AsyncDataStream.orderedWait}: the request deadline plus the margin,
   * so the fetcher's own deadline (a {@code DEADLINE} record with its cause) normally fires first
   * and Flink's timeout only catches what is stuck elsewhere (for example a stalled body
   * directory).
   *
   * <p>Flink starts its timer when an element enters the function; with a window W larger than
   * maxInFlight C an element may first wait for a free slot, at worst {@code ceil(W / C) - 1}
   * deadlines, so the timeout grows to {@code ceil(W / C)} deadlines plus the margin.
   */
  public Duration flinkTimeout() {
    long rounds = (window + maxInFlight - 1) / maxInFlight;
    return requestTimeout.multipliedBy(rounds).plus(timeoutMargin);
  }

  /** Where bodies are stored, or {@code null} when they are not. */
  public @Nullable Path bodyDirectory() {
    return bodyDirectory == null ? null : Path.of(bodyDirectory);
  }

  /** Threads per subtask that hash and store bodies (off the event loops). */
  public int ioThreads() {
    return ioThreads;
  }

  /**
   * Hosts whose URLs are spread over every fetch subtask instead of all going to one ({@code *}:
   * every host); lower case. Empty by default. See {@link Builder#spreadHost(String)}.
   */
  public Set<String> spreadHosts() {
    return java.util.Collections.unmodifiableSet(spreadHosts);
  }

  /** Builds a new fetcher from these options; the caller closes it. */
  public Fetcher newFetcher() {
    return apply(Fetcher.builder()).build();
  }

  private FetcherBuilder apply(FetcherBuilder b) {
    b.maxInFlight(maxInFlight)
        .requestTimeout(requestTimeout)
        .connectTimeout(connectTimeout)
        .readTimeout(readTimeout)
        .maxBodySize(maxBodySize)
        .followRedirects(followRedirects)
        .maxRedirects(maxRedirects)
        .failOnHttpError(failOnHttpError)
        .compression(compression)
        .userAgent(userAgent)
        .eventLoopThreads(eventLoopThreads);
    headers.forEach(b::header);
    if (maxInFlightPerHost > 0) {
      b.maxInFlightPerHost(maxInFlightPerHost);
    }
    if (maxRequestsPerSecondPerHost > 0) {
      b.maxRequestsPerSecondPerHost(maxRequestsPerSecondPerHost);
    }
    if (adaptiveRate) {
      b.adaptiveRate(AdaptiveRate.defaults());
    }
    for (String rule : resolveRules) {
      b.resolve(ResolveRule.parse(rule));
    }
    if (customizer != null) {
      customizer.customize(b);
    }
    return b;
  }

  @Override
  public String toString() {
    return "FetchOptions[maxInFlight="
        + maxInFlight
        + ", window="
        + window
        + (maxInFlightPerHost > 0 ? ", maxInFlightPerHost=" + maxInFlightPerHost : "")
        + (spreadHosts.isEmpty() ? "" : ", spreadHosts=" + spreadHosts)
        + ", requestTimeout="
        + requestTimeout
        + ", flinkTimeout="
        + flinkTimeout()
        + ", bodyDirectory="
        + bodyDirectory
        + "]";
  }

  /** Configures {@link FetchOptions}; defaults are the {@link Fetcher}'s unless stated. */
  public static final class Builder {
    private int maxInFlight = Fetcher.DEFAULT_MAX_IN_FLIGHT;
    private int window = -1;
    private Duration requestTimeout = Fetcher.DEFAULT_REQUEST_TIMEOUT;
    private Duration connectTimeout = Fetcher.DEFAULT_CONNECT_TIMEOUT;
    private Duration readTimeout = Fetcher.DEFAULT_READ_TIMEOUT;
    private Duration timeoutMargin = DEFAULT_TIMEOUT_MARGIN;
    private long maxBodySize = Fetcher.DEFAULT_MAX_BODY_SIZE;
    private boolean followRedirects = true;
    private int maxRedirects = Fetcher.DEFAULT_MAX_REDIRECTS;
    private boolean failOnHttpError;
    private boolean compression = true;
    private String userAgent = Fetcher.DEFAULT_USER_AGENT;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private int eventLoopThreads = DEFAULT_EVENT_LOOP_THREADS;
    private int ioThreads = DEFAULT_IO_THREADS;
    private int maxInFlightPerHost;
    private double maxRequestsPerSecondPerHost;
    private boolean adaptiveRate;
    private final List<String> resolveRules = new ArrayList<>();
    private final Set<String> spreadHosts = new TreeSet<>();
    private @Nullable String bodyDirectory;
    private @Nullable Customizer customizer;

    private Builder() {}

    /**
     * Requests in flight per subtask (C). Default {@value Fetcher#DEFAULT_MAX_IN_FLIGHT}. Give
     * {@link FetchOptions#capacity()} to {@code orderedWait} as its capacity.
     */
    public Builder maxInFlight(int maxInFlight) {
      this.maxInFlight = maxInFlight;
      return this;
    }

    /**
     * Elements a subtask holds at once (W ≥ maxInFlight): in flight, waiting for a free slot, or
     * finished and waiting for the element ahead of them, as Flink's ordered queue requires.
     * Default {@link FetchOptions#defaultWindow(int)}: {@value #DEFAULT_WINDOW_FACTOR} ×
     * maxInFlight, at most {@value #MAX_DEFAULT_WINDOW} (512 for the default maxInFlight of 32).
     *
     * <p>Flink's ordered queue counts finished elements that wait for a slow head against its
     * capacity, so with W = C one slow URL lets the next C - 1 finish and then stalls the subtask:
     * the head-of-line blocking of {@code flatMapSequential}. A larger W keeps C requests on the
     * wire while up to W - C finished records wait; a record is only metadata (the body is already
     * on disk), so waiting costs little memory.
     *
     * <p>How the default was chosen (docs/scale-out.md): with every 50th URL taking 1 s and the
     * rest 20 ms, C = 32, parallelism 1, the job took 21.7 s at W = C, 4.9 s at 8 C, 2.6 s at
     * 16 C and no less beyond (2.3-2.5 s up to 64 C), about what fetchflux alone takes. The cap
     * is what a checkpoint can carry: the W inputs a subtask holds (a seq and a URL each) are in
     * every checkpoint and are sent again after a failover; 2,048 URLs of up to 2 KiB stay under
     * the 5 MiB one operator subtask may put in a checkpoint kept in the JobManager's memory
     * (JobManagerCheckpointStorage's default limit). A larger W also lengthens
     * {@link FetchOptions#flinkTimeout()}.
     */
    public Builder window(int window) {
      if (window < 1) {
        throw new IllegalArgumentException("window < 1: " + window);
      }
      this.window = window;
      return this;
    }

    /** Total deadline per URL, across redirects. Default 60 seconds. */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = Objects.requireNonNull(timeout, "requestTimeout");
      return this;
    }

    /** TCP connect timeout. Default 10 seconds. */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Objects.requireNonNull(timeout, "connectTimeout");
      return this;
    }

    /** Longest silence while reading a response. Default 30 seconds. */
    public Builder readTimeout(Duration timeout) {
      this.readTimeout = Objects.requireNonNull(timeout, "readTimeout");
      return this;
    }

    /** Added to the request deadline to make {@link #flinkTimeout()}. Default 5 seconds. */
    public Builder timeoutMargin(Duration margin) {
      Objects.requireNonNull(margin, "timeoutMargin");
      if (margin.isNegative()) {
        throw new IllegalArgumentException("timeoutMargin < 0: " + margin);
      }
      this.timeoutMargin = margin;
      return this;
    }

    /** Largest body accepted, after decompression. Default 32 MiB. */
    public Builder maxBodySize(long bytes) {
      this.maxBodySize = bytes;
      return this;
    }

    /** Whether to follow redirects. Default {@code true}. */
    public Builder followRedirects(boolean follow) {
      this.followRedirects = follow;
      return this;
    }

    /** Redirects followed at most. Default 10. */
    public Builder maxRedirects(int max) {
      this.maxRedirects = max;
      return this;
    }

    /** Whether a status of 400 or more is an error record ({@code HTTP_STATUS}). Default off. */
    public Builder failOnHttpError(boolean fail) {
      this.failOnHttpError = fail;
      return this;
    }

    /** Whether to ask for and decode gzip/deflate. Default {@code true}. */
    public Builder compression(boolean compression) {
      this.compression = compression;
      return this;
    }

    /** The {@code User-Agent}. Default {@code fetchflux/<version>}. */
    public Builder userAgent(String userAgent) {
      this.userAgent = Objects.requireNonNull(userAgent, "userAgent");
      return this;
    }

    /** A header sent with every request. */
    public Builder header(String name, String value) {
      headers.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /**
     * Event-loop threads of each subtask's fetcher. Default 1: parallelism, not threads per
     * subtask, is how a job scales, and Flink already runs one subtask per slot.
     */
    public Builder eventLoopThreads(int threads) {
      this.eventLoopThreads = threads;
      return this;
    }

    /** Threads per subtask that hash and write bodies. Default 2. */
    public Builder ioThreads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("ioThreads < 1: " + threads);
      }
      this.ioThreads = threads;
      return this;
    }

    /**
     * Requests in flight to one host at once (by host name, any port). Default: no limit.
     *
     * <p>{@link FetchJob#fetch} sends all URLs of a host to one fetch subtask, so this limit holds
     * for the whole job, not per subtask: a host sees at most this many requests from the job,
     * whatever the parallelism. Hosts named in {@link #spreadHost(String)} are the exception.
     */
    public Builder maxInFlightPerHost(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("maxInFlightPerHost < 1: " + max);
      }
      this.maxInFlightPerHost = max;
      return this;
    }

    /**
     * Requests sent per second to one host, spaced evenly. Default: no limit. Holds for the whole
     * job as {@link #maxInFlightPerHost(int)} does.
     */
    public Builder maxRequestsPerSecondPerHost(double rate) {
      if (!(rate > 0) || Double.isInfinite(rate)) {
        throw new IllegalArgumentException(
            "maxRequestsPerSecondPerHost must be a positive finite number: " + rate);
      }
      this.maxRequestsPerSecondPerHost = rate;
      return this;
    }

    /**
     * Slows a host down when it answers 429 or 503 and speeds it up again as it succeeds, with
     * {@link AdaptiveRate#defaults()} (a tuned policy goes through {@link #customize}). Default off.
     */
    public Builder adaptiveRate(boolean on) {
      this.adaptiveRate = on;
      return this;
    }

    /**
     * A fixed address for a host and port, curl's {@code --resolve host:port:addr[,addr]} (see
     * {@link ResolveRule#parse(String)}); repeatable. Checked here, applied on every task manager.
     */
    public Builder resolve(String rule) {
      ResolveRule.parse(Objects.requireNonNull(rule, "resolve"));
      resolveRules.add(rule);
      return this;
    }

    /**
     * Spreads the URLs of {@code host} over every fetch subtask (keyed by sequence number)
     * instead of sending them all to one; {@code *} spreads every host, as a plain
     * {@code rebalance} would.
     *
     * <p>By default {@link FetchJob#fetch} routes each host to one subtask so that the per-host
     * limits hold for the job. One huge host then runs at the speed of one subtask; when that host
     * allows more, name it here: it then sees up to P times the per-host limits (P = parallelism).
     */
    public Builder spreadHost(String host) {
      String h = Objects.requireNonNull(host, "spreadHost").strip().toLowerCase(Locale.ROOT);
      if (h.isEmpty()) {
        throw new IllegalArgumentException("spreadHost is empty");
      }
      spreadHosts.add(h);
      return this;
    }

    /**
     * Stores each body under this directory (on every task manager: local disk or a shared mount),
     * in a file named from the sequence number, never from the server. Default: bodies are hashed,
     * counted and dropped.
     */
    public Builder bodyDirectory(Path directory) {
      this.bodyDirectory = directory.toAbsolutePath().toString();
      return this;
    }

    /** Changes the fetcher builder further, on the task manager (retries, TLS, protocol, ...). */
    public Builder customize(Customizer customizer) {
      this.customizer = Objects.requireNonNull(customizer, "customizer");
      return this;
    }

    /**
     * Checks every setting as {@link FetcherBuilder} would (no fetcher is built) and returns the
     * options.
     *
     * @throws IllegalArgumentException naming the offending option
     */
    public FetchOptions build() {
      if (window >= 0 && window < maxInFlight) {
        throw new IllegalArgumentException(
            "window (" + window + ") must be >= maxInFlight (" + maxInFlight + ")");
      }
      FetchOptions options = new FetchOptions(this);
      // Fail at job construction, on the client, rather than in open() on every task manager.
      options.apply(Fetcher.builder());
      return options;
    }
  }
}
