package dev.fetchflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringReader;
import org.junit.jupiter.api.Test;

class LineReaderTest {

  @Test
  void readsLinesWithAnyTerminatorAndNumbersThem() throws IOException {
    LineReader in = new LineReader(new StringReader("a\r\nb\n\nc"), 100);
    assertThat(in.next()).isEqualTo("a");
    assertThat(in.next()).isEqualTo("b");
    assertThat(in.next()).isEmpty();
    assertThat(in.next()).isEqualTo("c");
    assertThat(in.lineNumber()).isEqualTo(4);
    assertThat(in.next()).isNull();
  }

  @Test
  void cutsALineLongerThanTheBoundAndFlagsIt() throws IOException {
    String huge = "x".repeat(50_000);
    LineReader in = new LineReader(new StringReader("ok\n" + huge + "\nafter\n"), 1000);
    assertThat(in.next()).isEqualTo("ok");
    assertThat(in.lastWasTooLong()).isFalse();
    String cut = in.next();
    assertThat(cut).hasSize(1000);
    assertThat(in.lastWasTooLong()).isTrue();
    assertThat(in.lastLength()).isEqualTo(50_000);
    assertThat(in.next()).isEqualTo("after");
    assertThat(in.lastWasTooLong()).isFalse();
    assertThat(in.lineNumber()).isEqualTo(3);
  }

  @Test
  void aLineExactlyAtTheBoundWithCrLfIsNotTooLong() throws IOException {
    LineReader in = new LineReader(new StringReader("abcd\r\n"), 4);
    assertThat(in.next()).isEqualTo("abcd");
    assertThat(in.lastWasTooLong()).isFalse();
  }
}
