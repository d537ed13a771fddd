/**
 * Test support shipped to users: {@link dev.fetchflux.testing.TestServer}, a scriptable loopback HTTP
 * server with failure modes.
 */
@NullMarked
package dev.fetchflux.testing;

import org.jspecify.annotations.NullMarked;
