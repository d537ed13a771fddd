/**
 * fetchflux: fetch many URLs concurrently and get the results back in input order, as a stream.
 *
 * <p>Exports the API ({@code dev.fetchflux}), the shipped test support
 * ({@code dev.fetchflux.testing}) and the Micrometer binding ({@code dev.fetchflux.micrometer}).
 * {@code dev.fetchflux.internal} and the command ({@code dev.fetchflux.cli}) stay inside.
 * {@code dev.fetchflux.flink} is not exported either: Flink's jars cannot be modules (their
 * packages are split across jars), so that package is compiled against the class path and works
 * where Flink runs user code, on the class path. See docs/architecture.md, "The module and its
 * dependencies".
 */
module dev.fetchflux {
  // The API speaks in Flux, Mono and Publisher, and marks nullness with JSpecify.
  requires transitive reactor.core;
  requires transitive org.reactivestreams;
  requires transitive org.jspecify;
  requires reactor.netty.core;
  requires reactor.netty.http;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.codec.compression;
  requires io.netty.codec.http;
  // reactor-netty's HttpClient links HTTP/2 classes even for HTTP/1.1; as an automatic module it
  // cannot say so itself, so without this line a fetch on the module path fails to link.
  requires io.netty.codec.http2;
  requires io.netty.common;
  requires io.netty.handler;
  requires io.netty.handler.proxy;
  requires io.netty.resolver;
  requires io.netty.resolver.dns;
  requires io.netty.transport;
  requires java.logging;
  requires java.management;

  // Optional dependencies (optional in the POM too): present only for the parts that use them.
  requires static info.picocli;
  requires static com.fasterxml.jackson.databind;
  requires static transitive micrometer.core;
  requires static transitive org.junit.jupiter.api;

  exports dev.fetchflux;
  exports dev.fetchflux.testing;
  exports dev.fetchflux.micrometer;

  // picocli reads the command's annotated fields and methods reflectively.
  opens dev.fetchflux.cli to
      info.picocli;
}
