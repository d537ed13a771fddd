package dev.fetchflux.support;

import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails the test (or, for resources of {@code @BeforeAll}/{@code @AfterAll}, the class) after which
 * Netty reported a leaked buffer or other tracked resource.
 *
 * <p>Registered for every test through {@code META-INF/services} (surefire turns on JUnit's
 * extension autodetection); tests run with {@code -Dio.netty.leakDetection.level=paranoid}, so
 * every buffer is tracked. After each test that tracked anything, and after each class, it forces a
 * garbage collection and polls Netty's detectors ({@link LeakRecorder#surface()}); a leak reported
 * then fails that test (or class) with Netty's access records. A leak can surface one test late
 * when its buffer stays reachable (an event loop still holding it) until after the test: the
 * records say where it was allocated and touched.
 */
public final class NettyLeakExtension
    implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {

  static {
    LeakRecorder.install();
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    LeakRecorder.checkInstalled();
    // Reports that surfaced before this class started belong to no test of it.
    List<LeakRecorder.Report> earlier = LeakRecorder.drain();
    if (!earlier.isEmpty()) {
      throw failure("before " + context.getDisplayName() + " (left by an earlier class)", earlier);
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    LeakRecorder.surfaceIfTracked();
    List<LeakRecorder.Report> reports = LeakRecorder.drain();
    if (!reports.isEmpty()) {
      throw failure(context.getDisplayName(), reports);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    LeakRecorder.surface();
    List<LeakRecorder.Report> reports = LeakRecorder.drain();
    if (!reports.isEmpty()) {
      throw failure("after all of " + context.getDisplayName(), reports);
    }
  }

  private static AssertionError failure(String where, List<LeakRecorder.Report> reports) {
    StringBuilder b =
        new StringBuilder()
            .append("Netty reported ")
            .append(reports.size())
            .append(" leak(s) ")
            .append(where)
            .append(" (a buffer or resource was garbage-collected without release()):");
    for (LeakRecorder.Report r : reports) {
      b.append("\n").append(r);
    }
    return new AssertionError(b.toString());
  }
}
