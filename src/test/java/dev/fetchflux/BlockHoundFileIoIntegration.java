package dev.fetchflux;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * What fetchflux adds to BlockHound's defaults for its tests.
 *
 * <p><b>Blocking:</b> file I/O through NIO channels. BlockHound's default list has the
 * {@code java.io} streams ({@code FileOutputStream.writeBytes}, {@code RandomAccessFile}, ...) but not
 * {@code sun.nio.ch.FileChannelImpl}, which is what {@code Files.write}, {@code Files.newOutputStream},
 * {@code Files.copy} and {@code FileChannel} use. Body spilling and the CLI's output files write
 * through it, and must never do so on an event loop.
 *
 * <p><b>Allowed:</b> each entry must say why the call cannot block for long or cannot be moved off
 * the event loop; "a test failed" is not a reason.
 * <ul>
 *   <li>log4j's logger registry ({@code InternalLoggerRegistry.getLogger} and
 *       {@code computeIfAbsent}), on the test class path through flink-test-utils: creating a
 *       logger (a class's first use, on whatever thread that happens) takes a read-write lock for
 *       a map lookup or insert, no I/O. Worse than a false alarm, BlockHound's error thrown from
 *       inside a contended {@code lock()} leaves a dead node in the lock's queue on Java 17
 *       ({@code AbstractQueuedSynchronizer.acquire} does not catch around {@code park}), so every
 *       later logger creation hangs; a test run was seen stuck that way in {@code Fetcher.close()}.
 *       BlockHound's own logging integration allows logback's equivalent, not log4j's.
 * </ul>
 */
public final class BlockHoundFileIoIntegration implements BlockHoundIntegration {

  private static final String FILE_CHANNEL = "sun.nio.ch.FileChannelImpl";
  private static final String LOG4J_LOGGER_REGISTRY =
      "org.apache.logging.log4j.core.util.internal.InternalLoggerRegistry";

  /** Method name and JVM descriptor of each {@code FileChannelImpl} method that does file I/O. */
  private static final String[][] FILE_CHANNEL_IO = {
    {"read", "(Ljava/nio/ByteBuffer;)I"},
    {"read", "([Ljava/nio/ByteBuffer;II)J"},
    {"read", "(Ljava/nio/ByteBuffer;J)I"},
    {"write", "(Ljava/nio/ByteBuffer;)I"},
    {"write", "([Ljava/nio/ByteBuffer;II)J"},
    {"write", "(Ljava/nio/ByteBuffer;J)I"},
    {"force", "(Z)V"},
    {"transferTo", "(JJLjava/nio/channels/WritableByteChannel;)J"},
    {"transferFrom", "(Ljava/nio/channels/ReadableByteChannel;JJ)J"},
  };

  @Override
  public void applyTo(BlockHound.Builder builder) {
    for (String[] m : FILE_CHANNEL_IO) {
      builder.markAsBlocking(FILE_CHANNEL, m[0], m[1]);
    }
    builder.allowBlockingCallsInside(LOG4J_LOGGER_REGISTRY, "getLogger");
    builder.allowBlockingCallsInside(LOG4J_LOGGER_REGISTRY, "computeIfAbsent");
  }
}
