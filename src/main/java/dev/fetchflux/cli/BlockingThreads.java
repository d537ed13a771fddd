package dev.fetchflux.cli;

import java.util.concurrent.Executors;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Single-thread schedulers for the command's blocking work (reading stdin and files, writing stdout
 * and files). Not {@code Schedulers.newSingle}: reactor marks those threads non-blocking (BlockHound
 * rejects blocking calls on them), which is what they are for; these threads exist to block.
 */
final class BlockingThreads {
  private BlockingThreads() {}

  /** A scheduler on one daemon thread named {@code name}; dispose it when done. */
  static Scheduler single(String name) {
    return Schedulers.fromExecutorService(
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, name);
              t.setDaemon(true);
              return t;
            }),
        name);
  }
}
