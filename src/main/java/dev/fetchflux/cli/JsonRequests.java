package dev.fetchflux.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.fetchflux.Body;
import dev.fetchflux.FetchRequest;
import java.net.URI;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * {@code --input-format jsonl}: one request per line, as a JSON object
 * {@code {"url": ..., "method": ..., "headers": {...}, "body": ... | "body_base64": ...}} (the
 * schema is in {@code docs/cli.md}).
 */
final class JsonRequests {
  /**
   * Duplicate keys are refused ({@code {"url": a, "url": b}} is ambiguous, not "the last wins"), and
   * so is anything after the object (two objects pasted on one line are a mistake, not the first).
   */
  private static final JsonMapper MAPPER =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private static final Set<String> FIELDS =
      Set.of("url", "method", "headers", "body", "body_base64");

  private JsonRequests() {}

  /**
   * A line that is not a valid request: handed to the fetcher in its place, it is not a type the
   * fetcher accepts, so it becomes an {@code INVALID_REQUEST} failure at its index;
   * {@link Runner} then reports {@code reason} with the line number.
   *
   * @param text the request's URL if the line had one, else a short stand-in naming the line
   * @param method the request's method if the line had one, else {@code GET}
   * @param cause what refused the line (Jackson's or the request's exception), for {@code -v}
   */
  record Rejected(String text, String method, String reason, @Nullable Throwable cause) {
    @Override
    public String toString() {
      return text;
    }
  }

  /** The request of {@code line}, or a {@link Rejected} saying what is wrong with it. */
  static Object parse(String line, String placeholder) {
    JsonNode node;
    try {
      node = MAPPER.readTree(line);
    } catch (JacksonException e) {
      return new Rejected(
          placeholder, "GET", "invalid JSON: " + Converters.oneLine(e.getOriginalMessage()), e);
    }
    if (node == null || !node.isObject()) {
      return new Rejected(placeholder, "GET", "expected a JSON object per line", null);
    }
    JsonNode url = node.get("url");
    String text = url != null && url.isTextual() ? url.textValue() : placeholder;
    JsonNode m = node.get("method");
    String method = m != null && m.isTextual() ? m.textValue() : "GET";
    try {
      return request(node, url, m);
    } catch (IllegalArgumentException e) {
      return new Rejected(text, method, Converters.oneLine(String.valueOf(e.getMessage())), e);
    }
  }

  private static FetchRequest request(JsonNode node, @Nullable JsonNode url, @Nullable JsonNode m) {
    for (Map.Entry<String, JsonNode> field : node.properties()) {
      String name = field.getKey();
      if (!FIELDS.contains(name)) {
        throw new IllegalArgumentException(
            "unknown field \""
                + name
                + "\" (expected url, method, "
                + "headers, body or body_base64)");
      }
    }
    if (url == null || !url.isTextual()) {
      throw new IllegalArgumentException("\"url\" is missing or not a string");
    }
    URI uri = FetchRequest.parseUrl(url.textValue());
    FetchRequest.Builder b = FetchRequest.builder(uri);
    if (m != null) {
      if (!m.isTextual() || m.textValue().isEmpty()) {
        throw new IllegalArgumentException("\"method\" is not a non-empty string");
      }
      b.method(m.textValue());
    }
    JsonNode headers = node.get("headers");
    if (headers != null && !headers.isNull()) {
      if (!headers.isObject()) {
        throw new IllegalArgumentException("\"headers\" is not an object");
      }
      for (Map.Entry<String, JsonNode> h : headers.properties()) {
        if (h.getValue().isTextual()) {
          b.header(h.getKey(), h.getValue().textValue());
        } else if (h.getValue().isArray()) {
          for (JsonNode v : h.getValue()) {
            if (!v.isTextual()) {
              throw new IllegalArgumentException(
                  "header \"" + h.getKey() + "\" has a value that is not a string");
            }
            b.header(h.getKey(), v.textValue());
          }
        } else {
          throw new IllegalArgumentException(
              "header \"" + h.getKey() + "\" is not a string or an array of strings");
        }
      }
    }
    JsonNode text = node.get("body");
    JsonNode base64 = node.get("body_base64");
    if (text != null && base64 != null) {
      throw new IllegalArgumentException("both \"body\" and \"body_base64\" given; use one");
    }
    if (text != null) {
      if (!text.isTextual()) {
        throw new IllegalArgumentException("\"body\" is not a string");
      }
      b.body(Body.of(text.textValue()));
    } else if (base64 != null) {
      if (!base64.isTextual()) {
        throw new IllegalArgumentException("\"body_base64\" is not a string");
      }
      try {
        b.body(Body.adopt(Base64.getDecoder().decode(base64.textValue())));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("\"body_base64\" is not base64: " + e.getMessage(), e);
      }
    }
    return b.build();
  }
}
