package dev.fetchflux.cli;

import dev.fetchflux.FetchResult;
import dev.fetchflux.StreamedResult;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import org.jspecify.annotations.Nullable;

/**
 * {@code -o DIR}: each body in a file of its own, plus {@code manifest.jsonl} (one JSON record per
 * input, in output order, with the file name; the {@code --jsonl} schema plus {@code file}).
 *
 * <p>Each file is written under a temporary name and renamed into place, so a file under its final
 * name is always complete, even after the run is interrupted. Nothing here follows a symbolic link
 * planted in the directory: temporary files are created with {@code O_EXCL}, which refuses an
 * existing entry of that name, link or not, and {@code rename} replaces a link at the final name
 * instead of writing through it. Names come from {@link SafeNames}, so none leaves the directory.
 */
final class DirectorySink implements ResultSink {
  /** The manifest's name; no body file can have it, since those start with a digit. */
  static final String MANIFEST = "manifest.jsonl";

  private final Path dir;
  private final String token;
  private final FileChannel manifestChannel;
  private final OutputStream manifestStream;
  private final JsonLines manifest;
  private final @Nullable JsonLines echo;
  private long temporaries;

  private DirectorySink(
      Path dir, String token, FileChannel manifestChannel, @Nullable OutputStream stdoutJsonl)
      throws IOException {
    this.dir = dir;
    this.token = token;
    this.manifestChannel = manifestChannel;
    this.manifestStream = new BufferedOutputStream(Channels.newOutputStream(manifestChannel));
    this.manifest = new JsonLines(manifestStream);
    this.echo = stdoutJsonl == null ? null : new JsonLines(stdoutJsonl);
  }

  /**
   * Creates {@code dir} if needed and starts a new manifest in it.
   *
   * @param stdoutJsonl where to repeat the manifest's records ({@code --jsonl}), or {@code null}
   * @throws IOException if the directory cannot be created or written
   */
  static DirectorySink open(Path dir, @Nullable OutputStream stdoutJsonl) throws IOException {
    Files.createDirectories(dir);
    String token = Long.toHexString(new SecureRandom().nextLong());
    // The manifest too is created under a fresh name and renamed over manifest.jsonl, so a link
    // planted under that name is replaced, not followed. It is written to through the open
    // channel afterwards.
    Path tmp = dir.resolve(".fetchflux-" + token + "-manifest.part");
    FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    try {
      Resume.lock(ch, dir.resolve(MANIFEST));
      Files.move(tmp, dir.resolve(MANIFEST), StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      ch.close();
      Files.deleteIfExists(tmp);
      throw e;
    }
    return new DirectorySink(dir, token, ch, stdoutJsonl);
  }

  /**
   * Continues the manifest of an interrupted run ({@code --resume}) in {@code dir}.
   *
   * @param manifest the manifest, open, locked and positioned where the next record goes (from
   *     {@link Resume#finish()}); closed by {@link #close()}
   * @param stdoutJsonl where to repeat the new records ({@code --jsonl}), or {@code null}
   */
  static DirectorySink continueIn(
      Path dir, FileChannel manifest, @Nullable OutputStream stdoutJsonl) throws IOException {
    return new DirectorySink(
        dir, Long.toHexString(new SecureRandom().nextLong()), manifest, stdoutJsonl);
  }

  @Override
  public void write(FetchResult result, String method, @Nullable String failure)
      throws IOException {
    String file = null;
    if (result instanceof FetchResult.Success ok) {
      file = SafeNames.of(ok.index(), ok.uri());
      writeAtomically(ok, dir.resolve(file));
    }
    manifest.write(result, method, failure, true, file);
    // One record per file written, so a manifest cut by a crash still lists whole files.
    manifest.flush();
    if (echo != null) {
      echo.write(result, method, failure, true, file);
    }
  }

  @Override
  public long writeStreamed(StreamedResult.Success ok, String method) throws IOException {
    String file = SafeNames.of(ok.index(), ok.uri());
    Path target = dir.resolve(file);
    Path tmp = dir.resolve(".fetchflux-" + token + "-" + (temporaries++) + ".part");
    boolean done = false;
    long bytes;
    try {
      // Written as it arrives, straight from the network buffers, then renamed into place.
      try (FileChannel ch =
          FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        bytes = ok.body().transferTo(ch);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      done = true;
    } finally {
      if (!done) {
        Files.deleteIfExists(tmp);
      }
    }
    JsonLines.Done record = JsonLines.Done.of(ok, bytes, null);
    manifest.write(record, method, true, file);
    manifest.flush();
    if (echo != null) {
      echo.write(record, method, true, file);
    }
    return bytes;
  }

  private void writeAtomically(FetchResult.Success ok, Path target) throws IOException {
    Path tmp = dir.resolve(".fetchflux-" + token + "-" + (temporaries++) + ".part");
    boolean done = false;
    try {
      try (OutputStream out =
          new BufferedOutputStream(
              Channels.newOutputStream(
                  FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)),
              64 * 1024)) {
        Bodies.writeTo(ok, out);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      done = true;
    } finally {
      if (!done) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  @Override
  public void flush() throws IOException {
    manifest.flush();
    if (echo != null) {
      echo.flush();
    }
  }

  @Override
  public void close() throws IOException {
    try {
      manifest.close();
      manifestStream.close();
    } finally {
      manifestChannel.close();
      if (echo != null) {
        echo.close();
      }
    }
  }
}
