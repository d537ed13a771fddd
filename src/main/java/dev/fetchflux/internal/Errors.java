package dev.fetchflux.internal;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.TransportException;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.ReadTimeoutException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;
import reactor.netty.http.client.PrematureCloseException;

/** Maps transport exceptions to a {@link Kind} and a short detail, without touching the exception. */
public final class Errors {
  /** Causes looked at, at most: a real chain is a handful deep. */
  private static final int MAX_DEPTH = 64;

  /** The message of a handshake failure from Netty's native TLS engine; the reason is its cause. */
  private static final String OPENSSL_GENERIC = "General OpenSslEngine problem";

  private Errors() {}

  /** The kind and detail for {@code error}, looking through its causes. */
  public static Classified classify(Throwable error) {
    if (error instanceof TransportException f) {
      return new Classified(f.kind(), String.valueOf(f.getMessage()));
    }
    // A cause chain can be a cycle (a -> b -> a: Throwable only forbids a cause that is the
    // exception itself), so the walk remembers what it saw, and stops after MAX_DEPTH causes.
    java.util.Set<Throwable> seen =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    int depth = 0;
    for (Throwable t = error; t != null && depth < MAX_DEPTH && seen.add(t); t = t.getCause()) {
      Classified c = classifyOne(t);
      if (c != null) {
        return c;
      }
      depth++;
    }
    return new Classified(Kind.OTHER, describe(error));
  }

  private static @org.jspecify.annotations.Nullable Classified classifyOne(Throwable t) {
    if (t instanceof TimeoutException) {
      return new Classified(Kind.DEADLINE, "");
    }
    if (t instanceof ReadTimeoutException) {
      return new Classified(Kind.READ_TIMEOUT, "");
    }
    if (t instanceof ConnectTimeoutException) {
      return new Classified(Kind.CONNECT_TIMEOUT, describe(t));
    }
    if (t instanceof UnknownHostException) {
      return new Classified(Kind.DNS, describe(t));
    }
    if (t instanceof ConnectException || t instanceof NoRouteToHostException) {
      return new Classified(Kind.CONNECT_REFUSED, describe(t));
    }
    if (t instanceof SSLException) {
      // Netty's native TLS reports a failed handshake as "General OpenSslEngine problem" with the
      // reason (the trust manager's verdict, say) as its cause: name the reason.
      Throwable cause = t.getCause();
      boolean generic = String.valueOf(t.getMessage()).equals(OPENSSL_GENERIC);
      return new Classified(Kind.TLS, describe(generic && cause != null ? cause : t));
    }
    if (t instanceof PrematureCloseException) {
      String m = String.valueOf(t.getMessage());
      if (m.contains("DURING")) {
        return new Classified(Kind.TRUNCATED_BODY, "connection closed during the response body");
      }
      return new Classified(Kind.CONNECTION_RESET, "connection closed before the response");
    }
    if (t instanceof TooLongFrameException) {
      return new Classified(Kind.PROTOCOL, describe(t));
    }
    if (t instanceof DecoderException) {
      return new Classified(Kind.PROTOCOL, describe(t));
    }
    if (t instanceof IllegalArgumentException
        && String.valueOf(t.getMessage()).startsWith("invalid version format")) {
      // Netty's HttpVersion parser on a status line that is not HTTP.
      return new Classified(Kind.PROTOCOL, "invalid status line: " + describe(t));
    }
    if (t instanceof IllegalArgumentException && thrownByHttpDecoder(t)) {
      // Other malformed responses Netty's decoder reports with plain exceptions, such as
      // NumberFormatException("Invalid character in chunk size").
      return new Classified(Kind.PROTOCOL, "malformed response: " + describe(t));
    }
    if (t instanceof ClosedChannelException) {
      return new Classified(Kind.CONNECTION_RESET, "connection closed");
    }
    if (t instanceof IOException) {
      String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
      if (m.contains("reset") || m.contains("broken pipe") || m.contains("closed")) {
        return new Classified(Kind.CONNECTION_RESET, describe(t));
      }
    }
    return null;
  }

  private static boolean thrownByHttpDecoder(Throwable t) {
    for (StackTraceElement e : t.getStackTrace()) {
      if (e.getClassName().startsWith("io.netty.handler.codec.http.HttpObjectDecoder")) {
        return true;
      }
    }
    return false;
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    String text = m == null || m.isBlank() ? t.getClass().getSimpleName() : m.strip();
    int nl = text.indexOf('\n');
    if (nl >= 0) {
      text = text.substring(0, nl);
    }
    return text.length() > 300 ? text.substring(0, 300) + "…" : text;
  }

  /** A failure's kind and a one-line detail (may be empty). */
  public record Classified(Kind kind, String detail) {}
}
