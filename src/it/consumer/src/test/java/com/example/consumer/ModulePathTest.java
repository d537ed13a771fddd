package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * fetchflux on the module path: the run-time dependencies resolve as modules around
 * {@code dev.fetchflux}, which exports its API and keeps {@code dev.fetchflux.internal} inside,
 * and a fetch works from such a module layer. The layer is built in this JVM from the same jars Maven
 * resolved for the class path, with the platform class loader as parent, so nothing from the test's
 * own class path leaks in.
 */
@Timeout(30)
class ModulePathTest {

  static ModuleLayer layer() throws Exception {
    String classPath =
        Files.readString(Path.of(System.getProperty("runtime.classpath.file"))).strip();
    Path[] jars =
        Arrays.stream(classPath.split(java.io.File.pathSeparator))
            .map(Path::of)
            .toArray(Path[]::new);
    ModuleFinder finder = ModuleFinder.of(jars);
    Configuration cf =
        ModuleLayer.boot()
            .configuration()
            .resolve(finder, ModuleFinder.of(), Set.of("dev.fetchflux"));
    return ModuleLayer.boot().defineModulesWithOneLoader(cf, ClassLoader.getPlatformClassLoader());
  }

  @Test
  void exportsTheApiAndKeepsTheInternalsInside() throws Exception {
    Module module = layer().findModule("dev.fetchflux").orElseThrow();
    ModuleDescriptor descriptor = module.getDescriptor();

    assertFalse(descriptor.isAutomatic(), "dev.fetchflux has a module-info");
    Set<String> exported =
        descriptor.exports().stream()
            .filter(e -> !e.isQualified())
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(
        new TreeSet<>(
            List.of("dev.fetchflux", "dev.fetchflux.micrometer", "dev.fetchflux.testing")),
        exported);
    assertTrue(module.getPackages().contains("dev.fetchflux.internal"));
    assertFalse(module.isExported("dev.fetchflux.internal"));
    assertFalse(module.isExported("dev.fetchflux.cli"));

    // A public method of a public class in the internal package cannot be called from outside the
    // module; the same method is callable on the class path, where nothing is encapsulated.
    Class<?> internal =
        Class.forName("dev.fetchflux.internal.Checks", false, module.getClassLoader());
    java.lang.reflect.Method positive =
        internal.getMethod("positive", String.class, Duration.class);
    assertThrows(
        IllegalAccessException.class,
        () -> positive.invoke(null, "timeout", Duration.ofSeconds(1)));
    assertEquals(
        Duration.ofSeconds(1),
        Class.forName("dev.fetchflux.internal.Checks")
            .getMethod("positive", String.class, Duration.class)
            .invoke(null, "timeout", Duration.ofSeconds(1)));
  }

  @Test
  void fetchesFromTheModuleLayer() throws Exception {
    ClassLoader loader = layer().findLoader("dev.fetchflux");
    Class<?> serverClass = loader.loadClass("dev.fetchflux.testing.TestServer");
    Class<?> fetcherClass = loader.loadClass("dev.fetchflux.Fetcher");
    Class<?> monoClass = loader.loadClass("reactor.core.publisher.Mono");

    try (AutoCloseable server = (AutoCloseable) serverClass.getMethod("start").invoke(null)) {
      String url = (String) serverClass.getMethod("url", String.class).invoke(server, "/echo");
      Object builder = fetcherClass.getMethod("builder").invoke(null);
      try (AutoCloseable fetcher =
          (AutoCloseable) builder.getClass().getMethod("build").invoke(builder)) {
        Object mono = fetcherClass.getMethod("fetchOne", CharSequence.class).invoke(fetcher, url);
        Object result =
            monoClass.getMethod("block", Duration.class).invoke(mono, Duration.ofSeconds(10));

        assertEquals("Success", result.getClass().getSimpleName(), () -> "got " + result);
        Object status = result.getClass().getMethod("status").invoke(result);
        assertEquals(200, status);
        assertEquals("dev.fetchflux", result.getClass().getModule().getName());
      }
    }
  }
}
