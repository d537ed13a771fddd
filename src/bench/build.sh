#!/usr/bin/env bash
# Compiles the library and src/bench/java (Maven profile `bench`) and writes the benchmark classpath
# to target/bench/classpath. Sourced by run.sh and jmh.sh; the default build and `mvn test` never
# see the bench sources or JMH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mkdir -p target/bench
goals=(-B -q -Pbench -DskipTests test-compile
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath
  -Dmdep.includeScope=test -Dmdep.outputFile=target/bench/deps.classpath)
# Offline first (fast, no network); online only if something is not in the local repository yet.
mvn -o "${goals[@]}" || mvn "${goals[@]}"
BENCH_CP="$PWD/target/test-classes:$PWD/target/classes:$(cat target/bench/deps.classpath)"
export BENCH_CP
