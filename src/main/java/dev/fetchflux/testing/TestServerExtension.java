package dev.fetchflux.testing;

import java.net.URI;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A JUnit 5 extension that starts a {@link TestServer} for a test class or for each test, and
 * closes it afterwards.
 *
 * <pre>{@code
 * class CatalogClientTest {
 *   @RegisterExtension
 *   static TestServerExtension server = new TestServerExtension();
 *
 *   @Test
 *   void readsItems() {
 *     server.route("/items", Reply.ok("[]"));
 *     // ... fetch server.url("/items") ...
 *   }
 * }
 * }</pre>
 *
 * <h2>Lifecycle</h2>
 * <ul>
 *   <li>In a {@code static} field: one server for the whole class (nested classes included),
 *       started before the first test and closed after the last. Before each test its recorded
 *       requests and counters are {@linkplain TestServer#resetCounters() reset}; its routes and
 *       handler stay, so give each test its own paths or script them again.
 *   <li>In an instance field: a fresh server for every test, closed after it.
 * </ul>
 * Test methods may also take a {@link TestServer} parameter; they get this extension's server.
 *
 * <p>Tests of one class that run concurrently share the server of a static field; an instance field
 * with concurrent methods is not supported.
 *
 * <p>JUnit is an optional dependency of fetchflux: this class needs {@code junit-jupiter-api} on
 * the test class path, which every JUnit 5 project has.
 */
public final class TestServerExtension
    implements BeforeAllCallback,
        AfterAllCallback,
        BeforeEachCallback,
        AfterEachCallback,
        ParameterResolver {

  private final Supplier<TestServer> factory;
  private volatile @Nullable TestServer server;

  /** Unique id of the extension context that started the server, which also closes it. */
  private volatile @Nullable String owner;

  /** A plain-text server on an ephemeral port of 127.0.0.1 ({@link TestServer#start()}). */
  public TestServerExtension() {
    this(TestServer::start);
  }

  /**
   * A server made by {@code factory}, for example
   * {@code () -> TestServer.builder().https(key, cert).start()}; called once per class or test.
   */
  public TestServerExtension(Supplier<TestServer> factory) {
    this.factory = Objects.requireNonNull(factory, "factory");
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    startFor(context);
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    TestServer s = server;
    if (s == null) {
      startFor(context);
    } else {
      s.resetCounters();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    closeFor(context);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    closeFor(context);
  }

  private synchronized void startFor(ExtensionContext context) {
    // Nested classes call beforeAll again on a static field's extension: keep the outer server.
    if (server == null) {
      server = factory.get();
      owner = context.getUniqueId();
    }
  }

  private synchronized void closeFor(ExtensionContext context) {
    TestServer s = server;
    if (s != null && context.getUniqueId().equals(owner)) {
      server = null;
      owner = null;
      s.close();
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == TestServer.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return get();
  }

  /**
   * The running server.
   *
   * @throws IllegalStateException outside a test of a class that registered this extension
   */
  public TestServer get() {
    TestServer s = server;
    if (s == null) {
      throw new IllegalStateException(
          "no TestServer running: register the extension with "
              + "@RegisterExtension and use it in a test");
    }
    return s;
  }

  /** {@link TestServer#port()} of the running server. */
  public int port() {
    return get().port();
  }

  /** {@link TestServer#uri(String)} of the running server. */
  public URI uri(String pathAndQuery) {
    return get().uri(pathAndQuery);
  }

  /** {@link TestServer#url(String)} of the running server. */
  public String url(String pathAndQuery) {
    return get().url(pathAndQuery);
  }

  /** {@link TestServer#route(String, Reply)} on the running server. */
  public TestServer route(String path, Reply reply) {
    return get().route(path, reply);
  }

  /** {@link TestServer#handler(Function)} on the running server. */
  public TestServer handler(Function<RecordedRequest, @Nullable Reply> handler) {
    return get().handler(handler);
  }

  /** {@link TestServer#requests()} of the running server. */
  public List<RecordedRequest> requests() {
    return get().requests();
  }

  /** {@link TestServer#requests(String)} of the running server. */
  public List<RecordedRequest> requests(String path) {
    return get().requests(path);
  }

  /** {@link TestServer#peakInFlight()} of the running server. */
  public int peakInFlight() {
    return get().peakInFlight();
  }

  /** {@link TestServer#abandoned()} of the running server. */
  public int abandoned() {
    return get().abandoned();
  }
}
