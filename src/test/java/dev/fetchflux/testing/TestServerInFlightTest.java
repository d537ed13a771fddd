package dev.fetchflux.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.support.Await;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link TestServer#peakInFlight()} counts what the client has open, also when a request ends by
 * a closed connection: a politeness check ("never more than N at once") must not see a request the
 * client already hung up on next to the one it sent right after.
 */
@Timeout(60)
class TestServerInFlightTest {

  private static final byte[] STALL =
      "GET /stall HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NEXT =
      "GET /delay/20 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII);

  @Test
  void aRequestLeavesInFlightWhenItsClientHangsUpBeforeTheNextOneIsCounted() throws Exception {
    try (TestServer server = TestServer.builder().threads(1).start()) {
      InetAddress loopback = InetAddress.getLoopbackAddress();
      for (int i = 0; i < 40; i++) {
        server.resetCounters();
        try (Socket stalled = new Socket(loopback, server.port());
            Socket next = new Socket(loopback, server.port())) {
          stalled.getOutputStream().write(STALL);
          Await.until("the stalled request is in flight", () -> server.inFlight() == 1);
          // The client gives up on one request and sends the next at once, as a fetcher that
          // holds N permits per host does: never more than one open from its side.
          stalled.setSoLinger(true, 0);
          stalled.close();
          next.getOutputStream().write(NEXT);
          try (InputStream in = next.getInputStream()) {
            in.readAllBytes();
          }
        }
        Await.until("nothing in flight", () -> server.inFlight() == 0);
        assertThat(server.peakInFlight()).as("round %d", i).isEqualTo(1);
      }
    }
  }
}
