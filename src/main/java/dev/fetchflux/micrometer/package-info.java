/**
 * Optional Micrometer binding for {@link dev.fetchflux.Fetcher#stats()}; needs
 * {@code io.micrometer:micrometer-core} on the classpath (fetchflux declares it optional).
 */
@NullMarked
package dev.fetchflux.micrometer;

import org.jspecify.annotations.NullMarked;
