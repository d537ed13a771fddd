package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.Body;
import dev.fetchflux.support.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.test.util.RaceTestUtils;

/**
 * A body sink's file has exactly one owner whatever order a cancellation and the sink's own work
 * come in: {@code abort} racing {@code finish}, and {@code abort} racing the opening of the spill
 * file, over thousands of rounds. After every round the spill directory is empty again (once the
 * delivered body, if any, is released) and no descriptor of this process points into it.
 */
@Timeout(120)
class BodySinkRaceTest {
  private static final int ROUNDS = 2_000;

  @TempDir Path dir;

  @Test
  void abortRacingFinishOfASpilledBodyLeavesNoFileAndNoChannel() {
    byte[] first = Body.of("x".repeat(64)).toByteArray();
    byte[] last = Body.of("y".repeat(64)).toByteArray();
    for (int round = 0; round < ROUNDS; round++) {
      BodySink sink = new BodySink(-1, 16, dir);
      sink.write(first).block();
      assertThat(filesIn(dir)).as("round %d: spilled", round).hasSize(1);
      // A body delivered (before or after the cancel; delivery may still be under way when the
      // cancel returns) is checked and released by its subscriber. Like the ordering stage's
      // inner subscriber, and unlike a lambda subscriber (which drops a value that comes after
      // its cancel), it takes whatever arrives.
      List<String> wrong = new java.util.concurrent.CopyOnWriteArrayList<>();
      List<String> delivered = new java.util.concurrent.CopyOnWriteArrayList<>();
      AtomicReference<Disposable> subscription = new AtomicReference<>();
      int r = round;
      // The request is cancelled (abort, as doOnCancel does) while the last chunk is written and
      // the body finished on other threads; then the subscription goes away.
      RaceTestUtils.race(
          () ->
              subscription.set(
                  sink.collect(Flux.just(last))
                      .subscribeWith(
                          new BaseSubscriber<Body>() {
                            @Override
                            protected void hookOnNext(Body body) {
                              if (body.size() != 128) {
                                wrong.add("round " + r + ": delivered " + body);
                              }
                              delivered.add(body + " on " + Thread.currentThread().getName());
                              body.release();
                            }
                          })),
          sink::abort);
      subscription.get().dispose();
      assertThat(wrong).isEmpty();
      // Should a file stay, the message says whether its body was delivered (and released by the
      // subscriber) or not (then it was discarded, or lost), and who won the race.
      awaitNothingLeftIn(round, () -> ", delivered " + delivered + ", aborted " + sink.isAborted());
    }
  }

  @Test
  void abortRacingTheOpeningOfTheSpillFileLeavesNoFileAndNoChannel() {
    byte[] chunk = Body.of("z".repeat(64)).toByteArray();
    for (int round = 0; round < ROUNDS; round++) {
      BodySink sink = new BodySink(-1, 16, dir);
      AtomicReference<Disposable> subscription = new AtomicReference<>();
      RaceTestUtils.race(() -> subscription.set(sink.write(chunk).subscribe()), sink::abort);
      Await.until(
          "round " + round + ": the write is over",
          () -> subscription.get().isDisposed() || sink.isAborted());
      awaitNothingLeftIn(round);
      subscription.get().dispose();
    }
  }

  private void awaitNothingLeftIn(int round) {
    awaitNothingLeftIn(round, () -> "");
  }

  private void awaitNothingLeftIn(int round, Supplier<String> more) {
    Await.until(
        "round " + round + ": no spill file left and no descriptor open on one",
        () -> filesIn(dir).isEmpty() && descriptorsInto(dir).isEmpty(),
        () -> "files " + filesIn(dir) + ", descriptors " + descriptorsInto(dir) + more.get());
  }

  static List<Path> filesIn(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** This process's open descriptors whose target lies in {@code dir} (Linux; none elsewhere). */
  static List<String> descriptorsInto(Path dir) {
    Path fds = Path.of("/proc/self/fd");
    List<String> found = new ArrayList<>();
    if (!Files.isDirectory(fds)) {
      return found;
    }
    try (Stream<Path> s = Files.list(fds)) {
      for (Path fd : s.toList()) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith(dir.toString())) {
            found.add(fd.getFileName() + " -> " + target);
          }
        } catch (IOException e) {
          // closed while listing
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return found;
  }
}
