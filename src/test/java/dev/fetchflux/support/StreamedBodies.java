package dev.fetchflux.support;

import dev.fetchflux.BodyStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import reactor.core.publisher.Mono;

/** What the streaming-mode tests do to a body and to its spill directory. */
public final class StreamedBodies {
  private StreamedBodies() {}

  /** The whole body, gathered from its chunks as they come. */
  public static Mono<byte[]> bytes(BodyStream body) {
    return body.chunks()
        .reduce(
            new ByteArrayOutputStream(),
            (out, b) -> {
              byte[] a = new byte[b.remaining()];
              b.get(a);
              out.write(a, 0, a.length);
              return out;
            })
        .map(ByteArrayOutputStream::toByteArray);
  }

  /** How many files {@code dir} holds now (spilled bodies, in the tests' spill directories). */
  public static long filesIn(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
