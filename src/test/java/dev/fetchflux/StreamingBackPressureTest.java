package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.ChildJvm;
import dev.fetchflux.support.GatedServer;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Back-pressure reaches the socket: a reader slower than the network makes fetchflux stop reading,
 * so the server cannot get far ahead and a body many times the heap streams through it. Run in a
 * JVM of its own with a 48 MB heap and 32 MB of direct memory: a body buffered instead of
 * back-pressured would end it with an {@code OutOfMemoryError} (heap or direct).
 */
@Timeout(180)
class StreamingBackPressureTest {

  static final long BODY = 256L << 20;

  @Test
  void aSlowReaderStreamsABodyMuchLargerThanTheHeapWithTheServerKeptClose() {
    ChildJvm.Outcome out =
        ChildJvm.run(
            SlowReader.class,
            List.of("-Xmx48m", "-XX:MaxDirectMemorySize=32m", "-XX:+UseSerialGC"),
            0,
            Duration.ofSeconds(150),
            Long.toString(BODY));
    assertThat(out.exitCode()).as(out.toString()).isZero();
    Matcher m = Pattern.compile("read (\\d+) ahead (\\d+)").matcher(out.stdout());
    assertThat(m.find()).as(out.toString()).isTrue();
    System.out.println("child: " + m.group());
    assertThat(Long.parseLong(m.group(1))).isEqualTo(BODY);
    // The server was never more than socket buffers and a few read-ahead buffers ahead of the
    // reader; without back-pressure it would be the whole body ahead (or the child out of memory).
    assertThat(Long.parseLong(m.group(2))).as(out.toString()).isLessThan(32L << 20);
  }

  /** The child: a generated body, read by a channel that sleeps 5 ms after every MiB. */
  public static final class SlowReader {
    public static void main(String[] args) throws Exception {
      long total = Long.parseLong(args[0]);
      try (GatedServer server = GatedServer.start();
          Fetcher fetcher = Fetcher.builder().maxBodySize(1L << 30).build()) {
        server.generate("/huge", total);
        AtomicLong read = new AtomicLong();
        AtomicLong ahead = new AtomicLong();
        WritableByteChannel slow =
            new WritableByteChannel() {
              private long sinceNap;

              @Override
              public int write(ByteBuffer src) {
                int n = src.remaining();
                long at = read.get();
                // Spot-check the pattern bytes (position p holds 'a' + p % 26).
                if (n > 0 && src.get(src.position()) != (byte) ('a' + at % 26)) {
                  throw new IllegalStateException("wrong byte at " + at);
                }
                src.position(src.limit());
                read.addAndGet(n);
                sinceNap += n;
                if (sinceNap >= 1 << 20) {
                  sinceNap = 0;
                  ahead.accumulateAndGet(server.produced() - read.get(), Math::max);
                  try {
                    Thread.sleep(5);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                }
                return n;
              }

              @Override
              public boolean isOpen() {
                return true;
              }

              @Override
              public void close() {}
            };
        Long n =
            fetcher
                .fetchStreaming(
                    Flux.just(server.url("/huge")),
                    r ->
                        Mono.fromCallable(
                                () -> ((StreamedResult.Success) r).body().transferTo(slow))
                            .subscribeOn(Schedulers.boundedElastic()))
                .blockLast(Duration.ofSeconds(120));
        System.out.println("read " + n + " ahead " + ahead.get());
      }
      System.exit(0);
    }
  }
}
