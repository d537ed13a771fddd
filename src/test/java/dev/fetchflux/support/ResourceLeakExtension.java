package dev.fetchflux.support;

import java.lang.reflect.AnnotatedElement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails the test after which a socket, a file descriptor or one of the library's temporary files is
 * left open or on disk that was not before it ({@link OpenResources} says what counts), naming each
 * leak: the descriptor's target with, for a socket, its addresses and state; the file's path.
 *
 * <p>Registered for every test through {@code META-INF/services} (surefire turns on JUnit's
 * extension autodetection), so it wraps every other extension and lifecycle method: what a test's
 * {@code @BeforeEach} opens and its {@code @AfterEach} (or a {@code TestServerExtension} in an
 * instance field) closes is not a leak. Asynchronous closes (event loops, {@code boundedElastic})
 * get {@link OpenResources#DEFAULT_WAIT} ({@code -Dfetchflux.leakcheck.waitMillis}, default
 * 3000) before anything is called a leak; a test with nothing left costs one look.
 *
 * <p>Scopes:
 * <ul>
 *   <li>each test against what was open just before it (so what {@code @BeforeAll} opened, such as
 *       a class's server, is part of every test's baseline);
 *   <li>each class, after its {@code @AfterAll}, against what was open before its
 *       {@code @BeforeAll}: a class-level server or temporary file must be gone too;
 *   <li>{@link SharesResourcesAcrossTests} on a class: only the class check, for tests that share
 *       something that opens connections lazily;
 *   <li>{@link KeepsResources} on a test or class: named resources that are kept on purpose.
 * </ul>
 * {@code -Dfetchflux.leakcheck=false} turns the check off. Descriptors are checked on Linux only;
 * temporary files everywhere.
 */
public final class ResourceLeakExtension
    implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback {

  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(ResourceLeakExtension.class);
  static final String WAIT_KEY = "fetchflux.leakcheck.waitMillis";
  private static final boolean ENABLED = !"false".equals(System.getProperty("fetchflux.leakcheck"));

  @Override
  public void beforeAll(ExtensionContext context) {
    if (ENABLED) {
      context.getStore(NAMESPACE).put("class", OpenResources.snapshot());
      context.getStore(NAMESPACE).put("accounted", ConcurrentHashMap.newKeySet());
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (ENABLED && sharedAcrossTests(context).isEmpty()) {
      context.getStore(NAMESPACE).put("test", OpenResources.snapshot());
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    OpenResources.Snapshot before =
        context.getStore(NAMESPACE).remove("test", OpenResources.Snapshot.class);
    if (before == null) {
      return;
    }
    Duration wait = waitFor(context);
    List<Pattern> kept = kept(context, true);
    List<OpenResources.Leak> leaks = OpenResources.leaksSince(before, kept, Set.of(), wait);
    // What this test already answered for (failed on, or declared kept) is not the class's leak.
    Set<String> accounted = accounted(context);
    leaks.forEach(l -> accounted.add(l.key()));
    OpenResources.keptSince(before, kept).forEach(l -> accounted.add(l.key()));
    if (!leaks.isEmpty()) {
      throw failure(context.getDisplayName(), leaks, wait);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    OpenResources.Snapshot before =
        context.getStore(NAMESPACE).remove("class", OpenResources.Snapshot.class);
    if (before == null) {
      return;
    }
    Duration wait = waitFor(context);
    List<OpenResources.Leak> leaks =
        OpenResources.leaksSince(before, kept(context, false), accounted(context), wait);
    if (!leaks.isEmpty()) {
      String where =
          "all of "
              + context.getDisplayName()
              + sharedAcrossTests(context).map(r -> " (tests share: " + r + ")").orElse("");
      throw failure(where, leaks, wait);
    }
  }

  /** The configuration parameter (or system property) {@value #WAIT_KEY}, else the default. */
  private static Duration waitFor(ExtensionContext context) {
    return context
        .getConfigurationParameter(WAIT_KEY)
        .map(v -> Duration.ofMillis(Long.parseLong(v)))
        .orElse(OpenResources.DEFAULT_WAIT);
  }

  /**
   * Keys of the resources the class's tests already failed on or declared kept; kept in the class
   * context's store, which a test's context reads through its parent.
   */
  @SuppressWarnings("unchecked")
  private static Set<String> accounted(ExtensionContext context) {
    Set<String> set = context.getStore(NAMESPACE).get("accounted", Set.class);
    return set == null ? new HashSet<>() : set;
  }

  static AssertionError failure(String where, List<OpenResources.Leak> leaks, Duration wait) {
    StringBuilder b =
        new StringBuilder()
            .append(leaks.size())
            .append(" resource(s) left open or on disk after ")
            .append(where)
            .append(" (still there ")
            .append(wait.toMillis())
            .append(" ms later; declare one kept on purpose with @KeepsResources):");
    for (OpenResources.Leak leak : leaks) {
      b.append("\n  ").append(leak);
    }
    return new AssertionError(b.toString());
  }

  private static Optional<String> sharedAcrossTests(ExtensionContext context) {
    for (Class<?> c = context.getRequiredTestClass(); c != null; c = c.getEnclosingClass()) {
      SharesResourcesAcrossTests shared = c.getAnnotation(SharesResourcesAcrossTests.class);
      if (shared != null) {
        return Optional.of(shared.reason());
      }
    }
    return Optional.empty();
  }

  /** The patterns of {@link KeepsResources} on the test method (if asked) and its classes. */
  private static List<Pattern> kept(ExtensionContext context, boolean withMethod) {
    List<Pattern> out = new ArrayList<>();
    if (withMethod) {
      context.getTestMethod().ifPresent(m -> add(m, out));
    }
    for (Class<?> c = context.getRequiredTestClass(); c != null; c = c.getEnclosingClass()) {
      add(c, out);
    }
    return out;
  }

  private static void add(AnnotatedElement element, List<Pattern> out) {
    KeepsResources keeps = element.getAnnotation(KeepsResources.class);
    if (keeps != null) {
      for (String regex : keeps.value()) {
        out.add(Pattern.compile(regex));
      }
    }
  }
}
