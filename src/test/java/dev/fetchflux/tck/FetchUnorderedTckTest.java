package dev.fetchflux.tck;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

/** The Reactive Streams TCK on {@link Fetcher#fetchUnordered}: results as they complete. */
public class FetchUnorderedTckTest extends FetcherPublisherVerification<FetchResult> {

  @Override
  Publisher<FetchResult> stream(Fetcher fetcher, Flux<String> inputs) {
    return fetcher.fetchUnordered(inputs);
  }
}
