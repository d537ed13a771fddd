package dev.fetchflux.flink;

import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.util.Collector;
import org.jspecify.annotations.Nullable;

/**
 * Numbers input lines 0, 1, 2, ... in the order they arrive, skipping blank lines and {@code #}
 * comments (as the CLI's {@code -i FILE} does), and trims the URLs.
 *
 * <p>Must run with parallelism 1 right behind a parallelism-1 source, so that "the order they
 * arrive" is the file's order. The next number is checkpointed operator state: after a failover the
 * source rewinds to its checkpointed position and this counter to the number it had at that same
 * checkpoint, so every URL gets the same number again.
 */
public final class SequenceNumbers extends RichFlatMapFunction<String, NumberedUrl>
    implements CheckpointedFunction {
  private static final long serialVersionUID = 1L;

  private transient @Nullable ListState<Long> state;
  private transient long next;

  @Override
  public void open(OpenContext context) throws Exception {
    super.open(context);
    int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    if (parallelism != 1) {
      throw new IllegalStateException(
          "SequenceNumbers must run with parallelism 1 (input order is global): " + parallelism);
    }
  }

  @Override
  public void flatMap(String line, Collector<NumberedUrl> out) {
    String url = line.strip();
    if (url.isEmpty() || url.startsWith("#")) {
      return;
    }
    out.collect(new NumberedUrl(next++, url));
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    ListState<Long> s = Objects.requireNonNull(state, "not initialized");
    s.update(java.util.List.of(next));
  }

  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    state =
        context
            .getOperatorStateStore()
            .getListState(new ListStateDescriptor<>("next-seq", Long.class));
    next = 0;
    for (Long n : state.get()) {
      next = Math.max(next, n);
    }
  }
}
