package dev.fetchflux.bench;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A peer of issue 7's benchmark ({@code src/bench/peers.sh}): the JDK's own
 * {@code java.net.http.HttpClient} with an ordered sliding window of C requests, as a user writes
 * it without a library: start requests until C are in flight, then wait for the oldest, write its
 * body, and start the next. Reads URLs from stdin, writes the bodies to stdout in input order.
 * HTTP/1.1 for {@code http://} URLs (the client's default, HTTP/2, would try an h2c upgrade on
 * every new connection) and HTTP/2 for {@code https://}; everything else is the client's defaults.
 *
 * <p>Usage: {@code JdkHttpClientPeer -c C < urls > bodies}
 */
public final class JdkHttpClientPeer {

  private JdkHttpClientPeer() {}

  public static void main(String[] args) throws IOException {
    int c = Integer.parseInt(args[List.of(args).indexOf("-c") + 1]);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpClient https = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();

    ArrayDeque<CompletableFuture<HttpResponse<byte[]>>> window = new ArrayDeque<>(c);
    String line;
    while ((line = in.readLine()) != null) {
      String url = line.strip();
      if (url.isEmpty()) {
        continue;
      }
      if (window.size() == c) {
        out.write(window.removeFirst().join().body());
      }
      HttpClient client = url.startsWith("https:") ? https : http;
      window.addLast(
          client.sendAsync(
              HttpRequest.newBuilder(URI.create(url)).build(),
              HttpResponse.BodyHandlers.ofByteArray()));
    }
    while (!window.isEmpty()) {
      out.write(window.removeFirst().join().body());
    }
    out.flush();
  }
}
