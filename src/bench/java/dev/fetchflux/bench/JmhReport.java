package dev.fetchflux.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Turns the JSON that JMH wrote for {@link OrderedAdmissionBench} into the generated {@code jmh}
 * section of {@code docs/benchmarks-method.md}.
 *
 * <p>Usage: {@code JmhReport <jmh.json> <doc.md> <command> <commit>}.
 */
public final class JmhReport {

  private static final List<String> STAGES = List.of("ordered", "unordered", "flatMapSequential");

  private JmhReport() {}

  public static void main(String[] args) throws IOException {
    Path json = Paths.get(args[0]);
    Path doc = Paths.get(args[1]);
    JsonNode results = new ObjectMapper().readTree(json.toFile());
    if (!results.isArray() || results.isEmpty()) {
      throw new IllegalStateException("no JMH results in " + json);
    }
    // key: pattern/window -> stage -> "score ± error | B/element"
    Map<String, Map<String, String>> rows = new LinkedHashMap<>();
    Set<String> stages = new LinkedHashSet<>();
    JsonNode first = results.get(0);
    for (JsonNode r : results) {
      JsonNode p = r.path("params");
      String key = p.path("pattern").asText() + "|" + p.path("window").asText();
      String stage = p.path("stage").asText();
      stages.add(stage);
      JsonNode primary = r.path("primaryMetric");
      JsonNode alloc = r.path("secondaryMetrics").path("gc.alloc.rate.norm");
      String cell =
          String.format(
              Locale.ROOT,
              "%.1f ± %.1f | %s",
              primary.path("score").asDouble(),
              primary.path("scoreError").asDouble(),
              alloc.isMissingNode()
                  ? "—"
                  : String.format(Locale.ROOT, "%.0f", alloc.path("score").asDouble()));
      rows.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(stage, cell);
    }
    List<String> order = new ArrayList<>(STAGES);
    order.retainAll(stages);

    StringBuilder md = new StringBuilder();
    md.append("### JMH run of ")
        .append(Instant.now().truncatedTo(ChronoUnit.SECONDS))
        .append("\n\n");
    md.append("- Command: `")
        .append(args.length > 2 ? args[2] : "bash src/bench/jmh.sh")
        .append("`")
        .append(args.length > 3 ? " at commit `" + args[3] + "`" : "")
        .append("\n");
    md.append("- Machine: `nproc` = ")
        .append(Runtime.getRuntime().availableProcessors())
        .append("; load average (1, 5, 15 min) at the end: ")
        .append(loadAverage())
        .append("; JMH ")
        .append(first.path("jmhVersion").asText())
        .append(", JDK ")
        .append(first.path("jdkVersion").asText())
        .append(" (")
        .append(first.path("vmName").asText())
        .append(")\n");
    md.append("- ")
        .append(first.path("forks").asInt())
        .append(" fork, ")
        .append(first.path("warmupIterations").asInt())
        .append(" × ")
        .append(first.path("warmupTime").asText())
        .append(" warm-up, ")
        .append(first.path("measurementIterations").asInt())
        .append(" × ")
        .append(first.path("measurementTime").asText())
        .append(
            " measurement; score ± 99.9 % error. Elements/µs = million elements per second "
                + "through the stage, single-threaded; B/elem = `gc.alloc.rate.norm`.\n\n");
    md.append("| pattern | W |");
    StringBuilder rule = new StringBuilder("|---|---|");
    for (String s : order) {
      md.append(" ").append(s).append(" elements/µs | ").append(s).append(" B/elem |");
      rule.append("---|---|");
    }
    md.append("\n").append(rule).append("\n");
    for (Map.Entry<String, Map<String, String>> row : rows.entrySet()) {
      String[] key = row.getKey().split("\\|");
      md.append("| ").append(key[0]).append(" | ").append(key[1]).append(" |");
      for (String s : order) {
        md.append(" ").append(row.getValue().getOrDefault(s, "— | —")).append(" |");
      }
      md.append("\n");
    }
    DocSections.replace(doc, "jmh", md.toString());
    System.out.println("jmh: wrote " + doc);
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Paths.get("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "n/a";
    }
  }
}
