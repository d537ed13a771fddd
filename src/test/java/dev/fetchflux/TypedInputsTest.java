package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.ChildJvm;
import dev.fetchflux.support.Results;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

/**
 * The entry points are typed: URLs as text, requests, or anything with a function that makes a
 * request of it. A wrong element type does not compile (checked by compiling a caller with the
 * JDK's compiler against this build's class path); an input the function refuses fails in its
 * place, and {@code fetchOne} numbers its result as asked.
 */
@Timeout(60)
class TypedInputsTest {

  @TempDir Path dir;

  private List<String> compile(String body) throws IOException {
    Path src =
        Files.writeString(
            dir.resolve("Caller.java"),
            """
        import dev.fetchflux.*;
        import java.net.URI;
        import reactor.core.publisher.Flux;
        class Caller {
          void call(Fetcher fetcher) {
            %s
          }
        }
        """
                .formatted(body));
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    StringWriter out = new StringWriter();
    boolean ok =
        javac
            .getTask(
                out,
                null,
                null,
                List.of("-d", dir.toString(), "-classpath", ChildJvm.classPath(), "-proc:none"),
                null,
                javac.getStandardFileManager(null, null, null).getJavaFileObjects(src.toFile()))
            .call();
    return ok ? List.of() : List.of(out.toString());
  }

  @Test
  void wrongElementTypesDoNotCompile() throws IOException {
    for (String call :
        List.of(
            "fetcher.fetch(Flux.just(1, 2));",
            "fetcher.fetch(Flux.just(URI.create(\"http://a.test/\")));",
            "fetcher.fetchUnordered(Flux.just(new Object()));",
            "fetcher.fetchRequests(Flux.just(\"http://a.test/\"));",
            "fetcher.fetchOne(URI.create(\"http://a.test/\"));")) {
      assertThat(compile(call))
          .as(call)
          .singleElement()
          .asString()
          .containsAnyOf("no suitable method", "incompatible types", "cannot be applied");
    }
  }

  @Test
  void theTypedEntryPointsCompile() throws IOException {
    assertThat(
            compile(
                """
        fetcher.fetch(Flux.just("http://a.test/", new StringBuilder("http://b.test/")));
        fetcher.fetch(Flux.just(URI.create("http://a.test/")), FetchRequest::get);
        fetcher.fetchRequests(Flux.just(FetchRequest.get("http://a.test/")));
        fetcher.fetchUnordered(Flux.just("http://a.test/"));
        fetcher.fetchOrFail(Flux.just(1), i -> FetchRequest.get("http://a.test/" + i));
        fetcher.fetchOne("http://a.test/", 7);
        fetcher.fetchOne(FetchRequest.get("http://a.test/"), 7);
        """))
        .isEmpty();
  }

  /** A record of the caller's own type, made a request by a function that may refuse it. */
  record Row(int id, String path) {}

  @Test
  void inputsTheFunctionRefusesFailInTheirPlace() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      List<Row> rows = List.of(new Row(1, "/echo?1"), new Row(2, null), new Row(3, "/echo?3"));
      List<FetchResult> results =
          fetcher
              .fetch(
                  Flux.fromIterable(rows),
                  row ->
                      FetchRequest.get(
                          server.uri(
                              java.util.Objects.requireNonNull(
                                  row.path(), "row " + row.id() + " has no path"))))
              .collectList()
              .block(Results.WAIT);
      assertThat(results).extracting(FetchResult::index).containsExactly(0L, 1L, 2L);
      assertThat(results.get(0).isSuccess()).isTrue();
      assertThat(results.get(2).isSuccess()).isTrue();
      FetchResult.Failure refused = (FetchResult.Failure) results.get(1);
      assertThat(refused.kind()).isEqualTo(FetchException.Kind.INVALID_REQUEST);
      assertThat(refused.url()).isEqualTo("Row[id=2, path=null]");
      assertThat(refused.finalUri()).isNull();
      assertThat(refused.error().getCause())
          .isInstanceOf(NullPointerException.class)
          .hasMessage("row 2 has no path");
    }
  }

  @Test
  void fetchOneNumbersItsResultAsAsked() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      FetchResult ok = fetcher.fetchOne(server.url("/echo"), 41).block(Results.WAIT);
      assertThat(ok.index()).isEqualTo(41);
      FetchResult bad = fetcher.fetchOne("htp:/x", 42).block(Results.WAIT);
      assertThat(bad.index()).isEqualTo(42);
      assertThat(((FetchResult.Failure) bad).error().getMessage()).startsWith("#42 GET htp:/x: ");
      FetchResult viaRequest =
          fetcher.fetchOne(FetchRequest.get(server.uri("/echo")), 43).block(Results.WAIT);
      assertThat(viaRequest.index()).isEqualTo(43);
      assertThat(viaRequest.finalUri()).isEqualTo(server.uri("/echo"));
    }
  }

  @Test
  void failureAfterARedirectSaysWhereItHappened() {
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.route("/hop", dev.fetchflux.testing.Reply.redirect(302, "/reset"));
      FetchResult.Failure f =
          (FetchResult.Failure) fetcher.fetchOne(server.url("/hop")).block(Results.WAIT);
      assertThat(f.kind()).isEqualTo(FetchException.Kind.CONNECTION_RESET);
      assertThat(f.url()).isEqualTo(server.url("/hop"));
      assertThat(f.finalUri()).isEqualTo(server.uri("/reset"));
      assertThat(f.error().getCause()).isNotInstanceOf(TransportException.class);
    }
  }
}
