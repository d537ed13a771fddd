package dev.fetchflux.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Replaces a generated section of a Markdown file, between {@code <!-- BEGIN generated: key -->} and
 * {@code <!-- END generated: key -->}, leaving the hand-written text around it alone. Without the
 * markers the section is appended.
 */
final class DocSections {

  private DocSections() {}

  static void replace(Path doc, String key, String body) throws IOException {
    String begin = "<!-- BEGIN generated: " + key + " (do not edit by hand) -->";
    String end = "<!-- END generated: " + key + " -->";
    String text = Files.exists(doc) ? Files.readString(doc, StandardCharsets.UTF_8) : "";
    String section = begin + "\n" + body.strip() + "\n" + end;
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    String updated;
    if (b >= 0 && e > b) {
      updated = text.substring(0, b) + section + text.substring(e + end.length());
    } else {
      updated =
          (text.isEmpty() || text.endsWith("\n\n")
                  ? text
                  : text.endsWith("\n") ? text + "\n" : text + "\n\n")
              + section
              + "\n";
    }
    Files.writeString(doc, updated, StandardCharsets.UTF_8);
  }
}
