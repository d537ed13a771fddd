package dev.fetchflux.flink;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The metadata of one fetched URL, as a fetch job emits it: one record per input, success or
 * failure, never the body itself (bodies go to files named by {@link #seq()}, see {@link #body()}).
 *
 * <p>A Java record, so Flink serializes it with its POJO serializer. As a JSON line (see
 * {@link #toJson()}) fields that are {@code null} are left out, and a failure's kind and message
 * sit under {@code "error"}:
 *
 * <pre>{@code
 * {"seq":0,"url":"http://a/","finalUrl":"http://a/","status":200,"bytes":5,"sha256":"2cf2…",
 *  "body":"0/000000000000.body","start":"2026-01-02T03:04:05.006Z","ttfbMs":1.2,"totalMs":1.9,
 *  "attempts":1,"redirects":0}
 * {"seq":1,"url":"http://b/","status":500,"bytes":0,"start":"…","ttfbMs":3.1,"totalMs":3.2,
 *  "attempts":1,"redirects":0,
 *  "error":{"kind":"HTTP_STATUS","message":"HTTP error status: status 500"}}
 * }</pre>
 *
 * @param seq the input's global sequence number (zero-based position among the job's URLs)
 * @param url the URL as read from the input
 * @param finalUrl the URL that produced the response, after redirects; {@code null} on failure
 * @param status HTTP status of the final response; 0 when none arrived
 * @param bytes body length after decompression; 0 on failure
 * @param sha256 lower-case hex SHA-256 of the body; {@code null} on failure
 * @param body path of the stored body relative to the job's body directory; {@code null} on failure
 *     or when bodies are not stored
 * @param startEpochMillis wall-clock start of the first attempt; 0 when the request never started
 * @param ttfbMillis from start to the final response's headers; 0 when none arrived
 * @param totalMillis from start to the result, across attempts and redirects
 * @param attempts attempts made (0 when the request never started)
 * @param redirects redirects followed
 * @param errorKind {@link dev.fetchflux.FetchException.Kind} name, or {@code null} on success
 * @param errorMessage what went wrong, with the original cause's type and message; {@code null} on
 *     success
 */
public record FetchRecord(
    long seq,
    String url,
    @Nullable String finalUrl,
    int status,
    long bytes,
    @Nullable String sha256,
    @Nullable String body,
    long startEpochMillis,
    double ttfbMillis,
    double totalMillis,
    int attempts,
    int redirects,
    @Nullable String errorKind,
    @Nullable String errorMessage) {

  public FetchRecord {
    Objects.requireNonNull(url, "url");
  }

  /** Whether the URL was fetched (no {@link #errorKind()}). */
  public boolean succeeded() {
    return errorKind == null;
  }

  /** This record as one line of JSON, without the line break. */
  public String toJson() {
    return JsonLines.write(this);
  }

  /**
   * Reads a record back from a line written by {@link #toJson()}.
   *
   * @throws IllegalArgumentException if the line is not such a record
   */
  public static FetchRecord parse(String line) {
    return JsonLines.read(line);
  }
}
