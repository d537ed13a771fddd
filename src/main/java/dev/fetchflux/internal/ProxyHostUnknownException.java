package dev.fetchflux.internal;

import java.net.UnknownHostException;

/**
 * The proxy's own host name did not resolve. An {@link UnknownHostException}, so it classifies as a
 * DNS failure, whose message says it was the proxy's name, not the URL's; the resolver's exception
 * is its cause.
 */
final class ProxyHostUnknownException extends UnknownHostException {
  private static final long serialVersionUID = 1L;

  ProxyHostUnknownException(String proxy, Throwable cause) {
    super("could not resolve proxy " + proxy);
    initCause(cause);
  }
}
