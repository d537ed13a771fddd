package dev.fetchflux.testing;

import dev.fetchflux.Fetcher;
import dev.fetchflux.FetcherBuilder;
import dev.fetchflux.support.Ports;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The {@link FetcherContract} against the real reactor-netty engine and a fresh TestServer. */
class RealFetcherContractTest extends FetcherContract {

  @RegisterExtension final TestServerExtension server = new TestServerExtension();

  private final List<Fetcher> fetchers = new ArrayList<>();

  @AfterEach
  void closeFetchers() {
    fetchers.forEach(Fetcher::close);
  }

  @Override
  protected String ok(String path, String body, Duration delay) {
    server.route(path, Reply.ok(body).withDelay(delay));
    return server.url(path);
  }

  @Override
  protected String status(String path, int status, Duration delay) {
    server.route(path, Reply.status(status, "").withDelay(delay));
    return server.url(path);
  }

  @Override
  protected String refused(String path) {
    return "http://127.0.0.1:" + Ports.closedPort() + path;
  }

  @Override
  protected String stalled(String path) {
    server.route(path, Reply.stall());
    return server.url(path);
  }

  @Override
  protected Fetcher fetcher(Consumer<FetcherBuilder> settings) {
    FetcherBuilder builder = Fetcher.builder().eventLoopThreads(1);
    settings.accept(builder);
    Fetcher fetcher = builder.build();
    fetchers.add(fetcher);
    return fetcher;
  }

  @Override
  protected int requestsReceived() {
    return server.requests().size();
  }

  @Override
  protected int inFlightOnOtherSide() {
    return server.get().inFlight();
  }

  @Override
  protected int peakInFlight() {
    return server.peakInFlight();
  }

  @Override
  protected int cancelledRequests() {
    return server.abandoned();
  }
}
