package dev.fetchflux;

/** The library's version, read from the jar's manifest when packaged. */
final class Version {
  static final String VERSION = read();

  private Version() {}

  private static String read() {
    String v = Version.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-SNAPSHOT" : v;
  }
}
