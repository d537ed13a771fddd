#!/usr/bin/env bash
# Start-up and HTTPS figures of the command (issue 14, docs/benchmarks-method.md, "Start-up and
# HTTPS"): one URL over http and https, 2,000 x 1 KiB over HTTPS/1.1, S6 (10,000 x 1 KiB over
# HTTPS + HTTP/2) and S3 (skewed), whole processes, interleaved rounds, every output checked.
# Starts nginx (one worker; http and TLS 1.3 + h2 with a generated certificate) and the delay server
# (`fetchflux serve`) on 127.0.0.1, and stops them on exit. Needs nginx-light, openssl, curl and
# python3-aiohttp (peers.sh installs them).
#
#   bash src/bench/startup-tls.sh [--base DIR] [--base25 DIR] [--jdk25 JAVA_HOME] [--rounds N]
#                                 [--cases one-http,one-https,https-2000,s6,s3]
#
# --base DIR: another checkout's (or copy's) launcher directory to compare with, "before"; --base25
# the same for JDK 25 when it needs a directory of its own (launchers before the cache key kept one
# archive for every JVM). With --jdk25 every fetchflux row is also run on that JDK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"
work="$root/target/startup-tls"
mkdir -p "$work/www/kib" "$work/tls" "$work/nginx/tmp" "$work/logs"

if [[ ! -f "$work/www/kib/9999" ]]; then
  /usr/bin/python3 - "$work/www/kib" <<'EOF'
import random, sys
r = random.Random(7)
for i in range(10000):
    head = f"{i}\n".encode()
    body = head + bytes(r.randrange(97, 123) for _ in range(1024 - len(head) - 1)) + b"\n"
    with open(f"{sys.argv[1]}/{i}", "wb") as f:
        f.write(body)
EOF
fi
if [[ ! -f "$work/tls/trust.p12" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2>"$work/logs/openssl.log"
  keytool -importcert -noprompt -alias bench -file "$work/tls/cert.pem" \
    -keystore "$work/tls/trust.p12" -storetype PKCS12 -storepass changeit >/dev/null 2>&1
fi

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}
http_port=$(free_port)
https_port=$(free_port)
delay_port=$(free_port)
user_line=""
[[ $EUID -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
cat >"$work/nginx/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  root $work/www;
  server { listen 127.0.0.1:$http_port; }
  server {
    listen 127.0.0.1:$https_port ssl http2;
    ssl_certificate $work/tls/cert.pem;
    ssl_certificate_key $work/tls/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
  }
}
EOF
pids=()
cleanup() { for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/logs/nginx.out" 2>&1 &
pids+=($!)
./fetchflux --version >/dev/null   # builds the jar and its start-up cache first
./fetchflux serve --port "$delay_port" >"$work/logs/serve.out" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
  curl -sf -o /dev/null "http://127.0.0.1:$http_port/kib/0" \
    && curl -sf -o /dev/null "http://127.0.0.1:$delay_port/delay/1" && break
  sleep 0.1
done

# The bare reactor-netty program of peers.sh, when its classes can be built.
bench_cp=()
if source src/bench/build.sh >/dev/null 2>&1; then
  # build.sh compiled into target/: copy, so that a later build cannot pull them away mid-run.
  rm -rf "$work/bench-classes" && mkdir -p "$work/bench-classes"
  cp -r target/test-classes "$work/bench-classes/test" && cp -r target/classes "$work/bench-classes/main"
  bench_cp=(--bench-cp "$work/bench-classes/test:$work/bench-classes/main:$(cat target/bench/deps.classpath)")
fi

echo "startup-tls: commit $(git rev-parse --short HEAD), $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 src/bench/startup_tls.py --new "$root" --http "http://127.0.0.1:$http_port" \
  --https "https://127.0.0.1:$https_port" --delay "http://127.0.0.1:$delay_port" \
  --trust "$work/tls/trust.p12" --cafile "$work/tls/cert.pem" --www "$work/www" --work "$work/run" \
  ${bench_cp[@]+"${bench_cp[@]}"} "$@"
