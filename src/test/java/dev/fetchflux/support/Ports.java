package dev.fetchflux.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Loopback ports for tests that need somebody not to be home. */
public final class Ports {
  private Ports() {}

  /**
   * A port of 127.0.0.1 that nothing listens on: bound by the OS, then released, so a connection to
   * it is refused (unless another process takes it in between, which the OS makes unlikely by not
   * handing it out again at once).
   */
  public static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
