/**
 * Test support shipped to users: {@link dev.fetchflux.testing.StubFetcher}, a real
 * {@code Fetcher} whose exchanges are scripted ({@link dev.fetchflux.testing.StubReply}, virtual-time
 * delays, recorded requests and concurrency); {@link dev.fetchflux.testing.TestServer}, a scriptable
 * loopback HTTP server with failure modes; and {@link dev.fetchflux.testing.TestServerExtension} for
 * JUnit 5 (junit-jupiter-api is an optional dependency). See {@code docs/testing.md}.
 */
@NullMarked
package dev.fetchflux.testing;

import org.jspecify.annotations.NullMarked;
