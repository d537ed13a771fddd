package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Results;
import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A request body kept in a file is streamed from it off the event loop (BlockHound, installed for
 * every test, fails a file read on a Netty thread), with its length announced, and sent again
 * whole when a redirect (307) or a retry repeats the request.
 */
@Timeout(30)
class FileRequestBodyTest {

  @TempDir Path dir;

  @Test
  void fileBackedBodyIsStreamedWithItsLength() throws IOException {
    byte[] bytes = Reply.pattern(3 * 1024 * 1024 + 17);
    Path file = Files.write(dir.resolve("upload.bin"), bytes);
    try (TestServer server = TestServer.start();
        Fetcher fetcher = Fetcher.builder().build()) {
      server.route("/upload", Reply.ok("stored"));
      server.route("/moved", Reply.redirect(307, "/upload"));
      FetchRequest post =
          FetchRequest.builder(URI.create(server.url("/moved")))
              .method("POST")
              .header("Content-Type", "application/octet-stream")
              .body(Body.adoptFile(file, bytes.length))
              .build();
      List<FetchResult> results = Results.fetchAll(fetcher, post);
      assertThat(results.get(0)).as("%s", results.get(0)).isInstanceOf(FetchResult.Success.class);
      assertThat(((FetchResult.Success) results.get(0)).body().asString()).isEqualTo("stored");
      List<RecordedRequest> requests = server.requests();
      assertThat(requests).hasSize(2);
      for (RecordedRequest r : requests) {
        assertThat(r.method()).isEqualTo("POST");
        assertThat(r.headers().first("Content-Length")).isEqualTo(Integer.toString(bytes.length));
        assertThat(r.headers().contains("Transfer-Encoding")).isFalse();
        assertThat(r.body().toByteArray()).isEqualTo(bytes);
      }
    }
  }
}
