package dev.fetchflux.cli;

import dev.fetchflux.FetchRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;

/**
 * The command's inputs as one lazy stream of requests (URL lines parsed into {@code FetchRequest}s;
 * with {@code --input-format jsonl}, whole requests) and URL strings (arguments, and lines that are
 * not URLs): arguments first, then each input file or
 * stdin, read line by line only as fast as the fetcher asks for more (a million lines on stdin hold
 * no more than the fetcher's window in memory, and the first request starts after the first line).
 *
 * <p>Blank lines and lines starting with {@code #} are skipped. A line that is not a URL is still
 * handed to the fetcher, which makes it a failure at its index; this class remembers where that line
 * came from (until {@link #origin} takes it), so the failure message can name the line number.
 */
final class Inputs {
  /** Lines longer than this are failures, not URLs (browsers give up near 2 MB; 64 kB is plenty). */
  static final int MAX_LINE = 64 * 1024;

  /**
   * With {@code --input-format jsonl} a line carries a whole request, body included, so it may be
   * longer: up to 1 MiB (characters), still a bound on what one line holds in memory.
   */
  static final int MAX_JSONL_LINE = 1 << 20;

  /** How input lines are read: {@code --input-format}. */
  enum Format {
    /** One URL per line (the default). */
    LINES,
    /** One JSON object per line: url, method, headers, body ({@link JsonRequests}). */
    JSONL
  }

  /** One stream of lines: a file or stdin, opened up front so an unreadable file fails early. */
  record Source(String name, InputStream stream, @Nullable Path countable) {}

  /**
   * Where a malformed input came from: {@code urls.txt line 4}; for a rejected JSONL line,
   * {@code rejected} says what is wrong with it.
   */
  record Origin(String source, long line, JsonRequests.@Nullable Rejected rejected) {
    @Override
    public String toString() {
      return source + " line " + line;
    }
  }

  /**
   * What {@link #skip} decides for each input it is shown.
   */
  enum Verdict {
    /** Done before: not fetched again; the next input is shown. */
    SKIP,
    /** To fetch: this input and every one after it go to the fetcher. */
    FETCH,
    /** Nothing more is to be fetched: neither this input nor any after it. */
    END
  }

  /** Decides, for the input at {@code index}, whether it was done before ({@link #skip}). */
  @FunctionalInterface
  interface Check {
    Verdict check(long index, Object input) throws IOException;
  }

  /** An input read but not yet numbered; {@code origin} is set for a malformed line. */
  private record Line(Object input, @Nullable Origin origin) {}

  private final List<String> args;
  private final List<Source> sources;
  private final Format format;
  private final int maxLine;
  private final Scheduler reader;
  private final AtomicLong emitted = new AtomicLong();
  private final Map<Long, Origin> malformed = new ConcurrentHashMap<>();
  private final @Nullable LineReader[] readers;

  /** Where {@link #skip} stopped: the next argument, the source being read, the input it kept. */
  private int nextArg;

  private int nextSource;
  private @Nullable Line pending;
  private boolean ended;

  Inputs(List<String> args, List<Source> sources, Scheduler reader) {
    this(args, sources, Format.LINES, reader);
  }

  /**
   * @param format how the lines of {@code sources} are read; the arguments are always URLs
   */
  Inputs(List<String> args, List<Source> sources, Format format, Scheduler reader) {
    this.args = List.copyOf(args);
    this.sources = List.copyOf(sources);
    this.format = format;
    this.maxLine = format == Format.JSONL ? MAX_JSONL_LINE : MAX_LINE;
    this.reader = reader;
    this.readers = new LineReader[this.sources.size()];
  }

  /**
   * Reads the inputs from the start, on the calling thread, and shows each with its index to
   * {@code check} until it says {@link Verdict#FETCH} (that input is then the first of
   * {@link #flux}) or {@link Verdict#END} ({@link #flux} is then empty), or the inputs end. Inputs
   * are read one at a time, so skipping a million lines of stdin holds no more than one. Call it at
   * most once, before {@link #flux}; blocking.
   *
   * @return the number of inputs skipped; {@link #flux} numbers the rest from there
   * @throws IOException if an input cannot be read, or from {@code check}
   */
  long skip(Check check) throws IOException {
    while (true) {
      Line line = readNext();
      if (line == null) {
        return emitted.get();
      }
      Verdict verdict = check.check(emitted.get(), line.input());
      if (verdict == Verdict.SKIP) {
        emitted.incrementAndGet();
      } else {
        if (verdict == Verdict.FETCH) {
          pending = line;
        } else {
          ended = true;
        }
        return emitted.get();
      }
    }
  }

  /** The next input after the arguments and sources read so far, or {@code null} at the end. */
  private @Nullable Line readNext() throws IOException {
    if (nextArg < args.size()) {
      return new Line(args.get(nextArg++), null);
    }
    while (nextSource < sources.size()) {
      Line line = read(sources.get(nextSource), lineReader(nextSource));
      if (line != null) {
        return line;
      }
      closeIfOwned(nextSource);
      nextSource++;
    }
    return null;
  }

  private LineReader lineReader(int source) {
    LineReader in = readers[source];
    if (in == null) {
      in =
          new LineReader(
              new InputStreamReader(sources.get(source).stream(), StandardCharsets.UTF_8), maxLine);
      readers[source] = in;
    }
    return in;
  }

  private void closeIfOwned(int source) {
    LineReader in = readers[source];
    // Closing System.in while another thread may block in read() can hang; the process ends soon
    // anyway, so stdin is left open.
    if (in != null && sources.get(source).countable() != null) {
      try {
        in.close();
      } catch (IOException ignored) {
        // Read-only file; nothing was lost.
      }
    }
  }

  /**
   * The URLs, in order; {@code total} is told the number of inputs once it is known (at once for
   * arguments and regular files, which are counted ahead; at the end of stdin). After
   * {@link #skip}, only the inputs it did not skip, numbered on from there ({@code total} still
   * counts every input).
   */
  Flux<Object> flux(LongConsumer total) {
    if (ended) {
      return Flux.<Object>empty().doOnComplete(() -> total.accept(emitted.get()));
    }
    List<Flux<Object>> parts = new ArrayList<>();
    Line first = pending;
    if (first != null) {
      parts.add(Flux.defer(() -> Flux.just(admit(first))));
    }
    parts.add(
        Flux.fromIterable(args.subList(nextArg, args.size())).map(a -> admit(new Line(a, null))));
    for (int i = nextSource; i < sources.size(); i++) {
      parts.add(lines(i).subscribeOn(reader));
    }
    boolean countable = sources.stream().allMatch(s -> s.countable() != null);
    Flux<Object> all = Flux.concat(parts);
    if (countable) {
      // Counted on a thread of its own, so that a long file does not delay the first request.
      all =
          all.doOnSubscribe(
              sub -> {
                Thread counter =
                    new Thread(
                        () -> {
                          long n = countAhead();
                          if (n >= 0) {
                            total.accept(n);
                          }
                        },
                        "fetchflux-count");
                counter.setDaemon(true);
                counter.start();
              });
    }
    // No read-ahead (limitRate) on purpose: each input is then read, and its exchange started, on
    // the
    // reader thread when the fetcher asks for it, in parallel with the event loop. Reading ahead
    // saved
    // that thread hand-off per URL but put all of the admission work on the one busy event loop:
    // 10,000 URLs took 0.3-0.6 s longer (docs/benchmarks-method.md, "Profile of the CLI").
    return all.doOnComplete(() -> total.accept(emitted.get()));
  }

  /** Where the input at {@code index} came from if it was a malformed line; forgets it. */
  @Nullable Origin origin(long index) {
    return malformed.remove(index);
  }

  private Flux<Object> lines(int source) {
    return Flux.generate(
        () -> lineReader(source),
        (LineReader in, reactor.core.publisher.SynchronousSink<Object> sink) -> {
          try {
            Line line = read(sources.get(source), in);
            if (line == null) {
              sink.complete();
            } else {
              sink.next(admit(line));
            }
          } catch (IOException e) {
            sink.error(new InputException(sources.get(source).name() + ": " + e.getMessage(), e));
          }
          return in;
        },
        in -> closeIfOwned(source));
  }

  /** The next input of {@code source} (blank lines and comments skipped), or {@code null}. */
  private @Nullable Line read(Source source, LineReader in) throws IOException {
    String line;
    while ((line = in.next()) != null) {
      String url = line.strip();
      if (format == Format.JSONL) {
        if (in.lastWasTooLong() || !url.isEmpty() && !url.startsWith("#")) {
          return json(url, in, source.name());
        }
        continue;
      }
      if (in.lastWasTooLong()) {
        return new Line(tooLong(in, maxLine), new Origin(source.name(), in.lineNumber(), null));
      }
      if (!url.isEmpty() && !url.startsWith("#")) {
        // Parsed here, on the reader thread, once: the fetcher would otherwise parse the text
        // again on its event loop. A line that is not a URL stays text, which the fetcher turns
        // into a failure at its index.
        try {
          return new Line(FetchRequest.get(url), null);
        } catch (IllegalArgumentException e) {
          return new Line(url, new Origin(source.name(), in.lineNumber(), null));
        }
      }
    }
    return null;
  }

  /**
   * A text that cannot parse as a URL (it has spaces) and says why, so the fetcher's failure for
   * it explains itself.
   */
  private static String tooLong(LineReader in, int maxLine) {
    return "<line of " + in.lastLength() + " characters, longer than " + maxLine + ">";
  }

  /** Numbers {@code line} and remembers where it came from if it is malformed. */
  private Object admit(Line line) {
    long index = emitted.getAndIncrement();
    if (line.origin() != null) {
      malformed.put(index, line.origin());
    }
    return line.input();
  }

  /** A {@link dev.fetchflux.FetchRequest}, or a {@link JsonRequests.Rejected} with its origin. */
  private Line json(String line, LineReader in, String source) {
    String placeholder = "<" + source + " line " + in.lineNumber() + ">";
    Object request =
        in.lastWasTooLong()
            ? new JsonRequests.Rejected(
                placeholder,
                "GET",
                "line of " + in.lastLength() + " characters, longer than " + maxLine,
                null)
            : JsonRequests.parse(line, placeholder);
    return new Line(
        request,
        request instanceof JsonRequests.Rejected r ? new Origin(source, in.lineNumber(), r) : null);
  }

  private long countAhead() {
    long n = args.size();
    for (Source s : sources) {
      Path p = s.countable();
      if (p == null) {
        return -1;
      }
      try (LineReader in =
          new LineReader(Files.newBufferedReader(p, StandardCharsets.UTF_8), maxLine)) {
        String line;
        while ((line = in.next()) != null) {
          String url = line.strip();
          if (in.lastWasTooLong() || !url.isEmpty() && !url.startsWith("#")) {
            n++;
          }
        }
      } catch (IOException | UncheckedIOException e) {
        return -1;
      }
    }
    return n;
  }

  /** The input could not be read (after the run started); exit status 2. */
  static final class InputException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InputException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
