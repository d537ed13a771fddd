package dev.fetchflux;

import dev.fetchflux.support.BlockingCalls;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;
import reactor.blockhound.BlockHound;

/**
 * Installs BlockHound for the whole test JVM, once, before the first test class loads: every test
 * then fails with a {@code BlockingOperationError} where a blocking call runs on a Netty event loop
 * or a Reactor non-blocking thread. Registered through
 * {@code META-INF/services/org.junit.platform.launcher.LauncherSessionListener}; on Java 17 it needs
 * {@code -XX:+AllowRedefinitionToAddDeleteMethods}, set in surefire's argLine.
 *
 * <p>{@link BlockHound#install} also loads the integrations found on the class path (BlockHound's own
 * for standard output and logging, Reactor's, Netty's); {@link BlockHoundFileIoIntegration} adds what
 * they miss. {@code -Dfetchflux.blockhound=false} turns it off, for example to profile a test.
 *
 * <p>Every call BlockHound catches is also recorded ({@link BlockingCalls#record}, its
 * {@code blockingMethodCallback}) before the error is thrown, so that
 * {@link dev.fetchflux.support.BlockingCallExtension} fails the test that caused it even when the
 * library turned the error into a failure value.
 */
public final class BlockHoundSessionListener implements LauncherSessionListener {

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    // Surefire with more than one fork discovers the tests in Maven's own JVM, which opens a
    // launcher session too: BlockHound belongs in the test JVMs only (Maven's lacks the flag it
    // needs, and blocks where it likes).
    if (System.getProperty("maven.home") != null) {
      return;
    }
    if (!"false".equals(System.getProperty("fetchflux.blockhound"))) {
      BlockingCalls.prepare();
      BlockHound.install(
          new BlockHoundFileIoIntegration(),
          builder -> builder.blockingMethodCallback(BlockingCalls::record));
    }
  }
}
