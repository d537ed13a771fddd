package dev.fetchflux.testing;

import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherBuilder;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/** The {@link FetcherContract} against {@link StubFetcher}: the same tests, no network. */
class StubFetcherContractTest extends FetcherContract {

  private static final String BASE = "http://stub.test";

  private final StubFetcher.Builder script = StubFetcher.builder();
  private @Nullable StubFetcher stub;

  private StubFetcher stub() {
    return Objects.requireNonNull(stub, "fetcher(...) not called yet");
  }

  @Override
  protected String ok(String path, String body, Duration delay) {
    script.on(BASE + path, StubReply.ok(body).withDelay(delay));
    return BASE + path;
  }

  @Override
  protected String status(String path, int status, Duration delay) {
    script.on(BASE + path, StubReply.status(status).withDelay(delay));
    return BASE + path;
  }

  @Override
  protected String refused(String path) {
    script.on(BASE + path, StubReply.error(() -> new ConnectException("Connection refused")));
    return BASE + path;
  }

  @Override
  protected String stalled(String path) {
    script.on(BASE + path, StubReply.never());
    return BASE + path;
  }

  @Override
  protected Fetcher fetcher(Consumer<FetcherBuilder> settings) {
    stub = script.configure(settings).build();
    return stub.fetcher();
  }

  @Override
  protected int requestsReceived() {
    // The refused requests reach the stub but, like a refused connection, no server: not counted.
    return (int)
        stub().requests().stream().filter(r -> !r.uri().getPath().contains("refused")).count();
  }

  @Override
  protected int inFlightOnOtherSide() {
    return stub().inFlight();
  }

  @Override
  protected int peakInFlight() {
    return stub().peakInFlight();
  }

  @Override
  protected int cancelledRequests() {
    return stub().cancelled().size();
  }
}
