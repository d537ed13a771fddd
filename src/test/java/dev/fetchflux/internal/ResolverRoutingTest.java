package dev.fetchflux.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fetchflux.ConnectToRule;
import dev.fetchflux.ResolveRule;
import io.netty.resolver.AbstractAddressResolver;
import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Where {@link RoutingResolverGroup} sends a connection, and which names it asks DNS for, with a
 * scripted DNS in place of the network.
 */
class ResolverRoutingTest {

  private final EventExecutor executor = ImmediateEventExecutor.INSTANCE;
  private final List<String> asked = new ArrayList<>();
  private final Map<String, String> zone =
      Map.of("backend.test", "10.1.1.1", "proxy.test", "10.9.9.9");

  /** A DNS that answers from {@link #zone}, records the questions, fails the rest. */
  private final AddressResolverGroup<InetSocketAddress> dns =
      new AddressResolverGroup<>() {
        @Override
        protected AddressResolver<InetSocketAddress> newResolver(EventExecutor e) {
          return new AbstractAddressResolver<>(e, InetSocketAddress.class) {
            @Override
            protected boolean doIsResolved(InetSocketAddress address) {
              return !address.isUnresolved();
            }

            @Override
            protected void doResolve(InetSocketAddress a, Promise<InetSocketAddress> p) {
              throw new UnsupportedOperationException();
            }

            @Override
            protected void doResolveAll(InetSocketAddress a, Promise<List<InetSocketAddress>> p)
                throws UnknownHostException {
              asked.add(a.getHostString());
              String ip = zone.get(a.getHostString());
              if (ip == null) {
                p.setFailure(new UnknownHostException(a.getHostString()));
              } else {
                p.setSuccess(
                    List.of(new InetSocketAddress(InetAddress.getByName(ip), a.getPort())));
              }
            }
          };
        }
      };

  private static NameRules rules(List<ResolveRule> resolve, List<ConnectToRule> connectTo) {
    return new NameRules(resolve, connectTo);
  }

  private Future<List<InetSocketAddress>> resolve(
      RoutingResolverGroup group, InetSocketAddress address) {
    return group.getResolver(executor).resolveAll(address);
  }

  private static InetSocketAddress named(String host, int port) {
    return InetSocketAddress.createUnresolved(host, port);
  }

  private static InetSocketAddress ip(String ip, int port) throws UnknownHostException {
    return new InetSocketAddress(InetAddress.getByName(ip), port);
  }

  @Test
  void resolveRuleAnswersWithoutAskingDns() throws Exception {
    RoutingResolverGroup group =
        new RoutingResolverGroup(
            rules(List.of(ResolveRule.parse("staging.test:443:10.0.0.7,10.0.0.8")), List.of()),
            RoutingResolverGroup.Mode.RESOLVE,
            null,
            "",
            dns);

    assertThat(resolve(group, named("Staging.Test", 443)).getNow())
        .containsExactly(ip("10.0.0.7", 443), ip("10.0.0.8", 443));
    assertThat(asked).isEmpty();
  }

  @Test
  void namesNoRuleAnswersGoToDnsUnchanged() throws Exception {
    RoutingResolverGroup group =
        new RoutingResolverGroup(
            rules(List.of(ResolveRule.parse("staging.test:443:10.0.0.7")), List.of()),
            RoutingResolverGroup.Mode.RESOLVE,
            null,
            "",
            dns);

    assertThat(resolve(group, named("staging.test", 80)).cause())
        .isInstanceOf(UnknownHostException.class);
    assertThat(resolve(group, named("backend.test", 443)).getNow())
        .containsExactly(ip("10.1.1.1", 443));
    assertThat(asked).containsExactly("staging.test", "backend.test");
  }

  @Test
  void connectToMovesTheTargetThenResolveRulesAndDnsApplyToIt() throws Exception {
    RoutingResolverGroup group =
        new RoutingResolverGroup(
            rules(
                List.of(ResolveRule.parse("alias.test:9000:10.0.0.9")),
                List.of(
                    ConnectToRule.parse("api.test:443:backend.test:8443"),
                    ConnectToRule.parse("api.test::alias.test:9000"))),
            RoutingResolverGroup.Mode.RESOLVE,
            null,
            "",
            dns);

    assertThat(resolve(group, named("api.test", 443)).getNow())
        .containsExactly(ip("10.1.1.1", 8443));
    assertThat(resolve(group, named("api.test", 80)).getNow())
        .containsExactly(ip("10.0.0.9", 9000));
    assertThat(asked).containsExactly("backend.test");
  }

  @Test
  void ipUrlIsLeftAloneUnlessARuleMovesIt() throws Exception {
    RoutingResolverGroup group =
        new RoutingResolverGroup(
            rules(List.of(), List.of(ConnectToRule.parse("[::1]:1::8080"))),
            RoutingResolverGroup.Mode.RESOLVE,
            null,
            "",
            dns);
    AddressResolver<InetSocketAddress> resolver = group.getResolver(executor);

    assertThat(resolver.isResolved(ip("127.0.0.1", 1))).isTrue();
    assertThat(resolver.isResolved(ip("::1", 2))).isTrue();
    assertThat(resolver.isResolved(ip("0:0:0:0:0:0:0:1", 1))).isFalse();
    assertThat(resolve(group, ip("::1", 1)).getNow()).containsExactly(ip("::1", 8080));
  }

  @Test
  void tunnelsLeaveTheTargetNameToTheProxyAfterConnectTo() throws Exception {
    RoutingResolverGroup group =
        new RoutingResolverGroup(
            rules(
                List.of(ResolveRule.parse("api.test:443:10.0.0.7")),
                List.of(ConnectToRule.parse("api.test:443:canary.test:"))),
            RoutingResolverGroup.Mode.PROXY_RESOLVES,
            null,
            "",
            dns);

    List<InetSocketAddress> target = resolve(group, named("api.test", 443)).getNow();

    assertThat(target).hasSize(1);
    assertThat(target.get(0).isUnresolved()).isTrue();
    assertThat(target.get(0).getHostString()).isEqualTo("canary.test");
    assertThat(target.get(0).getPort()).isEqualTo(443);
    assertThat(asked).isEmpty();
  }

  @Test
  void absoluteFormSendsEveryConnectionToTheProxy() throws Exception {
    RoutingResolverGroup group =
        new RoutingResolverGroup(
            rules(List.of(), List.of()),
            RoutingResolverGroup.Mode.TO_PROXY,
            named("proxy.test", 3128),
            "http://proxy.test:3128",
            dns);

    assertThat(group.getResolver(executor).isResolved(ip("127.0.0.1", 80))).isFalse();
    assertThat(resolve(group, ip("127.0.0.1", 80)).getNow()).containsExactly(ip("10.9.9.9", 3128));
    assertThat(resolve(group, named("example.com", 80)).getNow())
        .containsExactly(ip("10.9.9.9", 3128));
    assertThat(asked).containsExactly("proxy.test", "proxy.test");
  }

  @Test
  void unresolvableProxyNameIsADnsFailureNamingTheProxy() {
    RoutingResolverGroup group =
        new RoutingResolverGroup(
            rules(List.of(), List.of()),
            RoutingResolverGroup.Mode.TO_PROXY,
            named("gone.test", 3128),
            "http://gone.test:3128",
            dns);

    Throwable failure = resolve(group, named("example.com", 80)).cause();

    assertThat(failure)
        .isInstanceOf(UnknownHostException.class)
        .hasMessage("could not resolve proxy http://gone.test:3128")
        .hasCauseInstanceOf(UnknownHostException.class);
    assertThat(Errors.classify(failure).kind()).isEqualTo(dev.fetchflux.FetchException.Kind.DNS);
  }
}
