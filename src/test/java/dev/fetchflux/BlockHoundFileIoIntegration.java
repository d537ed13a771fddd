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
 * <p><b>Blocking:</b> opening, creating, renaming and deleting files and directories. A disk (or a
 * network file system) can take as long to create or unlink a file as to write it, and the library
 * creates spill files and deletes released bodies. Marked where every path ends: the JDK 17
 * natives behind NIO ({@code sun.nio.fs.UnixNativeDispatcher}: {@code Files.newByteChannel},
 * {@code createFile}, {@code createTempFile}, {@code createDirectories}, {@code delete},
 * {@code deleteIfExists}, {@code move}, {@code FileChannel.open},
 * {@code AsynchronousFileChannel.open}) and behind {@code java.io} ({@code File.delete},
 * {@code createNewFile}, {@code mkdir}, {@code renameTo} in {@code java.io.UnixFileSystem}; the
 * {@code open0} of {@code FileInputStream}, {@code FileOutputStream} and
 * {@code RandomAccessFile}). Names and descriptors checked with {@code javap -p -s} on JDK 17;
 * {@code BlockHoundTest} proves each kind fires. Class loading opens jars through
 * {@code RandomAccessFile} too, inside {@code ClassLoader.loadClass}, which BlockHound allows.
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
 *   <li>Flink's {@code ExecutorUtils.gracefulShutdown}, on the test class path through the Flink
 *       MiniCluster of {@code FetchJobTest}: when the cluster stops, Flink's REST endpoint waits for
 *       its own executor to terminate from a thread of its shaded Netty's
 *       {@code GlobalEventExecutor}, which BlockHound counts as non-blocking. Flink's shutdown of
 *       Flink's threads, once per cluster, not fetchflux code and not on a fetcher's event loop.
 *   <li>reactor-core's {@code Flux.toIterable()} iterator ({@code BlockingIterable$SubscriberIterator
 *       .signalConsumer}): it wakes its consumer under a lock the consumer holds for a few
 *       instructions; reactor-core's wait by design.
 *   <li>the Reactive Streams TCK's test subscriber ({@code TestEnvironment$Receptacle.add} and
 *       {@code complete}, {@code TestEnvironment$Promise.complete}): each signal goes into an
 *       {@code ArrayBlockingQueue} under a lock the test thread holds for a poll, a few
 *       instructions. The TCK's code, in tests only; thrown inside {@code lock()}, BlockHound's
 *       error lost the signal and the rule timed out instead ({@code BlockHoundTest} holds the
 *       lock on purpose to show the wait is allowed).
 * </ul>
 */
public final class BlockHoundFileIoIntegration implements BlockHoundIntegration {

  private static final String FILE_CHANNEL = "sun.nio.ch.FileChannelImpl";
  private static final String TCK_RECEPTACLE = "org.reactivestreams.tck.TestEnvironment$Receptacle";
  private static final String TCK_PROMISE = "org.reactivestreams.tck.TestEnvironment$Promise";
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

  private static final String UNIX_NATIVE_DISPATCHER = "sun.nio.fs.UnixNativeDispatcher";

  /** The natives of {@code UnixNativeDispatcher} that open, create, rename or delete a file. */
  private static final String[][] NIO_FILE_OPS = {
    {"open0", "(JII)I"},
    {"openat0", "(IJII)I"},
    {"mkdir0", "(JI)V"},
    {"rename0", "(JJ)V"},
    {"renameat0", "(IJIJ)V"},
    {"unlink0", "(J)V"},
    {"unlinkat0", "(IJI)V"},
    {"rmdir0", "(J)V"},
  };

  /** Class, method and descriptor of each {@code java.io} native that opens or changes a file. */
  private static final String[][] JAVA_IO_FILE_OPS = {
    {"java.io.UnixFileSystem", "createFileExclusively", "(Ljava/lang/String;)Z"},
    {"java.io.UnixFileSystem", "createDirectory", "(Ljava/io/File;)Z"},
    {"java.io.UnixFileSystem", "rename0", "(Ljava/io/File;Ljava/io/File;)Z"},
    {"java.io.UnixFileSystem", "delete0", "(Ljava/io/File;)Z"},
    {"java.io.FileInputStream", "open0", "(Ljava/lang/String;)V"},
    {"java.io.FileOutputStream", "open0", "(Ljava/lang/String;Z)V"},
    {"java.io.RandomAccessFile", "open0", "(Ljava/lang/String;I)V"},
  };

  @Override
  public void applyTo(BlockHound.Builder builder) {
    for (String[] m : FILE_CHANNEL_IO) {
      builder.markAsBlocking(FILE_CHANNEL, m[0], m[1]);
    }
    for (String[] m : NIO_FILE_OPS) {
      builder.markAsBlocking(UNIX_NATIVE_DISPATCHER, m[0], m[1]);
    }
    for (String[] m : JAVA_IO_FILE_OPS) {
      builder.markAsBlocking(m[0], m[1], m[2]);
    }
    builder.allowBlockingCallsInside(LOG4J_LOGGER_REGISTRY, "getLogger");
    builder.allowBlockingCallsInside(LOG4J_LOGGER_REGISTRY, "computeIfAbsent");
    builder.allowBlockingCallsInside("org.apache.flink.util.ExecutorUtils", "gracefulShutdown");
    // Flux.toIterable()'s iterator (the README example) signals its consumer under a lock held
    // for a few instructions; when the consumer holds it in that instant the event loop parks on
    // it for as long. BlockHound then threw inside lock(), which left the lock broken and the
    // test hung until its timeout (a CI run). The wait is reactor-core's by design, not ours.
    builder.allowBlockingCallsInside(
        "reactor.core.publisher.BlockingIterable$SubscriberIterator", "signalConsumer");
    // The Reactive Streams TCK's test subscriber queues every signal it gets in an
    // ArrayBlockingQueue, whose lock the test thread holds for an instant each time it polls; a
    // signal from an event loop in that instant waits as long. BlockHound threw inside lock(): the
    // signal was lost and the rule failed after its timeout (two CI runs).
    builder.allowBlockingCallsInside(TCK_RECEPTACLE, "add");
    builder.allowBlockingCallsInside(TCK_RECEPTACLE, "complete");
    builder.allowBlockingCallsInside(TCK_PROMISE, "complete");
  }
}
