package dev.fetchflux.flink;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads the committed JSON-lines parts of a fetch job, grouped by the sink writer (one per subtask)
 * that wrote them.
 */
final class Parts {
  // FileSink names parts part-<writer uuid>-<counter>.jsonl, one uuid per subtask's writer; hidden
  // (in-progress or pending) files are not committed.
  private static final Pattern NAME =
      Pattern.compile(
          "part-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-(\\d+)\\.jsonl");

  private Parts() {}

  /** Records per writer, each writer's parts read in counter order. */
  static Map<String, List<FetchRecord>> byWriter(Path dir) {
    record Part(String writer, long counter, Path path) {}
    List<Part> parts = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.forEach(
          p -> {
            Matcher m = NAME.matcher(p.getFileName().toString());
            if (m.matches()) {
              parts.add(new Part(m.group(1), Long.parseLong(m.group(2)), p));
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    parts.sort(Comparator.comparing(Part::writer).thenComparingLong(Part::counter));
    Map<String, List<FetchRecord>> out = new TreeMap<>();
    for (Part part : parts) {
      List<FetchRecord> records = out.computeIfAbsent(part.writer(), k -> new ArrayList<>());
      try {
        for (String line : Files.readAllLines(part.path())) {
          records.add(FetchRecord.parse(line));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  /** All records of all parts. */
  static List<FetchRecord> all(Path dir) {
    List<FetchRecord> all = new ArrayList<>();
    byWriter(dir).values().forEach(all::addAll);
    return all;
  }

  static List<Long> seqs(List<FetchRecord> records) {
    return records.stream().map(FetchRecord::seq).toList();
  }
}
