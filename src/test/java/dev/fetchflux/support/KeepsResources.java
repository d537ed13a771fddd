package dev.fetchflux.support;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares descriptors or temporary files that a test (on a method) or a class (on its class,
 * checked after {@code @AfterAll}) leaves behind on purpose, so {@link ResourceLeakExtension} does
 * not count them as leaks.
 *
 * <p>Each pattern is a regular expression found in the leak's description, as the extension prints
 * it: a descriptor's target ({@code socket:[123] tcp 127.0.0.1:40112 -> 127.0.0.1:35281
 * ESTABLISHED}, {@code /path/to/file}) or a temporary file's path. Make it name the one resource,
 * not a kind ({@code "socket:"} would allow every connection) and say why in {@link #reason()}.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface KeepsResources {
  /** Regular expressions, each found in the description of one resource kept. */
  String[] value();

  /** Why the resource outlives the test, and who releases it. */
  String reason();
}
