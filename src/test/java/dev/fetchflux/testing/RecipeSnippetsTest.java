package dev.fetchflux.testing;

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

/**
 * docs/testing.md shows tested code only: its Java blocks are, in order, the marked regions of the
 * recipe tests, and every test it names exists.
 */
class RecipeSnippetsTest {

  private static final Path DOC = Path.of("docs/testing.md");
  private static final Path TESTS = Path.of("src/test/java/dev/fetchflux/testing");
  private static final List<String> SOURCES = List.of("RecipesTest", "RecipeIntegrationTest");

  private static final Pattern NAMED_TEST =
      Pattern.compile("`(Recipe\\w*|Stub\\w*|\\w*Contract\\w*)#(\\w+)`");

  @Test
  void docBlocksAreTheMarkedTestCodeInOrder() throws IOException {
    List<String> tested = new ArrayList<>();
    for (String source : SOURCES) {
      tested.addAll(
          Snippets.markedRegions(
              Files.readString(TESTS.resolve(source + ".java")), "// recipe: [^\\n]+", "// end"));
    }
    List<String> documented = Snippets.javaBlocks(Files.readString(DOC));

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
}
