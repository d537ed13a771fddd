package dev.fetchflux;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Immutable HTTP header fields in the order they were given, with case-insensitive look-up.
 *
 * <p>Names and values are checked when a header is added through {@link #with}: a name must be a valid
 * HTTP token and a value must not contain CR, LF, NUL or other control characters except horizontal tab.
 * reactor-netty sends such values as they are, which lets a crafted value inject headers; fetchflux
 * refuses them when the request is configured, naming the header.
 */
public final class Headers {
  private static final Headers EMPTY = new Headers(List.of());

  private final List<Map.Entry<String, String>> entries;

  private Headers(List<Map.Entry<String, String>> entries) {
    this.entries = entries;
  }

  /** No headers. */
  public static Headers empty() {
    return EMPTY;
  }

  /**
   * Headers from alternating names and values, for example {@code Headers.of("Accept", "text/plain")}.
   *
   * @throws IllegalArgumentException if a name or value is invalid, or the count is odd
   */
  public static Headers of(String... namesAndValues) {
    if (namesAndValues.length % 2 != 0) {
      throw new IllegalArgumentException("expected name/value pairs, got " + namesAndValues.length);
    }
    Headers h = EMPTY;
    for (int i = 0; i < namesAndValues.length; i += 2) {
      h = h.with(namesAndValues[i], namesAndValues[i + 1]);
    }
    return h;
  }

  /**
   * Headers from already-decoded name/value pairs (a response), without validation: the HTTP codec has
   * checked them. Use {@link #of} or {@link #with} for anything a user typed.
   */
  public static Headers ofDecoded(List<Map.Entry<String, String>> entries) {
    return entries.isEmpty() ? EMPTY : new Headers(List.copyOf(entries));
  }

  /**
   * A copy with one more field.
   *
   * @throws IllegalArgumentException if the name is not an HTTP token or the value has control
   *     characters (CR, LF, NUL, ...)
   */
  public Headers with(String name, String value) {
    validateName(name);
    validateValue(name, value);
    List<Map.Entry<String, String>> copy = new ArrayList<>(entries.size() + 1);
    copy.addAll(entries);
    copy.add(Map.entry(name, value));
    return new Headers(Collections.unmodifiableList(copy));
  }

  /** A copy without any field of this name (case-insensitive). */
  public Headers without(String name) {
    List<Map.Entry<String, String>> copy = new ArrayList<>(entries.size());
    for (Map.Entry<String, String> e : entries) {
      if (!e.getKey().equalsIgnoreCase(name)) {
        copy.add(e);
      }
    }
    return copy.size() == entries.size() ? this : new Headers(Collections.unmodifiableList(copy));
  }

  /** A copy where {@code other}'s fields replace the fields of the same names here. */
  public Headers withAll(Headers other) {
    Headers h = this;
    for (String name : other.names()) {
      h = h.without(name);
    }
    List<Map.Entry<String, String>> copy = new ArrayList<>(h.entries);
    copy.addAll(other.entries);
    return new Headers(Collections.unmodifiableList(copy));
  }

  /** The first value of {@code name}, or {@code null}. */
  public @Nullable String first(String name) {
    for (Map.Entry<String, String> e : entries) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue();
      }
    }
    return null;
  }

  /** Every value of {@code name}, in order. */
  public List<String> all(String name) {
    List<String> values = new ArrayList<>(2);
    for (Map.Entry<String, String> e : entries) {
      if (e.getKey().equalsIgnoreCase(name)) {
        values.add(e.getValue());
      }
    }
    return Collections.unmodifiableList(values);
  }

  /** Whether a field of this name is present. */
  public boolean contains(String name) {
    return first(name) != null;
  }

  /** Distinct names, in first-seen order and spelling. */
  public List<String> names() {
    List<String> names = new ArrayList<>();
    for (Map.Entry<String, String> e : entries) {
      boolean seen = false;
      for (String n : names) {
        seen |= n.equalsIgnoreCase(e.getKey());
      }
      if (!seen) {
        names.add(e.getKey());
      }
    }
    return names;
  }

  /** All fields in order, as immutable name/value entries. */
  public List<Map.Entry<String, String>> entries() {
    return entries;
  }

  /** Names lower-cased, values in order; convenient for JSON. */
  public Map<String, List<String>> toMap() {
    Map<String, List<String>> map = new TreeMap<>();
    for (Map.Entry<String, String> e : entries) {
      map.computeIfAbsent(e.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(e.getValue());
    }
    return Collections.unmodifiableMap(map);
  }

  public int size() {
    return entries.size();
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  static void validateName(String name) {
    Objects.requireNonNull(name, "header name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("header name is empty");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean token = c > 0x20 && c < 0x7f && "\"(),/:;<=>?@[\\]{}".indexOf(c) < 0;
      if (!token) {
        throw new IllegalArgumentException(
            "header name " + quote(name) + " has an invalid character at " + i);
      }
    }
  }

  static void validateValue(String name, String value) {
    Objects.requireNonNull(value, "header value");
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        throw new IllegalArgumentException(
            "header "
                + name
                + " value has a control character (0x"
                + Integer.toHexString(c)
                + ") at "
                + i
                + ": "
                + quote(value));
      }
    }
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\r') {
        b.append("\\r");
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Headers h && h.entries.equals(entries);
  }

  @Override
  public int hashCode() {
    return entries.hashCode();
  }

  @Override
  public String toString() {
    return entries.toString();
  }
}
