package dev.fetchflux;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.socksx.v5.DefaultSocks5CommandResponse;
import io.netty.handler.codec.socksx.v5.DefaultSocks5InitialResponse;
import io.netty.handler.codec.socksx.v5.DefaultSocks5PasswordAuthResponse;
import io.netty.handler.codec.socksx.v5.Socks5AddressType;
import io.netty.handler.codec.socksx.v5.Socks5AuthMethod;
import io.netty.handler.codec.socksx.v5.Socks5CommandRequest;
import io.netty.handler.codec.socksx.v5.Socks5CommandRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.handler.codec.socksx.v5.Socks5CommandType;
import io.netty.handler.codec.socksx.v5.Socks5InitialRequest;
import io.netty.handler.codec.socksx.v5.Socks5InitialRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5Message;
import io.netty.handler.codec.socksx.v5.Socks5PasswordAuthRequest;
import io.netty.handler.codec.socksx.v5.Socks5PasswordAuthRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5PasswordAuthStatus;
import io.netty.handler.codec.socksx.v5.Socks5ServerEncoder;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Loopback proxies for tests, written on plain Netty so that they share nothing with the client
 * under test: an HTTP proxy (absolute-form forwarding and {@code CONNECT} tunnels) and a SOCKS5
 * proxy (optionally with username/password). Both record what they were asked and resolve target
 * names only from their own {@link Base#host host table} (never DNS), so a made-up name that
 * reaches a server proves the proxy, not the client, resolved it.
 */
final class ProxyTestServers {
  private ProxyTestServers() {}

  /** What both proxies share: one event loop, a listening channel, a host table, a log. */
  abstract static class Base implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    final Map<String, String> hosts = new ConcurrentHashMap<>();
    final ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();

    /** Every connection accepted or opened to a target, to close them all in {@link #close}. */
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    private final Channel server;

    Base() {
      server =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      channels.add(ch);
                      initChild(ch);
                    }
                  })
              .bind("127.0.0.1", 0)
              .syncUninterruptibly()
              .channel();
    }

    /** The pipeline of an accepted connection (called after construction, on accept). */
    abstract void initChild(SocketChannel ch);

    /** Makes this proxy resolve {@code name} to {@code ip}. */
    void host(String name, String ip) {
      hosts.put(name.toLowerCase(java.util.Locale.ROOT), ip);
    }

    int port() {
      return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** What clients asked for, in order. */
    List<String> log() {
      return new ArrayList<>(log);
    }

    /** The target from the host table or an IP literal; null when this proxy cannot resolve it. */
    @Nullable InetSocketAddress target(String host, int port) {
      String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
      String ip = hosts.getOrDefault(h.toLowerCase(java.util.Locale.ROOT), h);
      byte[] bytes = NetUtil.createByteArrayFromIpAddressString(ip);
      if (bytes == null) {
        return null;
      }
      try {
        return new InetSocketAddress(InetAddress.getByAddress(bytes), port);
      } catch (UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    }

    /** Opens a raw connection to {@code target} on the same event loop as {@code inbound}. */
    ChannelFuture connect(
        Channel inbound, InetSocketAddress target, ChannelInitializer<SocketChannel> pipeline) {
      return new Bootstrap()
          .group(inbound.eventLoop())
          .channel(NioSocketChannel.class)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 2000)
          .handler(pipeline)
          .connect(target)
          .addListener((ChannelFuture f) -> channels.add(f.channel()));
    }

    @Override
    public void close() {
      server.close().syncUninterruptibly();
      // Closed and waited for here, not left to the loop's shutdown: a connection whose client
      // half-closed it while the proxy was not reading (auto-read off during a CONNECT) stayed in
      // CLOSE_WAIT with its descriptor open after a test (a CI run), as TestServer's once did.
      channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** Copies bytes from one channel to its peer; closes the peer when this side closes. */
  static final class Relay extends ChannelInboundHandlerAdapter {
    private final Channel peer;

    Relay(Channel peer) {
      this.peer = peer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (peer.isActive()) {
        peer.writeAndFlush(msg);
      } else {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      closeOnFlush(peer);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** {@code CONNECT} for Netty's {@code CONNECT(1)}. */
  static String name(Object socksConstant) {
    return socksConstant.toString().replaceAll("\\(\\d+\\)$", "");
  }

  static void closeOnFlush(Channel ch) {
    if (ch.isActive()) {
      ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /**
   * An HTTP proxy: forwards absolute-form requests ({@code GET http://host/path}) to the origin in
   * origin form, and opens {@code CONNECT} tunnels. Logs each request line; optionally demands
   * {@code Proxy-Authorization}.
   */
  static final class HttpProxy extends Base {
    private final @Nullable String expectedAuthorization;
    final ConcurrentLinkedQueue<String> authorizations = new ConcurrentLinkedQueue<>();

    private HttpProxy(@Nullable String user, @Nullable String password) {
      this.expectedAuthorization =
          user == null
              ? null
              : "Basic "
                  + Base64.getEncoder()
                      .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    static HttpProxy start() {
      return start(null, null);
    }

    static HttpProxy start(@Nullable String user, @Nullable String password) {
      return new HttpProxy(user, password);
    }

    @Override
    void initChild(SocketChannel ch) {
      ch.pipeline().addLast("codec", new HttpServerCodec());
      ch.pipeline().addLast("aggregator", new HttpObjectAggregator(1 << 20));
      ch.pipeline().addLast("frontend", new Frontend());
    }

    private final class Frontend extends SimpleChannelInboundHandler<FullHttpRequest> {
      @Override
      protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        log.add(request.method() + " " + request.uri() + " " + request.protocolVersion());
        String auth = request.headers().get(HttpHeaderNames.PROXY_AUTHORIZATION);
        if (auth != null) {
          authorizations.add(auth);
        }
        if (expectedAuthorization != null && !expectedAuthorization.equals(auth)) {
          FullHttpResponse denied =
              new DefaultFullHttpResponse(
                  HttpVersion.HTTP_1_1, HttpResponseStatus.PROXY_AUTHENTICATION_REQUIRED);
          denied.headers().set(HttpHeaderNames.PROXY_AUTHENTICATE, "Basic realm=\"test\"");
          HttpUtil.setContentLength(denied, 0);
          ctx.writeAndFlush(denied).addListener(ChannelFutureListener.CLOSE);
          return;
        }
        if (request.method().equals(HttpMethod.CONNECT)) {
          tunnel(ctx, request.uri());
        } else {
          forward(ctx, request);
        }
      }

      private void tunnel(ChannelHandlerContext ctx, String authority) {
        int colon = authority.lastIndexOf(':');
        InetSocketAddress target =
            target(authority.substring(0, colon), Integer.parseInt(authority.substring(colon + 1)));
        if (target == null) {
          fail(ctx, HttpResponseStatus.BAD_GATEWAY);
          return;
        }
        Channel inbound = ctx.channel();
        inbound.config().setAutoRead(false);
        connect(
                inbound,
                target,
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new Relay(inbound));
                  }
                })
            .addListener(
                (ChannelFuture f) -> {
                  if (!f.isSuccess()) {
                    inbound.config().setAutoRead(true);
                    fail(ctx, HttpResponseStatus.BAD_GATEWAY);
                    return;
                  }
                  FullHttpResponse established =
                      new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                  ctx.writeAndFlush(established)
                      .addListener(
                          (ChannelFuture written) -> {
                            // From here on the connection carries bytes, not HTTP: relay first,
                            // then drop the
                            // codec, whose buffered bytes (if any) flow on to the relay.
                            inbound.pipeline().addLast("relay", new Relay(f.channel()));
                            inbound.pipeline().remove("frontend");
                            inbound.pipeline().remove("aggregator");
                            inbound.pipeline().remove("codec");
                            inbound.config().setAutoRead(true);
                          });
                });
      }

      private void forward(ChannelHandlerContext ctx, FullHttpRequest request) {
        URI uri = URI.create(request.uri());
        int port = uri.getPort() == -1 ? 80 : uri.getPort();
        InetSocketAddress target = uri.getHost() == null ? null : target(uri.getHost(), port);
        if (target == null || !"http".equals(uri.getScheme())) {
          fail(ctx, HttpResponseStatus.BAD_GATEWAY);
          return;
        }
        String pathAndQuery =
            (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        FullHttpRequest onward =
            new DefaultFullHttpRequest(
                HttpVersion.HTTP_1_1, request.method(), pathAndQuery, request.content().retain());
        onward.headers().set(request.headers());
        onward.headers().remove(HttpHeaderNames.PROXY_AUTHORIZATION);
        onward.headers().remove("Proxy-Connection");
        onward.headers().set(HttpHeaderNames.CONNECTION, "close");
        Channel inbound = ctx.channel();
        connect(
                inbound,
                target,
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new HttpClientCodec());
                    ch.pipeline().addLast(new HttpObjectAggregator(1 << 20));
                    ch.pipeline()
                        .addLast(
                            new SimpleChannelInboundHandler<FullHttpResponse>() {
                              @Override
                              protected void channelRead0(
                                  ChannelHandlerContext c, FullHttpResponse response) {
                                FullHttpResponse back = response.retainedDuplicate();
                                // The client's connection to the proxy stays open, whatever the
                                // origin said.
                                back.headers().remove(HttpHeaderNames.CONNECTION);
                                inbound.writeAndFlush(back);
                                c.close();
                              }
                            });
                  }
                })
            .addListener(
                (ChannelFuture f) -> {
                  if (f.isSuccess()) {
                    f.channel().writeAndFlush(onward);
                  } else {
                    onward.release();
                    fail(ctx, HttpResponseStatus.BAD_GATEWAY);
                  }
                });
      }

      private void fail(ChannelHandlerContext ctx, HttpResponseStatus status) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status);
        HttpUtil.setContentLength(response, 0);
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      }
    }
  }

  /** A SOCKS5 proxy ({@code CONNECT} only), optionally demanding a username and password. */
  static final class Socks5Proxy extends Base {
    private final @Nullable String user;
    private final @Nullable String password;

    private Socks5Proxy(@Nullable String user, @Nullable String password) {
      this.user = user;
      this.password = password;
    }

    static Socks5Proxy start() {
      return start(null, null);
    }

    static Socks5Proxy start(@Nullable String user, @Nullable String password) {
      return new Socks5Proxy(user, password);
    }

    @Override
    void initChild(SocketChannel ch) {
      ch.pipeline().addLast("encoder", Socks5ServerEncoder.DEFAULT);
      ch.pipeline().addLast("decoder", new Socks5InitialRequestDecoder());
      ch.pipeline().addLast("frontend", new Frontend());
    }

    private final class Frontend extends SimpleChannelInboundHandler<Socks5Message> {
      @Override
      protected void channelRead0(ChannelHandlerContext ctx, Socks5Message message) {
        if (message instanceof Socks5InitialRequest initial) {
          Socks5AuthMethod wanted =
              user == null ? Socks5AuthMethod.NO_AUTH : Socks5AuthMethod.PASSWORD;
          if (!initial.authMethods().contains(wanted)) {
            log.add("no acceptable auth method");
            ctx.writeAndFlush(new DefaultSocks5InitialResponse(Socks5AuthMethod.UNACCEPTED))
                .addListener(ChannelFutureListener.CLOSE);
            return;
          }
          ctx.pipeline()
              .replace(
                  "decoder",
                  "decoder",
                  wanted == Socks5AuthMethod.PASSWORD
                      ? new Socks5PasswordAuthRequestDecoder()
                      : new Socks5CommandRequestDecoder());
          ctx.writeAndFlush(new DefaultSocks5InitialResponse(wanted));
        } else if (message instanceof Socks5PasswordAuthRequest auth) {
          if (!auth.username().equals(user) || !auth.password().equals(password)) {
            log.add("auth failed for " + auth.username());
            ctx.writeAndFlush(
                    new DefaultSocks5PasswordAuthResponse(Socks5PasswordAuthStatus.FAILURE))
                .addListener(ChannelFutureListener.CLOSE);
            return;
          }
          ctx.pipeline().replace("decoder", "decoder", new Socks5CommandRequestDecoder());
          ctx.writeAndFlush(
              new DefaultSocks5PasswordAuthResponse(Socks5PasswordAuthStatus.SUCCESS));
        } else if (message instanceof Socks5CommandRequest command) {
          connect(ctx, command);
        } else {
          ctx.close();
        }
      }

      private void connect(ChannelHandlerContext ctx, Socks5CommandRequest command) {
        log.add(
            name(command.type())
                + " "
                + name(command.dstAddrType())
                + " "
                + command.dstAddr()
                + ":"
                + command.dstPort());
        InetSocketAddress target =
            command.type() == Socks5CommandType.CONNECT
                ? target(command.dstAddr(), command.dstPort())
                : null;
        if (target == null) {
          ctx.writeAndFlush(
                  new DefaultSocks5CommandResponse(
                      Socks5CommandStatus.HOST_UNREACHABLE, Socks5AddressType.IPv4))
              .addListener(ChannelFutureListener.CLOSE);
          return;
        }
        Channel inbound = ctx.channel();
        inbound.config().setAutoRead(false);
        Socks5Proxy.this
            .connect(
                inbound,
                target,
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new Relay(inbound));
                  }
                })
            .addListener(
                (ChannelFuture f) -> {
                  if (!f.isSuccess()) {
                    ctx.writeAndFlush(
                            new DefaultSocks5CommandResponse(
                                Socks5CommandStatus.FAILURE, Socks5AddressType.IPv4))
                        .addListener(ChannelFutureListener.CLOSE);
                    return;
                  }
                  ctx.writeAndFlush(
                          new DefaultSocks5CommandResponse(
                              Socks5CommandStatus.SUCCESS,
                              Socks5AddressType.IPv4,
                              "127.0.0.1",
                              target.getPort()))
                      .addListener(
                          (ChannelFuture written) -> {
                            inbound.pipeline().addLast("relay", new Relay(f.channel()));
                            inbound.pipeline().remove("frontend");
                            inbound.pipeline().remove("decoder");
                            inbound.pipeline().remove("encoder");
                            inbound.config().setAutoRead(true);
                          });
                });
      }
    }
  }
}
