package dev.fetchflux.support;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Extracts code from docs and tests so doc tests can check that every snippet in a Markdown page is
 * the code a test runs.
 */
public final class Snippets {
  private static final Pattern JAVA_BLOCK =
      Pattern.compile("```java\\n(.*?)\\n```", Pattern.DOTALL);

  private Snippets() {}

  /** The bodies of the ```java blocks of {@code markdown}, in order. */
  public static List<String> javaBlocks(String markdown) {
    List<String> blocks = new ArrayList<>();
    Matcher m = JAVA_BLOCK.matcher(markdown);
    while (m.find()) {
      blocks.add(m.group(1));
    }
    return blocks;
  }

  /**
   * The regions of {@code source} between a line matching {@code startMarker} (a regex for the text
   * after the indentation, such as {@code // guide: [^\n]+}) and the next {@code // end} line, with
   * the start line's indentation removed.
   */
  public static List<String> markedRegions(String source, String startMarker, String endMarker) {
    Pattern p =
        Pattern.compile(
            "\\n([ ]*)" + startMarker + "\\n(.*?)\\n[ ]*" + endMarker + "\\n", Pattern.DOTALL);
    List<String> regions = new ArrayList<>();
    Matcher m = p.matcher(source);
    while (m.find()) {
      regions.add(dedent(m.group(2), m.group(1).length()));
    }
    return regions;
  }

  private static String dedent(String code, int indent) {
    StringBuilder b = new StringBuilder();
    for (String line : code.split("\n", -1)) {
      if (b.length() > 0) {
        b.append('\n');
      }
      b.append(
          line.length() >= indent && line.substring(0, indent).isBlank()
              ? line.substring(indent)
              : line.strip());
    }
    return b.toString();
  }
}
