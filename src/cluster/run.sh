#!/usr/bin/env bash
# One command for issue 16's scale-out check, from a clean clone (needs only JDK 17+ and Maven):
# builds fetchflux's job jar, starts a Flink 2.3 session cluster of separate JVMs on 127.0.0.1
# (one JobManager, two task managers), submits the job with `flink run` (CliFrontend) at
# parallelism 2 against a few thousand loopback URLs, kills -9 a task manager mid-run, and checks
# the merged answer (see dev.fetchflux.flink.cluster.ClusterCheck for every check).
#
#   bash src/cluster/run.sh             # the check (what CI runs)
#   bash src/cluster/run.sh --figures   # plus timed runs for docs/scale-out.md
#   bash src/cluster/run.sh --urls 5000 # more URLs
#
# Every process started is stopped on exit, by PID, also on failure or Ctrl-C: the driver stops
# its children itself, and the trap below kills whatever is left of those listed in the pid files.
# Environment: FETCHFLUX_CLUSTER_WORK (default target/flink-cluster), MVN_FLAGS (e.g. -o).
set -euo pipefail
cd "$(dirname "$0")/../.."

work=${FETCHFLUX_CLUSTER_WORK:-target/flink-cluster}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
pids="$work/driver.pid"
: > "$pids"

cleanup() {
  status=$?
  # PIDs the driver and the cluster helper recorded; a PID is killed only while its command line
  # still names this work directory, so a number reused by another process is left alone.
  for file in "$pids" "$work/cluster/pids"; do
    [[ -f $file ]] || continue
    while read -r pid name; do
      [[ -n ${pid:-} ]] || continue
      if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null \
          | grep -qF -- "$work"; then
        echo "run.sh: stopping leftover $name (PID $pid)" >&2
        kill -9 "$pid" 2>/dev/null || true
      fi
    done < "$file"
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mvn=(mvn -B -q ${MVN_FLAGS:-})
dep=org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath

echo "run.sh: building the job jar and the class paths" >&2
"${mvn[@]}" -DskipTests package
"${mvn[@]}" "$dep" -Dmdep.includeScope=test -Dmdep.outputFile="$work/test.classpath"
# The distribution's lib/ (flink-dist is not on Maven Central): see src/cluster/pom.xml.
"${mvn[@]}" -f src/cluster/pom.xml "$dep" -Dmdep.outputFile="$work/flink-lib.classpath"

jars=(target/fetchflux-*-all.jar)
if [[ ${#jars[@]} -ne 1 || ! -f ${jars[0]} ]]; then
  echo "run.sh: expected one target/fetchflux-*-all.jar, found: ${jars[*]}" >&2
  exit 2
fi

java -Xmx512m -Dfetchflux.cluster="$work" \
  -cp "target/test-classes:target/classes:$(cat "$work/test.classpath")" \
  dev.fetchflux.flink.cluster.ClusterCheck \
  --work "$work" --flink-lib "$work/flink-lib.classpath" --job-jar "${jars[0]}" "$@" &
driver=$!
echo "$driver driver" >> "$pids"
wait "$driver"
