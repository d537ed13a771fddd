package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.support.Await;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

@Timeout(10)
class HandOffThreadTest {

  @Test
  void runsTasksFromManyThreadsOneAtATimeInTheOrderEachHandedThem() throws Exception {
    HandOffThread thread = HandOffThread.start("test-hand-off");
    try {
      List<String> ran = new CopyOnWriteArrayList<>();
      CountDownLatch all = new CountDownLatch(2 * 1000);
      Thread[] producers = new Thread[2];
      for (int p = 0; p < producers.length; p++) {
        String name = "p" + p;
        producers[p] =
            new Thread(
                () -> {
                  for (int i = 0; i < 1000; i++) {
                    int n = i;
                    thread.execute(
                        () -> {
                          ran.add(name + ":" + n + ":" + Thread.currentThread().getName());
                          all.countDown();
                        });
                  }
                });
        producers[p].start();
      }
      assertThat(all.await(5, TimeUnit.SECONDS)).isTrue();
      for (String name : List.of("p0", "p1")) {
        assertThat(
                ran.stream()
                    .filter(r -> r.startsWith(name + ":"))
                    .map(r -> r.split(":")[1])
                    .map(Integer::parseInt)
                    .toList())
            .isSorted()
            .hasSize(1000);
      }
      assertThat(ran).allMatch(r -> r.endsWith(":test-hand-off"));
    } finally {
      thread.close();
    }
  }

  @Test
  void aTaskHandedToTheSleepingThreadWakesIt() throws Exception {
    HandOffThread thread = HandOffThread.start("test-hand-off");
    try {
      // Past its naps: the thread is asleep, waiting to be woken, when the task comes.
      Await.until("the hand-off thread asleep", thread::sleeping);
      CountDownLatch ran = new CountDownLatch(1);
      thread.execute(ran::countDown);
      assertThat(ran.await(2, TimeUnit.SECONDS)).isTrue();
    } finally {
      thread.close();
    }
  }

  @Test
  void aClosedThreadRefusesTasks() {
    HandOffThread thread = HandOffThread.start("test-hand-off");
    thread.close();
    assertThatThrownBy(() -> thread.execute(() -> {}))
        .isInstanceOf(RejectedExecutionException.class)
        .hasMessageContaining("test-hand-off");
  }

  @Test
  void publishOnItsSchedulerDeliversEverySignalInOrder() {
    HandOffThread thread = HandOffThread.start("test-hand-off");
    try {
      StepVerifier.create(
              Flux.range(0, 10_000)
                  .publishOn(thread.scheduler(), 8)
                  .map(i -> Thread.currentThread().getName().equals("test-hand-off") ? i : -1))
          .expectNextSequence(Flux.range(0, 10_000).toIterable())
          .expectComplete()
          .verify(java.time.Duration.ofSeconds(5));
    } finally {
      thread.close();
    }
  }
}
