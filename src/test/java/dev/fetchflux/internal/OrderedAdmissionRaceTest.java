package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Hooks;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.test.StepVerifier;
import reactor.test.util.RaceTestUtils;

/**
 * The ordering stage under real concurrency: a cancel, a request and inner completions on different
 * threads at once ({@link RaceTestUtils}), thousands of rounds each. Every result an inner produced
 * is accounted for exactly once: emitted downstream, or handed to the discard hook (a late arrival
 * after the cancel, or a result waiting behind the head); an error with nowhere to go reaches
 * {@code onErrorDropped}, once. The inners ignore cancellation, as a response already on its way
 * does, so late arrivals really happen.
 */
@Timeout(120)
class OrderedAdmissionRaceTest {
  private static final int ROUNDS = 5_000;
  private static final int EMITTED = 1;
  private static final int DISCARDED = 2;

  /** A result whose fate is recorded once; a second fate is a bug. */
  static final class Item {
    final long index;
    final AtomicInteger fate = new AtomicInteger();
    final List<String> errors;

    Item(long index, List<String> errors) {
      this.index = index;
      this.errors = errors;
    }

    void fate(int f) {
      if (!fate.compareAndSet(0, f)) {
        errors.add("item " + index + " had fate " + fate.get() + ", then " + f);
      }
    }
  }

  /** Inners the test completes by hand, on whichever thread it likes; cancellation is ignored. */
  static final class Manual implements OrderedAdmission.Mapper<Integer, Item> {
    final AtomicReferenceArray<CoreSubscriber<? super Item>> inners;
    final List<Item> produced = new CopyOnWriteArrayList<>();
    final List<String> errors;

    Manual(int n, List<String> errors) {
      this.inners = new AtomicReferenceArray<>(n);
      this.errors = errors;
    }

    @Override
    public Mono<Item> apply(long index, Integer input) {
      return new Mono<>() {
        @Override
        public void subscribe(CoreSubscriber<? super Item> actual) {
          actual.onSubscribe(Operators.emptySubscription());
          inners.set((int) index, actual);
        }
      };
    }

    /** Completes every admitted inner in {@code order} that is not completed yet. */
    void completeAdmitted(int... order) {
      for (int i : order) {
        CoreSubscriber<? super Item> s = inners.getAndSet(i, null);
        if (s != null) {
          Item item = new Item(i, errors);
          produced.add(item);
          s.onNext(item);
          s.onComplete();
        }
      }
    }
  }

  /** Records what reaches it; requests nothing by itself unless told. */
  static final class Downstream extends BaseSubscriber<Item> {
    final List<Long> order = new CopyOnWriteArrayList<>();
    final long initial;

    Downstream(long initial) {
      this.initial = initial;
    }

    @Override
    protected void hookOnSubscribe(Subscription subscription) {
      if (initial > 0) {
        request(initial);
      }
    }

    @Override
    protected void hookOnNext(Item item) {
      order.add(item.index);
      item.fate(EMITTED);
    }
  }

  private final List<String> errors = new CopyOnWriteArrayList<>();

  @AfterEach
  void resetHooks() {
    Hooks.resetOnErrorDropped();
  }

  private static Flux<Item> stage(Manual inners, int n, int c, int w) {
    return OrderedAdmission.create(Flux.range(0, n), inners, c, w, Long.MAX_VALUE, x -> 1, true)
        .doOnDiscard(Item.class, item -> item.fate(DISCARDED));
  }

  private void assertEachProducedOnce(Manual inners, int round) {
    for (Item item : inners.produced) {
      assertThat(item.fate.get())
          .as("round %d: fate of item %d", round, item.index)
          .isIn(EMITTED, DISCARDED);
    }
    assertThat(errors).as("round %d", round).isEmpty();
  }

  @Test
  void cancelRacingCompletionsHandsEveryLateResultToTheDiscardHookOnce() {
    int n = 8;
    for (int round = 0; round < ROUNDS; round++) {
      Manual inners = new Manual(n, errors);
      Downstream down = stage(inners, n, 4, n).subscribeWith(new Downstream(Long.MAX_VALUE));
      // 0 is slow: 3, 1 and 2 finish and wait behind it; then the rest as they are admitted.
      RaceTestUtils.race(() -> inners.completeAdmitted(3, 1, 2, 0, 5, 4, 7, 6), down::dispose);
      // Whatever was admitted and not completed yet arrives now, after the cancel.
      inners.completeAdmitted(0, 1, 2, 3, 4, 5, 6, 7);
      assertEachProducedOnce(inners, round);
    }
  }

  @Test
  void requestRacingCompletionsEmitsEveryResultOnceInOrder() {
    int n = 8;
    for (int round = 0; round < ROUNDS; round++) {
      Manual inners = new Manual(n, errors);
      Downstream down = stage(inners, n, 4, n).subscribeWith(new Downstream(1));
      RaceTestUtils.race(
          () -> inners.completeAdmitted(2, 0, 3, 1, 6, 4, 7, 5),
          () -> {
            for (int i = 0; i < n; i++) {
              down.request(1);
            }
          });
      inners.completeAdmitted(0, 1, 2, 3, 4, 5, 6, 7);
      inners.completeAdmitted(0, 1, 2, 3, 4, 5, 6, 7);
      assertThat(down.order).as("round %d", round).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L);
      assertEachProducedOnce(inners, round);
    }
  }

  @Test
  void cancelRacingRequestEmitsOrDiscardsEachWaitingResultOnce() {
    int n = 8;
    for (int round = 0; round < ROUNDS; round++) {
      Manual inners = new Manual(n, errors);
      Downstream down = stage(inners, n, 4, n).subscribeWith(new Downstream(0));
      inners.completeAdmitted(0, 1, 2, 3, 4, 5, 6, 7); // all wait for demand
      inners.completeAdmitted(0, 1, 2, 3, 4, 5, 6, 7);
      RaceTestUtils.race(() -> down.request(n), down::dispose);
      assertEachProducedOnce(inners, round);
      // What was emitted is a prefix, in order.
      for (int i = 0; i < down.order.size(); i++) {
        assertThat(down.order.get(i)).as("round %d", round).isEqualTo(i);
      }
    }
  }

  @Test
  void innerErrorRacingCancelIsSignalledOrDroppedOnce() {
    List<Throwable> dropped = new CopyOnWriteArrayList<>();
    Hooks.onErrorDropped(dropped::add);
    for (int round = 0; round < ROUNDS; round++) {
      dropped.clear();
      Manual inners = new Manual(4, errors);
      List<Throwable> signalled = new CopyOnWriteArrayList<>();
      BaseSubscriber<Item> down =
          stage(inners, 4, 4, 4)
              .subscribeWith(
                  new BaseSubscriber<Item>() {
                    @Override
                    protected void hookOnError(Throwable t) {
                      signalled.add(t);
                    }
                  });
      IllegalStateException boom = new IllegalStateException("round " + round);
      RaceTestUtils.race(() -> inners.inners.getAndSet(1, null).onError(boom), down::dispose);
      List<Throwable> all = new ArrayList<>(signalled);
      all.addAll(dropped);
      assertThat(all)
          .as("round %d: signalled %s, dropped %s", round, signalled, dropped)
          .containsExactly(boom);
    }
  }

  /** A window of Integer.MAX_VALUE costs nothing until results wait; then the ring grows. */
  @Test
  void hugeWindowAllocatesOnlyWhatWaitsAndKeepsOrderAsItGrows() {
    int n = 5_000;
    Manual inners = new Manual(n, errors);
    Flux<Item> flux =
        OrderedAdmission.create(
            Flux.range(0, n), inners, 64, Integer.MAX_VALUE, Long.MAX_VALUE, x -> 1, true);
    List<Long> order = new CopyOnWriteArrayList<>();
    StepVerifier.create(flux.doOnNext(i -> order.add(i.index)))
        .then(
            () -> {
              // The head stays open while everything behind it finishes: the ring must hold them
              // all.
              for (int i = 1; i < n; i++) {
                int[] next = new int[Math.min(64, n - i)];
                for (int k = 0; k < next.length; k++) {
                  next[k] = i + k;
                }
                inners.completeAdmitted(next);
              }
            })
        .then(() -> inners.completeAdmitted(0))
        .expectNextCount(n)
        .expectComplete()
        .verify(Duration.ofSeconds(10));
    for (int i = 0; i < n; i++) {
      assertThat(order.get(i)).isEqualTo(i);
    }
  }

  @Test
  void ringStartsSmallForALargeWindow() {
    assertThat(OrderedAdmission.Main.initialRing(64, Integer.MAX_VALUE)).isEqualTo(128);
    assertThat(OrderedAdmission.Main.initialRing(1, 4096)).isEqualTo(16);
    assertThat(OrderedAdmission.Main.initialRing(8, 8)).isEqualTo(8);
  }
}
