#!/usr/bin/env bash
# Figures for docs/cli.md: startup with and without the class-data sharing archive, 50 bodies of
# 20 MiB at -c 8 under the launcher's default heap (and 64 MB), and memory that does not grow with
# the number of URLs on stdin. Runs against `fetchflux serve` on 127.0.0.1; needs /usr/bin/time.
#
#   src/bench/cli-figures.sh            # from the repository root
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${PORT:-18089}"
base="http://127.0.0.1:$port"
unset FETCHFLUX_CLASSPATH

./fetchflux --version >/dev/null   # builds the jar and the CDS archive if needed
./fetchflux serve --port "$port" >/dev/null 2>&1 &
server=$!
# TERM, not INT: a background job of a script ignores SIGINT.
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "$base/echo" >/dev/null 2>&1 && break
  sleep 0.1
done

measure() { # label, command...
  local label="$1"; shift
  /usr/bin/time -f "$label: wall %e s, cpu %U+%S s, peak RSS %M kB" "$@"
}

echo "== startup: one URL, start to exit (5 runs each)"
for i in 1 2 3 4 5; do measure "with CDS" ./fetchflux -s "$base/echo" >/dev/null; done
for i in 1 2 3 4 5; do measure "without CDS" env FETCHFLUX_CDS=0 ./fetchflux -s "$base/echo" >/dev/null; done
for i in 1 2 3; do ./fetchflux -s -v "$base/echo" 2>&1 >/dev/null | grep "first request"; done

big=()
for i in $(seq 0 49); do big+=("$base/bytes/20971520?i=$i"); done
echo "== 50 x 20 MiB, -c 8"
measure "stdout, -Xmx256m" ./fetchflux -s -c 8 "${big[@]}" | sha256sum
dir="$(mktemp -d)"
measure "-o DIR, -Xmx256m" ./fetchflux -s -c 8 -o "$dir" "${big[@]}"
du -sh "$dir"; rm -rf "$dir"
measure "stdout, -Xmx64m" env FETCHFLUX_JAVA_OPTS=-Xmx64m ./fetchflux -s -c 8 "${big[@]}" | wc -c

echo "== URLs on stdin, --jsonl, -Xmx64m"
for n in 5000 50000; do
  seq 1 "$n" | sed "s|^|$base/echo?|" \
    | measure "$n URLs" env FETCHFLUX_JAVA_OPTS=-Xmx64m ./fetchflux -s --jsonl | wc -l
done
