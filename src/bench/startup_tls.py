"""Start-up and HTTPS figures of the fetchflux command, side by side (issue 14): whole processes,
interleaved rounds, every output checked byte for byte. Run by src/bench/startup-tls.sh, which
starts the servers and passes their addresses; see docs/benchmarks-method.md, "Start-up and HTTPS".

Each case is a set of tools run on the same input; every round runs each tool of each case once,
the order rotated each round, so drift in the machine's load hits every tool alike. Reported: the
median wall time (launch to exit) and min-max, the median CPU (user + system of the process and
its children), and each tool's ratio to the case's first tool.
"""
import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import time


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Tool:
    def __init__(self, name, argv, env=None, stdin=None, expected=None):
        self.name, self.argv, self.env, self.stdin, self.expected = name, argv, env or {}, stdin, expected
        self.walls, self.cpus, self.bad = [], [], []

    def run(self, workdir):
        env = dict(os.environ)
        env.update(self.env)
        out = os.path.join(workdir, "out")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(out, "wb") as o, open(self.stdin or os.devnull, "rb") as i:
            t0 = time.perf_counter()
            p = subprocess.run(self.argv, stdin=i, stdout=o, stderr=subprocess.PIPE, env=env, timeout=300)
            wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        with open(out, "rb") as o:
            got = sha256(o.read())
        if p.returncode != 0 or (self.expected and got != self.expected):
            self.bad.append(f"exit {p.returncode}, sha {got[:12]}: {p.stderr.decode(errors='replace')[-300:]}")
            return
        self.walls.append(wall)
        self.cpus.append(cpu)


def fmt(xs):
    return f"{statistics.median(xs):.3f} ({min(xs):.3f}–{max(xs):.3f})" if xs else "–"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="one-http,one-https,https-2000,s6,s3")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--new", required=True, help="directory of the launcher measured")
    ap.add_argument("--base", help="directory of a launcher to compare with (before), on JDK 17")
    ap.add_argument("--base25", help="the same for JDK 25 (a directory of its own: before the cache key, one archive served every JVM)")
    ap.add_argument("--jdk25", help="JAVA_HOME of a JDK 25")
    ap.add_argument("--http", required=True)
    ap.add_argument("--https", required=True)
    ap.add_argument("--delay", required=True)
    ap.add_argument("--trust", required=True, help="PKCS#12 trust store with the server's certificate")
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--www", required=True, help="nginx's root, for the expected bodies")
    ap.add_argument("--bench-cp", help="class path of the bench classes (bare reactor-netty peer)")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    trust = f"-Djavax.net.ssl.trustStore={a.trust} -Djavax.net.ssl.trustStorePassword=changeit"
    py = ["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "peers", "aiohttp_fetch.py")]

    def body(i):
        with open(os.path.join(a.www, "kib", str(i)), "rb") as f:
            return f.read()

    def urls(name, lines):
        path = os.path.join(a.work, name)
        with open(path, "w") as f:
            f.write("".join(l + "\n" for l in lines))
        return path

    launchers = [("new", a.new)] + ([("base", a.base)] if a.base else [])
    jdks = [("17", None)] + ([("25", a.jdk25)] if a.jdk25 else [])

    def where(label, directory, jdk):
        return a.base25 if label == "base" and jdk and a.base25 else directory

    def ff(label, directory, jdk, args, opts="", stdin=None, expected=None):
        env = {"FETCHFLUX_JAVA_OPTS": opts}
        if jdk:
            env["JAVA_HOME"] = jdk
        return Tool(label, [os.path.join(where(label.split(",")[0].split()[-1], directory, jdk), "fetchflux")] + args,
                    env, stdin, expected)

    cases = {}
    one = sha256(body(1))
    if "one-http" in a.cases:
        cases["one-http"] = [ff(f"fetchflux {l}, JDK {j}", d, jh, [f"{a.http}/kib/1"], expected=one)
                             for l, d in launchers for j, jh in jdks]
        cases["one-http"].append(Tool("curl", ["curl", "-sS", f"{a.http}/kib/1"], expected=one))
    if "one-https" in a.cases:
        t = []
        for l, d in launchers:
            for j, jh in jdks:
                t.append(ff(f"fetchflux {l}, JDK {j}", d, jh, [f"{a.https}/kib/1"], trust, expected=one))
                if l == "new":
                    t.append(ff(f"fetchflux {l}, JDK {j}, JDK TLS", d, jh, [f"{a.https}/kib/1"],
                                trust + " -Dfetchflux.tls.native=false", expected=one))
        t.append(Tool("curl", ["curl", "-sS", "--cacert", a.cafile, f"{a.https}/kib/1"], expected=one))
        cases["one-https"] = t
    if "https-2000" in a.cases:
        f = urls("https-2000.txt", [f"{a.https}/kib/{i}" for i in range(2000)])
        exp = sha256(b"".join(body(i) for i in range(2000)))
        t = []
        for l, d in launchers:
            for j, jh in jdks:
                t.append(ff(f"fetchflux {l}, JDK {j}", d, jh, ["-s", "-c", "64"], trust, f, exp))
                if l == "new":
                    t.append(ff(f"fetchflux {l}, JDK {j}, JDK TLS", d, jh, ["-s", "-c", "64"],
                                trust + " -Dfetchflux.tls.native=false", f, exp))
        t.append(Tool("aiohttp gather", py + ["-c", "64", "--cafile", a.cafile], stdin=f, expected=exp))
        cases["https-2000"] = t
    if "s6" in a.cases:
        f = urls("s6.txt", [f"{a.https}/kib/{i}" for i in range(10000)])
        exp = sha256(b"".join(body(i) for i in range(10000)))
        t = []
        for l, d in launchers:
            for j, jh in jdks:
                t.append(ff(f"fetchflux {l}, JDK {j}", d, jh, ["-s", "-c", "64", "--http2"], trust, f, exp))
                if l == "new":
                    t.append(ff(f"fetchflux {l}, JDK {j}, JDK TLS", d, jh, ["-s", "-c", "64", "--http2"],
                                trust + " -Dfetchflux.tls.native=false", f, exp))
        t.append(Tool("aiohttp gather (HTTP/1.1)", py + ["-c", "64", "--cafile", a.cafile], stdin=f, expected=exp))
        if a.bench_cp:
            # The naive Reactor program of peers.sh: reactor-netty's own default TLS, which is
            # BoringSSL when netty-tcnative is on the class path (it is, on the bench class path).
            for label, extra in [("native TLS", []), ("JDK TLS", ["-Dio.netty.handler.ssl.noOpenSsl=true"])]:
                t.append(Tool(f"Reactor flatMapSequential (bare reactor-netty), JDK 17, {label}",
                              ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                               "-Djavax.net.ssl.trustStore=" + a.trust, "-Djavax.net.ssl.trustStorePassword=changeit"]
                              + extra + ["-cp", a.bench_cp, "dev.fetchflux.bench.NaiveReactorPeer", "--sequential",
                                         "-c", "64", "--http2"],
                              stdin=f, expected=exp))
        cases["s6"] = t
    if "s3" in a.cases:
        lines = [f"{a.delay}/delay/{1000 if i % 50 == 0 else 20}?i={i}" for i in range(1000)]
        f = urls("s3.txt", lines)
        exp = sha256("".join(l[len(a.delay):] for l in lines).encode())
        t = [ff(f"fetchflux {l}, JDK {j}", d, jh, ["-s", "-c", "32"], "", f, exp)
             for l, d in launchers for j, jh in jdks]
        t.append(Tool("aiohttp gather", py + ["-c", "32"], stdin=f, expected=exp))
        cases["s3"] = t

    order = [c for c in a.cases.split(",") if c in cases]
    loads = []
    for r in range(a.rounds):
        for c in order:
            tools = cases[c]
            k = r % len(tools)
            for tool in tools[k:] + tools[:k]:
                loads.append(os.getloadavg()[0])
                tool.run(a.work)
                print(f"round {r + 1} {c}: {tool.name}: {tool.walls[-1] if tool.walls else 'INVALID'}",
                      file=sys.stderr, flush=True)
    print(f"{a.rounds} rounds, load average (1 min) before the runs: median {statistics.median(loads):.2f}, "
          f"{min(loads):.2f}–{max(loads):.2f}\n")
    for c in order:
        tools = cases[c]
        ref = statistics.median(tools[0].walls) if tools[0].walls else None
        print(f"#### {c}\n\n| tool | wall s, median (min–max) | CPU s, median | ÷ first row | valid |\n|---|---|---|---|---|")
        for t in tools:
            ratio = f"{statistics.median(t.walls) / ref:.2f}" if ref and t.walls else "–"
            print(f"| {t.name} | {fmt(t.walls)} | {statistics.median(t.cpus):.2f} | {ratio} | "
                  f"{len(t.walls)} of {len(t.walls) + len(t.bad)} |" if t.cpus else
                  f"| {t.name} | – | – | – | 0 of {len(t.bad)}: {t.bad[:1]} |")
        print()


if __name__ == "__main__":
    main()
