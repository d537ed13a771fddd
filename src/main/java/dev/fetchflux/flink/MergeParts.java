package dev.fetchflux.flink;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * Rebuilds one answer in input order from the parts of a fetch job: a streaming k-way merge by
 * {@code seq}, in memory proportional to the number of parts, not of records. The engine behind
 * {@code fetchflux merge}; needs no Flink on the class path.
 *
 * <p>Each part must be sorted by {@code seq}, as every part written by {@link FetchJob} is (each
 * fetch subtask emits its inputs in order). Directories are searched for {@code *.jsonl} files,
 * skipping hidden ones (Flink's in-progress and pending files start with a dot). The merge checks
 * as it goes that the seqs are exactly {@code 0, 1, 2, ...}: the first missing or repeated seq
 * stops it with a {@link MergeException} that names it, since either means the parts are not one
 * job's committed output. With an expected count it also checks the tail.
 *
 * <p>Two outputs: {@linkplain #merge the records} as JSON lines, each line copied as it is, or
 * {@linkplain #mergeBodies the bodies} from the job's body directory, concatenated in input
 * order (as {@code fetchflux URL...} writes them), each checked against its record's SHA-256 as it
 * streams.
 */
public final class MergeParts {
  private MergeParts() {}

  /**
   * Why a merge stopped: the parts do not hold each seq exactly once, a part is unsorted or not
   * records, or a body file is missing or does not match its record. The message is one line.
   */
  public static final class MergeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MergeException(String message) {
      super(message);
    }

    MergeException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * What a merge wrote.
   *
   * @param parts part files read
   * @param records records merged (one per seq, {@code 0..records-1})
   * @param failed records that are errors (no body)
   * @param bytes bytes written: records with their line breaks, or bodies
   */
  public record Summary(int parts, long records, long failed, long bytes) {}

  /**
   * The part files named by {@code inputs}: files as given, directories searched recursively for
   * non-hidden {@code *.jsonl} files; sorted by path.
   *
   * @throws NoSuchFileException if an input does not exist
   */
  public static List<Path> findParts(List<Path> inputs) throws IOException {
    List<Path> parts = new ArrayList<>();
    for (Path in : inputs) {
      if (Files.isDirectory(in)) {
        try (Stream<Path> walk = Files.walk(in)) {
          walk.filter(Files::isRegularFile)
              .filter(
                  p -> {
                    String name = p.getFileName().toString();
                    return !name.startsWith(".") && name.endsWith(".jsonl");
                  })
              .sorted()
              .forEach(parts::add);
        }
      } else if (Files.isRegularFile(in)) {
        parts.add(in);
      } else {
        throw new NoSuchFileException(in.toString(), null, "no such file or directory");
      }
    }
    return parts;
  }

  /**
   * Writes the records of {@code parts} to {@code out} in seq order, one JSON line each (UTF-8,
   * copied as read), without closing {@code out}.
   *
   * @param expect the number of inputs of the job, so that missing seqs at the end are found too;
   *     {@code null} if unknown
   * @throws MergeException at the first missing or repeated seq, or a part that is not sorted by
   *     seq or holds a line that is not a record
   * @throws IOException if a part cannot be read or {@code out} written
   */
  public static Summary merge(List<Path> parts, OutputStream out, @Nullable Long expect)
      throws IOException {
    Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
    long[] bytes = {0};
    long[] failed = {0};
    Summary s =
        run(
            parts,
            expect,
            head -> {
              try {
                w.write(head.line);
                w.write('\n');
                bytes[0] += head.line.getBytes(StandardCharsets.UTF_8).length + 1;
                if (head.line.contains("\"error\":{")) {
                  failed[
                      0]++; // cheap and exact for our writer; the bodies mode parses every record
                }
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            });
    w.flush();
    return new Summary(s.parts(), s.records(), failed[0], bytes[0]);
  }

  /**
   * Writes the bodies of {@code parts}' records to {@code out} in seq order, read from the job's
   * {@code bodies} directory, each checked against its record's size and SHA-256 while it is
   * copied. A failed record has no body: it writes nothing and is handed to {@code onFailure}.
   *
   * @throws MergeException as {@link #merge}, and when a success has no body file (the job ran
   *     without {@code --bodies}), its file is missing, or its content does not match the record
   */
  public static Summary mergeBodies(
      List<Path> parts,
      Path bodies,
      OutputStream out,
      @Nullable Long expect,
      Consumer<FetchRecord> onFailure)
      throws IOException {
    long[] bytes = {0};
    long[] failed = {0};
    byte[] buffer = new byte[1 << 16];
    Summary s =
        run(
            parts,
            expect,
            head -> {
              FetchRecord r = head.record();
              if (!r.succeeded()) {
                failed[0]++;
                onFailure.accept(r);
                return;
              }
              bytes[0] += copyBody(r, bodies, out, buffer, head.where());
            });
    out.flush();
    return new Summary(s.parts(), s.records(), failed[0], bytes[0]);
  }

  private static long copyBody(
      FetchRecord r, Path bodies, OutputStream out, byte[] buffer, String where) {
    if (r.body() == null || r.sha256() == null) {
      throw new MergeException(
          where
              + ": seq "
              + r.seq()
              + " has no body file (run the job with"
              + " --bodies DIR to keep the bodies)");
    }
    Path file = bodies.resolve(r.body()).normalize();
    if (!file.startsWith(bodies.normalize())) {
      throw new MergeException(
          where + ": seq " + r.seq() + ": body path leaves the body" + " directory: " + r.body());
    }
    MessageDigest md = BodyStore.sha256();
    long n = 0;
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
      int read;
      while ((read = in.read(buffer)) >= 0) {
        out.write(buffer, 0, read);
        n += read;
      }
    } catch (NoSuchFileException e) {
      throw new MergeException("seq " + r.seq() + ": body file missing: " + file, e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    String sha = HexFormat.of().formatHex(md.digest());
    if (n != r.bytes() || !sha.equals(r.sha256())) {
      throw new MergeException(
          "seq "
              + r.seq()
              + ": body file "
              + file
              + " does not match its"
              + " record ("
              + n
              + " bytes, SHA-256 "
              + sha
              + "; the record says "
              + r.bytes()
              + " bytes, "
              + r.sha256()
              + ")");
    }
    return n;
  }

  /** The k-way merge: hands each head to {@code write} in seq order, checking 0, 1, 2, .... */
  private static Summary run(List<Path> parts, @Nullable Long expect, Consumer<Run> write)
      throws IOException {
    PriorityQueue<Run> heads =
        new PriorityQueue<>(
            Math.max(1, parts.size()),
            Comparator.comparingLong((Run r) -> r.seq).thenComparingInt(r -> r.id));
    List<Run> open = new ArrayList<>();
    long next = 0; // the seq the output needs now
    @Nullable String lastWhere = null;
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
        if (run.seq < next) {
          throw new MergeException(
              "seq " + run.seq + " appears twice: " + lastWhere + " and " + run.where());
        }
        if (run.seq > next) {
          throw new MergeException(
              "seq "
                  + next
                  + " is missing: the next record is seq "
                  + run.seq
                  + " at "
                  + run.where());
        }
        if (expect != null && run.seq >= expect) {
          throw new MergeException(
              "seq "
                  + run.seq
                  + " at "
                  + run.where()
                  + " is beyond the expected "
                  + expect
                  + " inputs");
        }
        write.accept(run);
        lastWhere = run.where();
        next++;
        if (run.advance()) {
          heads.add(run);
        }
      }
      if (expect != null && next < expect) {
        throw new MergeException(
            "seq "
                + next
                + " is missing: the parts end at seq "
                + (next - 1)
                + " and "
                + expect
                + " inputs were expected");
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    } finally {
      for (Run r : open) {
        r.close();
      }
    }
    return new Summary(parts.size(), next, 0, 0);
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

    String where() {
      return path + ":" + lineNumber;
    }

    FetchRecord record() {
      try {
        return FetchRecord.parse(line);
      } catch (IllegalArgumentException e) {
        throw new MergeException(where() + ": " + e.getMessage(), e);
      }
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
          throw new MergeException(where() + ": " + e.getMessage(), e);
        }
        if (s < seq) {
          throw new MergeException(
              where() + ": part is not sorted by seq (" + s + " after " + seq + ")");
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
