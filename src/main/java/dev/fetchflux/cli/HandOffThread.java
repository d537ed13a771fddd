package dev.fetchflux.cli;

import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.LockSupport;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.concurrent.Queues;
import reactor.util.context.Context;

/**
 * One daemon thread that runs the tasks handed to it, in order, for blocking work (writing the
 * results) fed from Netty event loops.
 *
 * <p>Why not a single-thread {@code ScheduledThreadPoolExecutor} ({@link BlockingThreads}): every
 * hand-off to one takes its lock and signals its condition, so with one result per hand-off the
 * event loop paid a lock, a futex wake-up and the writer's context switch per URL (a tenth of the CPU
 * of a run of small bodies; docs/benchmarks-method.md, "Profile of the CLI"). Worse, an event loop
 * that
 * hands over a last task while the executor is being shut down waits for the executor's lock, which
 * an event loop must never do. Here a hand-off is a lock-free queue offer, and the thread is woken
 * only when it sleeps: after emptying the queue it naps {@link #NAP_NANOS} a few times before it goes
 * to sleep, so a steady stream of results is taken in batches, one wake-up per nap rather than per
 * result, at the price of up to one nap of delay.
 */
final class HandOffThread implements Executor {
  /** How long the thread naps when it finds nothing to do, before looking again: 1 ms. */
  static final long NAP_NANOS = 1_000_000;

  /** Naps with nothing to do before the thread sleeps until it is handed a task. */
  static final int NAPS_BEFORE_SLEEP = 2;

  private final String name;
  private final Queue<Runnable> tasks = Queues.<Runnable>unboundedMultiproducer().get();
  private final Thread thread;
  private volatile boolean sleeping;
  private volatile boolean closed;

  private HandOffThread(String name) {
    this.name = name;
    this.thread = new Thread(this::loop, name);
    thread.setDaemon(true);
  }

  /** Starts the thread. */
  static HandOffThread start(String name) {
    HandOffThread t = new HandOffThread(name);
    t.thread.start();
    return t;
  }

  /** A scheduler running on this thread (each task in turn; no timed tasks). */
  Scheduler scheduler() {
    return Schedulers.fromExecutor(this);
  }

  @Override
  public void execute(Runnable task) {
    if (closed) {
      throw new RejectedExecutionException(name + " is closed");
    }
    tasks.offer(task);
    // Read after the offer: either the thread sees the task before it sleeps, or it set the flag
    // before this read and is woken here.
    if (sleeping) {
      LockSupport.unpark(thread);
    }
  }

  /** Whether the thread has gone to sleep until it is handed a task (for tests). */
  boolean sleeping() {
    return sleeping;
  }

  /** Stops the thread after the task it is running; tasks not started are dropped. */
  void close() {
    closed = true;
    LockSupport.unpark(thread);
  }

  private void loop() {
    int naps = 0;
    while (!closed) {
      Runnable task = tasks.poll();
      if (task != null) {
        naps = 0;
        run(task);
      } else if (naps < NAPS_BEFORE_SLEEP) {
        naps++;
        LockSupport.parkNanos(this, NAP_NANOS);
      } else {
        sleeping = true;
        if (tasks.isEmpty() && !closed) {
          LockSupport.park(this);
        }
        sleeping = false;
        naps = 0;
      }
    }
    tasks.clear();
  }

  private static void run(Runnable task) {
    try {
      task.run();
    } catch (Throwable t) {
      // Reactor's own tasks report their errors themselves; anything else is not lost silently.
      Operators.onErrorDropped(t, Context.empty());
    }
  }
}
