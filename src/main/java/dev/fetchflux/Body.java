package dev.fetchflux;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * An immutable response or request body, held in memory or, past the fetcher's
 * {@linkplain FetcherBuilder#spillThreshold(long) spill threshold}, in a temporary file.
 *
 * <h2>A value</h2>
 * A record with a {@code byte[]} component compares arrays by identity, so results and requests hold
 * their bytes in this small type instead, which never hands out its array. {@link #equals},
 * {@link #hashCode} and {@link #toString} never read a file and never throw, so results can be
 * compared, hashed and printed safely: bodies in memory are equal when their bytes are; a spilled body
 * is equal only to a body of the same file (compare contents with {@link #contentEquals}, which reads
 * files).
 *
 * <h2>A spilled body is a resource: release it</h2>
 * A body in a file ({@link #isInMemory()} is {@code false}) owns a temporary file. <b>Call
 * {@link #release()} when done with it</b> (after reading it, or to drop it), or hand the file over
 * with {@link #moveTo}. A body that is never released keeps its file on disk until the garbage
 * collector finds the body unreachable and a {@link java.lang.ref.Cleaner} deletes it: a safety net,
 * at a moment nobody controls, not a plan; a run that spills large bodies and relies on it fills the
 * disk. The fetcher itself releases the bodies it never delivers (results behind a cancelled head,
 * attempts that are retried). Reading a file-backed body is blocking I/O: do it off event-loop threads
 * (for example after {@code publishOn(Schedulers.boundedElastic())}). Bodies in memory hold nothing to
 * release; calling it is harmless.
 */
public final class Body {
  private static final Body EMPTY = new Body(new byte[0], null, 0);
  private static final Cleaner CLEANER = Cleaner.create();

  private final byte @Nullable [] bytes;
  private final @Nullable Path file;
  private final long size;
  private final Cleaner.@Nullable Cleanable cleanable;
  private final AtomicBoolean released = new AtomicBoolean();

  private Body(byte @Nullable [] bytes, @Nullable Path file, long size) {
    this.bytes = bytes;
    this.file = file;
    this.size = size;
    // The action must not capture this body, or it would never become unreachable.
    this.cleanable = file == null ? null : CLEANER.register(this, () -> deleteQuietly(file));
  }

  /** The empty body. */
  public static Body empty() {
    return EMPTY;
  }

  /** A body holding a copy of {@code bytes}. */
  public static Body of(byte[] bytes) {
    return bytes.length == 0 ? EMPTY : new Body(bytes.clone(), null, bytes.length);
  }

  /** A body holding {@code text} encoded as UTF-8. */
  public static Body of(String text) {
    return text.isEmpty() ? EMPTY : adopt(text.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A body that takes ownership of {@code bytes} without copying: the caller must not modify the array
   * afterwards. For transports that have just assembled a body and would otherwise copy it once more.
   */
  public static Body adopt(byte[] bytes) {
    return bytes.length == 0 ? EMPTY : new Body(bytes, null, bytes.length);
  }

  /**
   * A body stored in {@code file}, which the body now owns: {@link #release()} deletes it (and the
   * garbage collector does, once the body is unreachable). For transports that spill large bodies.
   *
   * @param size the file's length in bytes
   */
  public static Body adoptFile(Path file, long size) {
    Objects.requireNonNull(file, "file");
    if (size < 0) {
      throw new IllegalArgumentException("size < 0: " + size);
    }
    return new Body(null, file, size);
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // best effort: a temp file left behind is cleaned by the OS's temp policy
    }
  }

  /** Length in bytes (after decompression, for responses). */
  public long size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /** Whether the bytes are in memory ({@code false}: in a temporary file). */
  public boolean isInMemory() {
    return bytes != null;
  }

  /**
   * The temporary file holding the bytes, or {@code null} when they are in memory. The body owns it:
   * the path is valid only until {@link #release()}, or until this body becomes unreachable (its
   * {@code Cleaner} then deletes the file). To keep the file, {@link #moveTo} it.
   */
  public @Nullable Path file() {
    return file;
  }

  /**
   * Puts the bytes in {@code target} (replacing it) and returns it: a spilled body's file is moved
   * there (renamed when on the same file system, without copying) and the body gives it up, as by
   * {@link #release()}; a body in memory is written there. Blocking I/O.
   *
   * @throws IllegalStateException if the body was already released
   * @throws UncheckedIOException if the file cannot be moved or written
   */
  public Path moveTo(Path target) {
    Objects.requireNonNull(target, "target");
    try {
      if (bytes != null) {
        Files.write(target, bytes);
        return target;
      }
      if (!released.compareAndSet(false, true)) {
        throw new IllegalStateException("body was released; its file " + file + " is gone");
      }
      Path from = Objects.requireNonNull(file);
      try {
        Files.move(
            from, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(from, target, StandardCopyOption.REPLACE_EXISTING);
      }
      // The bytes are at target now; the Cleaner's delete of the old path finds nothing.
      Objects.requireNonNull(cleanable).clean();
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot move body to " + target, e);
    }
  }

  /**
   * A copy of the bytes; reads the file for a spilled body.
   *
   * @throws IllegalStateException if the body was {@linkplain #release() released}, or is too large
   *     for an array
   * @throws UncheckedIOException if the file cannot be read
   */
  public byte[] toByteArray() {
    if (bytes != null) {
      return bytes.clone();
    }
    checkReadable();
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException("body of " + size + " bytes does not fit an array");
    }
    try {
      return Files.readAllBytes(Objects.requireNonNull(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read spilled body " + file, e);
    }
  }

  /** A read-only view of the bytes (without copying when in memory). */
  public ByteBuffer asByteBuffer() {
    byte[] b = bytes != null ? bytes : toByteArray();
    return ByteBuffer.wrap(b).asReadOnlyBuffer();
  }

  /** The bytes decoded as UTF-8 (malformed input replaced). */
  public String asString() {
    return asString(StandardCharsets.UTF_8);
  }

  /** The bytes decoded with {@code charset} (malformed input replaced). */
  public String asString(Charset charset) {
    return new String(bytes != null ? bytes : toByteArray(), charset);
  }

  /**
   * A stream over the bytes; for a spilled body a stream over its file, which the caller closes.
   *
   * @throws UncheckedIOException if the file cannot be opened
   */
  public InputStream asInputStream() {
    if (bytes != null) {
      return new ByteArrayInputStream(bytes);
    }
    checkReadable();
    try {
      return Files.newInputStream(Objects.requireNonNull(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read spilled body " + file, e);
    }
  }

  /** Writes the bytes to {@code out}; blocking, so never call it on an event loop. */
  public void writeTo(OutputStream out) throws IOException {
    if (bytes != null) {
      out.write(bytes);
      return;
    }
    checkReadable();
    Files.copy(Objects.requireNonNull(file), out);
  }

  /** The SHA-256 digest of the bytes, as lower-case hex (streams a spilled body). */
  public String sha256() {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    if (bytes != null) {
      return HexFormat.of().formatHex(md.digest(bytes));
    }
    try (InputStream in = new DigestInputStream(asInputStream(), md)) {
      in.transferTo(OutputStream.nullOutputStream());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read spilled body " + file, e);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /**
   * Deletes the temporary file of a spilled body; afterwards its bytes can no longer be read. Does
   * nothing for a body in memory. Idempotent. Blocking (a file deletion).
   */
  public void release() {
    if (cleanable != null && released.compareAndSet(false, true)) {
      cleanable.clean();
    }
  }

  private void checkReadable() {
    if (released.get()) {
      throw new IllegalStateException("body was released; its file " + file + " is gone");
    }
  }

  /**
   * Whether the bytes of the two bodies are the same, wherever they are kept (reads spilled files:
   * blocking).
   *
   * @throws IllegalStateException if a spilled body among them was released
   */
  public boolean contentEquals(Body other) {
    if (this == other) {
      return true;
    }
    if (other.size != size) {
      return false;
    }
    if (bytes != null && other.bytes != null) {
      return Arrays.equals(bytes, other.bytes);
    }
    return sha256().equals(other.sha256());
  }

  /**
   * Bodies in memory are equal when their bytes are; a spilled body is equal to a body of the same
   * file only. Never reads a file and never throws; see {@link #contentEquals}.
   */
  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof Body b) || b.size != size) {
      return false;
    }
    if (bytes != null && b.bytes != null) {
      return Arrays.equals(bytes, b.bytes);
    }
    return file != null && file.equals(b.file);
  }

  @Override
  public int hashCode() {
    return bytes != null ? Arrays.hashCode(bytes) : Objects.hashCode(file);
  }

  /** {@code Body[12 bytes]}; for a spilled body also where it is, and whether it was released. */
  @Override
  public String toString() {
    if (bytes != null) {
      return "Body[" + size + " bytes]";
    }
    return "Body[" + size + " bytes in " + file + (released.get() ? ", released" : "") + "]";
  }
}
