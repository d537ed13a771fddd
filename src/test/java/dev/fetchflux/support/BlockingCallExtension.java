package dev.fetchflux.support;

import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails the test (or, for {@code @BeforeAll}/{@code @AfterAll} code, the class) after which
 * BlockHound caught a blocking call on a non-blocking thread, whatever became of the
 * {@code BlockingOperationError} itself.
 *
 * <p>Registered for every test through {@code META-INF/services}; the calls come from
 * {@link BlockingCalls}, BlockHound's callback. A test that blocks on purpose takes its call out
 * with {@link BlockingCalls#take} (and should assert it is there). A call made by asynchronous work
 * that outlived its test (a timer, an event loop draining) is caught by the next check and named
 * with its thread and stack.
 */
public final class BlockingCallExtension
    implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {

  @Override
  public void beforeAll(ExtensionContext context) {
    List<BlockingCalls.Call> earlier = BlockingCalls.drain();
    if (!earlier.isEmpty()) {
      throw failure("before " + context.getDisplayName() + " (left by an earlier class)", earlier);
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    List<BlockingCalls.Call> calls = BlockingCalls.drain();
    if (!calls.isEmpty()) {
      throw failure(context.getDisplayName(), calls);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    List<BlockingCalls.Call> calls = BlockingCalls.drain();
    if (!calls.isEmpty()) {
      throw failure("after all of " + context.getDisplayName(), calls);
    }
  }

  static AssertionError failure(String where, List<BlockingCalls.Call> calls) {
    StringBuilder b =
        new StringBuilder("BlockHound caught ")
            .append(calls.size())
            .append(" blocking call(s) on non-blocking threads ")
            .append(where)
            .append(" (each threw BlockingOperationError where it was made):");
    for (BlockingCalls.Call c : calls) {
      b.append("\n").append(c);
    }
    return new AssertionError(b.toString());
  }
}
