package dev.fetchflux;

import dev.fetchflux.internal.Checks;
import dev.fetchflux.internal.FetcherConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;

/**
 * Configures a {@link Fetcher}. Every setting has a stated default; {@link #build()} checks the
 * settings together and names the offending option.
 */
public final class FetcherBuilder {
  private int maxInFlight = Fetcher.DEFAULT_MAX_IN_FLIGHT;
  private int reorderWindow = -1;
  private long reorderWindowBytes = -1;
  private long maxBodySize = Fetcher.DEFAULT_MAX_BODY_SIZE;
  private long spillThreshold = Long.MAX_VALUE;
  private long maxBodyMemory = -1;
  private Path spillDirectory = Path.of(System.getProperty("java.io.tmpdir"));
  private Duration connectTimeout = Fetcher.DEFAULT_CONNECT_TIMEOUT;
  private Duration readTimeout = Fetcher.DEFAULT_READ_TIMEOUT;
  private Duration requestTimeout = Fetcher.DEFAULT_REQUEST_TIMEOUT;
  private boolean followRedirects = true;
  private int maxRedirects = Fetcher.DEFAULT_MAX_REDIRECTS;
  private boolean allowHttpsToHttpRedirect;
  private boolean compression = true;
  private boolean failOnHttpError;
  private Headers headers = Headers.empty();
  private String userAgent = Fetcher.DEFAULT_USER_AGENT;
  private Set<String> sensitiveHeaders = new LinkedHashSet<>();
  private HttpProtocol protocol = HttpProtocol.HTTP_1_1;
  private boolean insecure;
  private @Nullable TrustManagerFactory trustManagerFactory;
  private int eventLoopThreads = defaultEventLoopThreads();
  private @Nullable Transport transport;
  private RetryPolicy retryPolicy = RetryPolicy.none();
  private int maxInFlightPerHost;
  private double maxRequestsPerSecond;
  private double maxRequestsPerSecondPerHost;
  private AdaptiveRate adaptiveRate = AdaptiveRate.off();

  FetcherBuilder() {}

  /** A builder holding {@code c}'s settings ({@link Fetcher#toBuilder()}). */
  static FetcherBuilder from(FetcherConfig c) {
    FetcherBuilder b = new FetcherBuilder();
    b.maxInFlight = c.maxInFlight();
    b.reorderWindow = c.reorderWindow();
    b.reorderWindowBytes = c.reorderWindowBytes();
    b.maxBodySize = c.maxBodySize();
    b.spillThreshold = c.spillThreshold();
    b.spillDirectory = c.spillDirectory();
    b.maxBodyMemory = c.maxBodyMemory();
    b.connectTimeout = c.connectTimeout();
    b.readTimeout = c.readTimeout();
    b.requestTimeout = c.requestTimeout();
    b.followRedirects = c.followRedirects();
    b.maxRedirects = c.maxRedirects();
    b.allowHttpsToHttpRedirect = c.allowHttpsToHttpRedirect();
    b.compression = c.compression();
    b.failOnHttpError = c.failOnHttpError();
    b.headers = c.headers();
    b.userAgent = c.userAgent();
    b.sensitiveHeaders = new LinkedHashSet<>(c.sensitiveHeaders());
    b.protocol = c.protocol();
    b.insecure = c.insecure();
    b.trustManagerFactory = c.trustManagerFactory();
    b.eventLoopThreads = c.eventLoopThreads();
    b.transport = c.transport();
    b.retryPolicy = c.retryPolicy();
    b.maxInFlightPerHost = c.maxInFlightPerHost();
    b.maxRequestsPerSecond = c.maxRequestsPerSecond();
    b.maxRequestsPerSecondPerHost = c.maxRequestsPerSecondPerHost();
    b.adaptiveRate = c.adaptiveRate();
    b.proxies = c.proxies();
    b.resolveRules = new ArrayList<>(c.resolveRules());
    b.connectToRules = new ArrayList<>(c.connectToRules());
    b.maxIdleConnections = c.maxIdleConnections();
    b.maxIdleTime = c.maxIdleTime();
    return b;
  }

  /**
   * Requests on the wire at once per {@code fetch} call (C). Default
   * {@value Fetcher#DEFAULT_MAX_IN_FLIGHT}. The connection pool has no limit of its own per host, so
   * concurrent calls never wait for each other's connections; {@link #maxInFlightPerHost} bounds
   * what one host gets across calls.
   */
  public FetcherBuilder maxInFlight(int maxInFlight) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight < 1: " + maxInFlight);
    }
    this.maxInFlight = maxInFlight;
    return this;
  }

  /**
   * Inputs admitted and not yet emitted (W), in flight or finished and waiting for the head. Must be
   * at least {@code maxInFlight}. Default {@value Fetcher#DEFAULT_REORDER_WINDOW}, or maxInFlight if larger.
   */
  public FetcherBuilder reorderWindow(int reorderWindow) {
    if (reorderWindow < 1) {
      throw new IllegalArgumentException("reorderWindow < 1: " + reorderWindow);
    }
    this.reorderWindow = reorderWindow;
    return this;
  }

  /**
   * Bytes that finished results may hold while they wait for the head; past it no new request starts
   * until the head moves. Default {@value Fetcher#DEFAULT_REORDER_WINDOW_BYTES} bytes (64 MiB), or a
   * eighth of the JVM's maximum heap if that is less.
   */
  public FetcherBuilder reorderWindowBytes(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("reorderWindowBytes < 0: " + bytes);
    }
    this.reorderWindowBytes = bytes;
    return this;
  }

  /**
   * The largest body accepted, counted after decompression; a larger one is a
   * {@link FetchException.Kind#BODY_TOO_LARGE} failure for that input. Default 32 MiB.
   */
  public FetcherBuilder maxBodySize(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("maxBodySize < 0: " + bytes);
    }
    if (bytes > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("maxBodySize > " + (Integer.MAX_VALUE - 8) + ": " + bytes);
    }
    this.maxBodySize = bytes;
    return this;
  }

  /**
   * Bodies larger than this many bytes are kept in a temporary file instead of memory (see
   * {@link Body#release()}); the file is written without blocking event loops. Spilled bodies do not
   * count against {@link #reorderWindowBytes}, which bounds memory. Default: no threshold (a body
   * still spills when the fetcher's {@link #maxBodyMemory} is used up).
   */
  public FetcherBuilder spillThreshold(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("spillThreshold < 0: " + bytes);
    }
    this.spillThreshold = bytes;
    return this;
  }

  /**
   * Bytes of response bodies this fetcher keeps in memory while they are received whole (in
   * {@code fetch}, {@code fetchUnordered}, {@code fetchOrFail}, and {@link BodyStream#toBody()} in
   * streaming mode), across all its calls: a body whose next bytes do not fit continues into a
   * temporary file in the {@linkplain #spillDirectory spill directory}, as a body past
   * {@link #spillThreshold} does, so {@link Body#release() release} what spills. A body counts
   * until it is complete; then it is the result's, which {@link #reorderWindowBytes} counts while
   * it waits for the head. Default: an eighth of the JVM's maximum heap ({@code -Xmx}), so that bodies too large for the heap together go to disk
   * instead of failing with {@code OutOfMemoryError}. {@code Long.MAX_VALUE} keeps every body in
   * memory (bounded then only by {@code maxInFlight} × {@link #maxBodySize}).
   */
  public FetcherBuilder maxBodyMemory(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("maxBodyMemory < 0: " + bytes);
    }
    this.maxBodyMemory = bytes;
    return this;
  }

  /** Where spilled bodies go. Default: {@code java.io.tmpdir}. */
  public FetcherBuilder spillDirectory(Path directory) {
    this.spillDirectory = Objects.requireNonNull(directory, "spillDirectory");
    return this;
  }

  /** Time allowed for the TCP connect. Default 10 seconds. */
  public FetcherBuilder connectTimeout(Duration timeout) {
    this.connectTimeout = Checks.positive("connectTimeout", timeout);
    return this;
  }

  /**
   * Longest silence while waiting for response bytes (an idle timeout, reset by every read). Default
   * 30 seconds. A body dribbled in byte by byte never trips it; {@link #requestTimeout} does.
   */
  public FetcherBuilder readTimeout(Duration timeout) {
    this.readTimeout = Checks.positive("readTimeout", timeout);
    return this;
  }

  /**
   * Total deadline for one attempt, from sending the request to the last byte read, across
   * redirects; past it the attempt fails with {@link FetchException.Kind#DEADLINE}, however slowly
   * bytes keep arriving. Default 60 seconds.
   *
   * <p>With {@link #retry retries}, each attempt has its own deadline (a timed-out attempt is not
   * retried); {@link RetryPolicy.Builder#maxRetryTime} bounds when the last attempt may start. Time
   * spent waiting for a {@link #maxInFlightPerHost per-host} or {@link #maxRequestsPerSecond rate}
   * permit does not count: the clock starts when the request is sent. No request waits for a
   * pooled connection (the pool has no limit per host), so concurrent {@code fetch} calls on one
   * host cannot use up each other's deadlines.
   */
  public FetcherBuilder requestTimeout(Duration timeout) {
    this.requestTimeout = Checks.positive("requestTimeout", timeout);
    return this;
  }

  /** Whether to follow redirects (301, 302, 303, 307, 308). Default {@code true}. */
  public FetcherBuilder followRedirects(boolean follow) {
    this.followRedirects = follow;
    return this;
  }

  /** Redirects followed before {@link FetchException.Kind#TOO_MANY_REDIRECTS}. Default 10. */
  public FetcherBuilder maxRedirects(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("maxRedirects < 0: " + max);
    }
    this.maxRedirects = max;
    return this;
  }

  /** Whether a redirect may go from https to http. Default {@code false}. */
  public FetcherBuilder allowHttpsToHttpRedirect(boolean allow) {
    this.allowHttpsToHttpRedirect = allow;
    return this;
  }

  /**
   * Whether to ask for gzip/deflate and decode it; the body limit counts decoded bytes. Default
   * {@code true}.
   */
  public FetcherBuilder compression(boolean compression) {
    this.compression = compression;
    return this;
  }

  /** Whether a status of 400 or more is a {@link FetchException.Kind#HTTP_STATUS} failure. Default off. */
  public FetcherBuilder failOnHttpError(boolean fail) {
    this.failOnHttpError = fail;
    return this;
  }

  /**
   * Adds a header sent with every request (a request's own header of the same name wins).
   *
   * @throws IllegalArgumentException if the name is not a token or the value has CR, LF or other
   *     control characters
   */
  public FetcherBuilder header(String name, String value) {
    this.headers = headers.with(name, value);
    return this;
  }

  /** The {@code User-Agent} header. Default {@code fetchflux/<version>}. */
  public FetcherBuilder userAgent(String userAgent) {
    Headers.validateValue("User-Agent", userAgent);
    this.userAgent = userAgent;
    return this;
  }

  /**
   * Marks a header as secret: like {@code Authorization}, {@code Cookie} and
   * {@code Proxy-Authorization} (always stripped), it is not sent after a redirect to another origin.
   */
  public FetcherBuilder sensitiveHeader(String name) {
    Headers.validateName(name);
    this.sensitiveHeaders.add(name);
    return this;
  }

  /** HTTP/1.1 (default) or HTTP/2 over TLS with ALPN. */
  public FetcherBuilder protocol(HttpProtocol protocol) {
    this.protocol = Objects.requireNonNull(protocol, "protocol");
    return this;
  }

  /** Turns TLS certificate and host name verification off (like curl's {@code -k}). Default off. */
  public FetcherBuilder insecure(boolean insecure) {
    this.insecure = insecure;
    return this;
  }

  /** Trust these certificates (for example a private CA) instead of the JDK's defaults. */
  public FetcherBuilder trustManagerFactory(TrustManagerFactory factory) {
    this.trustManagerFactory = Objects.requireNonNull(factory, "trustManagerFactory");
    return this;
  }

  /**
   * Event-loop threads this fetcher owns. Default: the number of processors, and at least 4 (as
   * reactor-netty's own default). More loops than cores measured faster on a 2-core machine shared
   * with the server: 100,000 URLs of 1 KiB from the command line took 3.18–3.39 s on four loops
   * against 3.49–3.72 s on two, four paired runs (docs/benchmarks-method.md, "Per-request cost").
   * Connections stay on the loop that made them; with two loops all ended up on one, with four they
   * were spread over two.
   */
  public FetcherBuilder eventLoopThreads(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("eventLoopThreads < 1: " + threads);
    }
    this.eventLoopThreads = threads;
    return this;
  }

  /**
   * How failed attempts are repeated: which failures, how many times, how long to wait. Default
   * {@link RetryPolicy#none()}, one attempt per input. See {@link RetryPolicy} for what is retried.
   */
  public FetcherBuilder retry(RetryPolicy policy) {
    this.retryPolicy = Objects.requireNonNull(policy, "retry");
    return this;
  }

  /**
   * Requests in flight to one host (by host name, any port) at once. Unlike {@link #maxInFlight},
   * which is per {@code fetch} call, this limit is shared by every call on this fetcher, because it
   * protects the server. A request waiting for its host's turn holds one of the call's
   * {@code maxInFlight} slots without a connection. Default: no per-host limit.
   */
  public FetcherBuilder maxInFlightPerHost(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("maxInFlightPerHost < 1: " + max);
    }
    this.maxInFlightPerHost = max;
    return this;
  }

  /**
   * Requests sent per second across all hosts, spaced evenly ({@code 1/rate} apart, no bursts);
   * every attempt counts, redirects followed inside an attempt do not. Shared by every
   * {@code fetch} call on this fetcher. Waiting uses timers, never a parked thread. Default: no
   * limit.
   */
  public FetcherBuilder maxRequestsPerSecond(double rate) {
    this.maxRequestsPerSecond = rate("maxRequestsPerSecond", rate);
    return this;
  }

  /**
   * Requests sent per second to each host, spaced evenly; otherwise like
   * {@link #maxRequestsPerSecond}. Default: no limit.
   */
  public FetcherBuilder maxRequestsPerSecondPerHost(double rate) {
    this.maxRequestsPerSecondPerHost = rate("maxRequestsPerSecondPerHost", rate);
    return this;
  }

  /**
   * Slows a host down when it answers 429 or 503, pausing it for its {@code Retry-After}, and
   * speeds it back up as it succeeds again (additive increase, multiplicative decrease); see
   * {@link AdaptiveRate}. Like the other per-host limits it is shared by every {@code fetch} call
   * on this fetcher, and a {@link #maxRequestsPerSecondPerHost per-host rate} is its ceiling.
   * Combine it with {@link #retry retries} so the throttled requests themselves are repeated.
   * Default {@link AdaptiveRate#off()}.
   */
  public FetcherBuilder adaptiveRate(AdaptiveRate policy) {
    this.adaptiveRate = Objects.requireNonNull(policy, "adaptiveRate");
    return this;
  }

  private static double rate(String name, double rate) {
    if (!(rate > 0) || Double.isInfinite(rate)) {
      throw new IllegalArgumentException(name + " must be a positive finite number: " + rate);
    }
    return rate;
  }

  /**
   * Exchanges requests through {@code transport} instead of the built-in reactor-netty engine; the
   * ordering, limits, retries, politeness limits, {@link #requestTimeout total deadline},
   * {@link #failOnHttpError} and error mapping still apply, while the transport settings (connect
   * and read timeouts, redirects, TLS, compression, body size, headers, proxies, resolve rules)
   * are the transport's business. The fetcher does not close it. Used by
   * {@code dev.fetchflux.testing.StubFetcher}.
   */
  public FetcherBuilder transport(Transport transport) {
    this.transport = Objects.requireNonNull(transport, "transport");
    return this;
  }

  /**
   * Builds the fetcher, which owns a new connection pool and event loops.
   *
   * @throws IllegalArgumentException if reorderWindow &lt; maxInFlight, or insecure is combined with
   *     a trust manager factory
   */
  public Fetcher build() {
    if (reorderWindow >= 0 && reorderWindow < maxInFlight) {
      throw new IllegalArgumentException(
          "reorderWindow (" + reorderWindow + ") must be >= maxInFlight (" + maxInFlight + ")");
    }
    if (insecure && trustManagerFactory != null) {
      throw new IllegalArgumentException("insecure and trustManagerFactory exclude each other");
    }
    return new Fetcher(config());
  }

  /** The settings as given (-1 where a default depends on other settings). */
  FetcherConfig config() {
    return new FetcherConfig(
        maxInFlight,
        reorderWindow,
        reorderWindowBytes,
        maxBodySize,
        spillThreshold,
        spillDirectory,
        maxBodyMemory,
        connectTimeout,
        readTimeout,
        requestTimeout,
        followRedirects,
        maxRedirects,
        allowHttpsToHttpRedirect,
        compression,
        failOnHttpError,
        headers,
        userAgent,
        sensitiveHeaders,
        protocol,
        insecure,
        trustManagerFactory,
        eventLoopThreads,
        transport,
        retryPolicy,
        maxInFlightPerHost,
        maxRequestsPerSecond,
        maxRequestsPerSecondPerHost,
        adaptiveRate,
        proxies,
        resolveRules,
        connectToRules,
        maxIdleConnections,
        maxIdleTime);
  }

  // Proxies and resolve overrides (docs/library.md, "Proxies and resolve overrides").

  private ProxySettings proxies = ProxySettings.direct();
  private List<ResolveRule> resolveRules = new ArrayList<>();
  private List<ConnectToRule> connectToRules = new ArrayList<>();

  /**
   * Which proxy each request goes through, by URL scheme, with hosts that go direct. Default
   * {@link ProxySettings#direct()}: no proxy, and no environment variable is read. For curl's
   * behaviour pass {@code ProxySettings.fromEnvironment(System.getenv())}. Replaces an earlier
   * {@code proxy(...)} call.
   */
  public FetcherBuilder proxy(ProxySettings proxies) {
    this.proxies = Objects.requireNonNull(proxies, "proxies");
    return this;
  }

  /**
   * Sends every request through {@code proxy} (curl's {@code -x}), with no exceptions; the same as
   * {@code proxy(ProxySettings.of(proxy))}. Default: no proxy.
   */
  public FetcherBuilder proxy(Proxy proxy) {
    return proxy(ProxySettings.of(proxy));
  }

  /**
   * Adds a fixed address for a host and port (curl's {@code --resolve}): connections to it go to
   * the rule's addresses; {@code Host} and TLS SNI stay the URL's. Repeatable; a later rule for the
   * same host and port replaces an earlier one. Default: none, DNS decides.
   */
  public FetcherBuilder resolve(ResolveRule rule) {
    this.resolveRules.add(Objects.requireNonNull(rule, "rule"));
    return this;
  }

  /**
   * Adds a connection redirect (curl's {@code --connect-to}): requests to the rule's host and port
   * connect to its target instead; {@code Host} and TLS SNI stay the URL's. Repeatable; the first
   * matching rule wins. Default: none.
   */
  public FetcherBuilder connectTo(ConnectToRule rule) {
    this.connectToRules.add(Objects.requireNonNull(rule, "rule"));
    return this;
  }

  // Connections kept open between requests (docs/architecture.md, "The transport").

  private int maxIdleConnections = -1;
  private Duration maxIdleTime = Fetcher.DEFAULT_MAX_IDLE_TIME;

  /**
   * Idle keep-alive connections kept open across all hosts; past it the least recently used one
   * is closed. Default: 4 × {@link #maxInFlight} (128 with the defaults), as curl keeps 4 times
   * its parallel transfers: room for the connections of a few calls on a handful of hosts, while a
   * crawl over many hosts holds about {@code maxInFlight} connections plus this cache instead of
   * one per host it ever touched. 0 closes every connection after its response.
   *
   * <p>If the process runs out of descriptors ("Too many open files") when a new connection is
   * opened, the least recently used half of the idle connections is closed, the connection tried
   * again, and the cap lowered to what remains; see {@code docs/reliability.md}.
   */
  public FetcherBuilder maxIdleConnections(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("maxIdleConnections < 0: " + max);
    }
    this.maxIdleConnections = max;
    return this;
  }

  /**
   * How long a keep-alive connection may stay idle before it is closed. Default 30 seconds.
   * Servers close idle connections too (often after 5 to 75 seconds); a request that meets one
   * closed before it was sent is retried on another connection by reactor-netty.
   */
  public FetcherBuilder maxIdleTime(Duration maxIdleTime) {
    this.maxIdleTime = Checks.positive("maxIdleTime", maxIdleTime);
    return this;
  }

  private static int defaultEventLoopThreads() {
    return Math.max(4, Runtime.getRuntime().availableProcessors());
  }
}
