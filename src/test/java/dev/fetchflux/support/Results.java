package dev.fetchflux.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import reactor.core.publisher.Flux;

/** Fetching in tests, with bounded waits, and checks every failure must pass. */
public final class Results {
  /** How long a test waits for a whole fetch. */
  public static final Duration WAIT = Duration.ofSeconds(10);

  private Results() {}

  /**
   * A test's input as a request: a {@link FetchRequest} as it is, a {@link URI} or a URL's text
   * parsed (which throws for a malformed one, making it an invalid-request failure at its index).
   */
  public static FetchRequest toRequest(Object input) {
    if (input instanceof FetchRequest r) {
      return r;
    }
    return input instanceof URI u ? FetchRequest.get(u) : FetchRequest.get(String.valueOf(input));
  }

  /** Fetches {@code inputs} in order and returns every result, waiting at most {@link #WAIT}. */
  public static List<FetchResult> fetchAll(Fetcher fetcher, Object... inputs) {
    List<FetchResult> results =
        fetcher.fetch(Flux.fromArray(inputs), Results::toRequest).collectList().block(WAIT);
    assertThat(results).as("one result per input").hasSize(inputs.length);
    for (int i = 0; i < inputs.length; i++) {
      assertThat(results.get(i).index()).as("index of result %d", i).isEqualTo(i);
    }
    return results;
  }

  /**
   * Fetches {@code url} between two good URLs, so it is input 1, checks its neighbours succeeded
   * and that it failed with {@code kind}, against its index and URL, and returns the failure.
   */
  public static FetchResult.Failure failureBetweenGoodOnes(
      Fetcher fetcher, String good, String url, FetchException.Kind kind) {
    List<FetchResult> results = fetchAll(fetcher, good, url, good);
    assertThat(results.get(0).isSuccess()).as("input before the failing one").isTrue();
    assertThat(results.get(2).isSuccess()).as("input after the failing one").isTrue();
    return assertFailure(results.get(1), 1, url, kind);
  }

  /** Checks {@code result} is a failure of {@code kind} for input {@code index} at {@code url}. */
  public static FetchResult.Failure assertFailure(
      FetchResult result, long index, String url, FetchException.Kind kind) {
    assertThat(result).isInstanceOf(FetchResult.Failure.class);
    FetchResult.Failure failure = (FetchResult.Failure) result;
    FetchException error = failure.error();
    assertThat(failure.kind()).as("kind of %s", error).isEqualTo(kind);
    assertThat(failure.index()).isEqualTo(index);
    assertThat(failure.url()).isEqualTo(url);
    assertThat(error.index()).isEqualTo(index);
    assertThat(error.url()).isEqualTo(url);
    assertThat(error.uri()).isEqualTo(URI.create(url));
    assertThat(error.method()).isEqualTo("GET");
    assertThat(error.getMessage())
        .startsWith("#" + index + " GET " + url + ": " + kind.description());
    assertThat(error.getCause()).as("original cause of %s", error).isNotNull();
    assertThat(error.getCause()).isNotInstanceOf(FetchException.class);
    assertThat(failure.timings().total()).isPositive();
    return failure;
  }
}
