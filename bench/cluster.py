"""One eidgate instance reached directly against three instances behind HAProxy (TCP mode,
TLS end to end, PROXY v2 when the build has it), in one run, with wrk: what the extra hop
costs. On this 2-core machine three instances cannot add capacity (they share the same
cores with wrk, HAProxy and the backend), so this is the overhead of the hop, not a
scaling figure.

usage: python3 bench/cluster.py [BIN_DIR]      (DURATION=10s CONNECTIONS=32 ROUNDS=3)

Cases, each run on both set-ups, alternating, ROUNDS times (medians printed):
  keep-alive   GET 1 KiB over kept-alive connections with a Bearer token;
  new conn     the same with "Connection: close": a TLS handshake per request (HAProxy
               opens a backend connection per client connection).
CPU per request: the instance(s), HAProxy, the backend and wrk, from /proc.
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import throughput  # noqa: E402  (imports harness; wrk and proc_cpu)
from throughput import harness, proc_cpu, wrk  # noqa: E402
import cluster  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
PATH = "/__big?bytes=1024"


def proxy_supported(bin_dir):
    """Whether this build knows [listen] proxy_protocol (check-config --keys lists it)."""
    r = subprocess.run([os.path.join(bin_dir, "eidgate"), "check-config", "--keys"],
                       capture_output=True, text=True)
    return "proxy_protocol" in r.stdout


def main():
    bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "bin"))
    stack = harness.Stack(bin_dir).start()
    c = None
    try:
        big = {"map_size = 64MiB": "map_size = 8GiB"}
        direct = harness.gateway_variant(stack, "direct", replace=big)
        c = cluster.Cluster(stack, replace=big, proxy=proxy_supported(bin_dir)).start()
        token = throughput.session_token(stack, direct)
        auth = "Authorization: Bearer " + token
        backend = stack.procs["modules"].pid
        setups = {
            "direct": ("https://127.0.0.1:%d" % direct, [stack.procs["direct"].pid]),
            "haproxy+3": ("https://127.0.0.1:%d" % c.front,
                          [stack.procs[n].pid for n in c.names]),
        }
        haproxy = stack.procs["haproxy"].pid
        cases = {"keep-alive": [auth], "new conn": [auth, "Connection: close"]}
        res = {(case, s): [] for case in cases for s in setups}
        for _ in range(ROUNDS):
            for case, headers in cases.items():
                for s, (url, pids) in setups.items():
                    before = sum(proc_cpu(p) for p in pids)
                    r = wrk(url + PATH, headers, (haproxy, backend))
                    n = max(1.0, r[0] * float(throughput.DURATION.rstrip("s")))
                    gw_us = (sum(proc_cpu(p) for p in pids) - before) * 1e6 / n
                    hp_us = r[5][0] if s != "direct" else 0.0
                    res[(case, s)].append((r[0], gw_us, hp_us, r[4], r[1]))
                    time.sleep(1)
        print("wrk -t%s -c%s -d%s, %d cores, %d rounds (medians), proxy protocol: %s" % (
            throughput.THREADS, throughput.CONNECTIONS, throughput.DURATION, os.cpu_count(),
            ROUNDS, "on" if c.proxy else "off"))
        print("%-11s %-10s %9s %12s %12s %8s %7s" % ("case", "set-up", "req/s", "eidgate us/r",
                                                    "haproxy us/r", "p99", "non-2xx"))
        for case in cases:
            for s in setups:
                rows = res[(case, s)]
                print("%-11s %-10s %9.0f %12.0f %12.0f %8s %7d" % (
                    case, s, statistics.median(x[0] for x in rows),
                    statistics.median(x[1] for x in rows), statistics.median(x[2] for x in rows),
                    rows[len(rows) // 2][3], sum(x[4] for x in rows)))
            d = statistics.median(x[0] for x in res[(case, "direct")])
            h = statistics.median(x[0] for x in res[(case, "haproxy+3")])
            print("%-11s haproxy+3/direct req/s = %.2f" % (case, h / d))
        return 0
    finally:
        if c is not None:
            c.stop()
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
