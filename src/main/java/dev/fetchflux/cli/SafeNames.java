package dev.fetchflux.cli;

import java.net.URI;
import java.util.regex.Pattern;

/**
 * File names for {@code -o}: the input's index, then a readable trace of host and path.
 *
 * <p>A name can never leave the output directory nor clash: it is built only from ASCII letters,
 * digits, {@code .}, {@code _} and {@code -} (so no separator, no {@code %}-escape that something
 * could decode later), runs of dots are collapsed (so no {@code ..}), it starts with the zero-padded
 * index (so never {@code .}, {@code ..}, a hidden file or {@code manifest.jsonl}), and two inputs,
 * even of the same URL, have different indexes. It is at most {@value #MAX_LENGTH} characters long,
 * far below the 255-byte limit of common file systems; the path's extension is kept when it is short.
 */
final class SafeNames {
  static final int MAX_LENGTH = 120;

  private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._-]+");
  private static final Pattern DOTS = Pattern.compile("\\.{2,}");
  private static final Pattern UNDERSCORES = Pattern.compile("_{2,}");
  private static final Pattern EXTENSION = Pattern.compile("\\.[A-Za-z0-9]{1,8}");

  private SafeNames() {}

  /** The file name for the input at {@code index} requesting {@code uri}. */
  static String of(long index, URI uri) {
    String prefix = String.format("%06d", index);
    // java.net.URI has no host for names it does not take (my_service): use the authority.
    String host =
        uri.getHost() != null
            ? uri.getHost()
            : uri.getRawAuthority() == null ? "" : uri.getRawAuthority().replace(':', '_');
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    String trace = host + (uri.getPort() >= 0 ? "_" + uri.getPort() : "") + path;
    String clean = clean(trace);
    String ext = extension(path);
    int room = MAX_LENGTH - prefix.length() - 1;
    if (clean.length() > room) {
      clean = clean(clean.substring(0, room - ext.length())) + ext;
    }
    return clean.isEmpty() ? prefix : prefix + "_" + clean;
  }

  private static String clean(String s) {
    String c = UNSAFE.matcher(s).replaceAll("_");
    c = DOTS.matcher(c).replaceAll(".");
    c = UNDERSCORES.matcher(c).replaceAll("_");
    int start = 0;
    int end = c.length();
    while (start < end && (c.charAt(start) == '_' || c.charAt(start) == '.')) {
      start++;
    }
    while (end > start && (c.charAt(end - 1) == '_' || c.charAt(end - 1) == '.')) {
      end--;
    }
    return c.substring(start, end);
  }

  private static String extension(String rawPath) {
    String last = rawPath.substring(rawPath.lastIndexOf('/') + 1);
    int dot = last.lastIndexOf('.');
    if (dot <= 0) {
      return "";
    }
    String ext = last.substring(dot);
    return EXTENSION.matcher(ext).matches() ? ext : "";
  }
}
