package dev.fetchflux.tck;

import dev.fetchflux.Body;
import dev.fetchflux.Fetcher;
import dev.fetchflux.StreamedResult;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The Reactive Streams TCK on {@link Fetcher#fetchStreaming}: one handler value per input, in input
 * order, each body read (and released) inside its handler's publisher.
 */
public class FetchStreamingTckTest extends FetcherPublisherVerification<String> {

  @Override
  Publisher<String> stream(Fetcher fetcher, Flux<String> inputs) {
    return fetcher.fetchStreaming(
        inputs,
        r ->
            r instanceof StreamedResult.Success ok
                ? ok.body().toBody().map(Body::asString)
                : Mono.just("failed " + r.index()));
  }
}
