package dev.fetchflux.tck;

import dev.fetchflux.support.BlockingCalls;
import dev.fetchflux.support.OpenResources;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.testng.IInvokedMethod;
import org.testng.IInvokedMethodListener;
import org.testng.ITestResult;

/**
 * For TestNG test methods, what {@code ResourceLeakExtension} and {@code BlockingCallExtension} do
 * for Jupiter tests: a test after which BlockHound caught a blocking call, or a descriptor or one
 * of the library's temporary files is left open, fails naming it; a test that failed anyway gets
 * what was found as a suppressed exception of its own failure.
 *
 * <p>A listener, not {@code IHookable}: TestNG asks the class that declares a test method whether
 * it is hookable, and the TCK's rules are declared by the TCK's own classes.
 */
public final class TckResourceChecks implements IInvokedMethodListener {
  private static final String BEFORE = TckResourceChecks.class.getName() + ".before";

  @Override
  public void beforeInvocation(IInvokedMethod method, ITestResult result) {
    if (method.isTestMethod()) {
      BlockingCalls.drain();
      result.setAttribute(BEFORE, OpenResources.snapshot());
    }
  }

  @Override
  public void afterInvocation(IInvokedMethod method, ITestResult result) {
    if (!method.isTestMethod()
        || !(result.getAttribute(BEFORE) instanceof OpenResources.Snapshot before)) {
      return;
    }
    List<String> problems = new ArrayList<>();
    BlockingCalls.drain().forEach(c -> problems.add(c.toString()));
    OpenResources.leaksSince(before, List.of(), Set.of(), OpenResources.DEFAULT_WAIT)
        .forEach(l -> problems.add("left open or on disk: " + l));
    if (problems.isEmpty()) {
      return;
    }
    AssertionError found =
        new AssertionError(result.getName() + ": " + String.join("\n", problems));
    Throwable failure = result.getThrowable();
    if (result.getStatus() == ITestResult.SUCCESS || failure == null) {
      result.setThrowable(found);
      result.setStatus(ITestResult.FAILURE);
    } else {
      // A rule that failed on its own (a signal that never came) may have failed because of what
      // was found: a blocking call that threw where the signal was being delivered, for one.
      failure.addSuppressed(found);
    }
  }
}
