#!/usr/bin/env bash
# The HTTP benchmark of issue 3 (see docs/benchmarks-method.md): builds, starts a local server in
# its own JVM, runs every client in a fresh JVM per run, checks every run's output and writes the
# figures into docs/benchmarks-method.md. Extra arguments go to dev.fetchflux.bench.Bench (for
# example --runs 5, --jfr, --workloads skewed, --doc - to print instead of writing the doc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source src/bench/build.sh
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- src pom.xml 2>/dev/null)" ]; then commit="$commit+uncommitted"; fi
exec java -Xmx256m -cp "$BENCH_CP" dev.fetchflux.bench.Bench \
  --command "bash src/bench/run.sh${*:+ $*}" --commit "$commit" "$@"
