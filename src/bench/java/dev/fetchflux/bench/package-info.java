/** Benchmarks of fetchflux (not part of the library or its tests); see {@code docs/benchmarks.md}. */
@NullMarked
package dev.fetchflux.bench;

import org.jspecify.annotations.NullMarked;
