package dev.fetchflux;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Parsing shared by {@link ResolveRule} and {@link ConnectToRule}: curl's colon forms. */
final class Rules {
  private Rules() {}

  /**
   * Splits {@code spec} at colons outside brackets into exactly {@code parts} parts; the last part
   * takes the rest (so {@code host:port:a,b} keeps its addresses together).
   */
  static List<String> split(String spec, int parts, String option, String form) {
    List<String> out = new ArrayList<>(parts);
    int start = 0;
    int depth = 0;
    for (int i = 0; i < spec.length() && out.size() < parts - 1; i++) {
      char c = spec.charAt(i);
      if (c == '[') {
        depth++;
      } else if (c == ']') {
        depth--;
      } else if (c == ':' && depth == 0) {
        out.add(spec.substring(start, i));
        start = i + 1;
      }
    }
    if (out.size() != parts - 1) {
      throw new IllegalArgumentException(option + " must be " + form + ": " + spec);
    }
    out.add(spec.substring(start));
    return out;
  }

  /** A port: empty means 0 (any, or unchanged); otherwise 1 to 65535. */
  static int port(String text, String option, String spec) {
    if (text.isEmpty()) {
      return 0;
    }
    try {
      int p = Integer.parseInt(text);
      if (p >= 1 && p <= 65535) {
        return p;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(option + " port is not 1..65535: '" + text + "' in " + spec);
  }

  /** A host lower-cased, without IPv6 brackets; no spaces, slashes or control characters. */
  static String host(String host, String option) {
    String h = host.strip();
    if (h.startsWith("[")) {
      if (!h.endsWith("]")) {
        throw new IllegalArgumentException(option + ": unclosed '[' in host " + host);
      }
      h = h.substring(1, h.length() - 1);
    }
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      if (c <= ' ' || c == 0x7f || c == '/' || c == '@' || c == '[' || c == ']') {
        throw new IllegalArgumentException(option + ": invalid character in host '" + host + "'");
      }
    }
    return h.toLowerCase(Locale.ROOT);
  }

  /** An IPv6 address in brackets, anything else as is. */
  static String bracket(String host) {
    return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
  }
}
