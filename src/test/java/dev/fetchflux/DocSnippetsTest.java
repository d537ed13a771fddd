package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Snippets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Code in the docs must be code that compiles and runs: each snippet has a twin in a test. */
class DocSnippetsTest {

  @Test
  void libraryGuideSnippetsAreTheTestedCode() throws IOException {
    List<String> tested = Snippets.markedRegions(
        Files.readString(Path.of("src/test/java/dev/fetchflux/LibraryGuideTest.java")),
        "// guide: [^\\n]+", "// end");
    List<String> documented = Snippets.javaBlocks(Files.readString(Path.of("docs/library.md")));

    assertThat(tested).hasSize(12);
    assertThat(documented).containsExactlyElementsOf(tested);
  }

  @Test
  void readmeExampleIsTheTestedCode() throws IOException {
    List<String> tested = Snippets.markedRegions(
        Files.readString(Path.of("src/test/java/dev/fetchflux/ReadmeExampleTest.java")),
        "// README example start", "// README example end");
    List<String> readme = Snippets.javaBlocks(Files.readString(Path.of("README.md")));

    assertThat(tested).hasSize(1);
    assertThat(readme).isNotEmpty();
    assertThat(readme.get(0)).isEqualTo(tested.get(0));
  }
}
