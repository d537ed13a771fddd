/**
 * The {@code fetchflux} command: a picocli front end built on the public library API only, with
 * writers for raw bodies, JSON lines and output directories, a progress line, and the {@code demo}
 * and {@code serve} subcommands. Not an API: the classes here may change in any release.
 */
@NullMarked
package dev.fetchflux.cli;

import org.jspecify.annotations.NullMarked;
