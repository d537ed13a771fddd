package dev.fetchflux.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Creates the test JVM's {@code java.io.tmpdir} before anything uses it. Surefire's argLine points
 * it at {@code target/test-tmp}, so the suite's spill files, {@code @TempDir} directories and
 * everything else temporary stay apart from other processes' files, and {@link OpenResources} sees
 * only the suite's own; but the JVM does not create the directory, and JUnit, BlockHound's agent
 * attach and {@code Files.createTempFile} fail when it is missing. Registered in
 * {@code META-INF/services/org.junit.platform.launcher.LauncherSessionListener} before
 * BlockHound's listener.
 */
public final class TestTmpDirListener implements LauncherSessionListener {

  @Override
  public void launcherSessionOpened(LauncherSession session) {
    try {
      Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir")));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create java.io.tmpdir", e);
    }
  }
}
