package dev.fetchflux.flink;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Rebuilds one JSON-lines file in global input order from the parts of a fetch job: a streaming
 * k-way merge by {@code seq}, in memory proportional to the number of parts, not of records.
 *
 * <p>Each part must already be sorted by {@code seq}, as every part written by {@link FetchJob} is
 * (each fetch subtask emits its inputs in order). Directories are searched for {@code *.jsonl}
 * files, skipping hidden ones (Flink's in-progress and pending files start with a dot). A {@code
 * seq} seen twice is written once (the first line wins) and counted as a duplicate; numbers missing
 * from {@code 0..max} (or {@code 0..expect-1}) are counted and make the exit status 1.
 *
 * <pre>
 *   java -cp fetchflux-VERSION-all.jar dev.fetchflux.flink.MergeParts -o all.jsonl out/
 * </pre>
 *
 * <p>Exit status: 0 merged and complete; 1 merged but numbers are missing; 2 usage error,
 * unreadable or unsorted part. Does not need Flink on the class path.
 */
@Command(
    name = "fetchflux-merge",
    mixinStandardHelpOptions = true,
    versionProvider = FetchJob.Version.class,
    description = "Merges JSON-lines parts sorted by seq into one file in global seq order.")
public final class MergeParts implements Callable<Integer> {

  @Parameters(paramLabel = "PART_OR_DIR", arity = "1..*",
      description = "Part files, or directories searched for *.jsonl parts.")
  List<Path> inputs = new ArrayList<>();

  @Option(names = {"-o", "--output"}, paramLabel = "FILE",
      description = "Write here (atomically, via a temporary file). Default: standard output.")
  @Nullable Path output;

  @Option(names = "--expect", paramLabel = "N",
      description = "Number of inputs of the job: seqs 0..N-1 must all be present.")
  @Nullable Long expect;

  @CommandLine.Spec
  CommandLine.Model.@Nullable CommandSpec spec;

  /**
   * What a merge saw.
   *
   * @param parts part files read
   * @param records lines written (one per distinct seq)
   * @param duplicates lines dropped because their seq was already written
   * @param missing seqs absent from {@code 0..max} (or {@code 0..expect-1})
   * @param firstMissing the smallest absent seq, or -1 when none is
   */
  public record Summary(int parts, long records, long duplicates, long missing, long firstMissing) {
    /** Whether no seq is missing. */
    public boolean complete() {
      return missing == 0;
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new MergeParts()).execute(args));
  }

  @Override
  public Integer call() throws IOException {
    CommandLine.Model.CommandSpec s = java.util.Objects.requireNonNull(spec);
    PrintWriter err = s.commandLine().getErr();
    List<Path> parts = findParts(inputs);
    Summary summary;
    try {
      if (output == null) {
        OutputStream stdout = System.out;
        summary = merge(parts, stdout, expect);
        stdout.flush();
      } else {
        Path target = output.toAbsolutePath();
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
        try {
          try (OutputStream out = Files.newOutputStream(tmp)) {
            summary = merge(parts, out, expect);
          }
          Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING,
              StandardCopyOption.ATOMIC_MOVE);
        } finally {
          Files.deleteIfExists(tmp);
        }
      }
    } catch (IllegalArgumentException | UncheckedIOException e) {
      err.println("fetchflux-merge: " + e.getMessage());
      return 2;
    }
    err.printf("fetchflux-merge: %d records from %d parts; %d duplicates dropped; %d missing%s%n",
        summary.records(), summary.parts(), summary.duplicates(), summary.missing(),
        summary.firstMissing() < 0 ? "" : " (first: seq " + summary.firstMissing() + ")");
    return summary.complete() ? 0 : 1;
  }

  /**
   * The part files named by {@code inputs}: files as given, directories searched recursively for
   * non-hidden {@code *.jsonl} files; sorted by path.
   */
  public static List<Path> findParts(List<Path> inputs) throws IOException {
    List<Path> parts = new ArrayList<>();
    for (Path in : inputs) {
      if (Files.isDirectory(in)) {
        try (Stream<Path> walk = Files.walk(in)) {
          walk.filter(Files::isRegularFile)
              .filter(p -> {
                String name = p.getFileName().toString();
                return !name.startsWith(".") && name.endsWith(".jsonl");
              })
              .sorted()
              .forEach(parts::add);
        }
      } else if (Files.isRegularFile(in)) {
        parts.add(in);
      } else {
        throw new IllegalArgumentException("no such file or directory: " + in);
      }
    }
    return parts;
  }

  /**
   * Merges {@code parts}, each sorted by seq, into {@code out} in seq order (UTF-8, one line per
   * record), without closing {@code out}.
   *
   * @param expect number of inputs, to count missing seqs at the end too; {@code null} if unknown
   * @throws IllegalArgumentException if a line has no top-level {@code seq} or a part is not sorted
   * @throws UncheckedIOException if a part cannot be read
   */
  public static Summary merge(List<Path> parts, OutputStream out, @Nullable Long expect)
      throws IOException {
    // Ties (a seq in two parts) break by part order, so the first part's line is the one kept.
    PriorityQueue<Run> heads = new PriorityQueue<>(Math.max(1, parts.size()),
        Comparator.comparingLong((Run r) -> r.seq).thenComparingInt(r -> r.id));
    List<Run> open = new ArrayList<>();
    long records = 0;
    long duplicates = 0;
    long missing = 0;
    long firstMissing = -1;
    long last = -1;
    Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
    try {
      for (int i = 0; i < parts.size(); i++) {
        Run run = new Run(i, parts.get(i));
        open.add(run);
        if (run.advance()) {
          heads.add(run);
        }
      }
      Run run;
      while ((run = heads.poll()) != null) {
        long seq = run.seq;
        if (seq <= last) {
          duplicates++; // seq == last: a part cannot go backwards, and heads come out in order
        } else {
          if (seq > last + 1) {
            if (firstMissing < 0) {
              firstMissing = last + 1;
            }
            missing += seq - last - 1;
          }
          w.write(run.line);
          w.write('\n');
          records++;
          last = seq;
        }
        if (run.advance()) {
          heads.add(run);
        }
      }
      if (expect != null && last + 1 < expect) {
        if (firstMissing < 0) {
          firstMissing = last + 1;
        }
        missing += expect - last - 1;
      }
      w.flush();
    } finally {
      for (Run r : open) {
        r.close();
      }
    }
    return new Summary(parts.size(), records, duplicates, missing, firstMissing);
  }

  /** One part being read: its current line and that line's seq. */
  private static final class Run implements Closeable {
    final int id;
    final Path path;
    final BufferedReader reader;
    String line = "";
    long seq = -1;
    long lineNumber;

    Run(int id, Path path) throws IOException {
      this.id = id;
      this.path = path;
      this.reader = Files.newBufferedReader(path, StandardCharsets.UTF_8);
    }

    /** Moves to the next non-blank line; false at the end of the part. */
    boolean advance() {
      try {
        String next;
        do {
          next = reader.readLine();
          lineNumber++;
        } while (next != null && next.isBlank());
        if (next == null) {
          return false;
        }
        long s;
        try {
          s = JsonLines.seqOf(next);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(path + ":" + lineNumber + ": " + e.getMessage(), e);
        }
        if (s < seq) {
          throw new IllegalArgumentException(path + ":" + lineNumber + ": part is not sorted by seq"
              + " (" + s + " after " + seq + ")");
        }
        line = next;
        seq = s;
        return true;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + path, e);
      }
    }

    @Override
    public void close() throws IOException {
      reader.close();
    }
  }
}
