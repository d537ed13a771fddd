package dev.fetchflux.cli;

import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import reactor.util.Loggers;

/**
 * Keeps the libraries' logs off stderr, which belongs to the command's own failure lines: reactor
 * and reactor-netty log a WARN such as "The connection observed an error" for failures the command
 * already reports as values. Everything goes through {@code java.util.logging}, silenced, except with
 * {@code -v} (warnings and above) and Netty's buffer-leak reports (errors, always shown: they mean a
 * bug).
 */
final class Logging {
  private static final String LEAK_LOGGER = "io.netty.util.ResourceLeakDetector";

  /** Strong references: java.util.logging holds loggers weakly, and would forget their levels. */
  private static final Logger ROOT = Logger.getLogger("");

  private static final Logger LEAKS = Logger.getLogger(LEAK_LOGGER);

  private Logging() {}

  /** Routes reactor's loggers to java.util.logging and sets the levels; call before any fetch. */
  static synchronized void configure(boolean verbose) {
    Loggers.useJdkLoggers();
    InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
    LogManager.getLogManager().reset();
    Handler console = new ConsoleHandler();
    console.setLevel(Level.ALL);
    ROOT.addHandler(console);
    ROOT.setLevel(verbose ? Level.WARNING : Level.OFF);
    LEAKS.setLevel(Level.SEVERE);
  }
}
