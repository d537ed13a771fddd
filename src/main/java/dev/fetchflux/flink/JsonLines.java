package dev.fetchflux.flink;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/** The JSON-lines form of {@link FetchRecord}: fixed field order, {@code seq} first. */
final class JsonLines {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonFactory FACTORY = MAPPER.getFactory();

  private JsonLines() {}

  static String write(FetchRecord r) {
    StringWriter out = new StringWriter(256);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.writeStartObject();
      // seq first: MergeParts finds it without reading the rest of the line.
      g.writeNumberField("seq", r.seq());
      g.writeStringField("url", r.url());
      optional(g, "finalUrl", r.finalUrl());
      g.writeNumberField("status", r.status());
      g.writeNumberField("bytes", r.bytes());
      optional(g, "sha256", r.sha256());
      optional(g, "body", r.body());
      if (r.startEpochMillis() != 0) {
        g.writeStringField("start", Instant.ofEpochMilli(r.startEpochMillis()).toString());
      }
      g.writeNumberField("ttfbMs", r.ttfbMillis());
      g.writeNumberField("totalMs", r.totalMillis());
      g.writeNumberField("attempts", r.attempts());
      g.writeNumberField("redirects", r.redirects());
      if (r.errorKind() != null) {
        g.writeObjectFieldStart("error");
        g.writeStringField("kind", r.errorKind());
        optional(g, "message", r.errorMessage());
        g.writeEndObject();
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot happen: writing to a StringWriter", e);
    }
    return out.toString();
  }

  private static void optional(JsonGenerator g, String name, @Nullable String value)
      throws IOException {
    if (value != null) {
      g.writeStringField(name, value);
    }
  }

  static FetchRecord read(String line) {
    JsonNode n;
    try {
      n = MAPPER.readTree(line);
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + abbreviate(line), e);
    }
    if (n == null
        || !n.isObject()
        || !n.path("seq").canConvertToLong()
        || !n.path("url").isTextual()) {
      throw new IllegalArgumentException(
          "not a fetch record (needs seq and url): " + abbreviate(line));
    }
    JsonNode error = n.path("error");
    String start = text(n, "start");
    return new FetchRecord(
        n.get("seq").asLong(),
        n.get("url").asText(),
        text(n, "finalUrl"),
        n.path("status").asInt(),
        n.path("bytes").asLong(),
        text(n, "sha256"),
        text(n, "body"),
        start == null ? 0 : Instant.parse(start).toEpochMilli(),
        n.path("ttfbMs").asDouble(),
        n.path("totalMs").asDouble(),
        n.path("attempts").asInt(),
        n.path("redirects").asInt(),
        text(error, "kind"),
        text(error, "message"));
  }

  private static @Nullable String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  /**
   * The top-level {@code seq} of a JSON object line, read with a streaming parser that stops as
   * soon as it has it (our writer puts it first).
   *
   * @throws IllegalArgumentException if the line is not a JSON object with a numeric top-level seq
   */
  static long seqOf(String line) {
    try (JsonParser p = FACTORY.createParser(line)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("not a JSON object: " + abbreviate(line));
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if ("seq".equals(name)) {
          if (value != JsonToken.VALUE_NUMBER_INT) {
            throw new IllegalArgumentException("seq is not an integer: " + abbreviate(line));
          }
          return p.getLongValue();
        }
        p.skipChildren();
      }
      throw new IllegalArgumentException(
          "no top-level seq: " + abbreviate(line) + " (at " + t + ")");
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + abbreviate(line), e);
    }
  }

  private static String abbreviate(String line) {
    return line.length() <= 120 ? line : line.substring(0, 117) + "...";
  }
}
