package dev.fetchflux.support;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;
import reactor.blockhound.BlockHound;
import reactor.blockhound.BlockingMethod;
import reactor.blockhound.BlockingOperationError;

/**
 * Every blocking call BlockHound caught in this JVM, kept until a test's check takes it.
 *
 * <p>BlockHound reports a blocking call on a non-blocking thread by throwing a
 * {@link BlockingOperationError} from the call itself. Inside library code that error is a
 * {@code Throwable} like any other: an {@code onErrorResume}, a failure mapping or an event loop's
 * exception handler turns it into a value ({@code FetchResult.Failure} of kind {@code OTHER}) or a
 * log line, and a test that expects failures passes. So {@link #record} is installed as BlockHound's
 * {@link BlockHound.Builder#blockingMethodCallback callback}: it keeps the call (thread, method,
 * stack) here and then throws as before, and {@link BlockingCallExtension} fails the test after
 * which a call is left here.
 */
public final class BlockingCalls {

  /** One blocking call: the thread it ran on, the method BlockHound marks, and the stack. */
  public record Call(String thread, String method, List<StackTraceElement> stack) {
    @Override
    public String toString() {
      StringBuilder b =
          new StringBuilder("blocking call ").append(method).append(" on thread ").append(thread);
      for (StackTraceElement e : stack) {
        b.append("\n\tat ").append(e);
      }
      return b.toString();
    }
  }

  private static final ConcurrentLinkedQueue<Call> CALLS = new ConcurrentLinkedQueue<>();

  private BlockingCalls() {}

  /**
   * BlockHound's callback: records the call, then throws the {@link BlockingOperationError}
   * BlockHound's own default callback throws, so the blocking call still fails where it is made.
   */
  public static void record(BlockingMethod method) {
    Thread t = Thread.currentThread();
    StackTraceElement[] raw = new Throwable().getStackTrace();
    // Drop this method's frame and BlockHound's wrapper: the stack starts at the blocking method.
    int from = 0;
    while (from < raw.length
        && (raw[from].getClassName().equals(BlockingCalls.class.getName())
            || raw[from].getClassName().startsWith("reactor.blockhound."))) {
      from++;
    }
    List<StackTraceElement> stack = new ArrayList<>(raw.length - from);
    for (int i = from; i < raw.length; i++) {
      stack.add(raw[i]);
    }
    CALLS.add(new Call(t.getName(), method.toString(), List.copyOf(stack)));
    throw new BlockingOperationError(method);
  }

  /**
   * Loads the classes {@link #record} uses, so that recording the first call loads nothing (a class
   * load inside the callback would run on the thread that was caught).
   */
  public static void prepare() {
    new Call("", "", List.of()).toString();
    drain();
  }

  /** Removes and returns every call recorded so far. */
  public static List<Call> drain() {
    List<Call> out = new ArrayList<>();
    Call c;
    while ((c = CALLS.poll()) != null) {
      out.add(c);
    }
    return out;
  }

  /**
   * Removes and returns the calls matching {@code filter}, leaving the others: for a test that
   * provokes a blocking call on purpose and asserts it was caught.
   */
  public static List<Call> take(Predicate<Call> filter) {
    List<Call> out = new ArrayList<>();
    for (Call c : CALLS) {
      if (filter.test(c) && CALLS.remove(c)) {
        out.add(c);
      }
    }
    return out;
  }
}
