package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class SafeNamesTest {

  @Test
  void nameStartsWithTheIndexAndTracesHostAndPath() {
    assertThat(SafeNames.of(17, URI.create("https://example.com/a/b.html?q=1")))
        .isEqualTo("000017_example.com_a_b.html");
  }

  @Test
  void dotDotSegmentsCannotFormAPathComponent() {
    String name = SafeNames.of(3, URI.create("http://h/../../etc/passwd"));
    assertThat(name).isEqualTo("000003_h_._._etc_passwd").doesNotContain("/", "..");
  }

  @Test
  void percentEncodedDotsAndSlashesStayInert() {
    String name = SafeNames.of(4, URI.create("http://h/%2e%2e/%2E%2E%2Fetc%2fpasswd"));
    assertThat(name).matches("[A-Za-z0-9._-]+").doesNotContain("%", "/", "..");
  }

  @Test
  void veryLongPathsAreCutAndKeepTheirExtension() {
    String name = SafeNames.of(5, URI.create("http://h/" + "a".repeat(5000) + ".json"));
    assertThat(name)
        .hasSizeLessThanOrEqualTo(SafeNames.MAX_LENGTH)
        .startsWith("000005_h_aaa")
        .endsWith(".json");
  }

  @Test
  void sameUrlAtTwoIndexesGetsTwoNames() {
    URI u = URI.create("http://h/x");
    assertThat(SafeNames.of(1, u)).isNotEqualTo(SafeNames.of(2, u));
  }

  @Test
  void unusualCharactersBecomeUnderscoresAndNeverLeadingDots() {
    assertThat(SafeNames.of(0, URI.create("http://h:8080/"))).isEqualTo("000000_h_8080");
    assertThat(SafeNames.of(0, URI.create("http://h/.hidden"))).isEqualTo("000000_h_.hidden");
    assertThat(SafeNames.of(9, URI.create("http://h/caf%C3%A9%20%00x"))).matches("[A-Za-z0-9._-]+");
  }
}
