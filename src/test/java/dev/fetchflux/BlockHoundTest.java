package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.fetchflux.support.BlockingCalls;
import dev.fetchflux.testing.StubFetcher;
import dev.fetchflux.testing.StubReply;
import dev.fetchflux.testing.TestServer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.AbstractCollection;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.reactivestreams.tck.TestEnvironment;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Proves BlockHound is active in this JVM ({@link BlockHoundSessionListener}), that it sees what
 * fetchflux cares about: sleeping on the fetcher's own event loop, NIO file writes, and opening,
 * creating, renaming and deleting files ({@link BlockHoundFileIoIntegration}), which BlockHound's
 * defaults miss; and that every call it catches is recorded ({@link BlockingCalls}) so that the
 * test that made it fails even when the error became a value.
 *
 * <p>Each test here blocks on purpose, so it takes its recorded call out with {@link #caught} (which
 * asserts it is there); what is left would fail the test through
 * {@link dev.fetchflux.support.BlockingCallExtension}.
 */
@Timeout(30)
class BlockHoundTest {

  private static MultiThreadIoEventLoopGroup loop;

  @TempDir Path dir;

  @BeforeAll
  static void startLoop() {
    loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  }

  @AfterAll
  static void stopLoop() throws Exception {
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
  }

  /** Runs {@code task} on the Netty event loop and returns what it threw, or null. */
  private static Throwable onEventLoop(Callable<?> task) throws Exception {
    try {
      loop.submit(task).get(5, TimeUnit.SECONDS);
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    }
  }

  /**
   * Takes the recorded calls of {@code method} (as BlockHound names it, such as
   * {@code sun.nio.fs.UnixNativeDispatcher.unlink0}) out of the record and asserts there was one.
   */
  private static List<BlockingCalls.Call> caught(String method) {
    List<BlockingCalls.Call> calls = BlockingCalls.take(c -> c.method().equals(method));
    assertThat(calls).as("recorded calls of %s", method).isNotEmpty();
    return calls;
  }

  @Test
  void sleepingInAResultCallbackOnTheFetchersEventLoopIsCaught() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      Mono<String> blocking =
          fetcher
              .fetchOne(server.url("/echo"))
              .map(
                  result -> {
                    assertThat(Thread.currentThread().getName()).startsWith("fetchflux-");
                    try {
                      Thread.sleep(10);
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                    return "slept";
                  });
      StepVerifier.create(blocking)
          .expectErrorSatisfies(
              e ->
                  assertThat(e)
                      .isInstanceOf(BlockingOperationError.class)
                      .hasMessageContaining("java.lang.Thread.sleep"))
          .verify(Duration.ofSeconds(10));
    }
    List<BlockingCalls.Call> calls = caught("java.lang.Thread.sleep");
    assertThat(calls.get(0).thread()).startsWith("fetchflux-");
  }

  @Test
  void aBlockingCallTheLibraryTurnsIntoAFailureValueIsStillRecorded() {
    // The stub transport sleeps inside exchange(), on a parallel (non-blocking) thread: the
    // fetcher maps the BlockingOperationError into a Failure value, the stream completes normally,
    // and only the record shows what happened.
    StubFetcher stub =
        StubFetcher.builder()
            .handler(
                request -> {
                  try {
                    Thread.sleep(1);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  return StubReply.ok("unreachable");
                })
            .build();
    StepVerifier.create(
            stub.fetcher()
                .fetch(Flux.just("https://api.test/a"))
                .subscribeOn(Schedulers.parallel()))
        .assertNext(
            r ->
                assertThat(r)
                    .isInstanceOfSatisfying(
                        FetchResult.Failure.class,
                        f ->
                            assertThat(f.error())
                                .hasRootCauseInstanceOf(BlockingOperationError.class)))
        .expectComplete()
        .verify(Duration.ofSeconds(5));

    BlockingCalls.Call call = caught("java.lang.Thread.sleep").get(0);
    assertThat(call.thread()).startsWith("parallel-");
    assertThat(call.stack())
        .anySatisfy(e -> assertThat(e.getClassName()).startsWith(BlockHoundTest.class.getName()));
  }

  @Test
  void aTestWhoseBlockingCallBecameAValueFailsNamingTheCall() {
    SwallowsABlockingCall.launchedByOuterTest = true;
    try {
      LauncherDiscoveryRequest request =
          LauncherDiscoveryRequestBuilder.request()
              .selectors(selectClass(SwallowsABlockingCall.class))
              .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
              .build();
      SummaryGeneratingListener listener = new SummaryGeneratingListener();
      LauncherFactory.create().execute(request, listener);
      TestExecutionSummary summary = listener.getSummary();

      assertThat(summary.getTestsSucceededCount()).isEqualTo(1);
      assertThat(summary.getTestsFailedCount()).isEqualTo(1);
      TestExecutionSummary.Failure failure = summary.getFailures().get(0);
      assertThat(failure.getTestIdentifier().getDisplayName()).isEqualTo("swallowsTheError()");
      assertThat(failure.getException())
          .isInstanceOf(AssertionError.class)
          .hasMessageContaining("BlockHound caught 1 blocking call(s)")
          .hasMessageContaining("java.lang.Thread.sleep on thread parallel-")
          .hasMessageContaining("SwallowsABlockingCall.lambda$swallowsTheError");
    } finally {
      SwallowsABlockingCall.launchedByOuterTest = false;
    }
  }

  @Test
  void sleepingOnANettyEventLoopIsCaught() throws Exception {
    Throwable t =
        onEventLoop(
            () -> {
              Thread.sleep(1);
              return null;
            });
    assertThat(t).isInstanceOf(BlockingOperationError.class);
    caught("java.lang.Thread.sleep");
  }

  @Test
  void nioFileWriteOnAnEventLoopIsCaught() throws Exception {
    Path file = dir.resolve("written-on-loop");
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      Throwable t = onEventLoop(() -> ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3})));
      assertThat(t)
          .isInstanceOf(BlockingOperationError.class)
          .hasMessageContaining("sun.nio.ch.FileChannelImpl#write");
    }
    caught("sun.nio.ch.FileChannelImpl#write");
  }

  @Test
  void filesWriteOnAnEventLoopIsCaught() throws Exception {
    Path file = dir.resolve("files-write-on-loop");
    Throwable t = onEventLoop(() -> Files.write(file, new byte[] {1, 2, 3}));
    assertThat(t).isInstanceOf(BlockingOperationError.class);
    // Files.write opens the file first: that is where it is stopped now.
    caught("sun.nio.fs.UnixNativeDispatcher.open0");
    assertThat(file).doesNotExist();
  }

  @Test
  void fileReadOnAnEventLoopIsCaught() throws Exception {
    Path file = Files.write(dir.resolve("read-on-loop"), new byte[] {4, 5, 6});
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      Throwable t = onEventLoop(() -> ch.read(ByteBuffer.allocate(3)));
      assertThat(t)
          .isInstanceOf(BlockingOperationError.class)
          .hasMessageContaining("sun.nio.ch.FileChannelImpl#read");
    }
    caught("sun.nio.ch.FileChannelImpl#read");
  }

  @Test
  void openingAFileChannelOnAnEventLoopIsCaught() throws Exception {
    Path file = Files.write(dir.resolve("opened-on-loop"), new byte[] {1});
    Throwable t =
        onEventLoop(
            () -> {
              try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                return ch.size();
              }
            });
    assertThat(t)
        .isInstanceOf(BlockingOperationError.class)
        .hasMessageContaining("sun.nio.fs.UnixNativeDispatcher.open0");
    caught("sun.nio.fs.UnixNativeDispatcher.open0");
  }

  @Test
  void openingAnAsynchronousFileChannelOnAnEventLoopIsCaught() throws Exception {
    // How the library opens a spill file: it must do so on boundedElastic, never on a loop.
    Path file = Files.write(dir.resolve("async-opened-on-loop"), new byte[] {1});
    Throwable t =
        onEventLoop(
            () -> {
              try (AsynchronousFileChannel ch =
                  AsynchronousFileChannel.open(file, StandardOpenOption.WRITE)) {
                return ch.size();
              }
            });
    assertThat(t).isInstanceOf(BlockingOperationError.class);
    caught("sun.nio.fs.UnixNativeDispatcher.open0");
  }

  @Test
  void creatingATempFileOnAnEventLoopIsCaught() throws Exception {
    Throwable t = onEventLoop(() -> Files.createTempFile(dir, "fetchflux-", ".body"));
    assertThat(t).isInstanceOf(BlockingOperationError.class);
    // Stopped at the open, or earlier: the random name comes from SecureRandom, which now and then
    // refills its buffer from /dev/urandom (a FileInputStream read, blocking by default).
    assertThat(BlockingCalls.take(c -> true))
        .extracting(BlockingCalls.Call::method)
        .singleElement()
        .isIn("sun.nio.fs.UnixNativeDispatcher.open0", "java.io.FileInputStream#readBytes");
    try (var left = Files.list(dir)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void creatingADirectoryOnAnEventLoopIsCaught() throws Exception {
    Path sub = dir.resolve("made-on-loop");
    Throwable t = onEventLoop(() -> Files.createDirectories(sub));
    assertThat(t).isInstanceOf(BlockingOperationError.class);
    caught("sun.nio.fs.UnixNativeDispatcher.mkdir0");
    assertThat(sub).doesNotExist();
  }

  @Test
  void deletingAFileOnAnEventLoopIsCaught() throws Exception {
    // How a released spilled body is deleted (Files.deleteIfExists).
    Path file = Files.write(dir.resolve("deleted-on-loop"), new byte[] {1});
    Throwable t = onEventLoop(() -> Files.deleteIfExists(file));
    assertThat(t)
        .isInstanceOf(BlockingOperationError.class)
        .hasMessageContaining("sun.nio.fs.UnixNativeDispatcher.unlink0");
    caught("sun.nio.fs.UnixNativeDispatcher.unlink0");
    assertThat(file).exists();
  }

  @Test
  void deletingAnEmptyDirectoryOnAnEventLoopIsCaught() throws Exception {
    Path sub = Files.createDirectory(dir.resolve("removed-on-loop"));
    Throwable t =
        onEventLoop(
            () -> {
              Files.delete(sub);
              return null;
            });
    assertThat(t).isInstanceOf(BlockingOperationError.class);
    // The provider tries unlink first, then rmdir for a directory; the first is stopped.
    assertThat(BlockingCalls.take(c -> c.method().startsWith("sun.nio.fs.UnixNativeDispatcher.")))
        .extracting(BlockingCalls.Call::method)
        .containsAnyOf(
            "sun.nio.fs.UnixNativeDispatcher.unlink0", "sun.nio.fs.UnixNativeDispatcher.rmdir0");
    assertThat(sub).exists();
  }

  @Test
  void renamingAFileOnAnEventLoopIsCaught() throws Exception {
    Path from = Files.write(dir.resolve("renamed-on-loop.part"), new byte[] {1});
    Path to = dir.resolve("renamed-on-loop");
    Throwable t = onEventLoop(() -> Files.move(from, to));
    assertThat(t).isInstanceOf(BlockingOperationError.class);
    caught("sun.nio.fs.UnixNativeDispatcher.rename0");
    assertThat(from).exists();
    assertThat(to).doesNotExist();
  }

  @Test
  void javaIoFileCreateDeleteAndRenameOnAnEventLoopAreCaught() throws Exception {
    File file = dir.resolve("io-file").toFile();
    assertThat(onEventLoop(file::createNewFile)).isInstanceOf(BlockingOperationError.class);
    caught("java.io.UnixFileSystem#createFileExclusively");
    assertThat(file.createNewFile()).isTrue();

    assertThat(onEventLoop(() -> file.renameTo(dir.resolve("io-renamed").toFile())))
        .isInstanceOf(BlockingOperationError.class);
    caught("java.io.UnixFileSystem#rename0");

    assertThat(onEventLoop(file::delete)).isInstanceOf(BlockingOperationError.class);
    caught("java.io.UnixFileSystem#delete0");
    assertThat(file).exists();

    assertThat(onEventLoop(() -> dir.resolve("io-dir").toFile().mkdir()))
        .isInstanceOf(BlockingOperationError.class);
    caught("java.io.UnixFileSystem#createDirectory");
  }

  @Test
  void javaIoStreamOpensOnAnEventLoopAreCaught() throws Exception {
    Path file = Files.write(dir.resolve("io-stream"), new byte[] {1});
    assertThat(onEventLoop(() -> new FileInputStream(file.toFile())))
        .isInstanceOf(BlockingOperationError.class);
    caught("java.io.FileInputStream#open0");
    assertThat(onEventLoop(() -> new FileOutputStream(file.toFile(), true)))
        .isInstanceOf(BlockingOperationError.class);
    caught("java.io.FileOutputStream#open0");
    assertThat(onEventLoop(() -> new RandomAccessFile(file.toFile(), "r")))
        .isInstanceOf(BlockingOperationError.class);
    caught("java.io.RandomAccessFile#open0");
  }

  @Test
  void theSameFileOperationsOnBoundedElasticAreAllowed() {
    Path file = dir.resolve("written-off-loop");
    Mono<Path> work =
        Mono.fromCallable(
                () -> {
                  Path sub = Files.createDirectories(dir.resolve("sub"));
                  Path tmp = Files.createTempFile(sub, "fetchflux-", ".body");
                  Files.write(tmp, new byte[] {1, 2, 3});
                  Files.move(tmp, file);
                  Files.delete(sub);
                  return file;
                })
            .subscribeOn(Schedulers.boundedElastic());
    StepVerifier.create(work).expectNext(file).expectComplete().verify(Duration.ofSeconds(5));
    assertThat(file).hasBinaryContent(new byte[] {1, 2, 3});
    assertThat(BlockingCalls.take(c -> true)).isEmpty();
  }

  @Test
  void sleepingOnTheParallelSchedulerIsCaught() {
    Mono<Object> sleeping =
        Mono.fromCallable(
                () -> {
                  Thread.sleep(1);
                  return new Object();
                })
            .subscribeOn(Schedulers.parallel());
    StepVerifier.create(sleeping)
        .expectError(BlockingOperationError.class)
        .verify(Duration.ofSeconds(5));
    caught("java.lang.Thread.sleep");
  }

  /**
   * The TCK's subscriber queues each signal in an {@code ArrayBlockingQueue} whose lock the test
   * thread takes while it polls; a signal from an event loop in that instant waits for the lock.
   * BlockHound used to throw there, inside {@code lock()}: the signal was lost and the TCK rule
   * failed after its timeout with "Did not receive expected element" (two CI runs). The lock is
   * held here on purpose, by a {@code drainTo} into a collection that waits, until the event loop
   * is parked on it.
   */
  @Test
  void aTckSubscriberWaitingForItsQueueLockOnAnEventLoopIsAllowed() throws Exception {
    TestEnvironment.ManualSubscriber<String> sub =
        new TestEnvironment.ManualSubscriber<>(new TestEnvironment(1000));
    Field received = TestEnvironment.ManualSubscriber.class.getDeclaredField("received");
    received.setAccessible(true);
    Object receptacle = received.get(sub);
    Field abqField = receptacle.getClass().getDeclaredField("abq");
    abqField.setAccessible(true);
    ArrayBlockingQueue<?> abq = (ArrayBlockingQueue<?>) abqField.get(receptacle);
    sub.onNext("first");

    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    List<Object> drained = new ArrayList<>();
    Thread holder =
        new Thread(
            () ->
                abq.drainTo(
                    new AbstractCollection<Object>() {
                      @Override
                      public boolean add(Object o) {
                        holding.countDown();
                        try {
                          release.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                          Thread.currentThread().interrupt();
                        }
                        return drained.add(o);
                      }

                      @Override
                      public Iterator<Object> iterator() {
                        return drained.iterator();
                      }

                      @Override
                      public int size() {
                        return drained.size();
                      }
                    }),
            "holds-the-tck-queue-lock");
    holder.start();
    assertThat(holding.await(5, TimeUnit.SECONDS)).isTrue();

    Thread eventLoop = loop.submit(Thread::currentThread).get(5, TimeUnit.SECONDS);
    Future<?> signal = loop.submit(() -> sub.onNext("second"));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!signal.isDone()
        && eventLoop.getState() != Thread.State.WAITING
        && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    boolean waited = eventLoop.getState() == Thread.State.WAITING;
    release.countDown();
    holder.join(5000);

    assertThat(catching(signal)).as("what the waiting signal threw").isNull();
    assertThat(waited).as("the event loop waited for the held lock").isTrue();
    assertThat(drained).hasSize(1);
    assertThat(sub.nextElement(1000, "the second element")).isEqualTo("second");
  }

  private static Throwable catching(Future<?> f) throws Exception {
    try {
      f.get(5, TimeUnit.SECONDS);
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    }
  }

  /**
   * Run only by {@link #aTestWhoseBlockingCallBecameAValueFailsNamingTheCall} through its own
   * launcher; surefire skips nested classes, and the assumption keeps IDE runs from failing on it.
   */
  static class SwallowsABlockingCall {
    static volatile boolean launchedByOuterTest;

    @Test
    void swallowsTheError() {
      Assumptions.assumeTrue(launchedByOuterTest);
      // The error is turned into a value, as the library's failure mapping would.
      String outcome =
          Mono.fromCallable(
                  () -> {
                    Thread.sleep(1);
                    return "slept";
                  })
              .subscribeOn(Schedulers.parallel())
              .onErrorResume(BlockingOperationError.class, e -> Mono.just("failure value"))
              .block(Duration.ofSeconds(5));
      assertThat(outcome).isEqualTo("failure value");
    }

    @Test
    void blocksOnlyWhereItMay() throws IOException {
      Assumptions.assumeTrue(launchedByOuterTest);
      Mono.fromCallable(
              () -> {
                Thread.sleep(1);
                return "slept";
              })
          .subscribeOn(Schedulers.boundedElastic())
          .block(Duration.ofSeconds(5));
    }
  }
}
