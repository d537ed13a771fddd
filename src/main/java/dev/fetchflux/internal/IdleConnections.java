package dev.fetchflux.internal;

import io.netty.channel.Channel;
import io.netty.channel.unix.Errors.NativeIoException;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.ConnectionObserver;
import reactor.netty.channel.ChannelOperations;

/**
 * The engine's idle keep-alive connections across all its per-address pools, least recently used
 * first, so that how many stay open is bounded for the whole fetcher rather than per host.
 *
 * <p>reactor-netty keeps one pool per remote address, and bounds each pool on its own: a crawl that
 * touches thousands of hosts once each keeps one idle connection per host until its idle time
 * runs out, and under the usual limit of 1,024 descriptors new connections then fail with "Too
 * many open files". This observer follows each connection through its pool (reactor-netty signals
 * {@code RELEASED} when a connection goes back idle and {@code ACQUIRED} when an idle one is taken
 * again) and closes the least recently used idle ones past the cap.
 *
 * <p>Closing an idle pooled connection from outside its pool is safe because:
 * <ul>
 *   <li>the close runs on the connection's event loop, and only if no request is bound to the
 *       channel there ({@code ChannelOperations.get(channel) == null}); reactor-netty binds a
 *       request on that same loop, so a request that was written is never cut;
 *   <li>when the pool has already handed the connection to a request whose set-up task is still
 *       queued on that loop, reactor-netty ({@code DefaultPooledConnectionProvider}) finds the
 *       channel inactive, invalidates it and acquires again; a closed connection still in a pool's
 *       idle queue is dropped by the pool's eviction predicate (the channel is not active) at the
 *       next acquire or background eviction;
 *   <li>if that second acquire also meets a connection closed in the same instant, reactor-netty
 *       fails it with {@code IOException("Error while acquiring from ...")}, which its own retry
 *       (resets and closes before the request was sent) does not cover; {@link #recovering}
 *       retries it here, as nothing was sent.
 * </ul>
 *
 * <p>HTTP/2 connections are not seen: reactor-netty's HTTP/2 pool signals neither state. There is
 * one per host and {@code maxIdleTime} closes it.
 */
final class IdleConnections implements ConnectionObserver {

  /** Retries of one request's connect after the failures {@link #recovering} handles. */
  static final int MAX_RECOVERIES = 3;

  private static final AttributeKey<Entry> ENTRY =
      AttributeKey.valueOf(IdleConnections.class, "entry");

  /** A tracked connection. {@code idle} is written and read on its channel's event loop only. */
  private static final class Entry {
    final Channel channel;
    boolean idle;

    Entry(Channel channel) {
      this.channel = channel;
    }
  }

  /** Idle connections, least recently released first. Guarded by {@code this}. */
  private final LinkedHashSet<Entry> idle = new LinkedHashSet<>();

  /** The cap now: the configured one, lowered after descriptors ran out. Guarded by this. */
  private int cap;

  /** The eviction that frees descriptors right now, shared by the connects that wait for it. */
  private @Nullable Mono<Boolean> relief;

  /** Reliefs completed: a connect that started before the last one retries without another. */
  private final AtomicLong reliefs = new AtomicLong();

  private volatile boolean closed;

  /** @param cap idle connections kept across all hosts, at least 0 */
  IdleConnections(int cap) {
    this.cap = cap;
  }

  /** Idle connections tracked now (their close may still be under way). */
  synchronized int size() {
    return idle.size();
  }

  /** The cap now: the configured one, or lower once descriptors ran out. */
  synchronized int cap() {
    return cap;
  }

  @Override
  public void onStateChange(Connection connection, State newState) {
    if (newState == State.RELEASED) {
      Channel ch = connection.channel();
      if (ch.parent() != null) {
        return;
      }
      if (ch.eventLoop().inEventLoop()) {
        released(ch);
      } else {
        ch.eventLoop().execute(() -> released(ch));
      }
    } else if (newState == State.ACQUIRED) {
      Channel ch = connection.channel();
      Entry e = ch.attr(ENTRY).get();
      if (e != null) {
        e.idle = false;
        synchronized (this) {
          idle.remove(e);
        }
      }
    }
  }

  /** On {@code ch}'s event loop: it went back into its pool. */
  private void released(Channel ch) {
    if (!ch.isActive()) {
      return;
    }
    Entry e = ch.attr(ENTRY).get();
    boolean first = e == null;
    if (e == null) {
      e = new Entry(ch);
      ch.attr(ENTRY).set(e);
    }
    e.idle = true;
    List<Entry> victims;
    synchronized (this) {
      idle.remove(e);
      idle.add(e);
      victims = eldest(idle.size() - cap);
    }
    if (first) {
      Entry tracked = e;
      ch.closeFuture().addListener(f -> forget(tracked));
    }
    for (Entry v : victims) {
      closeLater(v);
    }
  }

  private synchronized void forget(Entry e) {
    idle.remove(e);
  }

  /** Removes and returns up to {@code n} of the least recently used entries. Holding the lock. */
  private List<Entry> eldest(int n) {
    if (n <= 0) {
      return List.of();
    }
    List<Entry> out = new ArrayList<>(Math.min(n, idle.size()));
    Iterator<Entry> it = idle.iterator();
    while (it.hasNext() && out.size() < n) {
      out.add(it.next());
      it.remove();
    }
    return out;
  }

  /** Closes {@code e} on its event loop if it is still idle there; completes when done. */
  private Mono<Void> close(Entry e) {
    return Mono.create(
            sink -> {
              Channel ch = e.channel;
              try {
                ch.eventLoop()
                    .execute(
                        () -> {
                          if (e.idle && ch.isActive() && ChannelOperations.get(ch) == null) {
                            e.idle = false;
                            ch.close().addListener(f -> sink.success());
                          } else {
                            sink.success();
                          }
                        });
              } catch (RejectedExecutionException loopShutDown) {
                sink.success();
              }
            })
        .then();
  }

  // Mono.create is lazy: the fire-and-forget path subscribes.
  private void closeLater(Entry e) {
    close(e).subscribe();
  }

  /**
   * Closes the {@code n} least recently used idle connections (each only if still idle on its
   * loop); completes when they are closed.
   */
  Mono<Void> evict(int n) {
    List<Entry> victims;
    synchronized (this) {
      victims = eldest(n);
    }
    return Flux.fromIterable(victims).flatMap(this::close).then();
  }

  /**
   * A request's connect ({@code HttpClient.mapConnect}) that recovers from failures that come
   * before anything is sent, retrying up to {@value #MAX_RECOVERIES} times:
   * <ul>
   *   <li>no descriptor left for the socket ({@code EMFILE}, "Too many open files"): the least
   *       recently used half of the idle connections is closed and the cap lowered to what
   *       remains, so idle connections never again hold the descriptors new connections and files
   *       need; without idle connections to close the failure stands;
   *   <li>the acquire lost a race with an eviction (see the class comment), or with the disposal
   *       of an inactive pool ({@code PoolShutdownException}): acquired again, from a new pool if
   *       need be.
   * </ul>
   */
  Mono<Connection> recovering(Mono<? extends Connection> connect) {
    return Mono.defer(() -> attempt(connect, 0));
  }

  private Mono<Connection> attempt(Mono<? extends Connection> connect, int recoveries) {
    long reliefsBefore = reliefs.get();
    return Mono.<Connection>from(connect)
        .onErrorResume(
            e -> {
              if (recoveries >= MAX_RECOVERIES || closed) {
                return Mono.error(e);
              }
              if (tooManyOpenFiles(e)) {
                return relieve(reliefsBefore)
                    .flatMap(freed -> freed ? attempt(connect, recoveries + 1) : Mono.error(e));
              }
              if (lostAcquireRace(e)) {
                return attempt(connect, recoveries + 1);
              }
              return Mono.error(e);
            });
  }

  /**
   * Frees descriptors by closing the least recently used half of the idle connections; emits
   * whether a retry may find one free. Connects failing at once share one relief, and one that
   * started before the last relief finished just retries.
   */
  private Mono<Boolean> relieve(long reliefsBefore) {
    synchronized (this) {
      if (reliefs.get() != reliefsBefore) {
        return Mono.just(true);
      }
      if (relief != null) {
        return relief;
      }
      int n = idle.size();
      if (n == 0) {
        return Mono.just(false);
      }
      int keep = n / 2;
      cap = Math.min(cap, Math.max(keep, 1));
      Mono<Boolean> r =
          evict(n - keep)
              .then(
                  Mono.fromCallable(
                      () -> {
                        synchronized (this) {
                          relief = null;
                          reliefs.incrementAndGet();
                        }
                        return true;
                      }))
              .cache();
      relief = r;
      return r;
    }
  }

  /** EMFILE or ENFILE anywhere in the chain: no descriptor for a new socket. */
  static boolean tooManyOpenFiles(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof NativeIoException n && (n.expectedErr() == -24 || n.expectedErr() == -23)) {
        return true;
      }
      if (t instanceof IOException
          && String.valueOf(t.getMessage()).contains("Too many open files")) {
        return true;
      }
    }
    return false;
  }

  private static boolean lostAcquireRace(Throwable e) {
    return e.getClass().getSimpleName().equals("PoolShutdownException")
        || (e instanceof IOException
            && String.valueOf(e.getMessage()).startsWith("Error while acquiring from"));
  }

  /** The engine is closing: no more retries (its pools are being disposed on purpose). */
  void close() {
    closed = true;
  }
}
