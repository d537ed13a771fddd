package dev.fetchflux.internal;

import io.netty.channel.Channel;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * The connection one attempt's exchange is using right now, so that an attempt cut by its deadline
 * gives its slot to the next request only once that connection is closed.
 *
 * <p>Why: when the deadline cancels an exchange, reactor-netty closes its connection, but from the
 * timer's thread the close is only scheduled on the connection's event loop. The failure then frees
 * the attempt's place among the {@code maxInFlight} (and its host's permit), the next request opens a
 * connection at once, and the server could see it arrive before the close: one more request than the
 * limit, for an instant (seen at the server under load: 17 with C = 16). The attempt puts a trace in
 * the exchange's Reactor context; the engine {@linkplain #attach attaches} the channel of each hop
 * when its request is written and {@linkplain #detach detaches} it once the hop's response is read
 * whole (from then on the connection may serve another request, and must not be touched). The
 * deadline's failure waits for {@link #whenClosed}.
 */
public final class ConnectionTrace {
  /** The key of the trace in the exchange's context. */
  public static final Class<ConnectionTrace> KEY = ConnectionTrace.class;

  private final AtomicReference<@Nullable Channel> channel = new AtomicReference<>();

  /** The hop's request was written on {@code ch}. */
  void attach(Channel ch) {
    channel.set(ch);
  }

  /** The hop's response was read whole: {@code ch} may serve others now. */
  void detach(Channel ch) {
    channel.compareAndSet(ch, null);
  }

  /**
   * Closes the connection the cut exchange was using, if it still is, and runs {@code then} once it
   * is closed, on its event loop; at once on this thread when there is none (not connected yet, or
   * between hops).
   */
  void whenClosed(Runnable then) {
    Channel ch = channel.getAndSet(null);
    if (ch == null) {
      then.run();
    } else {
      ch.close().addListener(f -> then.run());
    }
  }
}
