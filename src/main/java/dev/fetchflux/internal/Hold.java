package dev.fetchflux.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where the bodies of one streaming call wait while they are behind the head ({@link BodyRelay}): in
 * memory, up to {@code perBody} bytes each and {@code total} bytes together (the call's byte budget,
 * the fetcher's {@code reorderWindowBytes}); past either, a body stops reading from its connection
 * for up to {@code pauseBeforeSpill} (the head usually moves on by then, and nothing was copied), and
 * after that goes on into a temporary file in {@code spillDirectory}, so that a server is never left
 * waiting long enough to give up on the connection.
 */
public final class Hold {
  private final long perBody;
  private final long collectThreshold;
  private final Path spillDirectory;
  private final Duration pauseBeforeSpill;
  private final ByteBudget collectMemory;
  private final ByteBudget memory;

  /** Buffers handed to readers so far, by every body of the call: whether reading moves on. */
  private final AtomicLong moved = new AtomicLong();

  /**
   * The longest a held body pauses while the bodies being read keep moving, before it spills all
   * the same: well within the minute servers commonly wait on a full socket (nginx's {@code
   * send_timeout}, Apache's {@code Timeout}).
   */
  static final Duration MAX_PAUSE = Duration.ofSeconds(20);

  /**
   * @param perBody bytes one waiting body may keep in memory
   * @param total bytes all waiting bodies of the call may keep in memory together
   * @param collectThreshold bytes past which a body collected whole ({@code BodyStream.toBody()})
   *     goes to a temporary file (the fetcher's spill threshold)
   * @param spillDirectory where temporary files go
   * @param pauseBeforeSpill how long a body past its memory stops reading before it spills
   * @param collectMemory the fetcher's memory for bodies received whole ({@code maxBodyMemory}),
   *     which a body collected by {@code toBody()} shares
   */
  public Hold(
      long perBody,
      long total,
      long collectThreshold,
      Path spillDirectory,
      Duration pauseBeforeSpill,
      ByteBudget collectMemory) {
    this.collectMemory = collectMemory;
    this.perBody = perBody;
    this.memory = new ByteBudget(total);
    this.collectThreshold = collectThreshold;
    this.spillDirectory = spillDirectory;
    this.pauseBeforeSpill = pauseBeforeSpill;
  }

  long perBody() {
    return perBody;
  }

  ByteBudget collectMemory() {
    return collectMemory;
  }

  long collectThreshold() {
    return collectThreshold;
  }

  Path spillDirectory() {
    return spillDirectory;
  }

  Duration pauseBeforeSpill() {
    return pauseBeforeSpill;
  }

  /** {@code n} more buffers were handed to a reader. */
  void moved(long n) {
    moved.addAndGet(n);
  }

  /** Buffers handed to readers so far. */
  long moved() {
    return moved.get();
  }

  /** Takes {@code n} bytes of the budget if they are free. */
  boolean tryReserve(long n) {
    return memory.tryReserve(n);
  }

  /** Gives {@code n} bytes back. */
  void release(long n) {
    memory.release(n);
  }

  /** Bytes held in memory right now, across the call's waiting bodies. */
  long used() {
    return memory.used();
  }
}
