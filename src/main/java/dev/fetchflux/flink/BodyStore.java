package dev.fetchflux.flink;

import dev.fetchflux.Body;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Writes bodies to files named from their sequence number: {@code 000012/000000012345.body} for seq
 * 12345 (a thousand files per directory, so tens of millions of bodies stay listable).
 *
 * <p>A name never comes from the server, so a response cannot choose where it lands. Each body is
 * written to a temporary file beside its target and renamed over it: a reader never sees half a
 * body, and a request repeated after a failover rewrites the same name, so the directory is
 * idempotent by sequence number. Blocking: call it off event loops.
 */
final class BodyStore {
  private final Path root;

  BodyStore(Path root) {
    this.root = root;
  }

  /** The body file of {@code seq}, relative to the body directory. */
  static String relativeName(long seq) {
    return String.format("%06d/%012d.body", seq / 1000, seq);
  }

  /** Stores {@code body} as the body of {@code seq}; returns its SHA-256 in lower-case hex. */
  String store(long seq, Body body) throws IOException {
    Path target = root.resolve(relativeName(seq));
    Path dir = target.getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + seq + "-", ".tmp");
    MessageDigest md = sha256();
    try {
      try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), md)) {
        body.writeTo(out);
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    return HexFormat.of().formatHex(md.digest());
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
