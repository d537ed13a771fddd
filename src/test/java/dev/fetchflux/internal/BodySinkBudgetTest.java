package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.Body;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

/**
 * The fetcher's memory for bodies received whole ({@code maxBodyMemory}) is shared by its sinks: a
 * body whose bytes do not fit goes to its spill file, and every sink gives its share back when its
 * body is complete or aborted, so the budget never shrinks for good.
 */
class BodySinkBudgetTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir Path dir;

  private static byte[] bytes(int n) {
    return new byte[n];
  }

  @Test
  void aBodyThatDoesNotFitTheSharedMemoryGoesToAFileAndBothGiveTheirShareBack() {
    ByteBudget budget = new ByteBudget(100_000);
    BodySink first = new BodySink(-1, Long.MAX_VALUE, dir, budget);
    BodySink second = new BodySink(-1, Long.MAX_VALUE, dir, budget);

    first.write(bytes(80_000)).block(WAIT);
    assertThat(budget.used()).as("the first body's array").isBetween(70_000L, 100_000L);
    // The second body's bytes do not fit next to the first's: to a file (and no batch array
    // either, as the budget has no room for one).
    second.write(bytes(30_000)).block(WAIT);
    second.write(bytes(30_000)).block(WAIT);

    Body inMemory = first.finish().block(WAIT);
    Body spilled = second.finish().block(WAIT);
    assertThat(inMemory.isInMemory()).isTrue();
    assertThat(inMemory.size()).isEqualTo(80_000);
    assertThat(spilled.isInMemory()).isFalse();
    assertThat(spilled.size()).isEqualTo(60_000);
    assertThat(budget.used()).as("given back once the bodies are complete").isZero();
    spilled.release();
  }

  @Test
  void aSpillingBodysBatchComesFromTheBudgetAndIsGivenBackAtTheEnd() {
    ByteBudget budget = new ByteBudget(4L << 20);
    BodySink sink = new BodySink(-1, 16, dir, budget);
    Body body = sink.collect(Flux.range(0, 40).map(i -> bytes(64 * 1024))).block(WAIT);
    assertThat(body.isInMemory()).isFalse();
    assertThat(body.size()).isEqualTo(40L * 64 * 1024);
    assertThat(budget.used()).isZero();
    body.release();
  }

  @Test
  void anAbortedBodyGivesItsShareBack() {
    ByteBudget budget = new ByteBudget(1L << 20);
    BodySink sink = new BodySink(-1, Long.MAX_VALUE, dir, budget);
    sink.write(bytes(300_000)).block(WAIT);
    assertThat(budget.used()).isPositive();
    sink.abort();
    assertThat(budget.used()).isZero();
    // Nothing is taken by a write after the abort either.
    sink.write(bytes(1_000)).block(WAIT);
    assertThat(budget.used()).isZero();
  }
}
