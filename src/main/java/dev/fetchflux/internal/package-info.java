/**
 * Implementation details: the ordering and admission stage and the reactor-netty glue. Not API: anything
 * here may change in any release.
 */
@NullMarked
package dev.fetchflux.internal;

import org.jspecify.annotations.NullMarked;
