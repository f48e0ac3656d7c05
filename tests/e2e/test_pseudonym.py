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


def setup(stack, name="pseudo"):
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
    port = harness.gateway_variant(stack, name, replace={
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


API = "/eidgate/audit/api/"


class Officer:
    """A browser-like session (cookie + CSRF token) of who on the gateway at port."""

    def __init__(self, stack, who, port):
        self.stack, self.who, self.port = stack, who, port
        r = stack.request("GET", "/eidgate/whoami", who=who, port=port)
        assert r.status == 200, r
        self.headers = {"Cookie": r.headers["set-cookie"].split(";")[0],
                        "X-Eidgate-CSRF": r.json()["csrf"], "Content-Type": "application/json"}

    def post(self, path, body, headers=None):
        h = dict(self.headers, **(headers or {}))
        return self.stack.request("POST", API + path, who=self.who, body=json.dumps(body),
                                  headers=h, port=self.port)


def lookups(stack):
    return [x for x in stack.audit(db=os.path.join(stack.root, "audit-pseudo-web"))
            if x.get("kind") == "pseudonym"]


def test_officers_resolve_pseudonyms_of_their_own_organisation_only(stack):
    master, port, kid = setup(stack, "pseudo-web")
    try:
        officer = Officer(stack, "secoff-a", port)
        r = stack.request("GET", API + "scope", who="secoff-a", port=port)
        assert r.status == 200 and r.json()["pseudonym_backends"] == ["modules"], r
        nrn = stack.person("mod-molenberg")["nrn"]
        want = expected(master, "modules", nrn)
        before = len(lookups(stack))

        # national number -> pseudonym, for a member of organisation A
        r = officer.post("pseudonym", {"backend": "modules", "nrn": nrn})
        assert r.status == 200, r
        res = r.json()
        assert res["pseudonym"] == want and res["key_id"] == kid, res
        assert res["person"]["name"] == "Rudi Gerrits", res
        assert res["person"]["nrn_masked"] == nrn[:2] + "*" * 7 + nrn[-2:], res
        assert nrn not in r.body.decode(), r.body
        rec = [x for x in lookups(stack) if x.get("request_id") == r.headers["x-request-id"]]
        assert len(rec) == 1, rec
        rec = rec[0]
        assert (rec["decision"], rec["action"], rec["target"], rec["backend"], rec["key"],
                rec["actor"], rec["org"]) == ("allow", "resolve", nrn, "modules", kid,
                                              stack.person("secoff-a")["nrn"], "0412345614"), rec

        # pseudonym -> person
        r = officer.post("pseudonym", {"backend": "modules", "pseudonym": want})
        assert r.status == 200, r
        assert r.json()["person"]["name"] == "Rudi Gerrits", r.json()
        rec = [x for x in lookups(stack) if x.get("request_id") == r.headers["x-request-id"]]
        assert rec and rec[0]["action"] == "identify" and rec[0]["target"] == nrn, rec

        # a person only in organisation B: refused both ways, and recorded
        tina = stack.person("member-schommel")["nrn"]
        r = officer.post("pseudonym", {"backend": "modules", "nrn": tina})
        assert r.status == 404 and r.json()["reason"] == "not-in-organisation", r
        assert "Herbiest" not in r.body.decode()
        rec = [x for x in lookups(stack) if x.get("request_id") == r.headers["x-request-id"]]
        assert rec and rec[0]["decision"] == "deny" and rec[0]["target"] == tina, rec
        r = officer.post("pseudonym", {"backend": "modules",
                                       "pseudonym": expected(master, "modules", tina)})
        assert r.status == 404 and r.json()["reason"] == "pseudonym-not-found", r
        assert r.json()["message"] == "Niet gevonden in uw organisatie: niemand van uw " \
            "organisatie heeft dit pseudoniem bij deze toepassing.", r.json()
        r = officer.post("pseudonym", {"backend": "modules",
                                       "pseudonym": expected(master, "modules", tina)},
                         headers={"Accept-Language": "en"})
        assert r.json()["message"].startswith("Not found in your organisation"), r.json()

        # a backend that receives national numbers; a key that does not exist
        r = officer.post("pseudonym", {"backend": "dossiers", "nrn": nrn})
        assert r.status == 400 and r.json()["reason"] == "not-a-pseudonym-backend", r
        r = officer.post("pseudonym", {"backend": "modules", "nrn": nrn, "key_id": "00000000"})
        assert r.status == 404 and r.json()["reason"] == "no-such-key", r
        # malformed bodies: not recorded as lookups, answered 400
        for bad in ({"backend": "modules"}, {"backend": "modules", "nrn": nrn, "pseudonym": want},
                    {"backend": "modules", "pseudonym": "short"}, {"nrn": nrn}):
            r = officer.post("pseudonym", bad)
            assert r.status == 400, (bad, r)
        # without the CSRF header
        r = stack.request("POST", API + "pseudonym", who="secoff-a", port=port,
                          body=json.dumps({"backend": "modules", "nrn": nrn}),
                          headers={"Cookie": officer.headers["Cookie"],
                                   "Content-Type": "application/json"})
        assert r.status == 403, r
        # not a security officer
        for who in ("vte-a", "mod-molenberg"):
            r = Officer(stack, who, port).post("pseudonym", {"backend": "modules", "nrn": nrn})
            assert r.status == 403, (who, r)
            assert want not in r.body.decode()

        recs = lookups(stack)[before:]
        assert [(x["action"], x["decision"]) for x in recs] == [
            ("resolve", "allow"), ("identify", "allow"), ("resolve", "deny"),
            ("identify", "deny"), ("identify", "deny"), ("resolve", "deny"),
            ("resolve", "deny")], recs
        assert [x["reason"] for x in recs[2:]] == [
            "not-in-organisation", "pseudonym-not-found", "pseudonym-not-found",
            "not-a-pseudonym-backend", "no-such-key"], recs
    finally:
        stack.stop_process("pseudo-web")
