package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.AdaptiveRate;
import dev.fetchflux.FetcherStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.Disposable;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * The politeness permits in virtual time: per-host slots are handed over in order and given back on
 * cancellation, rates space requests exactly, and per-host state does not outlive its use.
 */
@Timeout(10)
class ReliabilityPolitenessTest {

  private final VirtualTimeScheduler vts = VirtualTimeScheduler.create();

  @AfterEach
  void dispose() {
    vts.dispose();
  }

  private Politeness politeness(int perHost, double rate, double hostRate) {
    return new Politeness(perHost, rate, hostRate, () -> vts, () -> vts.now(TimeUnit.NANOSECONDS));
  }

  private Politeness adaptive(int perHost, double hostRate) {
    return new Politeness(
        perHost,
        0,
        hostRate,
        AdaptiveRate.defaults(),
        () -> vts,
        () -> vts.now(TimeUnit.NANOSECONDS));
  }

  /** Subscribes to an acquisition and records the virtual time it is granted; keeps the permit. */
  private static final class Grab {
    final List<Politeness.Permit> permits = new ArrayList<>();
    final List<Long> grantedAt = new ArrayList<>();
    final List<Disposable> subscriptions = new ArrayList<>();

    void take(Politeness p, String host, VirtualTimeScheduler clock) {
      subscriptions.add(
          p.acquire(host)
              .subscribe(
                  permit -> {
                    permits.add(permit);
                    grantedAt.add(clock.now(TimeUnit.MILLISECONDS));
                  }));
    }
  }

  @Test
  void globalRateSpacesRequestsEvenlyWithoutBursts() {
    Politeness p = politeness(0, 5, 0);
    Grab g = new Grab();
    for (int i = 0; i < 6; i++) {
      g.take(p, "h" + i, vts);
    }
    vts.advanceTimeBy(Duration.ofSeconds(5));
    assertThat(g.grantedAt).containsExactly(0L, 200L, 400L, 600L, 800L, 1000L);
  }

  @Test
  void rateSlotLeftUnusedIsNotSavedUpForABurst() {
    Politeness p = politeness(0, 10, 0);
    Grab g = new Grab();
    g.take(p, "h", vts);
    vts.advanceTimeBy(Duration.ofSeconds(3));
    g.take(p, "h", vts);
    g.take(p, "h", vts);
    vts.advanceTimeBy(Duration.ofSeconds(1));
    assertThat(g.grantedAt).containsExactly(0L, 3000L, 3100L);
  }

  @Test
  void perHostRateIsPerHost() {
    Politeness p = politeness(0, 0, 2);
    Grab g = new Grab();
    g.take(p, "a", vts);
    g.take(p, "a", vts);
    g.take(p, "b", vts);
    g.take(p, "B", vts);
    vts.advanceTimeBy(Duration.ofSeconds(5));
    // a at 0 and 500; b at 0 and 500 (host names are case-insensitive).
    assertThat(g.grantedAt).containsExactlyInAnyOrder(0L, 0L, 500L, 500L);
  }

  @Test
  void perHostSlotsAreHandedToWaitersInOrderOnRelease() {
    Politeness p = politeness(2, 0, 0);
    Grab g = new Grab();
    for (int i = 0; i < 5; i++) {
      g.take(p, "a", vts);
    }
    g.take(p, "b", vts);
    assertThat(g.permits).hasSize(3); // two for a, one for b
    Politeness.Permit first = g.permits.get(0);
    first.release();
    first.release(); // a second release gives nothing back twice
    assertThat(g.permits).hasSize(4);
    g.permits.get(1).release();
    g.permits.get(3).release();
    assertThat(g.permits).hasSize(6);
  }

  @Test
  void cancelledWaiterGivesItsTurnAway() {
    Politeness p = politeness(1, 0, 0);
    Grab g = new Grab();
    g.take(p, "a", vts);
    g.take(p, "a", vts);
    g.take(p, "a", vts);
    assertThat(g.permits).hasSize(1);
    g.subscriptions.get(1).dispose();
    g.permits.get(0).release();
    // The cancelled second waiter is skipped; the third gets the slot.
    assertThat(g.permits).hasSize(2);
    g.permits.get(1).release();
    assertThat(p.trackedHosts()).isZero();
  }

  @Test
  void cancellingWhileWaitingForTheRateGivesTheSlotBack() {
    Politeness p = politeness(1, 1, 0);
    Grab g = new Grab();
    g.take(p, "a", vts); // slot + rate slot at 0
    g.permits.get(0).release();
    g.take(p, "a", vts); // slot at once, rate slot at 1000 ms
    assertThat(g.permits).hasSize(1);
    g.subscriptions.get(1).dispose();
    g.take(p, "a", vts); // must get the host slot back; rate slot at 2000 ms
    vts.advanceTimeBy(Duration.ofSeconds(3));
    assertThat(g.grantedAt).containsExactly(0L, 2000L);
  }

  @Test
  void hostWithoutPermitsAndWithoutAPendingRateSlotIsForgotten() {
    Politeness p = politeness(2, 0, 0);
    Grab g = new Grab();
    g.take(p, "a", vts);
    g.take(p, "b", vts);
    assertThat(p.trackedHosts()).isEqualTo(2);
    g.permits.forEach(Politeness.Permit::release);
    assertThat(p.trackedHosts()).isZero();
  }

  @Test
  void idleHostsWithPastRateSlotsAreSweptSoTheMapStaysBounded() {
    Politeness p = politeness(3, 0, 10);
    Grab g = new Grab();
    for (int i = 0; i < 5000; i++) {
      g.take(p, "host" + i, vts);
    }
    g.permits.forEach(Politeness.Permit::release);
    // Their rate slots (100 ms) have not passed yet: kept, so a new request would still wait.
    assertThat(p.trackedHosts()).isEqualTo(5000);
    vts.advanceTimeBy(Duration.ofSeconds(1));
    for (int i = 0; i < 200; i++) {
      g.take(p, "other" + i, vts);
    }
    assertThat(p.trackedHosts()).isLessThanOrEqualTo(200);
  }

  @Test
  void noLimitsMeansDisabled() {
    assertThat(politeness(0, 0, 0).enabled()).isFalse();
    assertThat(politeness(1, 0, 0).enabled()).isTrue();
  }

  @Test
  void throttledHostStartsNothingBeforeItsRetryAfterWhileOtherHostsGoOn() {
    Politeness p = adaptive(0, 0);
    Grab g = new Grab();
    g.take(p, "a", vts);
    g.permits.get(0).responded(429, Duration.ofSeconds(2));
    g.permits.get(0).release();
    g.take(p, "a", vts);
    g.take(p, "a", vts);
    g.take(p, "b", vts);
    assertThat(g.grantedAt).containsExactly(0L, 0L); // a, then b at once
    vts.advanceTimeBy(Duration.ofSeconds(10));
    // a waits out the pause, then goes at the cut rate: nothing was seen to succeed, so the floor
    // of one request per second.
    assertThat(g.grantedAt).containsExactly(0L, 0L, 2000L, 3000L);
  }

  @Test
  void requestAlreadyWaitingForItsRateSlotWaitsAgainWhenTheHostIsPaused() {
    Politeness p = adaptive(0, 1);
    Grab g = new Grab();
    g.take(p, "a", vts); // at 0
    g.take(p, "a", vts); // reserved for 1000 ms
    vts.advanceTimeBy(Duration.ofMillis(500));
    g.permits.get(0).responded(503, Duration.ofSeconds(3)); // paused until 3500 ms
    vts.advanceTimeBy(Duration.ofSeconds(10));
    assertThat(g.grantedAt).containsExactly(0L, 3500L);
  }

  @Test
  void withAdaptiveRateOffAThrottleChangesNothing() {
    Politeness p = politeness(5, 0, 0);
    Grab g = new Grab();
    g.take(p, "a", vts);
    g.permits.get(0).responded(429, Duration.ofSeconds(2));
    g.take(p, "a", vts);
    assertThat(g.grantedAt).containsExactly(0L, 0L);
    assertThat(p.hosts()).extracting(FetcherStats.Host::throttled).containsExactly(false);
  }

  @Test
  void hostsReportQueuedAndInFlightBusiestFirstAndOnlyWhileActive() {
    Politeness p = politeness(1, 0, 2);
    Grab g = new Grab();
    g.take(p, "b", vts);
    g.take(p, "a", vts);
    g.take(p, "A", vts);
    g.take(p, "a", vts);

    assertThat(p.hosts())
        .containsExactly(
            new FetcherStats.Host("a", 2, 1, 2.0, Duration.ZERO, false),
            new FetcherStats.Host("b", 0, 1, 2.0, Duration.ZERO, false));

    // Each release hands a's slot to its next waiter, which then waits for a's rate slot.
    for (int i = 0; i < 4; i++) {
      vts.advanceTimeBy(Duration.ofSeconds(1));
      g.permits.get(i).release();
    }
    assertThat(g.permits).hasSize(4);
    assertThat(p.hosts()).isEmpty();
  }

  @Test
  void hostsShowTheAdaptedRateAndWhatIsLeftOfThePause() {
    Politeness p = adaptive(0, 10);
    Grab g = new Grab();
    g.take(p, "a", vts);
    g.permits.get(0).responded(429, Duration.ofSeconds(2));
    g.take(p, "a", vts);
    vts.advanceTimeBy(Duration.ofMillis(500));

    FetcherStats.Host a = p.hosts().get(0);
    assertThat(a.throttled()).isTrue();
    assertThat(a.rateLimit()).isEqualTo(1.0); // floor: nothing succeeded yet
    assertThat(a.pause()).isEqualTo(Duration.ofMillis(1500));
    assertThat(a.queued()).isEqualTo(1);
    assertThat(a.inFlight()).isEqualTo(1);
  }

  @Test
  void slowedHostIsKeptWhileIdleButForgottenAfterAMinute() {
    Politeness p = adaptive(0, 0);
    Grab g = new Grab();
    g.take(p, "a", vts);
    g.permits.get(0).responded(429, null);
    g.permits.get(0).release();
    assertThat(p.trackedHosts()).isEqualTo(1); // still slowed: forgetting it would speed it up

    vts.advanceTimeBy(Duration.ofSeconds(61));
    g.take(p, "a", vts);
    g.take(p, "a", vts);
    // Forgotten: unlimited again, both at once.
    assertThat(g.grantedAt).containsExactly(0L, 61_000L, 61_000L);
  }

  @Test
  void adaptiveStateOfManyIdleHostsIsSweptSoTheMapStaysBounded() {
    Politeness p = adaptive(0, 0);
    Grab g = new Grab();
    for (int i = 0; i < 5000; i++) {
      g.take(p, "host" + i, vts);
      g.permits.get(i).responded(503, null);
      g.permits.get(i).release();
    }
    assertThat(p.trackedHosts()).isEqualTo(5000); // slowed, idle for less than a minute
    vts.advanceTimeBy(Duration.ofSeconds(61));
    for (int i = 0; i < 200; i++) {
      g.take(p, "other" + i, vts);
    }
    assertThat(p.trackedHosts()).isLessThanOrEqualTo(200);
  }

  @Test
  void cancelledRequestIsNotCountedInFlight() {
    Politeness p = adaptive(0, 1);
    Grab g = new Grab();
    g.take(p, "a", vts);
    g.take(p, "a", vts); // waits for its rate slot
    g.subscriptions.get(1).dispose();
    assertThat(p.hosts())
        .containsExactly(new FetcherStats.Host("a", 0, 1, 1.0, Duration.ZERO, false));
    g.permits.get(0).release();
    assertThat(p.hosts()).isEmpty();
  }
}
