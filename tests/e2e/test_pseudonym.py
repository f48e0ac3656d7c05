"""Issue 16, item 5: pseudonymous subjects per backend, against the real gateway.

A backend declared `subject=pseudonym` receives `sub` = base64url(HMAC-SHA256(per-backend
key, national number)) and `sub_kid` (the pseudonym key's id) instead of the number;
other backends still get the number. `eidgate access pseudonym` resolves one through the
running gateway, which records the lookup before answering.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess

import harness


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def expected(master, backend, nrn):
    bk = hmac.new(master, b"eidgate-pseudonym-v1:" + backend.encode(), hashlib.sha256).digest()
    return b64u(hmac.new(bk, nrn.encode(), hashlib.sha256).digest())


def setup(stack):
    master = os.urandom(32)
    key = os.path.join(stack.root, "pseudonym.key")
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, master)
    os.close(fd)
    with open(os.path.join(stack.root, "jeugdhulp.policy")) as f:
        text = f.read()
    line = [l for l in text.splitlines() if l.startswith("backend modules")][0]
    pol = os.path.join(stack.root, "pseudonym.policy")
    with open(pol, "w") as f:
        f.write(text.replace(line, line + " subject=pseudonym"))
    port = harness.gateway_variant(stack, "pseudo", replace={
        "file = %s/jeugdhulp.policy" % stack.root: "file = " + pol,
        "[assertion]\n": "[assertion]\npseudonym_key_file = %s\n" % key})
    kid = hashlib.sha256(b"eidgate-pseudonym-id" + master).hexdigest()[:8]
    return master, port, kid


def claims_of(stack, r):
    _, claims = harness.verify_jws(r.json()["received"]["assertion"],
                                   os.path.join(stack.pki, "keys", "assertion.pub.pem"))
    return claims


def test_pseudonym_backend_gets_no_number_and_lookup_is_recorded(stack):
    master, port, kid = setup(stack)
    try:
        nrn = stack.person("mod-molenberg")["nrn"]
        r = harness.request_on(stack, port, "GET", "/modules/facilities/ckg-molenberg/modules",
                               who="mod-molenberg")
        assert r.status == 200, r
        claims = claims_of(stack, r)
        assert claims["sub"] == expected(master, "modules", nrn), claims
        assert claims["sub_kid"] == kid, claims
        assert nrn not in json.dumps(claims) and nrn not in r.body.decode(), claims
        # Another person, another pseudonym; the same person again, the same one.
        r2 = harness.request_on(stack, port, "GET", "/modules/facilities/ckg-molenberg/modules",
                                who="mod-betlehem")
        assert claims_of(stack, r2)["sub"] == expected(
            master, "modules", stack.person("mod-betlehem")["nrn"])
        # A backend without subject=pseudonym still receives the number.
        r3 = harness.request_on(stack, port, "GET", "/dossiers/facilities/cig-ten-anker/x",
                                who="raadpleger-tenanker")
        assert "received" in r3.json(), r3     # forwarded (the sample answers 404)
        assert claims_of(stack, r3)["sub"] == stack.person("raadpleger-tenanker")["nrn"]
        assert "sub_kid" not in claims_of(stack, r3)
        conf = os.path.join(stack.root, "pseudo.conf")
        out = subprocess.run([os.path.join(stack.bin, "eidgate"), "access", "pseudonym", "-c",
                              conf, "--backend", "modules", "--nrn", nrn],
                             capture_output=True, text=True)
        assert out.returncode == 0, out
        assert "sub %s (sub_kid %s)" % (claims["sub"], kid) in out.stdout, out.stdout
        rid = re.search(r"recorded as (op-[0-9a-f]+)", out.stdout).group(1)
        recs = [x for x in stack.audit(db=os.path.join(stack.root, "audit-pseudo"))
                if x.get("request_id") == rid]
        assert len(recs) == 1, recs
        rec = recs[0]
        assert rec["kind"] == "pseudonym" and rec["decision"] == "allow", rec
        assert rec["backend"] == "modules" and rec["target"] == nrn, rec
        assert rec["actor"].startswith("operator:"), rec
        # Not a pseudonym backend: refused, and the refusal is recorded too.
        out = subprocess.run([os.path.join(stack.bin, "eidgate"), "access", "pseudonym", "-c",
                              conf, "--backend", "dossiers", "--nrn", nrn],
                             capture_output=True, text=True)
        assert out.returncode == 1 and "not-a-pseudonym-backend" in out.stderr, out
        recs = [x for x in stack.audit(db=os.path.join(stack.root, "audit-pseudo"))
                if x.get("kind") == "pseudonym"]
        assert [x["decision"] for x in recs] == ["allow", "deny"], recs
    finally:
        stack.stop_process("pseudo")


def test_a_pseudonym_backend_without_a_key_does_not_start(stack):
    with open(os.path.join(stack.root, "jeugdhulp.policy")) as f:
        text = f.read()
    line = [l for l in text.splitlines() if l.startswith("backend modules")][0]
    pol = os.path.join(stack.root, "pseudonym-nokey.policy")
    with open(pol, "w") as f:
        f.write(text.replace(line, line + " subject=pseudonym"))
    conf = harness.config_variant(stack, "pseudo-nokey", {
        "file = %s/jeugdhulp.policy" % stack.root: "file = " + pol})
    r = subprocess.run([os.path.join(stack.bin, "eidgate"), "serve", "-c", conf],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "pseudonym_key_file is not set" in r.stderr, r
