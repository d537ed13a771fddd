package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.testing.TestServer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Proves BlockHound is active in this JVM ({@link BlockHoundSessionListener}) and that it sees what
 * fetchflux cares about: sleeping on the fetcher's own event loop, and NIO file writes
 * ({@link BlockHoundFileIoIntegration}), which BlockHound's defaults miss.
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

  @Test
  void sleepingInAResultCallbackOnTheFetchersEventLoopIsCaught() {
    try (TestServer server = TestServer.start(); Fetcher fetcher = Fetcher.builder().build()) {
      Mono<String> blocking = fetcher.fetchOne(server.url("/echo"))
          .map(result -> {
            assertThat(Thread.currentThread().getName()).startsWith("fetchflux-");
            try {
              Thread.sleep(10);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return "slept";
          });
      StepVerifier.create(blocking)
          .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(BlockingOperationError.class)
              .hasMessageContaining("java.lang.Thread.sleep"))
          .verify(Duration.ofSeconds(10));
    }
  }

  @Test
  void sleepingOnANettyEventLoopIsCaught() throws Exception {
    Throwable t = onEventLoop(() -> {
      Thread.sleep(1);
      return null;
    });
    assertThat(t).isInstanceOf(BlockingOperationError.class);
  }

  @Test
  void nioFileWriteOnAnEventLoopIsCaught() throws Exception {
    Path file = dir.resolve("written-on-loop");
    Throwable t = onEventLoop(() -> {
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE)) {
        return ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
      }
    });
    assertThat(t).isInstanceOf(BlockingOperationError.class)
        .hasMessageContaining("sun.nio.ch.FileChannelImpl#write");
  }

  @Test
  void filesWriteOnAnEventLoopIsCaught() throws Exception {
    Path file = dir.resolve("files-write-on-loop");
    Throwable t = onEventLoop(() -> Files.write(file, new byte[] {1, 2, 3}));
    assertThat(t).isInstanceOf(BlockingOperationError.class)
        .hasMessageContaining("FileChannelImpl");
  }

  @Test
  void theSameFileWriteOnBoundedElasticIsAllowed() {
    Path file = dir.resolve("written-off-loop");
    Mono<Path> write = Mono.fromCallable(() -> Files.write(file, new byte[] {1, 2, 3}))
        .subscribeOn(Schedulers.boundedElastic());
    StepVerifier.create(write).expectNext(file).expectComplete().verify(Duration.ofSeconds(5));
    assertThat(file).hasBinaryContent(new byte[] {1, 2, 3});
  }

  @Test
  void sleepingOnTheParallelSchedulerIsCaught() {
    Mono<Object> sleeping = Mono.fromCallable(() -> {
      Thread.sleep(1);
      return new Object();
    }).subscribeOn(Schedulers.parallel());
    StepVerifier.create(sleeping)
        .expectError(BlockingOperationError.class)
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void fileReadOnAnEventLoopIsCaught() throws IOException, Exception {
    Path file = Files.write(dir.resolve("read-on-loop"), new byte[] {4, 5, 6});
    Throwable t = onEventLoop(() -> {
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        return ch.read(ByteBuffer.allocate(3));
      }
    });
    assertThat(t).isInstanceOf(BlockingOperationError.class)
        .hasMessageContaining("sun.nio.ch.FileChannelImpl#read");
  }
}
