package com.example.consumer;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import reactor.core.publisher.Flux;

/** Production code of a user: one line per URL, in input order, failures in their place. */
public final class Pages {
  private Pages() {}

  /** "index status body" for an answer, "index KIND" for a failure. */
  public static Flux<String> lines(Fetcher fetcher, Flux<String> urls) {
    return fetcher
        .fetch(urls)
        .map(
            r ->
                r instanceof FetchResult.Success ok
                    ? ok.index() + " " + ok.status() + " " + ok.body().asString()
                    : r.index() + " " + ((FetchResult.Failure) r).kind());
  }
}
