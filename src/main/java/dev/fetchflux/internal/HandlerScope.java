package dev.fetchflux.internal;

import dev.fetchflux.BodyStream;
import dev.fetchflux.StreamedResult;
import java.util.Objects;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;

/**
 * The scope of one streamed result's handler ({@code Fetcher.fetchStreaming}): the body belongs to
 * the publisher the handler returns, and is released when that publisher ends, however it ends, so
 * a body can neither outlive its turn nor be forgotten.
 */
public final class HandlerScope {
  private HandlerScope() {}

  /**
   * {@code handler}'s publisher for {@code result}; a body it has not read to its end when the
   * publisher ends (completes, fails or is cancelled) is discarded: its connection is closed and
   * what was held for it released. A handler that throws or returns {@code null} fails the returned
   * publisher, after the body was released.
   */
  public static <R> Flux<R> run(
      StreamedResult result,
      Function<? super StreamedResult, ? extends Publisher<? extends R>> handler) {
    Publisher<? extends R> p;
    try {
      p = Objects.requireNonNull(handler.apply(result), "the handler returned null");
    } catch (Throwable t) {
      Exceptions.throwIfJvmFatal(t);
      release(result, "threw");
      return Flux.error(t);
    }
    return Flux.<R>from(p).doFinally(signal -> release(result, signal.toString()));
  }

  /**
   * Runs {@code settled} once {@code result} no longer occupies a connection: at once for a failure,
   * when a success's body has been received (or given up). For the ordering stage's in-flight count.
   */
  public static void whenReceived(StreamedResult result, Runnable settled) {
    if (result instanceof StreamedResult.Success ok && ok.body() instanceof StreamedBody s) {
      s.relay().whenReceived(settled);
    } else {
      settled.run();
    }
  }

  private static void release(StreamedResult result, String how) {
    if (result instanceof StreamedResult.Success ok) {
      BodyStream body = ok.body();
      String reason =
          "#"
              + ok.index()
              + ": the handler's publisher ended ("
              + how
              + ") before the body was read to its end; the body was discarded";
      if (body instanceof StreamedBody s) {
        s.release(reason);
      } else {
        body.discard();
      }
    }
  }
}
