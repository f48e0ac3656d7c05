"""Connections and logins as card users make them (issue 12): a gateway built before the
work (BEFORE_BIN), this one, and nginx as an mTLS reverse proxy of the same backend, in
one run on one stack.

usage: python3 bench/connections.py BEFORE_BIN [AFTER_BIN]   (AFTER_BIN default: bin/)
       BEFORE_BIN: e.g. git worktree add /tmp/perf-before 887562e &&
                   make -C /tmp/perf-before -j2 all   -> /tmp/perf-before/bin
knobs: DURATION=8s CONNECTIONS=64 IDLE=1000 STIME=5 (seconds of openssl s_time)

Rows (each for before, after and nginx where it applies):
  stalled      CPU seconds the gateway used while 4 clients held a half-done handshake
               (ClientHello sent, then nothing) for 5 s
  hrr          ClientHellos of one `openssl s_client -msg` handshake, key shares P-256
               first and X25519 first (2 = a HelloRetryRequest)
  pipelined    2,001 pipelined GET /eidgate/healthz on one connection: ms per request
  keep-alive   wrk with a card certificate (bench/wrk_cert.c, LD_PRELOAD), 1 KiB and
               64 KiB bodies of the sample backend: req/s, CPU us per request, p99
  full login   the same with "Connection: close": every request a full handshake with
               an RSA-2048 card and with an EC P-384 card
  s_time       `openssl s_time -new` (one connection at a time, full handshake + GET
               1 KiB) with the RSA card: connections/s
  idle memory  1,000 TLS connections with one request each, then idle: RSS growth per
               connection (gateway, or nginx's workers)
  p99 @ half   wrk at half the gateway's measured 1 KiB maximum (a Lua delay per
               request), the same rate through nginx: p99
CPU counts the process and its children (the key process, nginx's workers), from /proc.
The machine is shared: figures move from run to run; ratios within one run are what
this is for.
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import throughput  # noqa: E402  (sets EIDGATE_TEST_RULES and imports harness)
from throughput import harness, proc_cpu  # noqa: E402

DURATION = os.environ.get("DURATION", "8s")
CONNECTIONS = os.environ.get("CONNECTIONS", "64")
IDLE = int(os.environ.get("IDLE", "1000"))
STIME = os.environ.get("STIME", "5")
RSA, EC = "mod-molenberg", "mod-betlehem"
REPO = throughput.REPO

# throughput.NGINX_CONF as an mTLS proxy: the client certificate verified against the eID
# CAs of the test PKI (as the gateway verifies it, no session resumption), and room for
# IDLE idle connections.
NGINX_MTLS = {
    "workers": 2,
    "main": "worker_rlimit_nofile 8192;",
    "worker_connections": 4096,
    "http": "keepalive_requests 100000;",
    "tls": "ssl_verify_client on; ssl_verify_depth 3; ssl_session_tickets off; "
           "ssl_session_cache off; ssl_client_certificate %s;",
    "location": "proxy_set_header X-Client-Cert $ssl_client_s_dn;",
}


def start_nginx(stack):
    """nginx as an mTLS reverse proxy: the client certificate verified against the eID
    CAs of the test PKI, as the gateway verifies it."""
    cas = os.path.join(throughput.nginx_dir(stack), "cas.pem")
    with open(cas, "w") as out:
        for sub in ("roots", "intermediates"):
            t = os.path.join(stack.pki, "trust", sub)
            for name in sorted(os.listdir(t)):
                with open(os.path.join(t, name)) as f:
                    out.write(f.read() + "\n")
    return throughput.start_nginx(stack, **dict(NGINX_MTLS, tls=NGINX_MTLS["tls"] % cas))


def gateway(stack, name, bin_dir):
    saved = stack.bin
    stack.bin = bin_dir
    try:
        return harness.gateway_variant(stack, name, replace={
            "map_size = 64MiB": "map_size = 8GiB"})
    finally:
        stack.bin = saved


def shim():
    so = os.path.join(REPO, "run", "wrk_cert.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so,
                    os.path.join(HERE, "wrk_cert.c"), "-ldl", "-lssl"], check=True)
    return so


def wrk(stack, so, port, path, who, close=False, script=None):
    """(req/s, CPU us per request of pid's tree, p50, p99, non-2xx)."""
    p = stack.person(who)
    env = dict(os.environ, LD_PRELOAD=so, WRK_CERT=p["chain"], WRK_KEY=p["key_file"])
    args = ["wrk", "-t", "2", "-c", CONNECTIONS, "-d", DURATION, "--latency"]
    if close:
        args += ["-H", "Connection: close"]
    if script:
        args += ["-s", script]
    out = subprocess.run(args + ["https://127.0.0.1:%d%s" % (port, path)], env=env,
                         check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1)) or 1
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return rps, n, p50, p99, int(bad.group(1)) if bad else 0


def measured(pid, fn):
    c0 = proc_cpu(pid)
    res = fn()
    return res, proc_cpu(pid) - c0


def client_hello(stack):
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = stack.tls_context().wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def stalled(stack, port, pid):
    hello = client_hello(stack)
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    for s in socks:
        s.sendall(hello)
    time.sleep(0.5)
    c0 = proc_cpu(pid)
    time.sleep(5)
    used = proc_cpu(pid) - c0
    for s in socks:
        s.close()
    return used


def hellos(stack, port, groups, who=RSA):
    p = stack.person(who)
    out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-msg",
                          "-groups", groups, "-cert", p["cert"], "-key", p["key_file"]],
                         input=b"", capture_output=True, timeout=30).stdout.decode("utf-8", "replace")
    return sum(1 for ln in out.splitlines() if ln.startswith(">>>") and "ClientHello" in ln)


def pipelined(stack, port, n=2001):
    p = stack.person(RSA)
    ctx = stack.tls_context(p["chain"], p["key_file"])
    t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                        server_hostname="localhost")
    got, took = harness.pipeline_healthz(t, n, 60)
    t.close()
    return took * 1000 / n if got == n else float("nan")


def rss_kib(pid):
    """RSS of pid and its children (nginx's workers; the key process does not hold
    connections but is counted for the gateway too)."""
    total = 0
    for member, _ in throughput.family(pid):
        try:
            with open("/proc/%d/status" % member) as f:
                total += int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            continue
    return total


def idle_memory(stack, port, pid, path):
    p = stack.person(RSA)
    ctx = stack.tls_context(p["chain"], p["key_file"])
    warm = []
    for _ in range(20):          # allocator arenas, caches: warm before the baseline
        t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                            server_hostname="localhost")
        t.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode())
        t.recv(65536)
        warm.append(t)
    time.sleep(0.5)
    base = rss_kib(pid)
    held = []
    for _ in range(IDLE):
        t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                            server_hostname="localhost")
        t.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += t.recv(65536)
        held.append(t)
    time.sleep(1)
    grown = rss_kib(pid) - base
    for t in held + warm:
        t.close()
    return grown / IDLE


def s_time(port, who, stack, path="/__big?bytes=1024"):
    p = stack.person(who)
    out = subprocess.run(["openssl", "s_time", "-connect", "127.0.0.1:%d" % port, "-new",
                          "-time", STIME, "-cert", p["cert"], "-key", p["key_file"],
                          "-www", path], capture_output=True, text=True, timeout=120).stdout
    m = re.search(r"(\d+) connections in [\d.]+s; ([\d.]+) connections/user sec", out)
    m2 = re.search(r"(\d+) connections in (\d+) real seconds", out)
    return int(m2.group(1)) / int(m2.group(2)) if m2 else (float(m.group(1)) if m else 0.0)


def main():
    before = os.path.abspath(sys.argv[1])
    after = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, "bin"))
    stack = harness.Stack(after).start()
    so = shim()
    systems = []
    try:
        for name, b in (("before", before), ("after", after)):
            port = gateway(stack, name, b)
            systems.append((name, port, stack.procs[name].pid, True))
        ng = start_nginx(stack)
        if ng is not None:
            systems.append(("nginx", ng[1], ng[0].pid, False))
        print("bench/connections.py: %d cores (shared), wrk -t2 -c%s -d%s, before %s, after %s"
              % (os.cpu_count(), CONNECTIONS, DURATION, before, after))
        rows = {}

        def row(key, name, value, fmt):
            rows.setdefault(key, {})[name] = value
            print("%-34s %-7s %s" % (key, name, fmt % value), flush=True)

        # Idle memory first, on processes that have served nothing else: what a busy run
        # leaves freed in malloc's arenas would hide the growth.
        for name, port, pid, gw in systems:
            row("idle TLS connection: KiB each", name,
                idle_memory(stack, port, pid, "/eidgate/healthz" if gw else "/__big?bytes=16"),
                "%.1f")
        for name, port, pid, gw in systems:
            if gw:
                row("stalled handshakes: CPU s in 5 s", name, stalled(stack, port, pid), "%.2f")
                row("pipelined healthz: ms each", name, pipelined(stack, port), "%.3f")
            row("ClientHellos, P-256 first", name, hellos(stack, port, "P-256:X25519"), "%d")
            row("ClientHellos, X25519 first", name, hellos(stack, port, "X25519:P-256"), "%d")
        cases = [("keep-alive 1 KiB", "/__big?bytes=1024", RSA, False),
                 ("keep-alive 64 KiB", "/__big?bytes=65536", RSA, False),
                 ("full login RSA-2048", "/__big?bytes=1024", RSA, True),
                 ("full login EC P-384", "/__big?bytes=1024", EC, True)]
        for label, path, who, close in cases:
            for name, port, pid, _ in systems:
                time.sleep(1)
                (rps, n, p50, p99, bad), cpu = measured(
                    pid, lambda: wrk(stack, so, port, path, who, close))
                row(label + ": req/s", name, rps, "%.0f")
                row(label + ": CPU us/req", name, cpu * 1e6 / n,
                    "%%.0f  (p50 %s, p99 %s, non-2xx %d)" % (p50, p99, bad))
        for name, port, pid, _ in systems:
            row("s_time -new RSA: conn/s", name, s_time(port, RSA, stack), "%.1f")
        # p99 at half of the after gateway's maximum 1 KiB rate, every system at that rate.
        top = rows["keep-alive 1 KiB: req/s"].get("after", 0)
        if top > 0:
            c = int(CONNECTIONS)
            delay_ms = 2000.0 * c / top
            script = os.path.join(stack.root, "delay.lua")
            with open(script, "w") as f:
                f.write("function delay() return %d end\n" % max(1, int(delay_ms)))
            for name, port, pid, _ in systems:
                time.sleep(1)
                rps, n, p50, p99, bad = wrk(stack, so, port, "/__big?bytes=1024", RSA,
                                            script=script)
                row("p99 at half load (%.0f req/s)" % (top / 2), name, rps,
                    "%%.0f req/s  p50 %s  p99 %s" % (p50, p99))
        print("\nratios eidgate(after)/nginx and after/before:")
        for key, vals in rows.items():
            a = vals.get("after")
            if not isinstance(a, (int, float)) or not a:
                continue
            parts = []
            if vals.get("nginx"):
                parts.append("after/nginx %.2f" % (a / vals["nginx"]))
            if vals.get("before"):
                parts.append("after/before %.2f" % (a / vals["before"]))
            if parts:
                print("  %-36s %s" % (key, ", ".join(parts)))
        if ng is not None:
            ng[0].terminate()
            ng[0].wait()
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
