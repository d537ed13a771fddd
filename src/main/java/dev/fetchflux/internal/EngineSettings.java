package dev.fetchflux.internal;

import dev.fetchflux.ConnectToRule;
import dev.fetchflux.Headers;
import dev.fetchflux.HttpProtocol;
import dev.fetchflux.ProxySettings;
import dev.fetchflux.ResolveRule;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;

/**
 * The transport settings a {@code Fetcher} hands to its {@link HttpEngine}; validated by the public
 * builder before they get here.
 */
public record EngineSettings(
    String name,
    Duration connectTimeout,
    Duration readTimeout,
    Duration requestTimeout,
    long maxBodyBytes,
    long spillThreshold,
    java.nio.file.Path spillDirectory,
    boolean followRedirects,
    int maxRedirects,
    boolean allowHttpsToHttpRedirect,
    boolean compression,
    Headers defaultHeaders,
    Set<String> sensitiveHeaders,
    HttpProtocol protocol,
    boolean insecure,
    @Nullable TrustManagerFactory trustManagerFactory,
    int eventLoopThreads,
    ProxySettings proxies,
    List<ResolveRule> resolveRules,
    List<ConnectToRule> connectToRules,
    int maxIdleConnections,
    Duration maxIdleTime) {}
