"""Issue 3 §2 through the gateway: OCSP against a real `openssl ocsp` responder,
including a certificate revoked while the gateway runs (ocsp_scenario.py, in a network
namespace of its own so the responder cannot listen beyond loopback)."""
import os
import subprocess
import sys

import harness


def test_ocsp_through_the_gateway(stack):
    r = subprocess.run(["unshare", "-n", sys.executable,
                        os.path.join(harness.REPO, "tests", "e2e", "ocsp_scenario.py"), stack.bin],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "0 failed" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
