package dev.fetchflux.internal;

import dev.fetchflux.FetchRequest;
import dev.fetchflux.Headers;
import java.net.URI;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * A transport that can hand out a response at its headers, with the body still arriving ({@link
 * HttpEngine}). Internal: transports that cannot (a {@code StubFetcher}'s) are adapted by {@link
 * Attempts}, which streams their complete body.
 */
interface StreamingTransport {

  /**
   * Exchanges {@code request} like {@code Transport.exchange}, redirects and all, but emits the final
   * response once its headers are in, with its body in a {@link BodyRelay} that waits in {@code hold}
   * until it is read. The relay is put in {@code slot} as soon as it exists, so that whoever gives up
   * the exchange can release it even if the response never reaches them.
   *
   * @param deadlineNanos {@link System#nanoTime()} by which the whole exchange, body included, must be
   *     done (time spent waiting for the body's reader does not count)
   */
  Mono<Streamed> exchangeStreaming(
      FetchRequest request, Hold hold, long deadlineNanos, RelaySlot slot);

  /**
   * The final response of a streamed exchange.
   *
   * @param announced the body's {@code Content-Length}, or -1
   */
  record Streamed(
      URI finalUri,
      int status,
      Headers headers,
      BodyRelay body,
      long announced,
      long headersNanos,
      int redirects) {
    public Streamed {
      Objects.requireNonNull(finalUri, "finalUri");
      Objects.requireNonNull(headers, "headers");
      Objects.requireNonNull(body, "body");
    }
  }

  /**
   * Where an attempt keeps the relay of its response until it has made a result of it: a relay that
   * is never claimed (the attempt was cancelled or timed out as the response came) is discarded.
   */
  final class RelaySlot {
    private static final Object CLAIMED = new Object();
    private final AtomicReference<@Nullable Object> relay = new AtomicReference<>();

    /** Puts the attempt's relay here; discards it at once if the attempt already gave up. */
    void put(BodyRelay r) {
      if (!relay.compareAndSet(null, r)) {
        r.discard(new IllegalStateException("the exchange was given up"));
      }
    }

    /** The relay is now the attempt's to hand on (in a result) or release. */
    void claim() {
      relay.set(CLAIMED);
    }

    /** Discards the relay unless it was claimed; later relays are discarded as they come. */
    void releaseUnclaimed() {
      Object r = relay.getAndSet(CLAIMED);
      if (r instanceof BodyRelay b) {
        b.discard(new IllegalStateException("the exchange was given up"));
      }
    }
  }
}
