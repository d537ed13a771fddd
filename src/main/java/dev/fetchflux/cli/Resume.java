package dev.fetchflux.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import dev.fetchflux.FetchRequest;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * {@code --resume}: reads the records of a previous run's output ({@code DIR/manifest.jsonl} or the
 * {@code --jsonl-file}) one at a time, as the inputs are read again, and keeps the longest prefix
 * of records that check out against the inputs; the run then fetches from the first input not kept
 * and appends its records after the kept ones.
 *
 * <p>A record is kept only if its line is whole (ends with a newline), parses, has the next index
 * in sequence, the URL and method of the input at that index, the same shape as this run's records
 * ({@code file} with {@code -o}, {@code body} with {@code --jsonl-body}), and, for a success with
 * {@code -o}, its body file is a regular file under the name this run would give it, with the
 * recorded size. The first record that does not check out and every record after it are discarded
 * (a line cut short by {@code kill -9} is the usual case). Failures recorded are kept like
 * successes: the run that stopped had already reported them, as an uninterrupted run would have.
 *
 * <p>Two cases are refused rather than repaired, because repairing them would throw away work of a
 * different run: a first record that is whole but is not this input list's (another input list, an
 * {@code --unordered} run, another file), and more records than there are inputs.
 *
 * <p>Nothing is changed until {@link #finish()}: it truncates the file after the last record kept
 * and, with {@code -o}, deletes the files that no kept record lists (temporaries, and body files
 * numbered at or past the point where the run continues), then hands the open file, locked against
 * another run, to the sink.
 */
final class Resume implements Closeable {
  private static final JsonFactory JSON =
      JsonFactory.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
          .build();

  /** Names {@link SafeNames} gives: the zero-padded index, then an optional trace. */
  private static final Pattern BODY_FILE = Pattern.compile("([0-9]{6,18})(_[A-Za-z0-9._-]*)?");

  /** Temporary files of {@link DirectorySink}. */
  private static final Pattern TEMPORARY = Pattern.compile("\\.fetchflux-.*\\.part");

  /** The previous output cannot be continued; a one-line reason, exit status 2. */
  static final class Refused extends IOException {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }
  }

  private final Path file;
  private final @Nullable Path dir;
  private final boolean withBody;
  private final boolean failFast;
  private final FileChannel channel;
  private final Lines lines;
  private long kept;
  private long keptFailures;
  private long keptEnd;
  private boolean lastKeptFailed;

  /** No more records are read: one did not check out, the file ended, or the run ends here. */
  private boolean stopped;

  private @Nullable String discarded;
  private boolean handedOver;

  private Resume(
      Path file, @Nullable Path dir, boolean withBody, boolean failFast, FileChannel channel) {
    this.file = file;
    this.dir = dir;
    this.withBody = withBody;
    this.failFast = failFast;
    this.channel = channel;
    this.lines = new Lines(Channels.newInputStream(channel));
  }

  /**
   * Opens the previous output for checking, locked against another run.
   *
   * @param file the records: {@code DIR/manifest.jsonl} or the {@code --jsonl-file}
   * @param dir with {@code -o}, the directory (the manifest is then never opened through a symbolic
   *     link, as {@link DirectorySink} never writes through one); else {@code null}
   * @param withBody whether this run's records carry the body ({@code --jsonl-body})
   * @param failFast whether this run stops at the first failure ({@code --fail-fast})
   * @return {@code null} when there is no previous output: the run starts afresh, as curl's
   *     {@code -C -} does on a missing file
   * @throws Refused if the file cannot be opened or is locked by another run
   */
  static @Nullable Resume open(Path file, @Nullable Path dir, boolean withBody, boolean failFast)
      throws Refused {
    List<OpenOption> options =
        new ArrayList<>(List.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
    if (dir != null) {
      options.add(LinkOption.NOFOLLOW_LINKS);
    }
    FileChannel ch;
    try {
      ch = FileChannel.open(file, options.toArray(OpenOption[]::new));
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new Refused(
          "cannot resume "
              + file
              + ": "
              + (dir != null && Files.isSymbolicLink(file)
                  ? "it is a symbolic link (not followed)"
                  : Converters.oneLine(e.toString())));
    }
    try {
      lock(ch, file);
      return new Resume(file, dir, withBody, failFast, ch);
    } catch (IOException e) {
      closeQuietly(ch);
      throw new Refused("cannot resume " + file + ": " + Converters.oneLine(e.getMessage()));
    }
  }

  /**
   * Takes an exclusive lock on {@code ch} for as long as it is open, so two runs never write the
   * same output (a {@code --resume} while the first run still goes would interleave records). On a
   * file system without locks the run goes on unlocked, as it did before locks were taken.
   *
   * @throws IOException naming the file if another process (or this one) holds it
   */
  static void lock(FileChannel ch, Path file) throws IOException {
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    } catch (IOException unsupported) {
      return;
    }
    if (lock == null) {
      throw new IOException(file + " is being written by another run (it is locked)");
    }
  }

  /**
   * Reads the next record and checks it against the input at {@code index}: {@code SKIP} when it
   * checks out, {@code FETCH} from the first one that does not (or when the records end), and
   * {@code END} with {@code --fail-fast} after a kept failure, where an uninterrupted run stopped.
   *
   * @throws Refused if the first record is whole but does not belong to these inputs
   */
  Inputs.Verdict check(long index, Object input) throws IOException {
    if (failFast && lastKeptFailed) {
      stopped = true;
      return Inputs.Verdict.END;
    }
    if (stopped) {
      return Inputs.Verdict.FETCH;
    }
    Record record = lines.nextLine() ? read() : null;
    if (record == null) {
      stopped = true;
      return Inputs.Verdict.FETCH;
    }
    Problem problem = verify(record, index, input);
    if (problem == null) {
      kept++;
      keptEnd = record.end();
      lastKeptFailed = !record.ok();
      if (lastKeptFailed) {
        keptFailures++;
      }
      return Inputs.Verdict.SKIP;
    }
    if (index == 0 && problem.foreign()) {
      throw new Refused(
          "cannot resume "
              + file
              + ": its first record does not belong to these "
              + "inputs: "
              + problem.text()
              + " (remove it, or run without --resume, to start over)");
    }
    stopped = true;
    discarded = "line " + (index + 1) + " and after: " + problem.text();
    return Inputs.Verdict.FETCH;
  }

  /**
   * Called when the inputs ended while records were still being kept: a further whole record means
   * the output belongs to a longer input list, which is refused; a torn one is discarded.
   */
  void inputsEnded() throws IOException {
    if (stopped || failFast && lastKeptFailed || !lines.nextLine()) {
      stopped = true;
      return;
    }
    Record record = read();
    stopped = true;
    if (record.complete() && record.problem() == null) {
      throw new Refused(
          "cannot resume "
              + file
              + ": it has more records than there are inputs ("
              + kept
              + "); was it written for a longer input list?");
    }
    Problem problem = describe(record, kept);
    discarded =
        "line " + (kept + 1) + " and after: " + (problem != null ? problem.text() : "not a record");
  }

  /** Records kept: the run continues at this index. */
  long kept() {
    return kept;
  }

  /** Failures among the records kept (they count in the exit status). */
  long keptFailures() {
    return keptFailures;
  }

  /** Which lines were discarded and why, or {@code null} if none were. */
  @Nullable String discarded() {
    return discarded;
  }

  /**
   * Truncates the file after the last record kept, deletes what no kept record lists (with
   * {@code -o}), and hands the file, positioned at its end and still locked, to the caller, who
   * closes it.
   *
   * @return the open file, and how many leftover files were deleted
   */
  Finished finish() throws IOException {
    long removed = dir != null ? removeLeftovers(dir) : 0;
    channel.truncate(keptEnd);
    channel.position(keptEnd);
    handedOver = true;
    return new Finished(channel, removed);
  }

  /** What {@link #finish()} leaves: the open, locked output and the leftover files removed. */
  record Finished(FileChannel channel, long removed) {}

  /** Closes the file unless {@link #finish()} handed it over. */
  @Override
  public void close() {
    if (!handedOver) {
      closeQuietly(channel);
    }
  }

  /**
   * Temporary files, and body files numbered at or past {@link #kept}: written by the run that
   * stopped after its last whole record (a file is renamed into place just before its record is
   * written), or listed only by discarded records. Files numbered before are left alone, as a run
   * leaves the directory's other files alone.
   */
  private long removeLeftovers(Path dir) throws IOException {
    long removed = 0;
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        Matcher body = BODY_FILE.matcher(name);
        boolean leftover =
            TEMPORARY.matcher(name).matches()
                || body.matches() && Long.parseLong(body.group(1)) >= kept;
        if (leftover && !Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
          // A symbolic link is removed itself, never followed.
          if (Files.deleteIfExists(entry)) {
            removed++;
          }
        }
      }
    }
    return removed;
  }

  /** What is wrong with a record; {@code foreign} when it shows another input list or format. */
  private record Problem(String text, boolean foreign) {}

  /** One line of the previous output, parsed as far as resuming needs. */
  private record Record(
      long end,
      boolean complete,
      @Nullable String problem,
      long index,
      @Nullable String url,
      @Nullable String method,
      boolean ok,
      @Nullable Long bytes,
      boolean hasFile,
      @Nullable String file,
      boolean hasBody) {}

  private @Nullable Problem verify(Record r, long index, Object input) throws IOException {
    Problem problem = describe(r, index);
    if (problem != null) {
      return problem;
    }
    String url = urlOf(input);
    if (!url.equals(r.url())) {
      return new Problem(
          "it is for "
              + Converters.quote(String.valueOf(r.url()))
              + ", input "
              + index
              + " is "
              + Converters.quote(url),
          true);
    }
    String method = r.method() == null ? "GET" : r.method();
    if (!method.equals(methodOf(input))) {
      return new Problem("it is a " + method + ", input " + index + " a " + methodOf(input), true);
    }
    if (dir != null && r.ok()) {
      return checkFile(r, index, input);
    }
    if (dir != null && r.file() != null) {
      return new Problem("a failure that names a file", false);
    }
    return null;
  }

  /** Whether the record is whole, parses and has the shape and index expected. */
  private @Nullable Problem describe(Record r, long index) {
    if (!r.complete()) {
      return new Problem("cut short (no newline at its end)", false);
    }
    if (r.problem() != null) {
      return new Problem("not a record: " + r.problem(), true);
    }
    if (r.index() != index) {
      return new Problem(
          "its index is "
              + r.index()
              + ", expected "
              + index
              + (index == 0 ? " (an --unordered run's output cannot be resumed)" : ""),
          true);
    }
    if (r.hasFile() != (dir != null)) {
      return new Problem(
          dir != null
              ? "it has no \"file\" (not a manifest of -o)"
              : "it has a \"file\" (a manifest of -o, not a --jsonl-file)",
          true);
    }
    if (r.hasBody() != withBody) {
      return new Problem(
          "it was written " + (withBody ? "without" : "with") + " --jsonl-body", true);
    }
    return null;
  }

  private @Nullable Problem checkFile(Record r, long index, Object input) throws IOException {
    Path d = dir;
    URI uri = uriOf(input);
    if (d == null || uri == null || r.file() == null || r.bytes() == null) {
      return new Problem("a success without \"file\" or \"bytes\"", false);
    }
    String expected = SafeNames.of(index, uri);
    if (!expected.equals(r.file())) {
      return new Problem(
          "its file is " + Converters.quote(r.file()) + ", expected " + Converters.quote(expected),
          false);
    }
    BasicFileAttributes attributes;
    try {
      attributes =
          Files.readAttributes(
              d.resolve(expected), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return new Problem("its file " + expected + " is missing", false);
    }
    if (!attributes.isRegularFile()) {
      return new Problem("its file " + expected + " is not a regular file", false);
    }
    if (attributes.size() != r.bytes()) {
      return new Problem(
          "its file "
              + expected
              + " has "
              + attributes.size()
              + " bytes, the "
              + "record says "
              + r.bytes(),
          false);
    }
    return null;
  }

  /** The {@code url} a record of this input has (what the fetcher reports). */
  static String urlOf(Object input) {
    if (input instanceof FetchRequest r) {
      return r.uri().toString();
    }
    if (input instanceof JsonRequests.Rejected r) {
      return r.text();
    }
    String text = String.valueOf(input);
    try {
      return FetchRequest.parseUrl(text).toString();
    } catch (IllegalArgumentException e) {
      return text;
    }
  }

  /** The {@code method} a record of this input has. */
  static String methodOf(Object input) {
    if (input instanceof FetchRequest r) {
      return r.method();
    }
    if (input instanceof JsonRequests.Rejected r) {
      return r.method();
    }
    return "GET";
  }

  private static @Nullable URI uriOf(Object input) {
    if (input instanceof FetchRequest r) {
      return r.uri();
    }
    if (input instanceof CharSequence s) {
      try {
        return FetchRequest.parseUrl(s.toString());
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    return null;
  }

  /**
   * Parses the current line with a streaming parser: only the fields resuming needs are kept, the
   * others (headers, a body of megabytes) are skipped without being held.
   */
  private Record read() throws IOException {
    String problem = null;
    long index = -1;
    String url = null;
    String method = null;
    Boolean ok = null;
    Long bytes = null;
    boolean hasFile = false;
    String fileName = null;
    boolean hasBody = false;
    try (JsonParser p = JSON.createParser(lines)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new Malformed("not a JSON object");
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "index" -> index = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          case "url" -> url = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "method" -> method = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "ok" ->
              ok =
                  v == JsonToken.VALUE_TRUE
                      ? Boolean.TRUE
                      : v == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
          case "bytes" -> bytes = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : null;
          case "file" -> {
            hasFile = true;
            fileName = v == JsonToken.VALUE_STRING ? p.getText() : null;
          }
          case "body" -> {
            hasBody = true;
            p.skipChildren();
          }
          default -> p.skipChildren();
        }
      }
      if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw new Malformed("not one JSON object");
      }
      if (index < 0 || url == null || ok == null) {
        throw new Malformed("no \"index\", \"url\" or \"ok\"");
      }
    } catch (Malformed e) {
      problem = e.getMessage();
    } catch (JacksonException e) {
      problem = "invalid JSON: " + Converters.oneLine(e.getOriginalMessage());
    }
    lines.skipRest();
    return new Record(
        lines.consumed(),
        lines.lineEnded(),
        problem,
        index,
        url,
        method,
        Boolean.TRUE.equals(ok),
        bytes,
        hasFile,
        fileName,
        hasBody);
  }

  /** A line that parses but is not a record. */
  private static final class Malformed extends Exception {
    private static final long serialVersionUID = 1L;

    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  private static void closeQuietly(Closeable c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // Only read so far, or handed over: nothing to lose.
    }
  }

  /**
   * The lines of a byte stream, each read as a stream of its own that ends at its newline, so a
   * line of any length is parsed without being held whole, and the byte offset of each line's end
   * is known.
   */
  private static final class Lines extends InputStream {
    private final InputStream in;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int end;
    private boolean eof;
    private boolean lineEnded;
    private boolean inLine;
    private long consumed;

    Lines(InputStream in) {
      this.in = in;
    }

    /** Moves to the next line; {@code false} at the end of the input. */
    boolean nextLine() throws IOException {
      if (inLine) {
        skipRest();
      }
      lineEnded = false;
      if (pos >= end && !fill()) {
        inLine = false;
        return false;
      }
      inLine = true;
      return true;
    }

    /** Whether the current line was read up to and including its newline. */
    boolean lineEnded() {
      return lineEnded;
    }

    /** Bytes read from the start of the input, the newlines included. */
    long consumed() {
      return consumed;
    }

    void skipRest() throws IOException {
      byte[] scratch = new byte[8192];
      while (read(scratch, 0, scratch.length) >= 0) {
        // Discarded.
      }
    }

    private boolean fill() throws IOException {
      if (eof) {
        return false;
      }
      int n = in.read(buf);
      if (n <= 0) {
        eof = n < 0;
        return !eof && fill();
      }
      pos = 0;
      end = n;
      return true;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (lineEnded || !inLine) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      if (pos >= end && !fill()) {
        return -1;
      }
      int n = 0;
      while (n < len && pos < end) {
        byte c = buf[pos++];
        consumed++;
        if (c == '\n') {
          lineEnded = true;
          break;
        }
        b[off + n++] = c;
      }
      return n == 0 ? -1 : n;
    }

    @Override
    public void close() {
      // The channel belongs to the Resume.
    }
  }
}
