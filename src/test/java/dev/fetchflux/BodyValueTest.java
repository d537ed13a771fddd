package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A body is a value (compared, hashed and printed without reading a file, never throwing) and, when
 * spilled, a resource that says so: released, or handed over with {@code moveTo}.
 */
class BodyValueTest {

  @TempDir Path dir;

  private Body spilled(String name, String text) throws IOException {
    Path f = Files.writeString(dir.resolve(name), text);
    return Body.adoptFile(f, Files.size(f));
  }

  @Test
  void bodiesInMemoryAreEqualByContent() {
    Body a = Body.of("hello");
    Body b = Body.of("hello".getBytes(StandardCharsets.UTF_8));
    assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
    assertThat(a).isNotEqualTo(Body.of("hellO"));
    assertThat(a).hasToString("Body[5 bytes]");
  }

  @Test
  void spilledBodyComparesAndPrintsWithoutReadingItsFileEvenAfterRelease() throws IOException {
    Body a = spilled("a.body", "same");
    Body b = spilled("b.body", "same");
    assertThat(a).isEqualTo(a).isNotEqualTo(b).isNotEqualTo(Body.of("same"));
    assertThat(a.contentEquals(b)).isTrue();
    assertThat(a.contentEquals(Body.of("same"))).isTrue();
    assertThat(Body.of("same").contentEquals(a)).isTrue();
    a.release();
    assertThat(Files.exists(dir.resolve("a.body"))).isFalse();
    // Still a value: equality, hash and text need no file.
    assertThat(a).isEqualTo(a).isNotEqualTo(b);
    assertThat(a.hashCode()).isEqualTo(a.hashCode());
    assertThat(a.toString()).contains("4 bytes", "a.body", "released");
    assertThatThrownBy(a::toByteArray)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("released");
    b.release();
  }

  @Test
  void moveToHandsTheFileOverWithoutCopyingAndReleasesTheBody() throws IOException {
    Body body = spilled("spill.body", "payload");
    Path target = dir.resolve("kept.bin");
    assertThat(body.moveTo(target)).isEqualTo(target);
    assertThat(Files.readString(target)).isEqualTo("payload");
    assertThat(Files.exists(dir.resolve("spill.body"))).isFalse();
    assertThatThrownBy(body::toByteArray).isInstanceOf(IllegalStateException.class);
    body.release(); // idempotent, and the moved file stays
    assertThat(Files.readString(target)).isEqualTo("payload");
    assertThatThrownBy(() -> body.moveTo(dir.resolve("again.bin")))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void moveToWritesABodyInMemory() throws IOException {
    Path target = Body.of("in memory").moveTo(dir.resolve("m.bin"));
    assertThat(Files.readString(target)).isEqualTo("in memory");
  }
}
