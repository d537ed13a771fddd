package dev.fetchflux.cli;

import dev.fetchflux.FetchException;
import dev.fetchflux.FetchRequest;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import dev.fetchflux.StreamedResult;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongFunction;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * One run of the command: fetch, write every result in order, report failures, count, and turn the
 * outcome into an exit status.
 *
 * <p>Results arrive on Netty event loops; everything that blocks (writing stdout or files, printing
 * on stderr) happens on one writer thread of its own ({@code publishOn} onto a {@link HandOffThread},
 * which takes results in batches), which therefore also keeps the output in the order the results
 * arrive. Only a few results wait in the hand-over queue, so what is held in memory stays bounded by
 * the fetcher's window.
 *
 * <p>On SIGINT the JVM runs shutdown hooks; ours stops the fetch (aborting what is in flight), lets
 * the writer finish the result it is writing, skips the rest, flushes and prints the summary, so the
 * output is a clean prefix of what a full run would have written. The JVM then exits with 130.
 */
final class Runner {
  /** Results handed from the event loops to the writer ahead of time. */
  static final int PREFETCH = 8;

  /** How often buffered output is pushed out while results keep coming. */
  private static final long FLUSH_MILLIS = 50;

  /** How long Ctrl-C waits for the writer to finish the result it is writing. */
  private static final Duration INTERRUPT_GRACE = Duration.ofSeconds(5);

  /**
   * How to run.
   *
   * @param ordered input order (else completion order)
   * @param failFast stop after the first failure
   * @param verbose stack traces for failures
   * @param silent no progress line and no summary
   * @param live draw the live progress line
   */
  record Options(
      boolean ordered, boolean failFast, boolean verbose, boolean silent, boolean live) {}

  /**
   * Records a previous run wrote and {@code --resume} kept: this run's inputs are numbered after
   * them, and their failures count in the exit status.
   *
   * @param records records kept, the index of this run's first input
   * @param failed failures among them
   */
  record Kept(long records, long failed) {
    static final Kept NONE = new Kept(0, 0);
  }

  private final Fetcher fetcher;
  private final Flux<Object> inputs;
  private final LongFunction<@Nullable Object> originOf;
  private final ResultSink sink;
  private final Stderr stderr;
  private final Options options;
  private final Stats stats;
  private final Kept kept;
  private final Object sinkLock = new Object();
  private final Sinks.Empty<Void> stop = Sinks.empty();
  private final CountDownLatch finished = new CountDownLatch(1);
  private final CountDownLatch reportDone = new CountDownLatch(1);
  private final AtomicBoolean reporting = new AtomicBoolean();
  private final AtomicBoolean firstInput = new AtomicBoolean();
  private volatile boolean stopping;
  private volatile boolean writing;
  private volatile boolean interrupted;
  private volatile @Nullable IOException outputError;
  private volatile @Nullable Throwable streamError;
  private @Nullable Progress progress;

  /**
   * @param originOf for an input index, where it came from if it was a malformed line (printed
   *     after its failure message), else {@code null}
   * @param kept what {@code --resume} kept of a previous run's output ({@link Kept#NONE})
   */
  Runner(
      Fetcher fetcher,
      Flux<Object> inputs,
      LongFunction<@Nullable Object> originOf,
      ResultSink sink,
      Stderr stderr,
      Options options,
      Stats stats,
      Kept kept) {
    this.fetcher = fetcher;
    this.inputs = inputs;
    this.originOf = originOf;
    this.sink = sink;
    this.stderr = stderr;
    this.options = options;
    this.stats = stats;
    this.kept = kept;
  }

  /**
   * An input as {@link Inputs} reads it: a request parsed on the reader thread, a JSON line it
   * rejected, or the text of a line that is not a URL; the last two throw here, and so become the
   * failure at their index that says why.
   */
  private static FetchRequest toRequest(Object input) {
    if (input instanceof FetchRequest r) {
      return r;
    }
    if (input instanceof JsonRequests.Rejected r) {
      throw new IllegalArgumentException(r.reason(), r.cause());
    }
    return FetchRequest.get(String.valueOf(input));
  }

  /** Runs to the end and returns the exit status (0, 1 or 2; the JVM makes it 130 on SIGINT). */
  int run() {
    HandOffThread writerThread = HandOffThread.start("fetchflux-writer");
    Scheduler writer = writerThread.scheduler();
    progress = Progress.start(stats, stderr, options.live() && !options.silent());
    Thread hook = new Thread(this::interrupt, "fetchflux-interrupt");
    Runtime.getRuntime().addShutdownHook(hook);
    // The timer only hands the flush to the writer thread, which does the (blocking) writing.
    Disposable flusher =
        Schedulers.parallel()
            .schedulePeriodically(
                () -> schedule(writer, this::flushQuietly),
                FLUSH_MILLIS,
                FLUSH_MILLIS,
                TimeUnit.MILLISECONDS);
    try {
      Flux<Object> in = options.verbose() ? inputs.doOnNext(i -> noteStartup()) : inputs;
      if (options.ordered()) {
        // Each body streams to the output as it arrives, the head's straight from its connection;
        // only bodies whose turn has not come wait (memory, then temporary files).
        Flux<Boolean> written =
            fetcher.fetchStreaming(
                in,
                Runner::toRequest,
                kept.records(),
                r -> Mono.fromCallable(() -> deliverStreamed(r)).subscribeOn(writer));
        if (options.failFast()) {
          written = written.takeUntil(ok -> !ok);
        }
        written
            .takeUntilOther(stop.asMono())
            .subscribe(
                ok -> {},
                e -> {
                  streamError = e;
                  finished.countDown();
                },
                finished::countDown);
      } else {
        Flux<FetchResult> results = fetcher.fetchUnordered(in, Runner::toRequest);
        if (options.failFast()) {
          results = results.takeUntil(r -> !r.isSuccess());
        }
        results
            .takeUntilOther(stop.asMono())
            .publishOn(writer, PREFETCH)
            .doOnDiscard(FetchResult.class, Bodies::releaseDiscarded)
            .subscribe(
                this::deliver,
                e -> {
                  streamError = e;
                  finished.countDown();
                },
                finished::countDown);
      }
      awaitUninterruptibly(finished, null);
      flusher.dispose();
      if (!reporting.compareAndSet(false, true)) {
        // SIGINT arrived: the shutdown hook reports, and the JVM exits with 130.
        awaitUninterruptibly(new CountDownLatch(1), null);
      }
      try {
        return report();
      } finally {
        reportDone.countDown();
      }
    } finally {
      flusher.dispose();
      writer.dispose();
      writerThread.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // The hook is running or has run; nothing to undo.
      }
    }
  }

  private static void schedule(Scheduler scheduler, Runnable task) {
    try {
      scheduler.schedule(task);
    } catch (RejectedExecutionException closing) {
      // The run is ending; its last flush is done by report().
    }
  }

  /** Whether the run was stopped by SIGINT. */
  boolean interrupted() {
    return interrupted;
  }

  private void deliver(FetchResult result) {
    try {
      if (stopping) {
        return;
      }
      Object origin = result instanceof FetchResult.Failure f ? originOf.apply(f.index()) : null;
      String failure = result instanceof FetchResult.Failure f ? describe(f, origin) : null;
      synchronized (sinkLock) {
        sink.write(result, method(result, origin), failure);
      }
      stats.record(result.isSuccess(), Bodies.size(result));
      if (result instanceof FetchResult.Failure f) {
        stderr.line("fetchflux: " + failure);
        if (options.verbose()) {
          // For a rejected JSONL line the library's exception only says it got a stand-in; the
          // line's own exception is the one worth reading.
          Throwable cause =
              origin instanceof Inputs.Origin o
                      && o.rejected() != null
                      && o.rejected().cause() != null
                  ? o.rejected().cause()
                  : f.error();
          stderr.stackTrace(cause);
        }
      }
    } catch (IOException e) {
      outputError = e;
      stopEarly();
    } finally {
      Bodies.release(result);
    }
  }

  /**
   * Writes one streamed result on the writer thread: a failure as {@link #deliver} does; a
   * success's body as it arrives, then its record. A body that fails on its way is written up as the
   * failure at its index that it is (the sink dropped what it could of it). Returns whether the input
   * succeeded. After a stop (Ctrl-C, an output error), the result is skipped and its body discarded.
   */
  private boolean deliverStreamed(StreamedResult result) {
    writing = true;
    try {
      if (stopping) {
        return false;
      }
      if (result instanceof FetchResult.Failure f) {
        deliver(f);
        return false;
      }
      StreamedResult.Success ok = (StreamedResult.Success) result;
      long bytes;
      try {
        synchronized (sinkLock) {
          bytes = sink.writeStreamed(ok, ok.request().method());
        }
      } catch (FetchException e) {
        deliver(
            new FetchResult.Failure(ok.index(), ok.url(), ok.finalUri(), e, ok.body().timings()));
        return false;
      } catch (IOException e) {
        outputError = e;
        stopEarly();
        return false;
      } catch (IllegalStateException e) {
        if (stopping) {
          return false; // the run was stopped under the body: it was given up, not failed
        }
        throw e;
      }
      stats.record(true, bytes);
      return true;
    } finally {
      writing = false;
      if (stopping) {
        // A stop waits for the result being written; this one is done, so the rest goes now.
        stop.tryEmitEmpty();
      }
    }
  }

  /** The method as the record reports it: for a rejected JSONL line, the line's own. */
  private static String method(FetchResult result, @Nullable Object origin) {
    if (origin instanceof Inputs.Origin o && o.rejected() != null) {
      return o.rejected().method();
    }
    return result instanceof FetchResult.Success ok
        ? ok.request().method()
        : ((FetchResult.Failure) result).error().method();
  }

  private String describe(FetchResult.Failure failure, @Nullable Object origin) {
    String message = Converters.oneLine(failure.error().getMessage());
    if (origin instanceof Inputs.Origin o && o.rejected() != null) {
      // The library only saw a stand-in it does not accept; the reason is the line's own.
      JsonRequests.Rejected r = o.rejected();
      message =
          "#"
              + failure.index()
              + " "
              + r.method()
              + " "
              + Converters.oneLine(r.text())
              + ": "
              + FetchException.Kind.INVALID_REQUEST.description()
              + ": "
              + r.reason();
    }
    return origin == null ? message : message + " (" + origin + ")";
  }

  /**
   * Stops the run: nothing more is written. In an ordered run a body being written is written to its
   * end first (a stop between two results leaves a clean prefix of the output), unless {@code
   * now}; the stop takes effect as that result is done, or at once when none is being written.
   */
  private void stopEarly() {
    stopping = true;
    if (!options.ordered() || !writing) {
      stop.tryEmitEmpty();
    }
  }

  /** Stops the run at once, also in the middle of a body. */
  private void stopNow() {
    stopping = true;
    stop.tryEmitEmpty();
  }

  private void flushQuietly() {
    if (outputError != null) {
      return;
    }
    try {
      synchronized (sinkLock) {
        sink.flush();
      }
    } catch (IOException e) {
      outputError = e;
      stopEarly();
    }
  }

  /** The shutdown hook: SIGINT (or SIGTERM) while running. */
  private void interrupt() {
    if (finished.getCount() > 0) {
      interrupted = true;
      stopEarly();
      awaitUninterruptibly(finished, INTERRUPT_GRACE);
      if (finished.getCount() > 0) {
        // The body being written did not end within the grace: give it up.
        stopNow();
        awaitUninterruptibly(finished, INTERRUPT_GRACE);
      }
    }
    if (reporting.compareAndSet(false, true)) {
      report();
    } else {
      // The run ended on its own just now; let it print its summary before the JVM goes.
      awaitUninterruptibly(reportDone, INTERRUPT_GRACE);
    }
  }

  private int report() {
    Progress p = progress;
    if (p != null) {
      p.stop();
    }
    try {
      synchronized (sinkLock) {
        sink.close();
      }
    } catch (IOException e) {
      if (outputError == null) {
        outputError = e;
      }
    }
    int status = stats.failed() > 0 || kept.failed() > 0 ? 1 : 0;
    Throwable error = streamError;
    if (error instanceof Inputs.InputException) {
      stderr.line("fetchflux: " + Converters.oneLine(error.getMessage()));
      status = 2;
    } else if (error != null) {
      stderr.line("fetchflux: internal error: " + Converters.oneLine(String.valueOf(error)));
      stderr.stackTrace(error);
      status = 1;
    }
    IOException out = outputError;
    String note = interrupted ? " (interrupted)" : "";
    if (out != null) {
      // A reader that went away (| head) is not worth a message; a full disk is.
      if (String.valueOf(out.getMessage()).contains("Broken pipe")) {
        note = " (stopped: output closed)";
      } else {
        stderr.line("fetchflux: cannot write output: " + Converters.oneLine(out.getMessage()));
        note = " (stopped: cannot write output)";
      }
      status = Math.max(status, 1);
    }
    if (kept.records() > 0) {
      note =
          " (resumed: "
              + kept.records()
              + " kept"
              + (kept.failed() > 0 ? ", " + kept.failed() + " of them failed" : "")
              + ")"
              + note;
    }
    if (!options.silent()) {
      stderr.line(stats.summary() + note);
    }
    return status;
  }

  private void noteStartup() {
    if (firstInput.compareAndSet(false, true)) {
      long now = System.currentTimeMillis();
      // The JVM's own start time, in milliseconds (the process's, from /proc, is rounded to the
      // second). Read after the clock, so loading the management classes is not counted.
      long start = ManagementFactory.getRuntimeMXBean().getStartTime();
      stderr.line("fetchflux: first request starting " + (now - start) + " ms after JVM start");
    }
  }

  private static void awaitUninterruptibly(CountDownLatch latch, @Nullable Duration timeout) {
    boolean wasInterrupted = false;
    try {
      while (true) {
        try {
          if (timeout == null) {
            latch.await();
          } else {
            latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
          }
          return;
        } catch (InterruptedException e) {
          wasInterrupted = true;
        }
      }
    } finally {
      if (wasInterrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
