package dev.fetchflux.tck;

import dev.fetchflux.Fetcher;
import dev.fetchflux.testing.StubFetcher;
import dev.fetchflux.testing.StubReply;
import java.time.Duration;
import org.reactivestreams.Publisher;
import org.reactivestreams.tck.PublisherVerification;
import org.reactivestreams.tck.TestEnvironment;
import org.testng.annotations.Listeners;
import reactor.core.publisher.Flux;

/**
 * The Reactive Streams TCK's publisher rules (§1 and the publisher side of §3), run against one of
 * {@link Fetcher}'s streams over a stub transport: {@code createPublisher(n)} fetches {@code n}
 * URLs and so emits exactly {@code n} results; {@code createFailedPublisher()} fetches from an
 * input that fails.
 *
 * <p>Every stubbed exchange answers; every third one after a millisecond on
 * {@code Schedulers.parallel()}, so results complete out of input order and from another thread, as
 * over a network, and the ordering stage's reordering and cross-thread draining are exercised.
 *
 * <p>The TCK runs on TestNG (through the JUnit Platform's TestNG engine), where the Jupiter
 * extensions do not apply, so {@link TckResourceChecks} runs the same checks around each test
 * method: no blocking call caught by BlockHound and no descriptor or temporary file left open.
 *
 * <p>Timeouts: {@value #TIMEOUT_MILLIS} ms for a signal the TCK expects (spent only when one is
 * missing) and {@value #NO_SIGNALS_MILLIS} ms of silence where it expects none (spent in full, by
 * many rules, hence short); about 45 rules per stream.
 */
@Listeners(TckResourceChecks.class)
abstract class FetcherPublisherVerification<T> extends PublisherVerification<T> {

  // Signals that must come may take a while on a loaded 2-core machine (a CI run missed 1 s;
  // skipped optional tests wait it out, so not more).
  static final long TIMEOUT_MILLIS = 3000;
  static final long NO_SIGNALS_MILLIS = 50;
  static final long GC_TIMEOUT_MILLIS = 1000;

  static final StubFetcher STUB =
      StubFetcher.builder()
          .handler(
              request -> {
                String path = request.uri().getPath();
                long i = Long.parseLong(path.substring(path.lastIndexOf('/') + 1));
                StubReply reply = StubReply.ok("body " + i);
                return i % 3 == 1 ? reply.withDelay(Duration.ofMillis(1)) : reply;
              })
          .configure(b -> b.maxInFlight(8))
          .build();

  FetcherPublisherVerification() {
    super(new TestEnvironment(TIMEOUT_MILLIS, NO_SIGNALS_MILLIS), GC_TIMEOUT_MILLIS);
  }

  /** The stream under test, over {@code inputs}. */
  abstract Publisher<T> stream(Fetcher fetcher, Flux<String> inputs);

  /** {@code n} URLs, made as they are requested (the TCK asks for up to {@code Long.MAX_VALUE}). */
  static Flux<String> urls(long n) {
    return Flux.<String, Long>generate(
        () -> 0L,
        (i, sink) -> {
          if (i < n) {
            sink.next("https://tck.test/" + i);
          } else {
            sink.complete();
          }
          return i + 1;
        });
  }

  @Override
  public Publisher<T> createPublisher(long elements) {
    return stream(STUB.fetcher(), urls(elements));
  }

  @Override
  public Publisher<T> createFailedPublisher() {
    return stream(STUB.fetcher(), Flux.error(new IllegalStateException("the input failed")));
  }
}
