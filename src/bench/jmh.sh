#!/usr/bin/env bash
# JMH micro-benchmarks of the ordering stage (dev.fetchflux.bench.OrderedAdmissionBench): elements
# per microsecond and bytes allocated per element (-prof gc) at windows 64, 512 and 4096. Writes the
# table into docs/benchmarks-method.md. Extra arguments go to JMH (for example -p window=4096 -f 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source src/bench/build.sh
mkdir -p target/bench
java -cp "$BENCH_CP" org.openjdk.jmh.Main OrderedAdmissionBench -prof gc \
  -rf json -rff target/bench/jmh.json "$@"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- src pom.xml 2>/dev/null)" ]; then commit="$commit+uncommitted"; fi
java -cp "$BENCH_CP" dev.fetchflux.bench.JmhReport target/bench/jmh.json docs/benchmarks-method.md \
  "bash src/bench/jmh.sh${*:+ $*}" "$commit"
