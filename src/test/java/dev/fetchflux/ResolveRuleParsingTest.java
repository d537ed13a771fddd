package dev.fetchflux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** curl's --resolve and --connect-to syntax. */
class ResolveRuleParsingTest {

  @Test
  void resolveTakesHostPortAndAddresses() throws Exception {
    ResolveRule rule = ResolveRule.parse("Staging.Example:443:10.0.0.7,[::1]");

    assertThat(rule.host()).isEqualTo("staging.example");
    assertThat(rule.port()).isEqualTo(443);
    assertThat(rule.addresses())
        .containsExactly(InetAddress.getByName("10.0.0.7"), InetAddress.getByName("::1"));
    assertThat(rule).hasToString("staging.example:443:10.0.0.7,[::1]");
  }

  @Test
  void resolveAcceptsBareIpv6AddressesAndAnIpv6HostInBrackets() throws Exception {
    assertThat(ResolveRule.parse("example.com:80:::1").addresses())
        .containsExactly(InetAddress.getByName("::1"));
    assertThat(ResolveRule.parse("[fd00::1]:80:127.0.0.1").host()).isEqualTo("fd00::1");
    assertThat(ResolveRule.parse("*:8080:127.0.0.1").host()).isEqualTo(ResolveRule.ANY_HOST);
  }

  @Test
  void resolveRefusesNamesAndMissingParts() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ResolveRule.parse("example.com:443:backend.internal"))
        .withMessageContaining("not an IP address: 'backend.internal'");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ResolveRule.parse("example.com:443"))
        .withMessageContaining("host:port:addr");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ResolveRule.parse("example.com::1.2.3.4"))
        .withMessageContaining("port must not be empty");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ResolveRule.parse("+example.com:80:1.2.3.4"))
        .withMessageContaining("not supported");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ResolveRule.parse("example.com:0:1.2.3.4"))
        .withMessageContaining("port is not 1..65535: '0'");
  }

  @Test
  void connectToTakesFourPartsAnyOfThemEmpty() {
    assertThat(ConnectToRule.parse("api.example.com:443:canary.internal:8443"))
        .isEqualTo(new ConnectToRule("api.example.com", 443, "canary.internal", 8443));
    assertThat(ConnectToRule.parse("::backend:")).isEqualTo(new ConnectToRule("", 0, "backend", 0));
    assertThat(ConnectToRule.parse(":::")).isEqualTo(new ConnectToRule("", 0, "", 0));
    assertThat(ConnectToRule.parse("[::1]:80:[fd00::2]:8080"))
        .isEqualTo(new ConnectToRule("::1", 80, "fd00::2", 8080));
    assertThat(ConnectToRule.parse("A.test::[fd00::2]:")).hasToString("a.test::[fd00::2]:");
  }

  @Test
  void connectToRefusesWrongShapes() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ConnectToRule.parse("a:80:b"))
        .withMessageContaining("host1:port1:host2:port2");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ConnectToRule.parse("a:80:b:http"))
        .withMessageContaining("port is not 1..65535: 'http'");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> ConnectToRule.parse("a b:80:b:1"))
        .withMessageContaining("invalid character in host 'a b'");
  }
}
