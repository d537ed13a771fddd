package dev.fetchflux;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The body of a {@link StreamedResult.Success}, as it arrives: read it once, in one of four ways.
 *
 * <ul>
 *   <li>{@link #chunks()}: a {@code Flux} of buffers, in order, that belong to you;
 *   <li>{@link #transferTo(WritableByteChannel)}: written to a channel without a copy, blocking, for
 *       threads that write files or stdout;
 *   <li>{@link #toBody()}: collected into a {@link Body}, as the other modes do (in memory, or in a
 *       temporary file past the fetcher's spill threshold);
 *   <li>{@link #discard()}: not read at all.
 * </ul>
 *
 * <h2>Back-pressure reaches the socket</h2>
 * Bytes are read from the connection as the consumer asks for them: a consumer that writes slowly
 * makes fetchflux stop reading, and TCP makes the server wait, so a body larger than the heap streams
 * through a small one. Time spent waiting for the consumer counts neither towards the read timeout
 * nor towards the request's total deadline, which measure the server.
 *
 * <h2>The end</h2>
 * A body that arrives whole completes. A body that fails on the way (cut short, larger than
 * {@code maxBodySize}, past the deadline, ...) signals {@code onError} with a {@link FetchException}
 * at the result's index, of the same kind and message as the {@link FetchResult.Failure} a complete
 * read would have given; the bytes delivered before it are all that arrived, so a sink knows what it
 * received is incomplete. A body that failed before its consumer started reading it delivers no byte,
 * only the error. {@link #timings()} then says how long it took.
 *
 * <h2>Who releases what</h2>
 * Nothing is yours to release: buffers handed to you are copies, and fetchflux releases its own
 * network buffers, files and connection on every path. A body read to its end keeps its connection
 * for the next request; a body not read to its end (a cancelled {@code chunks()} subscription, an
 * exception from the channel, {@link #discard()}, or the end of the handler given to
 * {@link Fetcher#fetchStreaming}) closes its connection and drops what was held for it.
 *
 * <p>A body is read once: a second {@code chunks()} subscription, {@code transferTo},
 * {@code toBody} or a read after {@code discard()} fails with {@link IllegalStateException}.
 */
public interface BodyStream {

  /**
   * The body's bytes, in order, as read-only heap buffers that belong to the subscriber (nothing to
   * release). Emitted on event-loop threads or fetchflux's file threads: move blocking work to a
   * scheduler meant for it with {@code publishOn}. Cancelling the subscription gives up the rest of
   * the body. Cold, and only one subscription is allowed.
   */
  Flux<ByteBuffer> chunks();

  /**
   * Writes the body to {@code channel}, in order, from fetchflux's own buffers (no copy into the
   * heap), and returns the number of bytes written; blocking, on the calling thread, while the body
   * arrives. The channel's writes decide how fast the connection is read.
   *
   * <p>A channel that is also {@link java.io.Flushable} is flushed whenever the transfer waits for
   * the network, so that what it buffered is not held back meanwhile.
   *
   * <p>Call it on a thread that may block (a writer thread, {@code boundedElastic}), never on an
   * event loop or another non-blocking thread, where it throws {@link IllegalStateException}.
   *
   * @throws FetchException if the body failed: what was written before is all that arrived
   * @throws IOException if {@code channel} failed; the rest of the body is given up
   * @throws IllegalStateException if the body was already read or discarded, or on a non-blocking
   *     thread
   */
  long transferTo(WritableByteChannel channel) throws IOException;

  /**
   * The whole body as a {@link Body}, kept as the fetcher keeps bodies in the other modes: in memory,
   * or past its {@code spillThreshold} in a temporary file that the {@code Body} owns (release it).
   * Signals {@code onError(FetchException)} if the body failed. Cold; one subscription.
   */
  Mono<Body> toBody();

  /**
   * Gives the body up without reading it: the connection is closed unless the body had arrived
   * whole, and whatever was held for it (buffers, a temporary file) is released. Idempotent; does
   * nothing after the body was read to its end.
   */
  void discard();

  /**
   * When the exchange started, its time to first byte, and its total time: until the body's last
   * byte (or its failure) once the body has ended, until its headers before that.
   */
  Timings timings();
}
