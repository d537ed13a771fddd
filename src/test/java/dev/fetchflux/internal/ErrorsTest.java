package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.FetchException.Kind;
import java.io.IOException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Classifying a failure looks through its causes, and ends even when they form a cycle. */
@Timeout(10)
class ErrorsTest {

  @Test
  void causeFoundDeepInTheChain() {
    Exception e =
        new RuntimeException(
            "outer",
            new IllegalStateException("middle", new ConnectException("Connection refused")));
    assertThat(Errors.classify(e).kind()).isEqualTo(Kind.CONNECT_REFUSED);
  }

  @Test
  void causeCycleEndsAsOther() {
    Exception a = new Exception("a");
    Exception b = new Exception("b", a);
    a.initCause(b); // a -> b -> a: Throwable forbids only a cause that is the exception itself
    Errors.Classified c = Errors.classify(a);
    assertThat(c.kind()).isEqualTo(Kind.OTHER);
    assertThat(c.detail()).isEqualTo("a");
  }

  @Test
  void classifiableCauseBehindACycleOfOthersIsNotReached() {
    IOException reset = new IOException("Connection reset by peer");
    Exception a = new Exception("a", reset);
    assertThat(Errors.classify(a).kind()).isEqualTo(Kind.CONNECTION_RESET);
  }

  @Test
  void veryLongChainEnds() {
    Throwable t = new Exception("root");
    for (int i = 0; i < 10_000; i++) {
      t = new RuntimeException("wrap " + i, t);
    }
    assertThat(Errors.classify(t).kind()).isEqualTo(Kind.OTHER);
  }
}
