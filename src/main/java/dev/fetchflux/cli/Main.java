package dev.fetchflux.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;

/** Entry point of the {@code fetchflux} command. */
public final class Main {
  private Main() {}

  /** Runs the command and exits with its status (see {@code docs/cli.md}). */
  public static void main(String[] args) {
    // Silence the libraries' loggers before any of their classes logs; -v turns them back on.
    Logging.configure(false);
    // Bodies are bytes: written to the file descriptor, not through System.out's PrintStream, which
    // would hide write errors (a closed pipe, a full disk).
    int status =
        FetchCommand.commandLine(
                System.in,
                new FileOutputStream(FileDescriptor.out),
                System.getenv(),
                FetchCommand.needsSubcommands(args))
            .execute(args);
    System.exit(status);
  }
}
