package dev.fetchflux.support;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The file descriptors this process has open, read from Linux's {@code /proc/self/fd}: descriptor
 * number to what it points at ({@code readlink}), such as {@code /tmp/x/fetchflux-1.body},
 * {@code socket:[123456]} or {@code anon_inode:[eventpoll]}.
 *
 * <p>Sockets are described from {@code /proc/self/net/{tcp,tcp6,udp,udp6,unix}} by their inode, so
 * a leaked connection reads {@code socket:[123456] tcp 127.0.0.1:40112 -> 127.0.0.1:35281
 * ESTABLISHED} and names the server it was opened to.
 */
public final class OpenDescriptors {
  private static final Path FD = Path.of("/proc/self/fd");
  private static final Pattern SOCKET = Pattern.compile("socket:\\[(\\d+)]");
  private static final String[] TCP_STATES = {
    "?",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV"
  };

  private OpenDescriptors() {}

  /** Whether this system has {@code /proc/self/fd} (Linux); elsewhere descriptors are not checked. */
  public static boolean supported() {
    return Files.isDirectory(FD);
  }

  /**
   * Every open descriptor and its target, in descriptor order. A descriptor closed while the list
   * is read is left out; the directory stream reading the list is itself open meanwhile, and shows
   * as {@code /proc/<pid>/fd}.
   */
  public static Map<Integer, String> read() {
    Map<Integer, String> out = new TreeMap<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(FD)) {
      for (Path fd : fds) {
        try {
          out.put(
              Integer.parseInt(fd.getFileName().toString()), Files.readSymbolicLink(fd).toString());
        } catch (IOException closedMeanwhile) {
          // closed between listing and readlink: not open any more
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list " + FD, e);
    }
    return out;
  }

  /**
   * One socket from the kernel's tables: its description ({@code tcp6 127.0.0.1:40112 ->
   * 127.0.0.1:35281 ESTABLISHED}), local port and whether it is a listening socket.
   */
  record Socket(String description, int localPort, boolean listening) {}

  /**
   * {@code target} with, for a socket, its protocol, addresses and state from {@code sockets} (as
   * read by {@link #sockets()}). A socket the tables do not list is a TCP socket no longer in a
   * connection (reset, or closed by the peer and cleaned up) whose descriptor is still open, or one
   * of another network namespace.
   */
  static String describe(String target, Map<String, Socket> sockets) {
    Matcher m = SOCKET.matcher(target);
    if (!m.matches()) {
      return target;
    }
    Socket found = sockets.get(m.group(1));
    return found == null
        ? target + " (in no connection table: reset or closed, but the descriptor is open)"
        : target + " " + found.description();
  }

  /** The socket {@code target} names, if it is one the kernel's tables list. */
  static @Nullable Socket socket(String target, Map<String, Socket> sockets) {
    Matcher m = SOCKET.matcher(target);
    return m.matches() ? sockets.get(m.group(1)) : null;
  }

  /**
   * This process's open TCP sockets connected to {@code remotePort} on any address, described
   * ({@code tcp 127.0.0.1:40112 -> 127.0.0.1:35281 ESTABLISHED}): a client's connections to one
   * server. Empty where descriptors cannot be read.
   */
  public static List<String> connectionsTo(int remotePort) {
    if (!supported()) {
      return List.of();
    }
    Map<String, Socket> sockets = sockets();
    List<String> out = new java.util.ArrayList<>();
    for (String target : read().values()) {
      Socket s = socket(target, sockets);
      if (s != null
          && !s.listening()
          && s.description().startsWith("tcp")
          && s.description().contains(":" + remotePort + " ")) {
        String remote = s.description().substring(s.description().indexOf("-> ") + 3);
        if (remote.split(" ")[0].endsWith(":" + remotePort)) {
          out.add(target + " " + s.description());
        }
      }
    }
    return out;
  }

  /** Socket inode to socket, from the kernel's socket tables. */
  static Map<String, Socket> sockets() {
    Map<String, Socket> out = new HashMap<>();
    for (String proto : List.of("tcp", "tcp6", "udp", "udp6")) {
      for (String[] row : table("/proc/self/net/" + proto)) {
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
        if (row.length < 10) {
          continue;
        }
        int state = Integer.parseInt(row[3], 16);
        boolean tcp = proto.startsWith("tcp");
        String stateName = tcp && state < TCP_STATES.length ? " " + TCP_STATES[state] : "";
        int port = Integer.parseInt(row[1].substring(row[1].indexOf(':') + 1), 16);
        out.put(
            row[9],
            new Socket(
                proto + " " + address(row[1]) + " -> " + address(row[2]) + stateName,
                port,
                tcp && state == 10));
      }
    }
    for (String[] row : table("/proc/self/net/unix")) {
      // Num RefCount Protocol Flags Type St Inode [Path]
      if (row.length >= 7) {
        out.put(row[6], new Socket("unix" + (row.length > 7 ? " " + row[7] : ""), -1, false));
      }
    }
    return out;
  }

  private static List<String[]> table(String file) {
    try {
      List<String> lines = Files.readAllLines(Path.of(file));
      return lines.stream().skip(1).map(l -> l.trim().split("\\s+")).toList();
    } catch (IOException | RuntimeException e) {
      return List.of();
    }
  }

  /**
   * {@code 0100007F:9C40} (IPv4, bytes little-endian) to {@code 127.0.0.1:40000}; IPv6 addresses
   * are four such 32-bit words.
   */
  static String address(String hexAddressAndPort) {
    int colon = hexAddressAndPort.indexOf(':');
    String hex = hexAddressAndPort.substring(0, colon);
    int port = Integer.parseInt(hexAddressAndPort.substring(colon + 1), 16);
    byte[] bytes = new byte[hex.length() / 2];
    for (int word = 0; word < bytes.length / 4; word++) {
      for (int i = 0; i < 4; i++) {
        // Each 32-bit word is printed as the host-order (little-endian) integer.
        int at = word * 8 + (3 - i) * 2;
        bytes[word * 4 + i] = (byte) Integer.parseInt(hex.substring(at, at + 2), 16);
      }
    }
    if (bytes.length == 4) {
      return ipv4(bytes, 0) + ":" + port;
    }
    if (isV4Mapped(bytes)) {
      // Java's dual-stack sockets are tcp6 even for IPv4 peers: show ::ffff:a.b.c.d as a.b.c.d.
      return ipv4(bytes, 12) + ":" + port;
    }
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < bytes.length; i += 2) {
      if (i > 0) {
        b.append(':');
      }
      b.append(Integer.toHexString(((bytes[i] & 0xff) << 8) | (bytes[i + 1] & 0xff)));
    }
    return b.append("]:").append(port).toString();
  }

  private static boolean isV4Mapped(byte[] bytes) {
    for (int i = 0; i < 10; i++) {
      if (bytes[i] != 0) {
        return false;
      }
    }
    return bytes[10] == (byte) 0xff && bytes[11] == (byte) 0xff;
  }

  private static String ipv4(byte[] bytes, int from) {
    return (bytes[from] & 0xff)
        + "."
        + (bytes[from + 1] & 0xff)
        + "."
        + (bytes[from + 2] & 0xff)
        + "."
        + (bytes[from + 3] & 0xff);
  }
}
