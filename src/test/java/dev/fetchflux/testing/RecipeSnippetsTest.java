package dev.fetchflux.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/testing.md shows tested code only: its Java blocks are, in order, the marked regions of the
 * recipe tests, and every test it names exists.
 */
class RecipeSnippetsTest {

  private static final Path DOC = Path.of("docs/testing.md");
  private static final Path TESTS = Path.of("src/test/java/dev/fetchflux/testing");
  private static final List<String> SOURCES = List.of("RecipesTest", "RecipeIntegrationTest");

  private static final Pattern MARKED =
      Pattern.compile("\\n([ ]*)// recipe: ([^\\n]+)\\n(.*?)\\n[ ]*// end\\n", Pattern.DOTALL);
  private static final Pattern JAVA_BLOCK =
      Pattern.compile("```java\\n(.*?)\\n```", Pattern.DOTALL);
  private static final Pattern NAMED_TEST =
      Pattern.compile("`(Recipe\\w*|Stub\\w*|\\w*Contract\\w*)#(\\w+)`");

  @Test
  void docBlocksAreTheMarkedTestCodeInOrder() throws IOException {
    List<String> tested = new ArrayList<>();
    for (String source : SOURCES) {
      Matcher m = MARKED.matcher(Files.readString(TESTS.resolve(source + ".java")));
      while (m.find()) {
        tested.add(dedent(m.group(3), m.group(1).length()));
      }
    }
    List<String> documented = new ArrayList<>();
    Matcher m = JAVA_BLOCK.matcher(Files.readString(DOC));
    while (m.find()) {
      documented.add(m.group(1));
    }

    assertThat(tested).hasSize(8);
    assertThat(documented).containsExactlyElementsOf(tested);
  }

  @Test
  void everyTestTheDocNamesExists() throws IOException {
    Matcher m = NAMED_TEST.matcher(Files.readString(DOC));
    int named = 0;
    while (m.find()) {
      named++;
      String source = Files.readString(TESTS.resolve(m.group(1) + ".java"));
      assertThat(source).as(m.group()).contains("void " + m.group(2) + "(");
    }
    assertThat(named).isGreaterThanOrEqualTo(7);
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
