"""What TLS to the directory costs (issue 13 §4): the same slapd reached in clear over
loopback, with StartTLS and over ldaps://.

1. First lookup: `eidgate policy explain` run N times per mode: a process that loads
   the configuration and policy, connects, (StartTLS,) binds and searches once. The
   difference to "plain" is what a new directory connection costs in TLS.
2. Uncached lookups on kept connections: a gateway with [ldap] cache_ttl = 0s answers
   /eidgate/whoami M times on one keep-alive client connection, each a directory search
   on a pooled connection that is already bound.

usage: python3 bench/ldap_tls.py [BIN_DIR] (N=30 M=300 in the environment)
"""
import http.client
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import harness  # noqa: E402

N = int(os.environ.get("N", "30"))
M = int(os.environ.get("M", "300"))


def modes(stack):
    plain = "uri = ldap://127.0.0.1:%d" % stack.ldap_port
    return (("plain", {"starttls = on": "starttls = off"}),
            ("starttls", {}),
            ("ldaps", {plain: "uri = ldaps://127.0.0.1:%d" % stack.ldaps_port}))


def first_lookups(stack, confs):
    """Wall and CPU milliseconds of N explain runs per configuration, the modes taking
    turns so that a busy machine weighs on all alike."""
    nrn = stack.person("vte-a")["nrn"]
    wall = [[] for _ in confs]
    cpu = [[] for _ in confs]
    for _ in range(N):
        for i, conf in enumerate(confs):
            argv = [os.path.join(stack.bin, "eidgate"), "policy", "explain", "-c", conf,
                    "--nrn", nrn, "GET", "/modules/catalog/modules"]
            r0, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall[i].append((time.perf_counter() - t) * 1000)
            cpu[i].append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
    return wall, cpu


def uncached(stack, modes_):
    """Milliseconds of M whoami requests per mode, each a directory search on a kept
    connection ([ldap] cache_ttl 0s), one gateway per mode, the modes taking turns."""
    ports, conns = [], []
    for name, replace in modes_:
        replace = dict(replace, **{"cache_ttl = 60s": "cache_ttl = 0s"})
        ports.append(harness.gateway_variant(stack, "bench-" + name, replace=replace))
    try:
        p = stack.person("vte-a")
        for port in ports:
            ctx = stack.tls_context(p["chain"], p["key_file"])
            conns.append(http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx))
        for conn in conns:              # warm: pool connections made, TLS session up
            for _ in range(20):
                stack.request("GET", "/eidgate/whoami", conn=conn)
        times = [[] for _ in conns]
        for _ in range(M):
            for i, conn in enumerate(conns):
                t = time.perf_counter()
                r = stack.request("GET", "/eidgate/whoami", conn=conn)
                times[i].append((time.perf_counter() - t) * 1000)
                assert r.status == 200, r
        return times
    finally:
        for conn in conns:
            conn.close()
        for name, _ in modes_:
            stack.stop_process("bench-" + name)


def show(names, series):
    base = statistics.median(series[0])
    for i, (name, times) in enumerate(zip(names, series)):
        times = sorted(times)
        med = statistics.median(times)
        print("  %-9s median %7.2f ms  p90 %7.2f ms  %s" % (
            name, med, times[int(len(times) * 0.9)],
            "(%+.2f ms against %s)" % (med - base, names[0]) if i else "(baseline)"))


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(harness.REPO, "bin")
    stack = harness.Stack(bin_dir).start()
    try:
        m = modes(stack)
        names = [name for name, _ in m]
        wall, cpu = first_lookups(stack, [harness.config_variant(stack, n, r) for n, r in m])
        print("first lookup: eidgate policy explain, a new process each, %d runs per mode" % N)
        print(" wall time:")
        show(names, wall)
        print(" CPU time (user + system):")
        show(names, cpu)
        print("uncached lookups on kept connections: GET /eidgate/whoami with cache_ttl 0s, "
              "%d requests per mode" % M)
        show(names, uncached(stack, m))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
