"""What the key process costs: the same requests through a gateway built before privilege
separation (BEFORE_BIN) and through this one, in one run, on one stack.

usage: python3 bench/privsep.py BEFORE_BIN [AFTER_BIN]     (AFTER_BIN default: bin/)
       BEFORE_BIN: a bin/ directory built from a commit before keys/ existed, e.g.
         git worktree add /tmp/before 7e89dc9 && make -C /tmp/before all

Cases, each run on both gateways one after the other:
  keep-alive   wrk over keep-alive connections with a Bearer token, 1 KiB bodies: the
               session is opened once per connection and the assertion reused, so the
               key process should not show at all;
  new conn     the same with "Connection: close": every request a TLS handshake and a
               session opened (one round trip to the key process);
  login        sequential PKCS#11-style logins (challenge, signed answer, token): one
               seal of a challenge, one open of it, one seal of the session.
CPU per request counts the gateway and its children (the key process), from /proc.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# The builds compared may predate [ldap] starttls: the directory is reached in clear
# over loopback, and the key left out of their configuration.
os.environ["EIDGATE_LDAP_TLS"] = "off"
import throughput  # noqa: E402  (sets EIDGATE_TEST_RULES and imports harness)
from throughput import harness, proc_cpu, wrk  # noqa: E402

LOGINS = int(os.environ.get("LOGINS", "150"))
# Rounds of before/after, alternating, so that a noisy moment hurts both; the median
# of each is printed.
ROUNDS = int(os.environ.get("ROUNDS", "3"))
WHO = throughput.WHO


def gateway(stack, name, bin_dir):
    """A gateway of bin_dir on the shared stack; its port."""
    saved = stack.bin
    stack.bin = bin_dir
    try:
        return harness.gateway_variant(stack, name, replace={
            "map_size = 64MiB": "map_size = 4GiB", "starttls = off\n": ""})
    finally:
        stack.bin = saved


def logins(stack, name, port):
    pid = stack.procs[name].pid
    c0, t0 = proc_cpu(pid), time.time()
    for _ in range(LOGINS):
        r, _ = harness.signed_token_request(stack, WHO, port=port)
        assert r.status == 200, r
    return (time.time() - t0) * 1e3 / LOGINS, (proc_cpu(pid) - c0) * 1e6 / LOGINS


def main():
    before_bin = os.path.abspath(sys.argv[1])
    after_bin = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(throughput.REPO, "bin"))
    stack = harness.Stack(os.path.join(throughput.REPO, "bin")).start()
    try:
        ports = {"before": gateway(stack, "before", before_bin),
                 "after": gateway(stack, "after", after_bin)}
        tokens = {k: throughput.session_token(stack, p) for k, p in ports.items()}
        print("wrk -t%s -c%s -d%s, %d cores; before %s, after %s" % (
            throughput.THREADS, throughput.CONNECTIONS, throughput.DURATION,
            os.cpu_count(), before_bin, after_bin))
        samples = {}
        for _ in range(ROUNDS):
            for case, extra in (("keep-alive", []), ("new conn", ["Connection: close"])):
                for k in ("before", "after"):
                    res = wrk("https://127.0.0.1:%d/__big?bytes=1024" % ports[k],
                              ["Authorization: Bearer " + tokens[k]] + extra,
                              (stack.procs[k].pid,))
                    samples.setdefault((case, k), []).append((res[0], res[5][0], res[1]))
                    time.sleep(1)
            for k in ("before", "after"):
                ms, us = logins(stack, k, ports[k])
                samples.setdefault(("login", k), []).append((1e3 / ms, us, 0))
        rows = []
        for (case, k), v in samples.items():
            mid = lambda i: sorted(x[i] for x in v)[len(v) // 2]  # noqa: E731
            rows.append((case, k, mid(0), mid(1), sum(x[2] for x in v)))
        print("medians of %d rounds" % ROUNDS)
        print("%-11s %-7s %10s %14s %8s" % ("case", "build", "per second", "CPU us/request",
                                            "non-2xx"))
        for case, k, rate, us, bad in rows:
            print("%-11s %-7s %10.0f %14.0f %8d" % (case, k, rate, us, bad))
        for case in ("keep-alive", "new conn", "login"):
            b = [r for r in rows if r[0] == case and r[1] == "before"][0]
            a = [r for r in rows if r[0] == case and r[1] == "after"][0]
            print("%-11s after/before: rate %.3f, CPU per request %.3f" % (
                case, a[2] / b[2], a[3] / b[3]))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
