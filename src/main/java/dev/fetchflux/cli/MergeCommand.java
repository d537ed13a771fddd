package dev.fetchflux.cli;

import dev.fetchflux.flink.FetchRecord;
import dev.fetchflux.flink.MergeParts;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code fetchflux merge}: one answer in input order from the parts of a Flink fetch job
 * ({@code dev.fetchflux.flink.FetchJob}), as JSON lines or as the bodies themselves. A streaming
 * k-way merge ({@link MergeParts}): memory grows with the number of parts, not of records.
 *
 * <p>Exit status as the fetch command's: 0 every record succeeded, 1 some are errors, 2 a usage or
 * input error, which includes parts that do not hold every seq from 0 to the last exactly once
 * (one line names the first missing or repeated seq), an unsorted part, and a body file that is
 * missing or does not match its record.
 */
@Command(
    name = "merge",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    versionProvider = FetchCommand.VersionProvider.class,
    description = {
      "Merge the JSON-lines parts of a Flink fetch job (dev.fetchflux.flink.FetchJob) into one "
          + "answer in input order: the records as JSON lines, or with --raw the bodies. Checks "
          + "that every seq from 0 to the last appears exactly once.",
      "Exit status: 0 all records succeeded, 1 some are errors, 2 usage or input error (a seq "
          + "missing or repeated, a part out of order, a body file missing or changed)."
    })
final class MergeCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Parameters(
      paramLabel = "PART_OR_DIR",
      arity = "1..*",
      description =
          "Part files, or directories searched for *.jsonl parts (hidden in-progress "
              + "files skipped).")
  List<Path> inputs = new ArrayList<>();

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FILE",
      description = "Write here instead of stdout; FILE appears only when the merge is complete.")
  @Nullable Path output;

  @Option(
      names = "--raw",
      description =
          "Write the bodies (from --bodies) in input order instead of the records; "
              + "each failed record is one line on stderr, as the fetch command reports failures.")
  boolean raw;

  @Option(
      names = "--bodies",
      paramLabel = "DIR",
      description = "The job's --bodies directory; needed by --raw.")
  @Nullable Path bodies;

  @Option(
      names = "--expect",
      paramLabel = "N",
      converter = Converters.PositiveInt.class,
      description = "The job had N inputs: seqs 0 to N-1 must all be present.")
  @Nullable Integer expect;

  @Option(
      names = {"-s", "--silent"},
      description = "No summary line on stderr.")
  boolean silent;

  private final OutputStream stdout;

  MergeCommand(OutputStream stdout) {
    this.stdout = stdout;
  }

  @Override
  public Integer call() throws IOException {
    if (raw && bodies == null) {
      throw new ParameterException(
          spec.commandLine(), "option '--raw' needs --bodies DIR, the job's body directory");
    }
    Stderr stderr = new Stderr(spec.commandLine().getErr());
    Long expected = expect == null ? null : expect.longValue();
    MergeParts.Summary summary;
    try {
      List<Path> parts = MergeParts.findParts(inputs);
      if (output == null) {
        summary = merge(parts, stdout, expected, stderr);
      } else {
        summary = mergeToFile(parts, output.toAbsolutePath(), expected, stderr);
      }
    } catch (MergeParts.MergeException e) {
      stderr.line("fetchflux merge: " + Converters.oneLine(e.getMessage()));
      return 2;
    } catch (NoSuchFileException e) {
      stderr.line("fetchflux merge: no such file or directory: " + e.getFile());
      return 2;
    } catch (IOException | UncheckedIOException e) {
      stderr.line("fetchflux merge: " + Converters.oneLine(String.valueOf(e.getMessage())));
      return 2;
    }
    if (!silent) {
      stderr.line(
          String.format(
              java.util.Locale.ROOT,
              "fetchflux merge: %d records (seq 0 to %d) from %d parts, %d failed, %d bytes written",
              summary.records(),
              summary.records() - 1,
              summary.parts(),
              summary.failed(),
              summary.bytes()));
    }
    return summary.failed() == 0 ? 0 : 1;
  }

  private MergeParts.Summary merge(
      List<Path> parts, OutputStream out, @Nullable Long expected, Stderr stderr)
      throws IOException {
    if (!raw) {
      return MergeParts.merge(parts, out, expected);
    }
    return MergeParts.mergeBodies(
        parts,
        java.util.Objects.requireNonNull(bodies),
        out,
        expected,
        r -> stderr.line(failureLine(r)));
  }

  /** Merges into a temporary file beside {@code target} and renames it when complete. */
  private MergeParts.Summary mergeToFile(
      List<Path> parts, Path target, @Nullable Long expected, Stderr stderr) throws IOException {
    Path dir = target.getParent();
    Path tmp =
        Files.createTempFile(dir == null ? Path.of(".") : dir, "." + target.getFileName(), ".tmp");
    try {
      MergeParts.Summary summary;
      try (OutputStream out = Files.newOutputStream(tmp)) {
        summary = merge(parts, out, expected, stderr);
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return summary;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** As the fetch command reports a failure: {@code #seq GET url: message}. */
  static String failureLine(FetchRecord r) {
    String message = r.errorMessage() != null ? r.errorMessage() : String.valueOf(r.errorKind());
    return "#"
        + r.seq()
        + " GET "
        + Converters.oneLine(r.url())
        + ": "
        + Converters.oneLine(message);
  }
}
