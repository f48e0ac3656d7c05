"""OCSP through a running gateway, against a real `openssl ocsp` responder.

`openssl ocsp -port N` listens on every interface, so this scenario runs in a network
namespace of its own (test_ocsp.py starts it with `unshare -n`), where only loopback
exists: slapd, the backends, the responder and the gateway all live there.
usage: python3 tests/e2e/ocsp_scenario.py BIN_DIR   (prints "N passed, M failed")
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PORT = 8888                      # the OCSP URL certs/gen-test-pki.sh puts in every card


def start_responder(stack, index):
    ca = os.path.join(stack.pki, "intermediates", "citizen-ca4.pem")
    log = open(os.path.join(stack.root, "responder.log"), "ab")
    p = subprocess.Popen(["openssl", "ocsp", "-index", index, "-port", str(PORT),
                          "-rsigner", os.path.join(stack.pki, "ocsp", "citizen-ca4-responder.pem"),
                          "-rkey", os.path.join(stack.pki, "ocsp", "citizen-ca4-responder.key"),
                          "-CA", ca, "-ignore_err"], stdout=log, stderr=log)
    wait_listening(PORT)
    return p


def wait_listening(port, timeout=10.0):
    """Waits for a listening socket without connecting to it: an empty connection sends
    `openssl ocsp -ignore_err` into a busy loop."""
    want = ":%04X" % port
    end = time.time() + timeout
    while time.time() < end:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[1].endswith(want) and cols[3] == "0A":    # 0A = LISTEN
                        return
        time.sleep(0.05)
    raise RuntimeError("the OCSP responder does not listen on %d" % port)


def revoke(index, serial):
    """Marks serial revoked in an `openssl ca` index (what `openssl ca -revoke` writes)."""
    now = time.strftime("%y%m%d%H%M%SZ", time.gmtime())
    lines = []
    for line in open(index):
        f = line.rstrip("\n").split("\t")
        if f[3] == serial:
            f[0], f[2] = "R", now
        lines.append("\t".join(f))
    with open(index, "w") as out:
        out.write("\n".join(lines) + "\n")


def serial_of(pem):
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", pem], check=True,
                         capture_output=True, text=True).stdout
    return out.strip().split("=")[1]


def main():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    results = []
    stack = harness.Stack(sys.argv[1]).start()
    responder = None
    try:
        index = os.path.join(stack.root, "citizen-ca4.index")
        shutil.copy(os.path.join(stack.pki, "ca", "citizen-ca4", "index.txt"), index)
        responder = start_responder(stack, index)
        port = harness.gateway_variant(stack, "ocsp", replace={
            "ocsp = off": "ocsp = require\nocsp_timeout = 2s\nocsp_cache = 2s"})

        def check(name, cond, detail=""):
            results.append(cond)
            print("%s %s %s" % ("PASS" if cond else "FAIL", name, detail if not cond else ""), flush=True)

        r = harness.request_on(stack, port, "GET", "/eidgate/whoami", who="vte-a")
        check("good certificate accepted", r.status == 200, r)
        # Revoked while the gateway runs: the responder re-reads its index on restart,
        # the gateway's cached answer expires after ocsp_cache.
        revoke(index, serial_of(stack.person("vte-a")["cert"]))
        responder.terminate()
        responder.wait()
        responder = start_responder(stack, index)
        time.sleep(3)
        r = harness.request_on(stack, port, "GET", "/eidgate/whoami", who="vte-a")
        check("revoked while running is refused", r.status == 403 and r.json()["reason"] == "revoked", r)
        # Responder down under ocsp = require: refused, with its reason.
        responder.terminate()
        responder.wait()
        responder = None
        time.sleep(3)
        r = harness.request_on(stack, port, "GET", "/eidgate/whoami", who="covte-a")
        check("responder down under require is refused",
              r.status == 403 and r.json()["reason"] == "ocsp-unavailable", r)
        rec = stack.audit_record(r.json().get("request_id"), db=os.path.join(stack.root, "audit-ocsp"))
        check("refusal is in the access log", rec.get("reason") == "ocsp-unavailable", rec)
    finally:
        if responder is not None:
            responder.terminate()
        if not all(results):
            print("--- gateway log ---\n" + stack.log("ocsp")[-2000:])
            print("--- responder log ---\n" + stack.log("responder")[-2000:])
        stack.stop()
    print("%d passed, %d failed" % (results.count(True), results.count(False)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
