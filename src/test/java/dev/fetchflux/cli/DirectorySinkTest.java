package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.Body;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Headers;
import dev.fetchflux.Timings;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectorySinkTest {
  private static final URI URL = URI.create("http://h/a.txt");

  private static FetchResult.Success success(long index, Body body) {
    return new FetchResult.Success(
        index, FetchRequest.get(URL), URL, 200, Headers.empty(), body, Timings.none(), 1, 0);
  }

  @Test
  void linksPlantedAtTheFinalNameAndTheManifestAreReplacedNotFollowed(@TempDir Path tmp)
      throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("out"));
    Path victim = Files.writeString(tmp.resolve("victim"), "precious");
    Path target = dir.resolve(SafeNames.of(0, URL));
    Files.createSymbolicLink(target, victim);
    Files.createSymbolicLink(dir.resolve(DirectorySink.MANIFEST), victim);
    DirectorySink sink = DirectorySink.open(dir, null);
    sink.write(success(0, Body.of("fresh")), "GET", null);
    sink.close();
    assertThat(Files.readString(victim)).isEqualTo("precious");
    assertThat(Files.isSymbolicLink(target)).isFalse();
    assertThat(Files.readString(target)).isEqualTo("fresh");
    assertThat(Files.isRegularFile(dir.resolve(DirectorySink.MANIFEST), LinkOption.NOFOLLOW_LINKS))
        .isTrue();
  }

  @Test
  void aWriteThatFailsLeavesNeitherAFinalFileNorATemporaryOne(@TempDir Path tmp)
      throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("out"));
    // A "spilled" body whose file is a directory: reading it fails after the temporary file exists.
    Body broken = Body.adoptFile(Files.createDirectory(tmp.resolve("not-a-file")), 10);
    DirectorySink sink = DirectorySink.open(dir, null);
    assertThatThrownBy(() -> sink.write(success(0, broken), "GET", null))
        .isInstanceOf(IOException.class);
    sink.close();
    try (Stream<Path> entries = Files.list(dir)) {
      assertThat(entries.map(p -> p.getFileName().toString()))
          .containsExactly(DirectorySink.MANIFEST);
    }
    assertThat(Files.readString(dir.resolve(DirectorySink.MANIFEST))).isEmpty();
  }
}
