#!/usr/bin/env bash
# Profiles one run of the fetchflux command with async-profiler (CPU samples per thread) and prints
# where the time went: per thread, the hottest frames, and a flame graph to open in a browser.
# async-profiler comes from Maven Central (tools.profiler:async-profiler, which ships the native
# library); it samples with a CPU timer (itimer), so it works without perf_event permissions.
#
#   src/bench/profile-cli.sh [-o DIR] [-e itimer|wall] [--html] -- FETCHFLUX-ARGS...
#   src/bench/profile-cli.sh -- -c 64 -s -i urls.txt          # stdout of the run goes to /dev/null
#   src/bench/profile-cli.sh --html -- -c 64 -s < urls.txt
#
# Writes DIR/profile.collapsed (one line per stack) and prints the summaries, or with --html
# DIR/flamegraph.html instead (the profiler writes one format per run). Default DIR: target/profile.
# The run's stdout is discarded; its stderr is shown.
# The launcher's own JVM flags apply (JIT choice included); add more with FETCHFLUX_JAVA_OPTS.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/profile
event=itimer
html=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    -e) event="$2"; shift 2 ;;
    --html) html=true; shift ;;
    --) shift; break ;;
    *) echo "usage: $0 [-o DIR] [-e itimer|wall] [--html] -- FETCHFLUX-ARGS..." >&2; exit 2 ;;
  esac
done

version=2.9
jar="$HOME/.m2/repository/tools/profiler/async-profiler/$version/async-profiler-$version.jar"
if [[ ! -f "$jar" ]]; then
  mvn -q -B dependency:get -Dartifact="tools.profiler:async-profiler:$version" >&2
fi
case "$(uname -m)" in
  x86_64) arch=linux-x64 ;;
  aarch64) arch=linux-arm64 ;;
  *) echo "profile-cli: no async-profiler library for $(uname -m)" >&2; exit 2 ;;
esac
lib="target/async-profiler/$arch/libasyncProfiler.so"
if [[ ! -f "$lib" ]]; then
  mkdir -p target/async-profiler
  (cd target/async-profiler && unzip -q -o "$jar" "$arch/libasyncProfiler.so")
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
agent="-agentpath:$PWD/$lib=start,event=$event,interval=2ms,threads"
./fetchflux --version >/dev/null   # builds the jar and the CDS archive first, unprofiled

if $html; then
  out_file="$out/flamegraph.html"
  FETCHFLUX_JAVA_OPTS="${FETCHFLUX_JAVA_OPTS:-} $agent,file=$out_file" \
    /usr/bin/time -f "wall %e s, cpu %U+%S s, peak RSS %M kB" ./fetchflux "$@" >/dev/null
  echo "== written: $out_file"
  exit 0
fi
FETCHFLUX_JAVA_OPTS="${FETCHFLUX_JAVA_OPTS:-} $agent,collapsed,file=$out/profile.collapsed" \
  /usr/bin/time -f "wall %e s, cpu %U+%S s, peak RSS %M kB" ./fetchflux "$@" >/dev/null

total=$(awk '{s += $NF} END {print s + 0}' "$out/profile.collapsed")
echo "== $total samples ($event, 2 ms) by thread"
awk '{n = $NF; t = substr($0, 2, index($0, "]") - 2); sub(/ ?tid=[0-9]+$/, "", t);
      sub(/-[0-9]+$/, "", t); if (t == "") t = "(unnamed)"; s[t] += n}
     END {for (t in s) printf "%7d %5.1f%%  %s\n", s[t], 100 * s[t] / '"$total"', t}' \
  "$out/profile.collapsed" | sort -rn | head -12
echo "== hottest frames (self)"
awk '{n = $NF; $NF = ""; k = split($0, f, ";"); leaf = f[k]; sub(/ +$/, "", leaf); s[leaf] += n}
     END {for (l in s) printf "%7d %5.1f%%  %s\n", s[l], 100 * s[l] / '"$total"', l}' \
  "$out/profile.collapsed" | sort -rn | head -25
echo "== written: $out/profile.collapsed"
