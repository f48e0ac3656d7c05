"""Keep-alive GET throughput through eidgate (TLS, bearer session) against the same
requests sent straight to the sample backend, in one run, with wrk.

usage: python3 bench/throughput.py [BIN_DIR] (see bench/throughput.sh for the knobs)

Starts the end-to-end stack of tests/e2e (slapd, sample backends, gateway) with the
test-only policy rules, logs in once with the PKCS#11-style token protocol (the same
signed challenge eidgate-login sends), then runs wrk for each body size against the
backend directly and through the gateway, and prints one line per case plus the ratios.

Each line also says where the CPU went: microseconds of CPU per request in the gateway,
the backend and wrk (from /proc/PID/stat and wrk's rusage), and the machine's idle share
(/proc/stat). On a machine where all three share the cores, this is what bounds the
ratio: eidgate/direct can be at most (wrk + backend, direct) / (wrk + backend + gateway,
through eidgate). The last case, a built-in answer of the gateway (the JWK set: TLS and
libmicrohttpd, no backend, no access-log record), shows the HTTP server's own floor.

When nginx is installed (apt-get install nginx-light; not a dependency of eidgate), the
same requests also go through nginx as a plain TLS reverse proxy to the same backend
(keep-alive upstream, no access log, no authentication, one worker per core): what a
mature proxy reaches on the same machine in the same run.
"""
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
os.environ["EIDGATE_TEST_RULES"] = "1"
import harness  # noqa: E402

SIZES = [int(s) for s in os.environ.get("SIZES", "1024 65536").split()]
DURATION = os.environ.get("DURATION", "10s")
CONNECTIONS = os.environ.get("CONNECTIONS", "32")
THREADS = os.environ.get("THREADS", "1")
WHO = "mod-molenberg"


def session_token(stack, port):
    """A bearer token: the gateway's challenge signed with the card key, as eidgate-login
    does over PKCS#11 (here with the test key file and openssl)."""
    r, _ = harness.signed_token_request(stack, WHO, port=port)
    assert r.status == 200, r
    return r.json()["token"]


def family(pid):
    """A process and its child processes (nginx's workers): (pid, its /proc stat fields
    after the command name) for each."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            yield int(entry), fields


def proc_cpu(pid):
    """CPU seconds (user + system) a process and its child processes have used so far."""
    return sum(int(f[11]) + int(f[12]) for _, f in family(pid)) / os.sysconf("SC_CLK_TCK")


def machine_idle():
    """(idle, total) jiffies of all CPUs so far."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[3] + v[4], sum(v)


def wrk(url, headers=(), pids=()):
    """Runs wrk; returns requests/s, non-2xx count, socket errors, p50, p99, and the CPU
    microseconds per request of each process in pids, of wrk, and the idle share."""
    args = ["wrk", "-t", THREADS, "-c", CONNECTIONS, "-d", DURATION, "--latency"]
    for h in headers:
        args += ["-H", h]
    before = [proc_cpu(p) for p in pids]
    idle0, total0 = machine_idle()
    t0 = os.times()
    out = subprocess.run(args + [url], check=True, capture_output=True, text=True).stdout
    t1 = os.times()
    idle1, total1 = machine_idle()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1)) or 1
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    us = [(proc_cpu(p) - b) * 1e6 / n for p, b in zip(pids, before)]
    us.append(((t1.children_user + t1.children_system) -
               (t0.children_user + t0.children_system)) * 1e6 / n)
    idle = (idle1 - idle0) / max(1, total1 - total0)
    return rps, int(errors.group(1)) if errors else 0, sock.group(1) if sock else "", p50, p99, us, idle


# nginx as a TLS reverse proxy of the module backend; a bench that needs more (client
# certificates, more connections) fills in main, http, tls and location (start_nginx).
NGINX_CONF = """
worker_processes %(workers)d;
%(user)s
daemon off;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log;
%(main)s
events { worker_connections %(worker_connections)d; }
http {
    access_log off;
    client_body_temp_path %(dir)s/tmp;
    proxy_temp_path %(dir)s/tmp;
    fastcgi_temp_path %(dir)s/tmp;
    uwsgi_temp_path %(dir)s/tmp;
    scgi_temp_path %(dir)s/tmp;
    %(http)s
    upstream backend { server 127.0.0.1:%(backend)d; keepalive 64; }
    server {
        listen 127.0.0.1:%(port)d ssl;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        ssl_protocols TLSv1.2 TLSv1.3;
        %(tls)s
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            %(location)s
        }
    }
}
"""


def nginx_dir(stack):
    """nginx's working directory in the stack (made with its temp directory)."""
    d = os.path.join(stack.root, "nginx")
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    return d


def start_nginx(stack, **extra):
    """nginx as a TLS reverse proxy to the module backend, from NGINX_CONF with the values
    below and extra; (process, port) or None when nginx is not installed."""
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if exe is None:
        return None
    d = nginx_dir(stack)
    port = harness.free_port()
    values = {"workers": os.cpu_count() or 1, "dir": d, "port": port, "main": "",
              "worker_connections": 1024, "http": "", "tls": "", "location": "",
              "user": "user root;" if os.geteuid() == 0 else "",
              "backend": stack.modules_port,
              "cert": os.path.join(stack.pki, "server", "server.pem"),
              "key": os.path.join(stack.pki, "server", "server.key")}
    values.update(extra)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF % values)
    proc = subprocess.Popen([exe, "-p", d, "-c", os.path.join(d, "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    harness.wait_port(port)
    return proc, port


def profile(stack, port, auth):
    """PROFILE=out.data: records the gateway (perf, cpu-clock, call graphs) during a
    1 KiB run; read it with perf report -i out.data."""
    pid = stack.procs["bench"].pid
    perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "1999", "-g",
                             "--call-graph", "dwarf,16384", "-o", os.environ["PROFILE"],
                             "-p", str(pid), "--", "sleep", "8"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res = wrk("https://127.0.0.1:%d/__big?bytes=1024" % port, [auth])
    perf.wait()
    print("eidgate 1 KiB under perf: %.0f req/s" % res[0])
    return 0


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "bin")
    stack = harness.Stack(bin_dir).start()
    try:
        # The tests' 64 MiB access log would fill up: a gateway with room for the run.
        replace = {"map_size = 64MiB": "map_size = 8GiB"}
        if os.environ.get("GATEWAY_THREADS"):     # [listen] threads, for experiments
            replace["client_cert = request"] = "client_cert = request\nthreads = %s" % (
                os.environ["GATEWAY_THREADS"])
        port = harness.gateway_variant(stack, "bench", replace=replace)
        token = session_token(stack, port)
        auth = "Authorization: Bearer " + token
        r = harness.request_on(stack, port, "GET", "/__big?bytes=16", headers={"Authorization": "Bearer " + token})
        assert r.status == 200, r
        if os.environ.get("PROFILE"):
            return profile(stack, port, auth)
        print("wrk -t%s -c%s -d%s, %d cores, bin %s" % (THREADS, CONNECTIONS, DURATION,
              os.cpu_count(), bin_dir))
        print("CPU per request in microseconds: proxy (eidgate or nginx) / backend / wrk; "
              "idle: the machine's")
        pids = (stack.procs["bench"].pid, stack.procs["modules"].pid)
        results = []

        def show(label, res):
            us = res[5]
            print("%-16s %8.0f req/s  p50 %-8s p99 %-8s non-2xx %d %s | CPU us/req %5.0f / %5.0f / %5.0f"
                  "  idle %2.0f%%" % (label, res[0], res[3], res[4], res[1], res[2], us[0], us[1],
                                      us[2], 100 * res[6]))
        for size in SIZES:
            direct = wrk("http://127.0.0.1:%d/__big?bytes=%d" % (stack.modules_port, size), (), pids)
            time.sleep(1)
            gw = wrk("https://127.0.0.1:%d/__big?bytes=%d" % (port, size), [auth], pids)
            time.sleep(1)
            show("%6d B direct" % size, direct)
            show("%6d B eidgate" % size, gw)
            results.append((size, direct, gw))
        floor = wrk("https://127.0.0.1:%d/.well-known/eidgate-jwks.json" % port, [auth], pids)
        show("built-in (JWKS)", floor)
        nginx = start_nginx(stack)
        if nginx is not None:
            try:
                for size, d, g in results:
                    time.sleep(1)
                    ref = wrk("https://127.0.0.1:%d/__big?bytes=%d" % (nginx[1], size), (),
                              (nginx[0].pid, stack.procs["modules"].pid))
                    show("%6d B nginx" % size, ref)
                    print("%6d B ratio nginx/direct = %.2f" % (size, ref[0] / d[0]))
            finally:
                nginx[0].terminate()
                nginx[0].wait()
        else:
            print("(nginx not installed: no reference proxy line; apt-get install nginx-light)")
        for size, d, g in results:
            # With every process sharing the cores, requests/s ~ cores / CPU per request.
            bound = (d[5][1] + d[5][2]) / (g[5][1] + g[5][2])
            print("%6d B ratio eidgate/direct = %.2f  (with a gateway costing nothing: %.2f; with "
                  "one costing what the built-in answer costs: %.2f)" % (
                      size, g[0] / d[0], bound, (d[5][1] + d[5][2]) /
                      (g[5][1] + g[5][2] + floor[5][0])))
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
