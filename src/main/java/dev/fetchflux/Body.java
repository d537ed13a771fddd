package dev.fetchflux;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * An immutable response or request body.
 *
 * <p>A record with a {@code byte[]} component compares arrays by identity, so results and requests hold
 * their bytes in this small type instead, which compares by content and never hands out its array.
 */
public final class Body {
  private static final Body EMPTY = new Body(new byte[0]);

  private final byte[] bytes;

  private Body(byte[] bytes) {
    this.bytes = bytes;
  }

  /** The empty body. */
  public static Body empty() {
    return EMPTY;
  }

  /** A body holding a copy of {@code bytes}. */
  public static Body of(byte[] bytes) {
    return bytes.length == 0 ? EMPTY : new Body(bytes.clone());
  }

  /** A body holding {@code text} encoded as UTF-8. */
  public static Body of(String text) {
    return text.isEmpty() ? EMPTY : new Body(text.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A body that takes ownership of {@code bytes} without copying: the caller must not modify the array
   * afterwards. For transports that have just assembled a body and would otherwise copy it once more.
   */
  public static Body adopt(byte[] bytes) {
    return bytes.length == 0 ? EMPTY : new Body(bytes);
  }

  /** Length in bytes (after decompression, for responses). */
  public int size() {
    return bytes.length;
  }

  public boolean isEmpty() {
    return bytes.length == 0;
  }

  /** A copy of the bytes. */
  public byte[] toByteArray() {
    return bytes.clone();
  }

  /** A read-only view of the bytes, without copying. */
  public ByteBuffer asByteBuffer() {
    return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
  }

  /** The bytes decoded as UTF-8 (malformed input replaced). */
  public String asString() {
    return asString(StandardCharsets.UTF_8);
  }

  /** The bytes decoded with {@code charset} (malformed input replaced). */
  public String asString(Charset charset) {
    return new String(bytes, charset);
  }

  /** A stream over the bytes. */
  public InputStream asInputStream() {
    return new ByteArrayInputStream(bytes);
  }

  /** Writes the bytes to {@code out}; blocking, so never call it on an event loop. */
  public void writeTo(OutputStream out) throws IOException {
    out.write(bytes);
  }

  /** The SHA-256 digest of the bytes, as lower-case hex. */
  public String sha256() {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Body b && Arrays.equals(b.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "Body[" + bytes.length + " bytes]";
  }
}
