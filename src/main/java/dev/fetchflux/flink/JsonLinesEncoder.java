package dev.fetchflux.flink;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.serialization.Encoder;

/** Writes each {@link FetchRecord} as one JSON line (UTF-8, {@code \n}) for a row-format sink. */
public final class JsonLinesEncoder implements Encoder<FetchRecord> {
  private static final long serialVersionUID = 1L;

  @Override
  public void encode(FetchRecord record, OutputStream out) throws IOException {
    out.write(record.toJson().getBytes(StandardCharsets.UTF_8));
    out.write('\n');
  }
}
