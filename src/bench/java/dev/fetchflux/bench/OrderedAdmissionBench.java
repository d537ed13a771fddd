package dev.fetchflux.bench;

import dev.fetchflux.internal.OrderedAdmission;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Cost per element of the ordering stage {@link OrderedAdmission}, next to reactor-core's
 * {@code flatMapSequential} as a reference, without any I/O: one operation is one element going
 * through the stage (16,384 per invocation), so the score is elements per microsecond and {@code -prof gc}'s
 * {@code gc.alloc.rate.norm} is bytes allocated per element.
 *
 * <p>Patterns ({@code pattern}):
 *
 * <ul>
 *   <li>{@code completed}: every inner is an already-completed {@code Mono} (one shared
 *       {@code Mono.just}), so the stage's bookkeeping is all there is;
 *   <li>{@code headLast}: inners complete when the benchmark says so, newest first, and the head of
 *       the window always last: the window fills up to W with results waiting for the head, then
 *       the head completes and W results leave at once (a slow URL at the head, in miniature). The
 *       inner {@code Mono} is one shared instance that hands its subscriber to the driver, so the
 *       harness itself allocates nothing per element.
 * </ul>
 *
 * <p>{@code stage}: {@code ordered} and {@code unordered} are {@code OrderedAdmission} with C = 64
 * (or W if smaller) in flight and a window of W; {@code flatMapSequential} is
 * {@code flatMapSequential(f, W, 1)}, whose concurrency is its only window. Everything runs on the
 * benchmark thread, so there is no contention: this measures the single-threaded cost.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 4, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class OrderedAdmissionBench {

  /** Elements per benchmark invocation. */
  static final int ELEMENTS = 1 << 14;

  /** In-flight limit of the fetchflux stage, as for a real fetch. */
  static final int IN_FLIGHT = 64;

  private static final Object VALUE = new Object();
  private static final Mono<Object> COMPLETED = Mono.just(VALUE);

  /** A plain (not fuseable) subscription that ignores requests and cancels. */
  private static final Subscription NOOP =
      new Subscription() {
        @Override
        public void request(long n) {}

        @Override
        public void cancel() {}
      };

  @Param({"64", "512", "4096"})
  public int window;

  @Param({"completed", "headLast"})
  public String pattern;

  @Param({"ordered", "unordered", "flatMapSequential"})
  public String stage;

  /** The same element N times: no boxing or other allocation per element in the source. */
  private final List<Object> inputs = Collections.nCopies(ELEMENTS, VALUE);

  /** Subscribers of the pending inners, oldest (the head) first. */
  private final ArrayDeque<CoreSubscriber<? super Object>> pending = new ArrayDeque<>();

  private Mono<Object> deferred = COMPLETED;

  @Setup
  public void setUp() {
    // One shared Mono that parks its subscriber until the driver completes it.
    deferred =
        new Mono<Object>() {
          @Override
          public void subscribe(CoreSubscriber<? super Object> actual) {
            actual.onSubscribe(NOOP);
            pending.addLast(actual);
          }
        };
  }

  @Benchmark
  @OperationsPerInvocation(ELEMENTS)
  public long run(Blackhole bh) {
    boolean headLast = pattern.equals("headLast");
    Mono<Object> inner = headLast ? deferred : COMPLETED;
    Flux<Object> source = Flux.fromIterable(inputs);
    Flux<Object> merged;
    switch (stage) {
      case "ordered":
      case "unordered":
        merged =
            OrderedAdmission.create(
                source,
                (index, input) -> inner,
                Math.min(IN_FLIGHT, window),
                window,
                Long.MAX_VALUE,
                value -> 0L,
                stage.equals("ordered"));
        break;
      case "flatMapSequential":
        merged = source.flatMapSequential(input -> inner, window, 1);
        break;
      default:
        throw new IllegalStateException("unknown stage " + stage);
    }
    Sink sink = new Sink(bh);
    merged.subscribe(sink);
    if (headLast) {
      drive();
    }
    if (sink.received != ELEMENTS || !sink.completed) {
      throw new IllegalStateException(
          "received " + sink.received + " of " + ELEMENTS + ", completed " + sink.completed);
    }
    return sink.received;
  }

  /**
   * Completes every pending inner except the head, newest first (completing one may admit more,
   * which join the tail and are completed next), until nothing else is admitted; then the head.
   */
  private void drive() {
    while (!pending.isEmpty()) {
      CoreSubscriber<? super Object> next =
          pending.size() > 1 ? pending.pollLast() : pending.pollFirst();
      next.onNext(VALUE);
      next.onComplete();
    }
  }

  /** Requests everything and counts; a real subscriber would do at least this. */
  static final class Sink implements CoreSubscriber<Object> {
    private final Blackhole bh;
    long received;
    boolean completed;

    Sink(Blackhole bh) {
      this.bh = bh;
    }

    @Override
    public void onSubscribe(Subscription s) {
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(Object o) {
      received++;
      bh.consume(o);
    }

    @Override
    public void onError(Throwable t) {
      throw new IllegalStateException(t);
    }

    @Override
    public void onComplete() {
      completed = true;
    }
  }
}
