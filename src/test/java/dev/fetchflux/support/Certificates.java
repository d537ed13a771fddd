package dev.fetchflux.support;

import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import javax.net.ssl.TrustManagerFactory;

/**
 * Test certificates for {@code 127.0.0.1}: a private CA and a server certificate it issued, made
 * once per JVM (key generation is the slow part).
 */
public final class Certificates {

  private static final X509Bundle CA;
  private static final X509Bundle SERVER;

  static {
    try {
      Instant now = Instant.now();
      CertificateBuilder base =
          new CertificateBuilder()
              .ecp256()
              .notBefore(now.minus(1, ChronoUnit.DAYS))
              .notAfter(now.plus(1, ChronoUnit.DAYS));
      CA =
          base.copy()
              .subject("CN=fetchflux test CA")
              .setIsCertificateAuthority(true)
              .buildSelfSigned();
      SERVER =
          base.copy()
              .subject("CN=127.0.0.1")
              .addSanIpAddress("127.0.0.1")
              .addExtendedKeyUsageServerAuth()
              .buildIssuedBy(CA);
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private Certificates() {}

  /** The server's private key. */
  public static PrivateKey serverKey() {
    return SERVER.getKeyPair().getPrivate();
  }

  /** The server's certificate chain, leaf first (without the root). */
  public static X509Certificate[] serverChain() {
    return SERVER.getCertificatePath();
  }

  /** Trusts the test CA (and nothing else). */
  public static TrustManagerFactory trustingTestCa() {
    return CA.toTrustManagerFactory();
  }
}
