package dev.fetchflux.cli;

import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.fetchflux.Body;
import dev.fetchflux.FetchException;
import dev.fetchflux.FetchResult;
import dev.fetchflux.Headers;
import dev.fetchflux.StreamedResult;
import dev.fetchflux.Timings;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Writes one JSON object per result, one per line (the schema is in {@code docs/cli.md}). Used for
 * {@code --jsonl} on stdout and for the manifest of {@code -o}.
 */
final class JsonLines {
  private static final JsonFactory FACTORY = JsonFactory.builder().build();

  private final JsonGenerator gen;
  private final boolean withBody;

  JsonLines(OutputStream out) throws IOException {
    this(out, false);
  }

  /**
   * @param withBody whether each record carries the body ({@code --jsonl-body}): {@code body} and
   *     {@code body_encoding} after {@code redirects}
   */
  JsonLines(OutputStream out, boolean withBody) throws IOException {
    this.withBody = withBody;
    this.gen = FACTORY.createGenerator(out, JsonEncoding.UTF8);
    gen.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
    gen.setRootValueSeparator(null);
  }

  /**
   * What a record says of a success, whether its body was collected ({@link FetchResult.Success})
   * or streamed ({@link StreamedResult.Success}, once its body has ended).
   *
   * @param bytes the body's length
   * @param timings start, time to first byte, and total until the body's end
   * @param body the body, when the record carries it ({@code --jsonl-body}), else {@code null}
   */
  record Done(
      long index,
      String url,
      URI finalUri,
      int status,
      Headers headers,
      long bytes,
      Timings timings,
      int attempts,
      int redirects,
      @Nullable Body body) {

    /** A collected success. */
    static Done of(FetchResult.Success ok) {
      return new Done(
          ok.index(),
          ok.url(),
          ok.finalUri(),
          ok.status(),
          ok.headers(),
          ok.body().size(),
          ok.timings(),
          ok.attempts(),
          ok.redirects(),
          ok.body());
    }

    /** A streamed success whose body ended whole after {@code bytes} bytes. */
    static Done of(StreamedResult.Success ok, long bytes, @Nullable Body body) {
      return new Done(
          ok.index(),
          ok.url(),
          ok.finalUri(),
          ok.status(),
          ok.headers(),
          bytes,
          ok.body().timings(),
          ok.attempts(),
          ok.redirects(),
          body);
    }
  }

  /**
   * Writes the record of {@code result}.
   *
   * @param method the request's method as reported (for a rejected JSONL line, the line's)
   * @param failure the failure's message as printed on stderr
   * @param withFile whether to write the {@code file} field (only with {@code -o})
   * @param file the file the body went to, relative to the output directory
   */
  void write(
      FetchResult result,
      String method,
      @Nullable String failure,
      boolean withFile,
      @Nullable String file)
      throws IOException {
    if (result instanceof FetchResult.Success ok) {
      write(Done.of(ok), method, withFile, file);
      return;
    }
    FetchResult.Failure f = (FetchResult.Failure) result;
    start(result.index(), result.url(), method, false);
    FetchException e = f.error();
    gen.writeNullField("final_url");
    if (e.status() > 0) {
      gen.writeNumberField("status", e.status());
    } else {
      gen.writeNullField("status");
    }
    gen.writeNullField("headers");
    gen.writeNullField("bytes");
    timings(f.timings());
    gen.writeNumberField("attempts", e.attempts());
    gen.writeNullField("redirects");
    if (withBody) {
      gen.writeNullField("body");
      gen.writeNullField("body_encoding");
    }
    if (withFile) {
      gen.writeStringField("file", file);
    }
    gen.writeObjectFieldStart("error");
    gen.writeStringField("kind", f.kind().name().toLowerCase(Locale.ROOT));
    gen.writeStringField("message", failure != null ? failure : f.error().getMessage());
    gen.writeEndObject();
    end();
  }

  /**
   * Writes the record of a success.
   *
   * @param withFile whether to write the {@code file} field (only with {@code -o})
   * @param file the file the body went to, relative to the output directory
   */
  void write(Done ok, String method, boolean withFile, @Nullable String file) throws IOException {
    start(ok.index(), ok.url(), method, true);
    gen.writeStringField("final_url", ok.finalUri().toString());
    gen.writeNumberField("status", ok.status());
    gen.writeObjectFieldStart("headers");
    for (Map.Entry<String, List<String>> h : ok.headers().toMap().entrySet()) {
      gen.writeArrayFieldStart(h.getKey());
      for (String v : h.getValue()) {
        gen.writeString(v);
      }
      gen.writeEndArray();
    }
    gen.writeEndObject();
    gen.writeNumberField("bytes", ok.bytes());
    timings(ok.timings());
    gen.writeNumberField("attempts", ok.attempts());
    gen.writeNumberField("redirects", ok.redirects());
    if (withBody) {
      body(java.util.Objects.requireNonNull(ok.body(), "a record with its body needs the body"));
    }
    if (withFile) {
      gen.writeStringField("file", file);
    }
    gen.writeNullField("error");
    end();
  }

  /** Whether records carry the body ({@code --jsonl-body}). */
  boolean withBody() {
    return withBody;
  }

  private void start(long index, String url, String method, boolean ok) throws IOException {
    gen.writeStartObject();
    gen.writeNumberField("index", index);
    gen.writeStringField("url", url);
    gen.writeStringField("method", method);
    gen.writeBooleanField("ok", ok);
  }

  private void end() throws IOException {
    gen.writeEndObject();
    gen.writeRaw('\n');
  }

  /**
   * Writes {@code body} and {@code body_encoding}: the text when the bytes are valid UTF-8, else
   * base64 (standard alphabet, padded, no line breaks). Both are streamed from the body, so a body
   * spilled to a file is read twice (check, then write) but never held whole in the heap; blocking,
   * hence only on the writer thread.
   */
  private void body(Body body) throws IOException {
    gen.writeFieldName("body");
    if (isUtf8(body)) {
      try (Reader text = utf8(body.asInputStream())) {
        gen.writeString(text, -1);
      }
      gen.writeStringField("body_encoding", "utf-8");
    } else {
      try (InputStream in = body.asInputStream()) {
        long size = body.size();
        gen.writeBinary(
            Base64Variants.MIME_NO_LINEFEEDS, in, size <= Integer.MAX_VALUE ? (int) size : -1);
      }
      gen.writeStringField("body_encoding", "base64");
    }
  }

  /** Whether all of {@code body} decodes as UTF-8 (no malformed or truncated sequence). */
  static boolean isUtf8(Body body) throws IOException {
    char[] buf = new char[8192];
    try (Reader in = utf8(body.asInputStream())) {
      while (in.read(buf) >= 0) {
        // Decoding is the check.
      }
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  /** A reader that fails on bytes that are not UTF-8, where the default would replace them. */
  private static Reader utf8(InputStream in) {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    return new InputStreamReader(in, decoder);
  }

  private void timings(Timings t) throws IOException {
    gen.writeObjectFieldStart("timings");
    if (t.start().toEpochMilli() == 0) {
      gen.writeNullField("start");
    } else {
      gen.writeStringField("start", t.start().toString());
    }
    gen.writeNumberField("ttfb_ms", millis(t.timeToFirstByte()));
    gen.writeNumberField("total_ms", millis(t.total()));
    gen.writeEndObject();
  }

  /** Milliseconds with microsecond precision. */
  private static double millis(Duration d) {
    return Math.round(d.toNanos() / 1_000.0) / 1_000.0;
  }

  void flush() throws IOException {
    gen.flush();
  }

  void close() throws IOException {
    gen.close();
  }
}
