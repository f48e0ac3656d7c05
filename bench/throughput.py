"""Keep-alive GET throughput through eidgate (TLS, bearer session) against the same
requests sent straight to the sample backend, in one run, with wrk.

usage: python3 bench/throughput.py [BIN_DIR] (see bench/throughput.sh for the knobs)

Starts the end-to-end stack of tests/e2e (slapd, sample backends, gateway) with the
test-only policy rules, logs in once with the PKCS#11-style token protocol (the same
signed challenge eidgate-login sends), then runs wrk for each body size against the
backend directly and through the gateway, and prints one line per case plus the ratios.
"""
import base64
import json
import os
import re
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


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def session_token(stack, port):
    """A bearer token: the gateway's challenge signed with the card key, as eidgate-login
    does over PKCS#11 (here with the test key file and openssl)."""
    p = stack.person(WHO)
    challenge = harness.request_on(stack, port, "POST", "/eidgate/auth/challenge").json()["challenge"]
    origin = "https://127.0.0.1:%d" % port
    msg = ("eidgate-login-v1\n%s\n%s" % (origin, challenge)).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", p["key_file"]], input=msg,
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "x509", "-outform", "DER", "-in", p["cert"]], check=True,
                         capture_output=True).stdout
    body = {"challenge": challenge, "origin": origin, "alg": "RSA-SHA256",
            "signature": b64u(sig), "chain": [b64u(der)]}
    r = harness.request_on(stack, port, "POST", "/eidgate/auth/token", body=json.dumps(body),
                           headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    return r.json()["token"]


def wrk(url, headers=()):
    args = ["wrk", "-t", THREADS, "-c", CONNECTIONS, "-d", DURATION, "--latency"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args + [url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return rps, int(errors.group(1)) if errors else 0, sock.group(1) if sock else "", p50, p99


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
        results = []
        for size in SIZES:
            direct = wrk("http://127.0.0.1:%d/__big?bytes=%d" % (stack.modules_port, size))
            time.sleep(1)
            gw = wrk("https://127.0.0.1:%d/__big?bytes=%d" % (port, size), [auth])
            time.sleep(1)
            for name, res in (("direct ", direct), ("eidgate", gw)):
                print("%6d B %s %10.0f req/s  p50 %-8s p99 %-8s non-2xx %d %s" %
                      (size, name, res[0], res[3], res[4], res[1], res[2]))
            results.append((size, direct[0], gw[0]))
        for size, d, g in results:
            print("%6d B ratio eidgate/direct = %.2f" % (size, g / d))
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
