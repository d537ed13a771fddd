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
 * <p><b>Allowed:</b> nothing so far. Each entry added here must say why the call cannot block for
 * long or cannot be moved off the event loop; "a test failed" is not a reason.
 */
public final class BlockHoundFileIoIntegration implements BlockHoundIntegration {

  private static final String FILE_CHANNEL = "sun.nio.ch.FileChannelImpl";

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
  }
}
