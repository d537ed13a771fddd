package dev.fetchflux;

import io.netty.util.NetUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * A parsed {@code no_proxy} list, matched as curl matches it: {@code *} alone matches every host; a
 * name matches itself and its subdomains (a leading dot, or {@code *.}, is ignored:
 * {@code example.com}, {@code .example.com} and {@code *.example.com} all match {@code example.com}
 * and {@code www.example.com}, not {@code notexample.com}); an IP address matches itself, a CIDR
 * block ({@code 10.0.0.0/8}, {@code fd00::/8}) the addresses inside it. Beyond curl, an entry may
 * end with {@code :port} ({@code [::1]:8080} for IPv6) to match that port only.
 */
final class NoProxy {

  private final String text;
  private final boolean all;
  private final List<Entry> entries;

  private NoProxy(String text, boolean all, List<Entry> entries) {
    this.text = text;
    this.all = all;
    this.entries = entries;
  }

  static final NoProxy NONE = new NoProxy("", false, List.of());

  /**
   * Parses a comma (or space) separated list; an empty list bypasses nothing.
   *
   * @param strict whether an invalid entry is an error; otherwise it is dropped, since curl,
   *     reading the same variable, would let it match nothing
   */
  static NoProxy parse(String list, boolean strict) {
    String text = list.strip();
    List<Entry> entries = new ArrayList<>();
    boolean all = false;
    for (String raw : text.split("[,\\s]+")) {
      if (raw.isEmpty()) {
        continue;
      }
      if (raw.equals("*")) {
        all = true;
        continue;
      }
      try {
        entries.add(Entry.parse(raw));
      } catch (IllegalArgumentException e) {
        if (strict) {
          throw e;
        }
      }
    }
    return new NoProxy(text, all, List.copyOf(entries));
  }

  /** Whether a request to {@code host:port} goes direct. */
  boolean matches(String host, int port) {
    if (all) {
      return true;
    }
    String h = normalize(host);
    byte @Nullable [] ip = NetUtil.createByteArrayFromIpAddressString(h);
    for (Entry e : entries) {
      if (e.matches(h, ip, port)) {
        return true;
      }
    }
    return false;
  }

  String text() {
    return text;
  }

  private static String normalize(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    while (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    return h;
  }

  /**
   * One entry: a domain (suffix match at a label boundary), or an address with a prefix length
   * (a plain address is a full-length prefix), and an optional port (0 = any).
   */
  private static final class Entry {
    private final String domain;
    private final byte @Nullable [] address;
    private final int prefixBits;
    private final int port;

    private Entry(String domain, byte @Nullable [] address, int prefixBits, int port) {
      this.domain = domain;
      this.address = address;
      this.prefixBits = prefixBits;
      this.port = port;
    }

    static Entry parse(String raw) {
      String s = raw.toLowerCase(Locale.ROOT);
      int port = 0;
      if (s.startsWith("[")) {
        int close = s.indexOf(']');
        if (close < 0) {
          throw new IllegalArgumentException("unclosed '[' in no_proxy entry: " + raw);
        }
        String rest = s.substring(close + 1);
        s = s.substring(1, close);
        if (rest.startsWith(":")) {
          port = port(rest.substring(1), raw);
        } else if (!rest.isEmpty()) {
          throw new IllegalArgumentException("unexpected text in no_proxy entry: " + raw);
        }
      } else {
        int colon = s.lastIndexOf(':');
        // One colon: host:port. More: a bare IPv6 address (curl's form), maybe with /bits.
        if (colon >= 0 && s.indexOf(':') == colon) {
          port = port(s.substring(colon + 1), raw);
          s = s.substring(0, colon);
        }
      }
      int slash = s.indexOf('/');
      String addressText = slash < 0 ? s : s.substring(0, slash);
      byte[] address = NetUtil.createByteArrayFromIpAddressString(addressText);
      if (address != null) {
        int bits = address.length * 8;
        if (slash >= 0) {
          try {
            bits = Integer.parseInt(s.substring(slash + 1));
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid CIDR prefix in no_proxy entry: " + raw, e);
          }
          if (bits < 0 || bits > address.length * 8) {
            throw new IllegalArgumentException(
                "CIDR prefix out of range in no_proxy entry: " + raw);
          }
        }
        return new Entry("", address, bits, port);
      }
      if (slash >= 0) {
        throw new IllegalArgumentException("CIDR prefix on a name in no_proxy entry: " + raw);
      }
      String domain = s;
      if (domain.startsWith("*.")) {
        domain = domain.substring(2);
      }
      while (domain.startsWith(".")) {
        domain = domain.substring(1);
      }
      while (domain.endsWith(".")) {
        domain = domain.substring(0, domain.length() - 1);
      }
      if (domain.isEmpty() || domain.indexOf('*') >= 0) {
        throw new IllegalArgumentException(
            "no_proxy entry must be *, a host or domain name, or an IP address: " + raw);
      }
      return new Entry(domain, null, 0, port);
    }

    boolean matches(String host, byte @Nullable [] ip, int requestPort) {
      if (port != 0 && port != requestPort) {
        return false;
      }
      byte[] address = this.address;
      if (address != null) {
        return ip != null && ip.length == address.length && samePrefix(ip, address, prefixBits);
      }
      return host.equals(domain)
          || host.length() > domain.length()
              && host.endsWith(domain)
              && host.charAt(host.length() - domain.length() - 1) == '.';
    }

    private static boolean samePrefix(byte[] a, byte[] b, int bits) {
      int full = bits / 8;
      for (int i = 0; i < full; i++) {
        if (a[i] != b[i]) {
          return false;
        }
      }
      int rest = bits % 8;
      if (rest == 0) {
        return true;
      }
      int mask = 0xff << (8 - rest) & 0xff;
      return (a[full] & mask) == (b[full] & mask);
    }

    private static int port(String text, String raw) {
      try {
        int p = Integer.parseInt(text);
        if (p >= 1 && p <= 65535) {
          return p;
        }
      } catch (NumberFormatException e) {
        // fall through to the message below
      }
      throw new IllegalArgumentException("invalid port in no_proxy entry: " + raw);
    }
  }
}
