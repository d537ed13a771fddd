package dev.fetchflux.internal;

import dev.fetchflux.Body;
import dev.fetchflux.FetchException.Kind;
import dev.fetchflux.Headers;
import dev.fetchflux.TransportException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.timeout.ReadTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.ByteBufFlux;
import reactor.netty.Connection;
import reactor.netty.NettyPipeline;
import reactor.netty.http.client.HttpClientResponse;

/**
 * The bytes on either side of an exchange: a request body as buffers to send, and a response body
 * read into a {@link Body} under the body limit ({@link BodySink} keeps it in memory or spills it).
 */
final class Bodies {
  /** How much of a redirect response's body is drained to keep the connection; beyond, close it. */
  private static final long REDIRECT_DRAIN_LIMIT = 64 * 1024;

  /** Buffers a request body in a file is read in. */
  private static final int FILE_CHUNK = 64 * 1024;

  private Bodies() {}

  /**
   * The bytes of a request body: an in-memory body wrapped without a copy; a body in a file read
   * in 64 KiB buffers on {@code boundedElastic}, never on the event loop that sends it (opening and
   * reading a file is blocking I/O), as fast as the socket takes them (reactor-netty requests the
   * buffers as it writes).
   */
  static Publisher<ByteBuf> request(Body body) {
    if (body.isInMemory()) {
      return Mono.fromSupplier(() -> Unpooled.wrappedBuffer(body.asByteBuffer()));
    }
    return ByteBufFlux.fromPath(Objects.requireNonNull(body.file()), FILE_CHUNK)
        .subscribeOn(Schedulers.boundedElastic());
  }

  /**
   * The body of {@code response}, read whole under {@code limit} (decoded bytes, when
   * {@code compression}): a {@link Kind#BODY_TOO_LARGE} failure as soon as it passes the limit, or at
   * once when the announced length does and nothing is decoded. {@code HEAD}, 1xx, 204 and 304
   * responses have no body, whatever their {@code Content-Length} says (RFC 9110 §6.4.1; Netty's
   * decoder reads none): that header is the resource's length, not this message's. The announced
   * length never sizes memory (see {@link BodySink}).
   */
  static Mono<Body> response(
      HttpClientResponse response,
      Connection connection,
      long headersAt,
      FetcherConfig settings,
      ByteBudget memory) {
    long limit = settings.maxBodySize();
    int status = response.status().code();
    long announced = bodiless(response) ? 0 : contentLength(response);
    if (announced > limit && !settings.compression()) {
      refuse(connection);
      return Mono.error(
          new TransportException(
              Kind.BODY_TOO_LARGE,
              "Content-Length " + announced + " > limit " + limit,
              status,
              headersAt,
              null));
    }
    return Mono.defer(
        () -> {
          // The announced length only bounds how far the buffer grows ahead of the bytes; for an
          // encoded body it says nothing about the decoded size.
          long expected =
              settings.compression()
                      && response.responseHeaders().contains(HttpHeaderNames.CONTENT_ENCODING)
                  ? -1
                  : announced;
          BodySink sink =
              new BodySink(expected, settings.spillThreshold(), settings.spillDirectory(), memory);
          long[] received = {0};
          return sink.collect(
              connection
                  .inbound()
                  .receive()
                  .asByteArray()
                  .handle(
                      (chunk, out) -> {
                        received[0] += chunk.length;
                        if (received[0] > limit) {
                          out.error(
                              new TransportException(
                                  Kind.BODY_TOO_LARGE,
                                  "more than "
                                      + limit
                                      + " bytes"
                                      + (settings.compression() ? " (decoded)" : ""),
                                  status,
                                  headersAt,
                                  null));
                        } else {
                          out.next(chunk);
                        }
                      }));
        });
  }

  /**
   * The body of {@code response} as a {@link BodyRelay} reading the connection, for a streamed
   * exchange: the same checks as {@link #response} before any byte is read (a bodiless status reads
   * nothing; an announced length past the limit, without decompression, fails at once), then the
   * bytes as they come. The limit on decoded bytes is the pipeline's {@link DecodedSizeLimit}.
   * reactor-netty's response timeout is taken off the connection: it counts time the relay spends
   * waiting for its reader, so the relay enforces the read timeout itself, with the deadline.
   *
   * @throws TransportException {@link Kind#BODY_TOO_LARGE} for an announced length past the limit
   */
  static BodyRelay stream(
      HttpClientResponse response,
      Connection connection,
      long headersAt,
      FetcherConfig settings,
      Hold hold,
      long deadlineNanos,
      StreamingTransport.RelaySlot slot) {
    long limit = settings.maxBodySize();
    int status = response.status().code();
    long announced = bodiless(response) ? 0 : contentLength(response);
    if (announced > limit && !settings.compression()) {
      refuse(connection);
      throw new TransportException(
          Kind.BODY_TOO_LARGE,
          "Content-Length " + announced + " > limit " + limit,
          status,
          headersAt,
          null);
    }
    connection.removeHandler(NettyPipeline.ResponseTimeoutHandler);
    java.time.Duration deadline = settings.requestTimeout();
    BodyRelay.Timeouts timeouts =
        new BodyRelay.Timeouts(
            connection.channel().eventLoop(),
            deadlineNanos,
            settings.readTimeout().toNanos(),
            () ->
                new TransportException(
                    Kind.DEADLINE,
                    "no complete response within "
                        + ResultMapping.human(deadline)
                        + " (requestTimeout)",
                    status,
                    headersAt,
                    new java.util.concurrent.TimeoutException(
                        "requestTimeout " + deadline + " elapsed")),
            () -> ReadTimeoutException.INSTANCE);
    BodyRelay relay = new BodyRelay(hold, timeouts, true);
    slot.put(relay);
    relay.connect(connection.inbound().receive());
    return relay;
  }

  /** The length a response's body will have, when known from its headers; else -1. */
  static long announcedLength(HttpClientResponse response) {
    return bodiless(response) ? 0 : contentLength(response);
  }

  /** HEAD, 1xx, 204 and 304 responses have no body, whatever their headers say. */
  private static boolean bodiless(HttpClientResponse response) {
    int status = response.status().code();
    return response.method().equals(HttpMethod.HEAD)
        || status / 100 == 1
        || status == 204
        || status == 304;
  }

  /**
   * A body that will not be read: subscribed to and cancelled at once, so reactor-netty releases
   * what it already buffered or still receives (left alone, a body that came with the headers
   * leaks) and closes the connection. {@code take(0)} would not do: it never subscribes.
   */
  private static void refuse(Connection connection) {
    connection
        .inbound()
        .receive()
        .subscribe(
            new BaseSubscriber<ByteBuf>() {
              @Override
              protected void hookOnSubscribe(Subscription subscription) {
                subscription.cancel();
              }
            });
  }

  /** Reads and drops a redirect's body, up to a bound, so its connection can be kept. */
  static Mono<Void> drain(Connection connection) {
    long[] seen = {0};
    return connection
        .inbound()
        .receive()
        .takeUntil(buf -> (seen[0] += buf.readableBytes()) > REDIRECT_DRAIN_LIMIT)
        .then();
  }

  /** Whether the body of {@code response} ends when the connection closes (HTTP/1.x, no length). */
  static boolean isCloseDelimited(HttpClientResponse response) {
    return response.version().majorVersion() == 1
        && !response.responseHeaders().contains(HttpHeaderNames.CONTENT_LENGTH)
        && !response
            .responseHeaders()
            .containsValue(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED, true);
  }

  /** The response's headers as a {@link Headers} value. */
  static Headers headers(HttpClientResponse response) {
    List<Map.Entry<String, String>> list = new ArrayList<>(response.responseHeaders().size());
    for (Map.Entry<String, String> e : response.responseHeaders()) {
      list.add(Map.entry(e.getKey(), e.getValue()));
    }
    return Headers.ofDecoded(list);
  }

  private static long contentLength(HttpClientResponse response) {
    String value = response.responseHeaders().get(HttpHeaderNames.CONTENT_LENGTH);
    if (value == null) {
      return -1;
    }
    try {
      return Long.parseLong(value.strip());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
