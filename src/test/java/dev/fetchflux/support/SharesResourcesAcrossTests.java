package dev.fetchflux.support;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Moves {@link ResourceLeakExtension}'s check of a class from after each test to after the class:
 * for a class whose tests share something that opens descriptors or files lazily and keeps them
 * until {@code @AfterAll} (a shared fetcher's idle connections, a cluster started by the first
 * test). Everything opened while the class ran must still be closed after its {@code @AfterAll},
 * against what was open before its {@code @BeforeAll}, so a leak is still found, one class late in
 * naming the test. Say in {@link #reason()} what is shared and who closes it.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface SharesResourcesAcrossTests {
  /** What the tests share, and who closes it. */
  String reason();
}
