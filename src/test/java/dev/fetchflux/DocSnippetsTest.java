package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Snippets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Code in the docs must be code that compiles and runs: each snippet has a twin in a test. */
class DocSnippetsTest {

  @Test
  void libraryGuideSnippetsAreTheTestedCode() throws IOException {
    List<String> tested =
        Snippets.markedRegions(
            Files.readString(Path.of("src/test/java/dev/fetchflux/LibraryGuideTest.java")),
            "// guide: [^\\n]+",
            "// end");
    List<String> documented = Snippets.javaBlocks(Files.readString(Path.of("docs/library.md")));

    assertThat(tested).hasSize(13);
    assertThat(documented).containsExactlyElementsOf(tested);
  }

  @Test
  void readmeExampleIsTheTestedCode() throws IOException {
    List<String> tested =
        Snippets.markedRegions(
            Files.readString(Path.of("src/test/java/dev/fetchflux/ReadmeExampleTest.java")),
            "// README example start",
            "// README example end");
    List<String> readme = Snippets.javaBlocks(Files.readString(Path.of("README.md")));

    assertThat(tested).hasSize(1);
    assertThat(readme).isNotEmpty();
    assertThat(readme.get(0)).isEqualTo(tested.get(0));
  }

  /**
   * The dependency snippet is the one the consumer IT (src/it/consumer, run by `mvn verify`) builds
   * with, and names this build's version, in the README and in the library guide alike.
   */
  @Test
  void dependencySnippetIsTheOneTheConsumerTestUses() throws IOException {
    String pom = Files.readString(Path.of("pom.xml"));
    Matcher version =
        Pattern.compile("<artifactId>fetchflux</artifactId>\\s*<version>([^<]+)<").matcher(pom);
    assertThat(version.find()).isTrue();
    String expected =
        "<dependency>\n  <groupId>dev.fetchflux</groupId>\n"
            + "  <artifactId>fetchflux</artifactId>\n  <version>"
            + version.group(1)
            + "</version>\n"
            + "</dependency>";

    assertThat(xmlBlocks(Files.readString(Path.of("README.md")))).contains(expected);
    assertThat(xmlBlocks(Files.readString(Path.of("docs/library.md")))).contains(expected);
    assertThat(Files.readString(Path.of("src/it/consumer/pom.xml")))
        .contains(
            "    <dependency>\n"
                + "      <groupId>@project.groupId@</groupId>\n"
                + "      <artifactId>@project.artifactId@</artifactId>\n"
                + "      <version>@project.version@</version>\n"
                + "    </dependency>");
  }

  private static List<String> xmlBlocks(String markdown) {
    List<String> blocks = new ArrayList<>();
    Matcher m = Pattern.compile("```xml\\n(.*?)\\n```", Pattern.DOTALL).matcher(markdown);
    while (m.find()) {
      blocks.add(m.group(1));
    }
    return blocks;
  }
}
