package dev.fetchflux.support;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import io.netty.util.ResourceLeakTracker;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * Captures the leak reports of Netty's {@link ResourceLeakDetector} so that a test can fail on
 * them.
 *
 * <p>Netty only logs a leak, and only when it notices one: a tracked object that was
 * garbage-collected without being released is reported the next time its detector tracks another
 * object. A log line does not fail a build, so this class installs a {@link
 * ResourceLeakDetectorFactory} whose detectors record every report instead of logging it, and
 * offers {@link #surface()} to force a collection and make every detector look at its queue.
 *
 * <p>Netty's buffer classes create their detector once, when {@code AbstractByteBuf} is
 * initialised, so {@link #install()} must run before any buffer exists; {@link NettyLeakExtension}
 * installs it from its static initialiser, which JUnit runs before any test class, and {@link
 * #checkInstalled()} fails loudly if Netty got there first (detection would otherwise be silently
 * off).
 */
public final class LeakRecorder {

  /** One leak report: the resource type (such as {@code ByteBuf}) and Netty's access records. */
  public record Report(String resourceType, String records) {
    @Override
    public String toString() {
      return "LEAK of " + resourceType + ":" + (records.isEmpty() ? " (no records)" : records);
    }
  }

  private static final ConcurrentLinkedQueue<Report> REPORTS = new ConcurrentLinkedQueue<>();
  private static final List<RecordingDetector<?>> DETECTORS = new CopyOnWriteArrayList<>();

  /** Objects tracked since the last {@link #surfaceIfTracked()}. */
  private static final LongAdder TRACKED = new LongAdder();

  private static volatile boolean installed;

  private LeakRecorder() {}

  /** Installs the recording factory; idempotent. */
  public static synchronized void install() {
    if (installed) {
      return;
    }
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
    installed = true;
  }

  /**
   * Fails if buffers are not tracked by a recording detector (the factory was installed after Netty
   * created its buffer detector) or the detector is off.
   */
  public static void checkInstalled() {
    if (!installed) {
      throw new IllegalStateException("LeakRecorder.install() was not called");
    }
    if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
      throw new IllegalStateException(
          "Netty leak detection level is "
              + ResourceLeakDetector.getLevel()
              + ", tests expect PARANOID (-Dio.netty.leakDetection.level=paranoid)");
    }
    boolean tracksBuffers = false;
    for (RecordingDetector<?> d : DETECTORS) {
      tracksBuffers |= d.resourceType.equals(ByteBuf.class);
    }
    if (!tracksBuffers) {
      // Allocating makes Netty create its buffer detector now, if it has not yet.
      ByteBufAllocator.DEFAULT.directBuffer(1).release();
      for (RecordingDetector<?> d : DETECTORS) {
        tracksBuffers |= d.resourceType.equals(ByteBuf.class);
      }
    }
    if (!tracksBuffers) {
      throw new IllegalStateException(
          "Netty's ByteBuf leak detector was created before "
              + "LeakRecorder was installed: leaks would go unnoticed");
    }
  }

  /**
   * Runs the garbage collector until it has processed its references, then makes every detector
   * poll its queue, so leaks of objects that are unreachable now are reported now.
   */
  public static void surface() {
    // Two collections: the reference handler hands over one collection's references as a batch, so
    // when the second collection's sentinel is enqueued, every reference of the first one is too.
    collectGarbage();
    collectGarbage();
    for (RecordingDetector<?> d : DETECTORS) {
      d.poll();
    }
  }

  /**
   * Like {@link #surface()}, but skips the (slow) collections when Netty has tracked nothing since
   * the last call: then nothing new can have leaked. Pure logic tests pay nothing this way; an
   * object tracked earlier and dropped later is still caught by the next call that surfaces.
   */
  public static void surfaceIfTracked() {
    if (TRACKED.sumThenReset() > 0) {
      surface();
    }
  }

  private static void collectGarbage() {
    ReferenceQueue<Object> queue = new ReferenceQueue<>();
    WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
    try {
      for (int i = 0; i < 10; i++) {
        System.gc();
        if (queue.remove(20) != null) {
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      sentinel.clear();
    }
  }

  /** Removes and returns every report captured so far. */
  public static List<Report> drain() {
    List<Report> out = new ArrayList<>();
    Report r;
    while ((r = REPORTS.poll()) != null) {
      out.add(r);
    }
    return out;
  }

  /** Removes and returns the reports matching {@code filter}, leaving the others. */
  public static List<Report> take(Predicate<Report> filter) {
    List<Report> out = new ArrayList<>();
    for (Report r : REPORTS) {
      if (filter.test(r) && REPORTS.remove(r)) {
        out.add(r);
      }
    }
    return out;
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    // The abstract method Netty calls is deprecated but still the one every factory must implement.
    @Override
    @Deprecated
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval, long maxActive) {
      return newResourceLeakDetector(resource, samplingInterval);
    }

    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval) {
      RecordingDetector<T> detector = new RecordingDetector<>(resource, samplingInterval);
      DETECTORS.add(detector);
      return detector;
    }
  }

  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    private final Class<T> resourceType;

    RecordingDetector(Class<T> resourceType, int samplingInterval) {
      super(resourceType, samplingInterval);
      this.resourceType = resourceType;
    }

    @Override
    public ResourceLeakTracker<T> track(T obj) {
      TRACKED.increment();
      return super.track(obj);
    }

    /** Netty skips reporting when its logger is off; a recorded leak must never be skipped. */
    @Override
    protected boolean needReport() {
      return true;
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      // Not logged as well: the failing test's message carries the records, and the leaks tests
      // provoke on purpose would otherwise print alarming lines in a green build.
      REPORTS.add(new Report(resourceType, records));
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      REPORTS.add(new Report(resourceType, ""));
    }

    /** Netty polls its reference queue only when it tracks a new object: track one and close it. */
    @SuppressWarnings("unchecked")
    void poll() {
      // Erased to Object inside the detector, which never looks at the tracked object itself.
      T probe = (T) new Object();
      ResourceLeakTracker<T> tracker = trackForcibly(probe);
      if (tracker != null) {
        tracker.close(probe);
      }
    }
  }
}
