package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class JsonRequestsTest {

  private static JsonRequests.Rejected rejected(String line) {
    Object parsed = JsonRequests.parse(line, "<x line 1>");
    assertThat(parsed).isInstanceOf(JsonRequests.Rejected.class);
    return (JsonRequests.Rejected) parsed;
  }

  @Test
  void aFullLineBecomesARequestWithRepeatedHeadersAndADecodedBody() {
    Object parsed =
        JsonRequests.parse(
            "{\"url\": \"http://h.example/p?q=1\", \"method\": \"patch\","
                + " \"headers\": {\"A\": [\"1\", \"2\"], \"B\": \"3\"}, \"body_base64\": \"/wAB\"}",
            "-");
    assertThat(parsed).isInstanceOf(FetchRequest.class);
    FetchRequest r = (FetchRequest) parsed;
    assertThat(r.method()).isEqualTo("PATCH");
    assertThat(r.isIdempotent()).isFalse();
    assertThat(r.uri().toString()).isEqualTo("http://h.example/p?q=1");
    assertThat(r.headers().all("a")).containsExactly("1", "2");
    assertThat(r.headers().first("b")).isEqualTo("3");
    assertThat(r.body().toByteArray()).containsExactly((byte) 0xff, 0, 1);
  }

  @Test
  void aBareUrlIsAGetWithoutBody() {
    FetchRequest r = (FetchRequest) JsonRequests.parse("{\"url\": \"https://h.example/\"}", "-");
    assertThat(r.method()).isEqualTo("GET");
    assertThat(r.body().isEmpty()).isTrue();
  }

  @Test
  void eachKindOfMistakeIsRejectedWithItsReason() {
    assertThat(rejected("[1]").reason()).isEqualTo("expected a JSON object per line");
    assertThat(rejected("{\"url\": \"http://h.example/\"} trailing").reason())
        .startsWith("invalid JSON");
    assertThat(
            rejected("{\"url\": \"http://a.example/\", \"url\": \"http://b.example/\"}").reason())
        .startsWith("invalid JSON")
        .contains("url");
    assertThat(rejected("{\"url\": \"ftp://h.example/\"}").reason()).contains("unsupported scheme");
    assertThat(rejected("{\"url\": \"http://h.example/\", \"header\": {}}").reason())
        .startsWith("unknown field \"header\"");
    assertThat(rejected("{\"url\": \"http://h.example/\", \"method\": \"GE T\"}").text())
        .isEqualTo("http://h.example/");
    assertThat(rejected("{\"url\": \"http://h.example/\", \"headers\": {\"A\": [1]}}").reason())
        .contains("not a string");
    assertThat(
            rejected("{\"url\": \"http://h.example/\", \"headers\": {\"A\": \"x\\ny\"}}").reason())
        .contains("control character");
    assertThat(rejected("{\"url\": \"http://h.example/\", \"body_base64\": \"%%\"}").reason())
        .startsWith("\"body_base64\" is not base64");
    assertThat(rejected("{\"url\": \"http://h.example/\", \"body\": 5}").reason())
        .isEqualTo("\"body\" is not a string");
  }
}
