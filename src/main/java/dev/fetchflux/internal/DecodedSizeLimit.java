package dev.fetchflux.internal;

import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.TransportException;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * Counts a response's body bytes after decompression, inside the channel pipeline, and fails the
 * response the moment they pass the body limit.
 *
 * <p>Why in the pipeline and not only where the body is collected: Netty's {@code JdkZlibDecoder}
 * inflates everything one socket read delivered before it returns, handing it on in 64 KiB pieces. A
 * 64 KiB read of a gzip bomb is about 64 MiB decoded, all of it pushed into reactor-netty's receive
 * queue at once when the body consumer is momentarily not requesting (for example while it writes a
 * spill file). Here every piece is counted as it is produced; past the limit the pieces are released
 * on the spot, the response fails with {@link Kind#BODY_TOO_LARGE}, and the connection, whose response
 * will not be read to the end, is closed (reactor-netty did not close it: it stayed open for the
 * fetcher's life). At most one piece beyond the limit is ever held.
 *
 * <p>Added before reactor-netty's bridge for each response (so after the decompressor); it starts
 * counting afresh after each response's last content, so it is correct on a kept-alive connection
 * whether or not reactor-netty removes it between responses.
 */
final class DecodedSizeLimit extends ChannelInboundHandlerAdapter {
  static final String NAME = "fetchflux.decodedSizeLimit";

  private final long limit;
  private final boolean compressed;
  private final int status;
  private final long headersNanos;
  private long seen;
  private boolean tripped;

  /**
   * @param limit the body limit in bytes
   * @param compressed whether decompression is on (for the message)
   * @param status the response's status, for the failure
   * @param headersNanos {@link System#nanoTime()} when its headers arrived
   */
  DecodedSizeLimit(long limit, boolean compressed, int status, long headersNanos) {
    this.limit = limit;
    this.compressed = compressed;
    this.status = status;
    this.headersNanos = headersNanos;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpContent content)) {
      ctx.fireChannelRead(msg);
      return;
    }
    boolean last = msg instanceof LastHttpContent;
    if (tripped) {
      ReferenceCountUtil.release(msg);
      if (last) {
        reset();
      }
      return;
    }
    seen += content.content().readableBytes();
    if (seen > limit) {
      tripped = true;
      ReferenceCountUtil.release(msg);
      ctx.fireExceptionCaught(
          new TransportException(
              Kind.BODY_TOO_LARGE,
              "more than " + limit + " bytes" + (compressed ? " (decoded)" : ""),
              status,
              headersNanos,
              null));
      // The rest of this response will not be read, so the connection cannot be reused: close it
      // here. Left to reactor-netty, it stayed open (ESTABLISHED) for the fetcher's life, one
      // socket per such failure (ConnectionsClosedTest).
      ctx.close();
      return;
    }
    if (last) {
      reset();
    }
    ctx.fireChannelRead(msg);
  }

  private void reset() {
    seen = 0;
    tripped = false;
  }
}
