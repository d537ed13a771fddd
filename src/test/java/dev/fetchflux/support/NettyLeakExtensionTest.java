package dev.fetchflux.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/** Proves that a leaked buffer is caught: reported by Netty, captured, and failing its test. */
@Timeout(30)
class NettyLeakExtensionTest {

  @Test
  void leakedBufferIsCapturedWithItsAccessRecords() {
    String marker = "deliberate-leak-" + UUID.randomUUID();
    leak(marker);

    LeakRecorder.surface();
    List<LeakRecorder.Report> reports = LeakRecorder.take(r -> r.records().contains(marker));

    // Taken out of the recorder, so this test's own leak check passes.
    assertThat(reports).hasSize(1);
    assertThat(reports.get(0).resourceType()).isEqualTo("ByteBuf");
    assertThat(reports.get(0).records()).contains("leak(");
  }

  @Test
  void releasedBufferIsNotReported() {
    String marker = "released-" + UUID.randomUUID();
    ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(64);
    buf.touch(marker);
    buf.release();

    LeakRecorder.surface();

    assertThat(LeakRecorder.take(r -> r.records().contains(marker))).isEmpty();
  }

  @Test
  void extensionFailsTheTestThatLeaked() {
    LeakyTests.launchedByOuterTest = true;
    try {
      LauncherDiscoveryRequest request =
          LauncherDiscoveryRequestBuilder.request()
              .selectors(selectClass(LeakyTests.class))
              .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
              .build();
      SummaryGeneratingListener listener = new SummaryGeneratingListener();
      Launcher launcher = LauncherFactory.create();
      launcher.execute(request, listener);
      TestExecutionSummary summary = listener.getSummary();

      assertThat(summary.getTestsSucceededCount()).isEqualTo(1);
      assertThat(summary.getTestsFailedCount()).isEqualTo(1);
      TestExecutionSummary.Failure failure = summary.getFailures().get(0);
      assertThat(failure.getTestIdentifier().getDisplayName()).isEqualTo("leaksABuffer()");
      assertThat(failure.getException())
          .isInstanceOf(AssertionError.class)
          .hasMessageContaining("Netty reported 1 leak(s) leaksABuffer()")
          .hasMessageContaining(LeakyTests.MARKER);
    } finally {
      LeakyTests.launchedByOuterTest = false;
    }
  }

  private static void leak(String marker) {
    ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(64);
    buf.writeLong(42);
    buf.touch(marker);
    // not released: unreachable once this method returns
  }

  /**
   * Run only by {@link #extensionFailsTheTestThatLeaked} through its own launcher; surefire skips
   * nested classes, and the assumption keeps IDE runs from failing on it.
   */
  static class LeakyTests {
    static final String MARKER = "leaky-tests-" + UUID.randomUUID();
    static volatile boolean launchedByOuterTest;

    @Test
    void leaksABuffer() {
      Assumptions.assumeTrue(launchedByOuterTest);
      leak(MARKER);
    }

    @Test
    void releasesItsBuffer() {
      Assumptions.assumeTrue(launchedByOuterTest);
      ByteBufAllocator.DEFAULT.directBuffer(64).release();
    }
  }
}
