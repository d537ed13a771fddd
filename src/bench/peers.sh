#!/usr/bin/env bash
# fetchflux against the tools people use (issue 7, docs/benchmarks.md): installs or detects the
# peers (Debian: nginx-light, curl, parallel, wrk, python3-aiohttp; plus time, openssl and
# gnuplot-nox for the chart), builds, generates the data and a TLS certificate, starts nginx (one
# worker) and the delay server on 127.0.0.1, and runs dev.fetchflux.bench.Peers, which times every
# tool on every scenario, checks every output and writes docs/benchmarks-method.md and
# docs/benchmarks-peers.svg (the chart docs/benchmarks.md shows). Everything it starts is stopped
# on exit.
#
#   bash src/bench/peers.sh            # the full run (about 15-20 minutes on 2 cores)
#   bash src/bench/peers.sh --quick    # smoke check: fewer URLs, one round (about 4 minutes)
#
# Other arguments go to the driver: --runs N, --scenarios s1,s3, --tools fetchflux,curl-z,
# --s5-seconds N, --doc - (print instead of writing the doc). Logs: target/peers/logs/.
# S8 (5 x 1 GiB) writes its files into target/peers/www/gib on first use (5 GiB of disk, kept).
# FETCHFLUX_BEFORE=DIR (a checkout of an earlier commit) adds the fetchflux-before rows (S4, S8),
# timed in the same interleaved rounds: before/after figures of one run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"
work="$root/target/peers"
logs="$work/logs"
mkdir -p "$logs"

say() { echo "peers.sh: $*"; }

# ---- peers: detect, or install with apt-get when we can ----------------------------------------
# package -> the check that tells it is there
declare -A check=(
  [nginx-light]="command -v nginx"
  [curl]="command -v curl"
  [parallel]="command -v parallel"
  [wrk]="command -v wrk"
  [python3-aiohttp]="/usr/bin/python3 -c 'import aiohttp'"
  [time]="test -x /usr/bin/time"
  [openssl]="command -v openssl"
  [gnuplot-nox]="command -v gnuplot"
)
packages=(nginx-light curl parallel wrk python3-aiohttp time openssl gnuplot-nox)
present() { eval "${check[$1]}" >/dev/null 2>&1; }

absent=()
for p in "${packages[@]}"; do present "$p" || absent+=("$p"); done
declare -A missing=()
if ((${#absent[@]})); then
  apt=()
  if [[ $EUID -eq 0 ]]; then
    apt=(apt-get)
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    apt=(sudo apt-get)
  fi
  if ((${#apt[@]})) && command -v apt-get >/dev/null; then
    say "installing ${absent[*]} (apt-get, log in target/peers/logs/apt.log)"
    # No service may start during the install: nginx's package would start one on port 80.
    rcd=""
    as_root=("${apt[@]:0:${#apt[@]}-1}")   # sudo, or nothing when we are root
    rcd_body='printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
    if [[ ! -e /usr/sbin/policy-rc.d ]] && "${as_root[@]}" sh -c "$rcd_body"; then
      rcd=/usr/sbin/policy-rc.d
    fi
    {
      DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -q || true
      DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q --no-install-recommends \
        "${absent[@]}" || true
    } >"$logs/apt.log" 2>&1
    if [[ -n "$rcd" ]]; then "${as_root[@]}" rm -f "$rcd" || true; fi
    for p in "${absent[@]}"; do
      present "$p" || missing[$p]="could not be installed (see target/peers/logs/apt.log)"
    done
  else
    for p in "${absent[@]}"; do missing[$p]="is not installed (not root, no sudo)"; done
  fi
fi
for p in "${!missing[@]}"; do say "SKIPPING what needs $p: it ${missing[$p]}"; done
missing_arg=""
for p in "${!missing[@]}"; do missing_arg+="$p=${missing[$p]};"; done

# ---- build ---------------------------------------------------------------------------------------
say "building (the fetchflux jar via the launcher, then mvn -Pbench test-compile)"
unset FETCHFLUX_CLASSPATH
# The launcher first: its build (mvn package, without the bench profile) compiles the test classes
# again without src/bench/java, so the bench classes must be compiled after it.
./fetchflux --version >/dev/null
source src/bench/build.sh
java=java
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java="$JAVA_HOME/bin/java"
java_bin="$(readlink -f "$(command -v "$java")")"
keytool="$(dirname "$java_bin")/keytool"

say "generating the static files (10,000 x 1 KiB and 50 x 20 MiB; kept between runs)"
"$java" -Xmx256m -cp "$BENCH_CP" dev.fetchflux.bench.Peers --generate "$work/www"

# ---- servers ------------------------------------------------------------------------------
pids=()
cleanup() {
  exec 3>&- 2>/dev/null || true   # closing the delay server's stdin stops it
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'say "failed: line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

free_port() { # a port on 127.0.0.1 nothing listens on
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}

wait_for() { # url: until it answers, at most 30 s
  for _ in $(seq 300); do
    curl -skf -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

tls="$work/tls"
mkdir -p "$tls"
args=()
tls_ok=""
[[ -z "${missing[openssl]:-}" ]] && tls_ok=1
if [[ -z "${missing[nginx-light]:-}" && -n "$tls_ok" ]]; then
  if [[ ! -f "$tls/cert.pem" ]] \
      || ! openssl x509 -checkend 86400 -noout -in "$tls/cert.pem" >/dev/null 2>&1; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>"$logs/openssl.log"
    rm -f "$tls/trust.p12"
  fi
  if [[ ! -f "$tls/trust.p12" ]]; then
    "$keytool" -importcert -noprompt -alias peers -file "$tls/cert.pem" -keystore "$tls/trust.p12" \
      -storetype PKCS12 -storepass changeit >"$logs/keytool.log" 2>&1
  fi
fi
s7_pad="$(printf 'abcdefghijklmnopqrstuvwxyz%.0s' $(seq 39))"
if [[ -z "${missing[nginx-light]:-}" ]]; then
  mkdir -p "$work/nginx/tmp"
  for attempt in 1 2 3 4 5; do
    http_port="$(free_port)"
    https_port="$(free_port)"
    tls_server=""
    if [[ -n "$tls_ok" ]]; then
      tls_server="  server {
    listen 127.0.0.1:$https_port ssl http2;
    ssl_certificate $tls/cert.pem;
    ssl_certificate_key $tls/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
  }"
    fi
    user_line=""
    [[ $EUID -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
    cat >"$work/nginx/nginx.conf" <<EOF
# Generated by src/bench/peers.sh. One worker, so that the client keeps the other core.
$user_line
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  # Reuse connections for the whole run (the default closes them every 1,000 requests).
  keepalive_requests 10000000;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  root $work/www;
  server {
    listen 127.0.0.1:$http_port;
    location = /n { return 200 "n \$arg_i\n"; }
    # S7: 1 KiB bodies made from the URL; the filler is PeerScenario.PAD (the two must agree).
    location = /k { return 200 "k \$arg_i $s7_pad\n"; }
    location = /_status { stub_status; }
  }
$tls_server
}
EOF
    nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$logs/nginx.out" 2>&1 &
    nginx_pid=$!
    if wait_for "http://127.0.0.1:$http_port/kib/0" \
        && { [[ -z "$tls_ok" ]] || wait_for "https://127.0.0.1:$https_port/kib/0"; }; then
      pids+=("$nginx_pid")
      break
    fi
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
  done
  if [[ -z "${nginx_pid:-}" ]]; then
    say "nginx did not start (see $logs/nginx-error.log)"
    exit 1
  fi
  say "nginx on http://127.0.0.1:$http_port${tls_ok:+ and https://127.0.0.1:$https_port}" \
    "(pid $nginx_pid)"
  args+=(--http "http://127.0.0.1:$http_port" --status "http://127.0.0.1:$http_port/_status")
  [[ -n "$tls_ok" ]] && args+=(--https "https://127.0.0.1:$https_port")
fi

# The delay server (BenchServer, its own JVM) stops when its stdin closes: it reads a FIFO that
# this shell holds open on fd 3.
fifo="$work/delay.stdin"
rm -f "$fifo" "$work/delay.port"
mkfifo "$fifo"
"$java" -Xms128m -Xmx512m -cp "$BENCH_CP" dev.fetchflux.bench.BenchServer 1 \
  <"$fifo" >"$work/delay.port" 2>"$logs/delay-server.log" &
pids+=($!)
exec 3>"$fifo"
for _ in $(seq 300); do grep -q '^PORT ' "$work/delay.port" 2>/dev/null && break; sleep 0.1; done
delay_port="$(sed -n 's/^PORT //p' "$work/delay.port")"
if [[ -z "$delay_port" ]]; then
  say "the delay server did not start (see $logs/delay-server.log)"
  exit 1
fi
say "delay server on http://127.0.0.1:$delay_port"
args+=(--delay "http://127.0.0.1:$delay_port")

# ---- JDK 25 for the fetchflux-on-25 rows: JDK25_HOME, else the first 25+ JDK in /usr/lib/jvm --
jdk25="${JDK25_HOME:-}"
if [[ -z "$jdk25" ]]; then
  for d in /usr/lib/jvm/*; do
    v="$("$d/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)" || true
    if [[ -n "$v" && "$v" -ge 25 ]]; then jdk25="$d"; break; fi
  done
fi
if [[ -n "$jdk25" && -x "$jdk25/bin/java" ]]; then
  say "JDK 25 for the fetchflux-on-25 rows: $jdk25"
  args+=(--jdk25 "$jdk25")
else
  say "SKIPPING the fetchflux-on-JDK-25 rows: no JDK 25 or newer in /usr/lib/jvm (set JDK25_HOME)"
  missing_arg+="jdk25=is not installed (no JDK 25 or newer in /usr/lib/jvm; set JDK25_HOME);"
fi

# ---- versions, then the driver -----------------------------------------------------------
{
  # sed, not head: head would leave early and SIGPIPE the probe under pipefail; and wrk -v exits 1.
  "$java" -version 2>&1 | sed -n 1p || true
  [[ -z "$jdk25" ]] || "$jdk25/bin/java" -version 2>&1 | sed -n 1p || true
  [[ -n "${missing[nginx-light]:-}" ]] || nginx -v 2>&1 || true
  [[ -n "${missing[curl]:-}" ]] || curl --version | sed -n 1p | cut -d' ' -f1-3 || true
  [[ -n "${missing[parallel]:-}" ]] || parallel --version | sed -n 1p || true
  [[ -n "${missing[python3-aiohttp]:-}" ]] || /usr/bin/python3 -c 'import sys, aiohttp
print("Python", sys.version.split()[0], "aiohttp", aiohttp.__version__)' || true
  [[ -n "${missing[wrk]:-}" ]] || wrk -v 2>&1 | sed -n 1p | cut -d' ' -f1-2 || true
} >"$work/versions.txt" 2>/dev/null

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain -- src pom.xml 2>/dev/null)" ]]; then
  commit="$commit+uncommitted"
fi
[[ -z "${missing[wrk]:-}" ]] && args+=(--wrk "$(command -v wrk)")
if [[ -n "${FETCHFLUX_BEFORE:-}" ]]; then
  before="$(cd "$FETCHFLUX_BEFORE" && pwd)"
  say "fetchflux-before: $before ($(git -C "$before" rev-parse --short HEAD 2>/dev/null || echo "an archive"))"
  "$before/fetchflux" --version >/dev/null   # builds that checkout's jar
  args+=(--before "$before")
fi
[[ -z "${missing[gnuplot-nox]:-}" ]] && args+=(--gnuplot "$(command -v gnuplot)")
"$java" -Xmx1g -XX:+UseSerialGC -cp "$BENCH_CP" dev.fetchflux.bench.Peers "${args[@]}" \
  --work "$work" --cert "$tls/cert.pem" --truststore "$tls/trust.p12" --python /usr/bin/python3 \
  --missing "$missing_arg" --versions "$work/versions.txt" \
  --command "bash src/bench/peers.sh${*:+ $*}" --commit "$commit" "$@"
