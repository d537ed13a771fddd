package dev.fetchflux.support;

import dev.fetchflux.testing.RecordedRequest;
import dev.fetchflux.testing.Reply;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Replies that change from one request to the next, as {@link dev.fetchflux.testing.TestServer}
 * handlers: "503 once, then 200", "reset twice, then the body". A path's first request gets the
 * first reply, its second the second, and every later request the last. Requests for other paths
 * get {@code null}, so routes and the built-in paths answer them.
 */
public final class Replies {
  private Replies() {}

  /** For requests to exactly {@code path}, {@code replies} in turn. */
  public static Function<RecordedRequest, @Nullable Reply> inTurn(
      String path, Reply first, Reply... then) {
    List<Reply> script = script(first, then);
    AtomicInteger seen = new AtomicInteger();
    return r -> r.path().equals(path) ? pick(script, seen.getAndIncrement()) : null;
  }

  /**
   * For each path under {@code prefix} on its own, {@code replies} in turn: {@code /flaky/1} and
   * {@code /flaky/2} each get the first reply first.
   */
  public static Function<RecordedRequest, @Nullable Reply> inTurnPerPath(
      String prefix, Reply first, Reply... then) {
    List<Reply> script = script(first, then);
    Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
    return r ->
        r.path().startsWith(prefix)
            ? pick(
                script, seen.computeIfAbsent(r.path(), p -> new AtomicInteger()).getAndIncrement())
            : null;
  }

  private static List<Reply> script(Reply first, Reply... then) {
    List<Reply> all = new java.util.ArrayList<>(List.of(first));
    all.addAll(List.of(then));
    return List.copyOf(all);
  }

  private static Reply pick(List<Reply> script, int n) {
    return script.get(Math.min(n, script.size() - 1));
  }
}
