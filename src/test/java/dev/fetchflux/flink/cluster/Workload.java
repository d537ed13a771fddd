package dev.fetchflux.flink.cluster;

import dev.fetchflux.flink.HostRouting;
import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.Reply;
import dev.fetchflux.testing.TestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The input of the cluster check and the servers behind it: {@code n} URLs over a few host names,
 * each host its own loopback {@link TestServer} (so each server's peak of requests in flight is
 * that host's), reached through {@code --resolve HOST:PORT:127.0.0.1}.
 *
 * <p>What URL {@code i} is, fixed by {@code i} alone so that every run and every check agrees:
 * most are {@code /doc/DELAY/SIZE?i=I} (5-44 ms, 256 B to 16 KiB, a body made from the URL), every
 * 41st is slow (700 ms), and some fail: a 500 (every 101st), a body cut short (151st), a reset
 * (307th), a request that never answers (1499th, on {@link #STALL_HOST}; the job's deadline ends
 * it, and it holds its subtask's ordered output that long, so there are few).
 */
final class Workload implements AutoCloseable {

  /** What a URL does, and so what its record must say. */
  enum Kind {
    OK(null),
    SLOW(null),
    HTTP_500("HTTP_STATUS"),
    TRUNCATED("TRUNCATED_BODY"),
    RESET("CONNECTION_RESET"),
    STALL("DEADLINE");

    /** The record's errorKind, or null for a success. */
    final @Nullable String errorKind;

    Kind(@Nullable String errorKind) {
      this.errorKind = errorKind;
    }
  }

  /** One input line. */
  record Url(int seq, String url, Kind kind, String pathAndQuery, int size) {}

  private final List<TestServer> servers = new ArrayList<>();
  private final List<String> hosts;
  private final List<Url> urls = new ArrayList<>();

  private final boolean stalls;

  /**
   * The host of the URLs that never answer. A request the deadline cancels frees its host's slot
   * in the fetcher before its connection's close reaches the server, so that server can count one
   * request more than the limit for an instant; on a host of their own (with fewer URLs than the
   * limit) they cannot blur what the per-host check measures: the routing.
   */
  static final String STALL_HOST = "stall.fetchflux.test";

  private final int mainHosts;

  private Workload(int hostCount, int n, boolean stalls) {
    this.stalls = stalls;
    this.mainHosts = hostCount;
    hosts = new ArrayList<>(hostsSpreadOverTwoSubtasks(hostCount));
    if (stalls) {
      hosts.add(STALL_HOST);
    }
    for (int h = 0; h < hosts.size(); h++) {
      TestServer server = TestServer.builder().threads(1).start();
      server.handler(Workload::document);
      servers.add(server);
    }
    for (int i = 0; i < n; i++) {
      urls.add(url(i));
    }
  }

  /** Servers and URLs; without {@code stalls} the never-answering URLs are plain ones. */
  static Workload start(int hostCount, int n, boolean stalls) {
    return new Workload(hostCount, n, stalls);
  }

  /**
   * Host names such that at parallelism 2 {@link HostRouting} sends half of them to each subtask:
   * with a handful of hosts a hash could put all on one, and the check wants both subtasks busy.
   */
  private static List<String> hostsSpreadOverTwoSubtasks(int count) {
    List<String> zero = new ArrayList<>();
    List<String> one = new ArrayList<>();
    for (int i = 0; zero.size() + one.size() < count; i++) {
      String host = "h" + i + ".fetchflux.test";
      List<String> side = HostRouting.subtaskOf("http://" + host + "/", 2) == 0 ? zero : one;
      if (side.size() < (count + 1) / 2) {
        side.add(host);
      }
    }
    List<String> all = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      all.add(i % 2 == 0 ? zero.get(i / 2) : one.get(i / 2));
    }
    return all;
  }

  private Url url(int i) {
    Kind kind;
    String path;
    int size = 0;
    if (i % 101 == 17) {
      kind = Kind.HTTP_500;
      path = "/status/500";
    } else if (i % 151 == 29) {
      kind = Kind.TRUNCATED;
      path = "/truncate/2000";
    } else if (i % 307 == 41) {
      kind = Kind.RESET;
      path = "/reset";
    } else if (stalls && i % 1499 == 53) {
      kind = Kind.STALL;
      path = "/stall";
    } else if (i % 41 == 3) {
      kind = Kind.SLOW;
      size = 4096;
      path = "/doc/700/" + size;
    } else {
      kind = Kind.OK;
      size = 256 + (int) ((i * 7919L) % 16128);
      path = "/doc/" + (5 + (i * 37) % 40) + "/" + size;
    }
    String pathAndQuery = path + "?i=" + i;
    int h = kind == Kind.STALL ? mainHosts : i % mainHosts;
    String url = "http://" + hosts.get(h) + ":" + servers.get(h).port() + pathAndQuery;
    return new Url(i, url, kind, pathAndQuery, size);
  }

  /** {@code /doc/DELAY/SIZE}: SIZE bytes made from the request URI, after DELAY ms. */
  private static @Nullable Reply document(RecordedRequest request) {
    String[] parts = request.path().split("/");
    if (parts.length != 4 || !parts[1].equals("doc")) {
      return null; // the built-in paths: /status, /truncate, /reset, /stall
    }
    int delay = Integer.parseInt(parts[2]);
    int size = Integer.parseInt(parts[3]);
    return Reply.ok(body(request.uri(), size)).withDelay(Duration.ofMillis(delay));
  }

  /** The body of {@code /doc/..?..} as requested with {@code uri}: the URI repeated, cut at size. */
  static byte[] body(String uri, int size) {
    byte[] unit = (uri + "\n").getBytes(StandardCharsets.UTF_8);
    byte[] body = new byte[size];
    for (int i = 0; i < size; i++) {
      body[i] = unit[i % unit.length];
    }
    return body;
  }

  /** The body URL {@code u} must have, for a success. */
  static byte[] expectedBody(Url u) {
    return body(u.pathAndQuery(), u.size());
  }

  List<Url> urls() {
    return urls;
  }

  List<String> hosts() {
    return hosts;
  }

  List<TestServer> servers() {
    return servers;
  }

  /** The {@code --resolve} rules that send every host name to its loopback server. */
  List<String> resolveRules() {
    List<String> rules = new ArrayList<>();
    for (int h = 0; h < hosts.size(); h++) {
      rules.add(hosts.get(h) + ":" + servers.get(h).port() + ":127.0.0.1");
    }
    return rules;
  }

  /** Writes the input file: one URL a line. */
  Path write(Path file) throws IOException {
    List<String> lines = new ArrayList<>();
    lines.add(
        "# fetchflux cluster check: " + urls.size() + " URLs over " + hosts.size() + " hosts");
    urls.forEach(u -> lines.add(u.url()));
    return Files.write(file, lines);
  }

  /** Requests received by all servers since the last {@link #resetCounters()}. */
  int requests() {
    return servers.stream().mapToInt(s -> s.requests().size()).sum();
  }

  /**
   * When the first request after {@code epochMillis} reached a host that fetch subtask
   * {@code subtask} (of 2) serves; 0 if none did.
   */
  long firstRequestAfter(long epochMillis, int subtask) {
    long first = Long.MAX_VALUE;
    for (int h = 0; h < hosts.size(); h++) {
      if (HostRouting.subtaskOf("http://" + hosts.get(h) + "/", 2) != subtask) {
        continue;
      }
      for (RecordedRequest r : servers.get(h).requests()) {
        long t = r.received().toEpochMilli();
        if (t > epochMillis) {
          first = Math.min(first, t);
        }
      }
    }
    return first == Long.MAX_VALUE ? 0 : first;
  }

  /** Requests received in {@code (fromEpochMillis, toEpochMillis)}, at any host. */
  int requestsBetween(long fromEpochMillis, long toEpochMillis) {
    int n = 0;
    for (TestServer server : servers) {
      for (RecordedRequest r : server.requests()) {
        long t = r.received().toEpochMilli();
        if (t > fromEpochMillis && t < toEpochMillis) {
          n++;
        }
      }
    }
    return n;
  }

  /** The most requests any one host had in flight at once, per host, in host order. */
  List<Integer> peaks() {
    return servers.stream().map(TestServer::peakInFlight).toList();
  }

  /** Starts counting requests and peaks afresh, for the next run. */
  void resetCounters() {
    servers.forEach(TestServer::resetCounters);
  }

  @Override
  public void close() {
    servers.forEach(TestServer::close);
  }
}
