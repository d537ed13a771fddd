package dev.fetchflux.internal;

import dev.fetchflux.tck.TckResourceChecks;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.reactivestreams.Publisher;
import org.reactivestreams.tck.PublisherVerification;
import org.reactivestreams.tck.TestEnvironment;
import org.testng.annotations.Listeners;
import reactor.core.publisher.Flux;

/**
 * The Reactive Streams TCK's publisher rules on a body's {@code chunks()}: a {@link BodyRelay} over a
 * source of {@code n} buffers (built at subscription, as a response's body is), read through {@link
 * StreamedBody}. Buffers the relay holds or hands over are released on every path the TCK drives
 * (cancel, request errors): its pooled buffers would otherwise be reported by Netty's leak detector.
 */
@Listeners(TckResourceChecks.class)
public class BodyChunksTckTest extends PublisherVerification<ByteBuffer> {

  public BodyChunksTckTest() {
    super(new TestEnvironment(3000, 50), 1000); // expected signals: 3 s on a loaded machine
  }

  private static Publisher<ByteBuffer> body(Flux<ByteBuf> source) {
    return Flux.defer(
        () -> {
          Hold hold =
              new Hold(
                  1 << 20, 4 << 20, 1 << 20, Path.of("target"), Duration.ZERO, BodySink.UNLIMITED);
          BodyRelay relay = new BodyRelay(hold, null, false);
          Flux<ByteBuffer> chunks =
              new StreamedBody(
                      relay,
                      ResultMapping.Start.now(),
                      System.nanoTime(),
                      -1,
                      0,
                      Path.of("target"),
                      BodySink.UNLIMITED)
                  .chunks();
          // Connected once its reader is there, as the head's body is read from its headers on.
          return Flux.from(
              s -> {
                chunks.subscribe(s);
                relay.connect(source);
              });
        });
  }

  @Override
  public Publisher<ByteBuffer> createPublisher(long elements) {
    return body(
        Flux.<ByteBuf, Long>generate(
            () -> 0L,
            (i, sink) -> {
              if (i < elements) {
                sink.next(
                    io.netty.buffer.ByteBufAllocator.DEFAULT
                        .buffer()
                        .writeBytes(("chunk " + i).getBytes(StandardCharsets.US_ASCII)));
              } else {
                sink.complete();
              }
              return i + 1;
            }));
  }

  @Override
  public Publisher<ByteBuffer> createFailedPublisher() {
    return body(Flux.error(new IllegalStateException("the body failed")));
  }
}
