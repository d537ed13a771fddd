package dev.fetchflux.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fetchflux.FetchResult;
import dev.fetchflux.Fetcher;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The extension's lifecycle, driven through its callbacks with stand-in contexts (only their unique
 * ids matter to it), and once through JUnit itself.
 */
@Timeout(30)
class TestServerExtensionTest {

  /** An {@link ExtensionContext} knowing only its unique id, all the extension reads. */
  private static ExtensionContext context(String uniqueId) {
    return (ExtensionContext)
        Proxy.newProxyInstance(
            TestServerExtensionTest.class.getClassLoader(),
            new Class<?>[] {ExtensionContext.class},
            (proxy, method, args) -> {
              if (method.getName().equals("getUniqueId")) {
                return uniqueId;
              }
              throw new UnsupportedOperationException(method.getName());
            });
  }

  private static void assertClosed(int port) {
    assertThatThrownBy(
            () -> {
              try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
                socket.getPort();
              }
            })
        .isInstanceOf(ConnectException.class);
  }

  private static void assertServes(TestServerExtension server) throws IOException {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
      assertThat(socket.isConnected()).isTrue();
    }
  }

  @Test
  void staticFieldKeepsOneServerForTheClassIncludingNestedClasses() throws IOException {
    TestServerExtension extension = new TestServerExtension();
    ExtensionContext outer = context("[class:Outer]");
    ExtensionContext nested = context("[class:Outer]/[nested-class:Inner]");
    ExtensionContext test = context("[class:Outer]/[method:a()]");

    extension.beforeAll(outer);
    TestServer server = extension.get();
    extension.beforeAll(nested);
    extension.beforeEach(test);
    extension.afterEach(test);
    extension.afterAll(nested);

    assertThat(extension.get()).isSameAs(server);
    assertServes(extension);
    int port = extension.port();
    extension.afterAll(outer);
    assertThatThrownBy(extension::get)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("@RegisterExtension");
    assertClosed(port);
  }

  @Test
  void staticFieldServerForgetsRequestsBeforeEachTest() {
    TestServerExtension extension = new TestServerExtension();
    ExtensionContext outer = context("[class:Outer]");
    extension.beforeAll(outer);
    try (Fetcher fetcher = Fetcher.builder().eventLoopThreads(1).build()) {
      extension.beforeEach(context("[class:Outer]/[method:a()]"));
      fetcher.fetchOne(extension.url("/echo")).block(Duration.ofSeconds(5));
      assertThat(extension.requests()).hasSize(1);

      extension.beforeEach(context("[class:Outer]/[method:b()]"));
      assertThat(extension.requests()).isEmpty();
      assertThat(extension.peakInFlight()).isZero();
    } finally {
      extension.afterAll(outer);
    }
  }

  @Test
  void instanceFieldStartsAFreshServerForEachTestAndClosesIt() throws IOException {
    TestServerExtension extension = new TestServerExtension();
    ExtensionContext first = context("[class:Outer]/[method:a()]");
    ExtensionContext second = context("[class:Outer]/[method:b()]");

    extension.beforeEach(first);
    TestServer firstServer = extension.get();
    int firstPort = extension.port();
    assertServes(extension);
    extension.afterEach(first);
    assertClosed(firstPort);

    extension.beforeEach(second);
    assertThat(extension.get()).isNotSameAs(firstServer);
    assertServes(extension);
    extension.afterEach(second);
    assertThatThrownBy(extension::get).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void factoryChoosesHowTheServerStarts() {
    TestServerExtension extension =
        new TestServerExtension(() -> TestServer.builder().threads(2).start());
    ExtensionContext test = context("[class:Outer]/[method:a()]");
    extension.beforeEach(test);
    try {
      assertThat(extension.url("/x")).startsWith("http://127.0.0.1:" + extension.port());
    } finally {
      extension.afterEach(test);
    }
  }

  /** The extension registered the way users register it. */
  @Nested
  class RegisteredWithJunit {
    @RegisterExtension final TestServerExtension server = new TestServerExtension();

    @Test
    void injectsTheSameServerAsAParameter(TestServer injected) {
      server.route("/hello", Reply.ok("hi"));
      try (Fetcher fetcher = Fetcher.builder().eventLoopThreads(1).build()) {
        FetchResult result = fetcher.fetchOne(injected.url("/hello")).block(Duration.ofSeconds(5));
        assertThat(result)
            .isInstanceOfSatisfying(
                FetchResult.Success.class, ok -> assertThat(ok.body().asString()).isEqualTo("hi"));
      }
      assertThat(injected).isSameAs(server.get());
      assertThat(server.requests("/hello")).hasSize(1);
    }
  }
}
