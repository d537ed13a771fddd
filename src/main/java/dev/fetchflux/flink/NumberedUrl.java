package dev.fetchflux.flink;

import java.util.Objects;

/**
 * One input of a fetch job: a URL and its global sequence number (its zero-based position among the
 * URLs of the input), which every result, body file and merge step is keyed on.
 *
 * @param seq zero-based position of the URL in the job's input
 * @param url the URL as read from the input
 */
public record NumberedUrl(long seq, String url) {
  public NumberedUrl {
    if (seq < 0) {
      throw new IllegalArgumentException("seq < 0: " + seq);
    }
    Objects.requireNonNull(url, "url");
  }
}
