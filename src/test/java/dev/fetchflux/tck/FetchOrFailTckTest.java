package dev.fetchflux.tck;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

/**
 * The Reactive Streams TCK on {@link Fetcher#fetchOrFail}: successes in input order (every stubbed
 * URL succeeds, so {@code n} inputs are {@code n} elements); the failed publisher fails through its
 * input.
 */
public class FetchOrFailTckTest extends FetcherPublisherVerification<FetchResult.Success> {

  @Override
  Publisher<FetchResult.Success> stream(Fetcher fetcher, Flux<String> inputs) {
    return fetcher.fetchOrFail(inputs);
  }
}
