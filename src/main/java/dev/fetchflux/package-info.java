/**
 * fetchflux: fetch many URLs concurrently and get the results back in input order, as a stream.
 *
 * <p>Start with {@link dev.fetchflux.Fetcher#builder()}. Results are {@link dev.fetchflux.FetchResult}
 * values, one per input, in input order; failures carry a {@link dev.fetchflux.FetchException} with the
 * index, the URL and the original cause.
 */
@NullMarked
package dev.fetchflux;

import org.jspecify.annotations.NullMarked;
