package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

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

  private static final Pattern MARKED =
      Pattern.compile("\\n([ ]*)// guide: [^\\n]+\\n(.*?)\\n[ ]*// end", Pattern.DOTALL);

  @Test
  void libraryGuideSnippetsAreTheTestedCode() throws IOException {
    String test = Files.readString(Path.of("src/test/java/dev/fetchflux/LibraryGuideTest.java"));
    List<String> tested = new ArrayList<>();
    Matcher m = MARKED.matcher(test);
    while (m.find()) {
      tested.add(dedent(m.group(2), m.group(1).length()));
    }
    List<String> documented = javaBlocks(Files.readString(Path.of("docs/library.md")));

    assertThat(tested).hasSize(10);
    assertThat(documented).containsExactlyElementsOf(tested);
  }

  @Test
  void readmeExampleIsTheTestedCode() throws IOException {
    String test = Files.readString(Path.of("src/test/java/dev/fetchflux/ReadmeExampleTest.java"));
    Matcher m = Pattern.compile("\\n([ ]*)// README example start\\n(.*?)\\n[ ]*// README example end",
        Pattern.DOTALL).matcher(test);
    assertThat(m.find()).isTrue();
    String tested = dedent(m.group(2), m.group(1).length());

    List<String> readme = javaBlocks(Files.readString(Path.of("README.md")));

    assertThat(readme).isNotEmpty();
    assertThat(readme.get(0)).isEqualTo(tested);
  }

  private static List<String> javaBlocks(String markdown) {
    List<String> blocks = new ArrayList<>();
    Matcher m = Pattern.compile("```java\\n(.*?)\\n```", Pattern.DOTALL).matcher(markdown);
    while (m.find()) {
      blocks.add(m.group(1));
    }
    return blocks;
  }

  private static String dedent(String code, int indent) {
    StringBuilder b = new StringBuilder();
    for (String line : code.split("\n", -1)) {
      if (b.length() > 0) {
        b.append('\n');
      }
      b.append(line.length() >= indent && line.substring(0, indent).isBlank()
          ? line.substring(indent) : line.strip());
    }
    return b.toString();
  }
}
