package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.publisher.TestPublisher;

/**
 * The ordering and admission stage, driven by hand: every inner is a {@link TestPublisher} (or a
 * {@link Sinks.One}) that the test completes when and in which order it likes, and the test checks
 * which inputs were admitted (subscribed) and what came out. Everything runs on the test thread, so
 * the state after each step is exact; no sleeps, no clocks.
 */
@Timeout(10)
class OrderedAdmissionTest {

  private static final Duration WAIT = Duration.ofSeconds(5);

  /** A source of inputs "in0", "in1", ... that counts what it was asked for and what it gave. */
  private static final class Source {
    final AtomicLong requested = new AtomicLong();
    final AtomicLong emitted = new AtomicLong();
    final AtomicBoolean cancelled = new AtomicBoolean();

    Flux<String> of(int count) {
      return track(Flux.range(0, count).map(i -> "in" + i));
    }

    Flux<String> track(Flux<String> flux) {
      return flux.doOnNext(x -> emitted.incrementAndGet())
          .doOnRequest(n -> requested.addAndGet(n))
          .doOnCancel(() -> cancelled.set(true));
    }
  }

  /** The mapper: records each admitted index and hands out a publisher the test completes. */
  private static final class Inners implements OrderedAdmission.Mapper<String, String> {
    final List<Long> admitted = new CopyOnWriteArrayList<>();
    final Map<Long, TestPublisher<String>> byIndex = new ConcurrentHashMap<>();

    @Override
    public Mono<String> apply(long index, String input) {
      assertThat(input).isEqualTo("in" + index);
      admitted.add(index);
      TestPublisher<String> inner = TestPublisher.create();
      byIndex.put(index, inner);
      return inner.mono();
    }

    /** Completes inner {@code index} with {@code "r<index>"}. */
    void complete(long... indexes) {
      for (long index : indexes) {
        complete(index, "r" + index);
      }
    }

    void complete(long index, String value) {
      TestPublisher<String> inner = byIndex.get(index);
      assertThat(inner).as("inner %d was admitted", index).isNotNull();
      inner.emit(value);
    }

    TestPublisher<String> inner(long index) {
      return byIndex.get(index);
    }
  }

  private static List<Long> range(long fromInclusive, long toExclusive) {
    return LongStream.range(fromInclusive, toExclusive).boxed().collect(Collectors.toList());
  }

  private static List<String> results(long... indexes) {
    List<String> out = new ArrayList<>();
    for (long i : indexes) {
      out.add("r" + i);
    }
    return out;
  }

  private static Flux<String> ordered(Flux<String> source, Inners inners, int c, int w) {
    return OrderedAdmission.create(source, inners, c, w, Long.MAX_VALUE, String::length, true);
  }

  // ---- admission -------------------------------------------------------------------------------

  @Test
  void neverAdmitsMoreThanMaxInFlight() {
    Inners inners = new Inners();
    List<String> out = new CopyOnWriteArrayList<>();

    StepVerifier.create(ordered(new Source().of(10), inners, 3, 10).doOnNext(out::add))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L))
        .then(() -> inners.complete(1))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L, 3L))
        .then(() -> inners.complete(2, 3))
        .then(() -> assertThat(inners.admitted).containsExactlyElementsOf(range(0, 6)))
        .then(() -> assertThat(out).isEmpty())
        .then(() -> inners.complete(0))
        .expectNext("r0", "r1", "r2", "r3")
        .then(() -> assertThat(inners.admitted).containsExactlyElementsOf(range(0, 7)))
        .then(() -> inners.complete(4, 5, 6, 7, 8, 9))
        .expectNext("r4", "r5", "r6", "r7", "r8", "r9")
        .expectComplete()
        .verify(WAIT);
  }

  @Test
  void slowHeadDoesNotStopAdmissionWhileWindowHasRoom() {
    Inners inners = new Inners();
    List<String> out = new CopyOnWriteArrayList<>();

    // C = 2, W = 5: with the head (0) pending, finishing the others keeps admitting until five
    // inputs are admitted and not emitted, far past the two that flatMapSequential would allow.
    StepVerifier.create(ordered(new Source().of(10), inners, 2, 5).doOnNext(out::add))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L))
        .then(() -> inners.complete(1))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L))
        .then(() -> inners.complete(2))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L, 3L))
        .then(() -> inners.complete(3))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L, 3L, 4L))
        .then(() -> assertThat(out).isEmpty())
        .then(() -> inners.complete(0))
        .expectNext("r0", "r1", "r2", "r3")
        .then(() -> assertThat(inners.admitted).containsExactlyElementsOf(range(0, 6)))
        .thenCancel()
        .verify(WAIT);
  }

  @Test
  void fullWindowStopsAdmissionUntilTheHeadIsEmitted() {
    Inners inners = new Inners();
    List<String> out = new CopyOnWriteArrayList<>();

    StepVerifier.create(ordered(new Source().of(10), inners, 2, 3).doOnNext(out::add))
        .then(() -> inners.complete(1, 2))
        // 0 in flight, 1 and 2 waiting: three admitted and unemitted fill the window although only
        // one request is in flight.
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L))
        .then(() -> assertThat(out).isEmpty())
        .then(() -> inners.complete(0))
        .expectNext("r0", "r1", "r2")
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L, 3L, 4L))
        .thenCancel()
        .verify(WAIT);
  }

  @Test
  void byteBudgetStopsAdmissionButTheHeadAlwaysGetsThrough() {
    Inners inners = new Inners();
    Flux<String> stage =
        OrderedAdmission.create(new Source().of(10), inners, 2, 10, 10, String::length, true);

    StepVerifier.create(stage)
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L))
        // 20 bytes wait behind the head, over the budget of 10: nothing more is admitted although
        // one slot is free in flight and eight in the window.
        .then(() -> inners.complete(1, "x".repeat(20)))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L))
        // The head, far larger than the budget, is still accepted and emitted.
        .then(() -> inners.complete(0, "h".repeat(100)))
        .expectNext("h".repeat(100), "x".repeat(20))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L, 3L))
        .thenCancel()
        .verify(WAIT);
  }

  @Test
  void resultsWaitingForDemandCountAgainstTheByteBudget() {
    Inners inners = new Inners();
    Flux<String> stage =
        OrderedAdmission.create(new Source().of(10), inners, 2, 10, 10, String::length, true);

    StepVerifier.create(stage, 0)
        .then(() -> inners.complete(0, "h".repeat(30)))
        // The head is done but not requested: its 30 bytes wait, so admission stops at 0, 1.
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L))
        .thenRequest(1)
        .expectNext("h".repeat(30))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L))
        .thenCancel()
        .verify(WAIT);
  }

  // ---- emission --------------------------------------------------------------------------------

  @Test
  void orderedModeEmitsByIndexWhateverTheCompletionOrder() {
    Inners inners = new Inners();
    List<String> out = new CopyOnWriteArrayList<>();

    StepVerifier.create(ordered(new Source().of(4), inners, 4, 4).doOnNext(out::add))
        .then(() -> inners.complete(2))
        .then(() -> assertThat(out).isEmpty())
        .then(() -> inners.complete(0))
        .expectNext("r0")
        .then(() -> inners.complete(3))
        .then(() -> assertThat(out).containsExactly("r0"))
        .then(() -> inners.complete(1))
        .expectNext("r1", "r2", "r3")
        .expectComplete()
        .verify(WAIT);
  }

  @Test
  void unorderedModeEmitsInCompletionOrder() {
    Inners inners = new Inners();
    Flux<String> stage =
        OrderedAdmission.create(
            new Source().of(4), inners, 4, 4, Long.MAX_VALUE, String::length, false);

    StepVerifier.create(stage)
        .then(() -> inners.complete(2))
        .expectNext("r2")
        .then(() -> inners.complete(0))
        .expectNext("r0")
        .then(() -> inners.complete(3, 1))
        .expectNext("r3", "r1")
        .expectComplete()
        .verify(WAIT);
  }

  @Test
  void unorderedModeWindowBoundsResultsNobodyRequested() {
    Inners inners = new Inners();
    Flux<String> stage =
        OrderedAdmission.create(
            new Source().of(10), inners, 2, 3, Long.MAX_VALUE, String::length, false);

    StepVerifier.create(stage, 0)
        .then(() -> inners.complete(0, 1, 2))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L))
        .thenRequest(2)
        .expectNext("r0", "r1")
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L, 3L, 4L))
        .thenCancel()
        .verify(WAIT);
  }

  @Test
  void downstreamDemandBoundsWhatIsEmitted() {
    Inners inners = new Inners();
    List<String> out = new CopyOnWriteArrayList<>();

    StepVerifier.create(ordered(new Source().of(6), inners, 3, 6).doOnNext(out::add), 1)
        .then(() -> inners.complete(0, 1, 2))
        .expectNext("r0")
        .then(() -> assertThat(out).containsExactly("r0"))
        // Admission goes on without demand, within the window.
        .then(() -> assertThat(inners.admitted).containsExactlyElementsOf(range(0, 6)))
        .thenRequest(1)
        .expectNext("r1")
        .then(() -> assertThat(out).containsExactly("r0", "r1"))
        .thenRequest(10)
        .expectNext("r2")
        .then(() -> inners.complete(3, 4, 5))
        .expectNext("r3", "r4", "r5")
        .expectComplete()
        .verify(WAIT);
  }

  // ---- upstream --------------------------------------------------------------------------------

  @Test
  void upstreamIsPulledOnlyAsFarAsAdmissionAllows() {
    Source source = new Source();
    Inners inners = new Inners();

    StepVerifier.create(ordered(source.of(1_000), inners, 2, 4), 0)
        .then(() -> assertThat(source.requested.get()).isEqualTo(2))
        .then(() -> assertThat(source.emitted.get()).isEqualTo(2))
        .then(() -> inners.complete(1))
        .then(() -> assertThat(source.emitted.get()).isEqualTo(3))
        .then(() -> inners.complete(2, 3))
        // Window of 4 full (0 pending, 1..3 done), nothing requested downstream: no more pulls.
        .then(() -> assertThat(source.emitted.get()).isEqualTo(4))
        .then(() -> assertThat(source.requested.get()).isEqualTo(4))
        .then(() -> inners.complete(0))
        .then(() -> assertThat(source.emitted.get()).isEqualTo(4))
        .thenRequest(3)
        .expectNext("r0", "r1", "r2")
        // Three emitted, one (3) still waiting: the window has room for three more, in flight for
        // two.
        .then(() -> assertThat(source.emitted.get()).isEqualTo(6))
        .then(() -> assertThat(source.requested.get()).isEqualTo(6))
        .thenCancel()
        .verify(WAIT);
    assertThat(source.cancelled).isTrue();
  }

  @Test
  void takeOnAnEndlessSourcePullsABoundedNumber() {
    Source source = new Source();
    Flux<String> endless =
        source.track(
            Flux.<String, Long>generate(
                () -> 0L,
                (i, sink) -> {
                  sink.next("in" + i);
                  return i + 1;
                }));
    Flux<String> stage =
        OrderedAdmission.create(
            endless,
            (index, input) -> Mono.just("r" + index),
            8,
            16,
            Long.MAX_VALUE,
            String::length,
            true);

    StepVerifier.create(stage.take(10))
        .expectNextSequence(results(0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
        .expectComplete()
        .verify(WAIT);

    assertThat(source.cancelled).isTrue();
    assertThat(source.emitted.get()).isBetween(10L, 10L + 16);
  }

  @Test
  void upstreamErrorArrivesAfterTheResultsBeforeIt() {
    Inners inners = new Inners();
    IllegalStateException boom = new IllegalStateException("input broke");
    Flux<String> source = Flux.concat(Flux.just("in0", "in1", "in2"), Flux.error(boom));
    List<String> out = new CopyOnWriteArrayList<>();

    StepVerifier.create(ordered(source, inners, 3, 3).doOnNext(out::add))
        .then(() -> inners.complete(2, 1))
        .then(() -> assertThat(out).isEmpty())
        .then(() -> inners.complete(0))
        .expectNext("r0", "r1", "r2")
        .expectErrorSatisfies(e -> assertThat(e).isSameAs(boom))
        .verify(WAIT);
  }

  @Test
  void emptySourceCompletesWithoutCallingTheMapper() {
    Inners inners = new Inners();

    StepVerifier.create(ordered(Flux.empty(), inners, 2, 2)).expectComplete().verify(WAIT);
    assertThat(inners.admitted).isEmpty();
  }

  // ---- cancellation and errors -----------------------------------------------------------------

  @Test
  void cancelCancelsEveryPendingInnerAndTheUpstream() {
    Source source = new Source();
    Inners inners = new Inners();

    StepVerifier.create(ordered(source.of(10), inners, 3, 6))
        .then(() -> inners.complete(1))
        .then(() -> assertThat(inners.admitted).containsExactly(0L, 1L, 2L, 3L))
        .then(
            () -> {
              for (long i : new long[] {0, 2, 3}) {
                assertThat(inners.inner(i).wasCancelled())
                    .as("inner %d before cancel", i)
                    .isFalse();
              }
            })
        .thenCancel()
        .verify(WAIT);

    for (long i : new long[] {0, 2, 3}) {
      assertThat(inners.inner(i).wasCancelled()).as("inner %d cancelled", i).isTrue();
    }
    assertThat(source.cancelled).isTrue();
    assertThat(inners.admitted).containsExactly(0L, 1L, 2L, 3L);
  }

  @Test
  void cancelReachesSinkBackedInners() {
    List<Sinks.One<String>> sinks = new CopyOnWriteArrayList<>();
    OrderedAdmission.Mapper<String, String> mapper =
        (index, input) -> {
          Sinks.One<String> sink = Sinks.one();
          sinks.add(sink);
          return sink.asMono();
        };
    Flux<String> stage =
        OrderedAdmission.create(
            new Source().of(5), mapper, 2, 4, Long.MAX_VALUE, String::length, true);

    StepVerifier.create(stage)
        .then(() -> assertThat(sinks).hasSize(2))
        .then(
            () ->
                assertThat(sinks)
                    .allSatisfy(s -> assertThat(s.currentSubscriberCount()).isEqualTo(1)))
        .thenCancel()
        .verify(WAIT);

    assertThat(sinks).allSatisfy(s -> assertThat(s.currentSubscriberCount()).isZero());
  }

  @Test
  void innerErrorTerminatesTheStageAndCancelsTheRest() {
    Source source = new Source();
    Inners inners = new Inners();
    IllegalStateException boom = new IllegalStateException("inner broke");

    StepVerifier.create(ordered(source.of(10), inners, 3, 6))
        .then(() -> inners.inner(1).error(boom))
        .expectErrorSatisfies(e -> assertThat(e).isSameAs(boom))
        .verify(WAIT);

    assertThat(inners.inner(0).wasCancelled()).isTrue();
    assertThat(inners.inner(2).wasCancelled()).isTrue();
    assertThat(source.cancelled).isTrue();
  }

  @Test
  void mapperThrowingTerminatesWithItsException() {
    Source source = new Source();
    Inners inners = new Inners();
    IllegalStateException boom = new IllegalStateException("mapper broke");
    OrderedAdmission.Mapper<String, String> mapper =
        (index, input) -> {
          if (index == 2) {
            throw boom;
          }
          return inners.apply(index, input);
        };

    StepVerifier.create(
            OrderedAdmission.create(
                source.of(10), mapper, 3, 6, Long.MAX_VALUE, String::length, true))
        .expectErrorSatisfies(e -> assertThat(e).isSameAs(boom))
        .verify(WAIT);

    assertThat(inners.inner(0).wasCancelled()).isTrue();
    assertThat(inners.inner(1).wasCancelled()).isTrue();
    assertThat(source.cancelled).isTrue();
  }

  @Test
  void mapperThrowingTerminatesEvenWhenNoOtherSignalFollows() {
    // The source sends one input and then nothing: the error must not wait for another signal.
    TestPublisher<String> source = TestPublisher.create();
    IllegalStateException boom = new IllegalStateException("mapper broke");
    OrderedAdmission.Mapper<String, String> mapper =
        (index, input) -> {
          throw boom;
        };

    StepVerifier.create(
            OrderedAdmission.create(
                source.flux(), mapper, 1, 1, Long.MAX_VALUE, String::length, true))
        .then(() -> source.next("in0"))
        .expectErrorSatisfies(e -> assertThat(e).isSameAs(boom))
        .verify(WAIT);
    source.assertCancelled();
  }

  @Test
  void mapperReturningNullTerminatesWithNullPointerException() {
    OrderedAdmission.Mapper<String, String> mapper = (index, input) -> null;

    StepVerifier.create(
            OrderedAdmission.create(
                Flux.just("in0", "in1"), mapper, 1, 1, Long.MAX_VALUE, String::length, true))
        .expectErrorSatisfies(
            e ->
                assertThat(e)
                    .isInstanceOf(NullPointerException.class)
                    .hasMessage("mapper returned null"))
        .verify(WAIT);
  }

  @Test
  void innerCompletingEmptyTerminatesWithAnErrorNamingItsIndex() {
    Inners inners = new Inners();

    StepVerifier.create(ordered(new Source().of(3), inners, 3, 3))
        .then(() -> inners.complete(0))
        .expectNext("r0")
        .then(() -> inners.inner(1).complete())
        .expectErrorSatisfies(
            e ->
                assertThat(e)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("mapper produced no value for index 1"))
        .verify(WAIT);

    assertThat(inners.inner(2).wasCancelled()).isTrue();
  }

  // ---- whole runs ------------------------------------------------------------------------------

  @Test
  void randomCompletionOrderKeepsEveryLimitAndYieldsEachResultOnceInOrder() {
    int c = 4;
    int w = 9;
    int n = 300;
    Random random = new Random(42);
    Inners inners = new Inners();
    Source source = new Source();
    List<String> out = new CopyOnWriteArrayList<>();
    AtomicBoolean done = new AtomicBoolean();
    List<Long> completed = new ArrayList<>();

    ordered(source.of(n), inners, c, w)
        .doOnNext(out::add)
        .doOnComplete(() -> done.set(true))
        .subscribe();

    while (!done.get()) {
      List<Long> pending = new ArrayList<>(inners.admitted);
      pending.removeAll(completed);
      assertThat(pending).as("in flight").isNotEmpty().hasSizeLessThanOrEqualTo(c);
      assertThat(inners.admitted.size() - out.size())
          .as("admitted, not emitted")
          .isLessThanOrEqualTo(w);
      assertThat(source.emitted.get()).isEqualTo(inners.admitted.size());
      long pick = pending.get(random.nextInt(pending.size()));
      completed.add(pick);
      inners.complete(pick);
    }

    assertThat(out)
        .containsExactlyElementsOf(
            LongStream.range(0, n).mapToObj(i -> "r" + i).collect(Collectors.toList()));
    assertThat(inners.admitted).containsExactlyElementsOf(range(0, n));
  }

  // ---- validation ------------------------------------------------------------------------------

  @Test
  void createRejectsMaxInFlightBelowOne() {
    assertThatThrownBy(
            () ->
                OrderedAdmission.create(Flux.empty(), new Inners(), 0, 1, 0, String::length, true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxInFlight < 1: 0");
  }

  @Test
  void createRejectsWindowSmallerThanMaxInFlight() {
    assertThatThrownBy(
            () ->
                OrderedAdmission.create(Flux.empty(), new Inners(), 4, 3, 0, String::length, true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("window (3) must be >= maxInFlight (4)");
  }

  @Test
  void createRejectsNegativeByteBudget() {
    assertThatThrownBy(
            () ->
                OrderedAdmission.create(Flux.empty(), new Inners(), 1, 1, -1, String::length, true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxWaitingBytes < 0: -1");
  }

  @Test
  void createRejectsMissingSourceMapperOrWeigher() {
    assertThatThrownBy(
            () ->
                OrderedAdmission.<String, String>create(
                    null, new Inners(), 1, 1, 0, String::length, true))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("source");
    assertThatThrownBy(
            () ->
                OrderedAdmission.<String, String>create(
                    Flux.empty(), null, 1, 1, 0, String::length, true))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("mapper");
    assertThatThrownBy(
            () ->
                OrderedAdmission.<String, String>create(
                    Flux.empty(), new Inners(), 1, 1, 0, null, true))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("weigher");
  }
}
