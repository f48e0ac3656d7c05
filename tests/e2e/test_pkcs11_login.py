"""eidgate-login against SoftHSM2 tokens laid out like eID cards, and the challenge /
token protocol it speaks (refusals included)."""
import json
import os
import subprocess
import tempfile

import harness

SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


def login(stack, key, pin="1234", extra=()):
    tokens = harness.shared_tokens(stack.pki)
    env = dict(os.environ, SOFTHSM2_CONF=os.path.join(tokens, key, "softhsm2.conf"))
    return subprocess.run([os.path.join(stack.bin, "eidgate-login"), "--url",
                           "https://127.0.0.1:%d" % stack.port, "--module", SOFTHSM,
                           "--pin-stdin", "--cacert",
                           os.path.join(stack.pki, "server", "server-ca.pem")] + list(extra),
                          input=pin + "\n", capture_output=True, text=True, env=env, timeout=60)


def test_rsa_card_login_then_bearer_request(stack):
    r = login(stack, "mod-molenberg")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    resp = stack.request("GET", "/modules/facilities/ckg-molenberg/modules",
                         headers={"Authorization": "Bearer " + token})
    assert resp.status == 200, resp
    _, claims = harness.verify_jws(resp.json()["received"]["assertion"],
                                   os.path.join(stack.pki, "keys", "assertion.pub.pem"))
    assert claims["sub"] == stack.person("mod-molenberg")["nrn"] and claims["sid"]
    assert resp.json()["received"]["authorization"] is False   # the token stays at the gateway
    logins = [x for x in stack.audit("--kind", "login") if x["nrn"] == claims["sub"]]
    assert logins and logins[-1]["decision"] == "allow"


def test_ec_card_login(stack):
    r = login(stack, "mod-betlehem")
    assert r.returncode == 0, r.stderr
    resp = stack.request("GET", "/modules/facilities/ckg-betlehem/modules",
                         headers={"Authorization": "Bearer " + r.stdout.strip()})
    assert resp.status == 200, resp


def test_cookie_jar(stack):
    with tempfile.TemporaryDirectory() as d:
        jar = os.path.join(d, "jar")
        r = login(stack, "member-schommel", extra=("--cookie-jar", jar))
        assert r.returncode == 0, r.stderr
        line = [l for l in open(jar) if l.strip() and not l.startswith("#")][0].split("\t")
        assert line[5] == "__Host-eidgate" and line[3] == "TRUE"
        assert oct(os.stat(jar).st_mode & 0o777) == "0o600"
        resp = stack.request("GET", "/modules/facilities/ckg-de-schommel/modules",
                             headers={"Cookie": "__Host-eidgate=" + line[6].strip()})
        assert resp.status == 200, resp
        assert resp.json()["received"]["cookie"] is False


def test_wrong_pin_is_clear_and_not_retried(stack):
    r = login(stack, "vte-b", pin="9999")
    assert r.returncode == 1
    assert "wrong PIN" in r.stderr and "not retrying" in r.stderr


signed_token_request = harness.signed_token_request


def test_token_protocol_refusals(stack):
    ok, challenge = signed_token_request(stack, "vte-a")
    assert ok.status == 200, ok
    replay, _ = signed_token_request(stack, "vte-a", challenge=challenge)
    assert replay.status == 403, replay
    other, _ = signed_token_request(stack, "vte-a", origin="https://evil.example")
    assert other.status == 403, other
    forged, _ = signed_token_request(stack, "vte-a", challenge="AAAA" + challenge[4:])
    assert forged.status == 403, forged
    sigcert, _ = signed_token_request(stack, "vte-a", use_sign_key=True)
    assert sigcert.status == 403 and sigcert.json()["reason"] == "signature-certificate", sigcert
    rec = stack.audit_record(sigcert.json()["request_id"])
    assert rec["kind"] == "login-refused" and rec["reason"] == "signature-certificate"


def test_tampered_and_foreign_tokens_are_refused(stack):
    ok, _ = signed_token_request(stack, "vte-a")
    token = ok.json()["token"]
    bad = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    r = stack.request("GET", "/eidgate/whoami", headers={"Authorization": "Bearer " + bad})
    assert r.status == 401 and r.json()["reason"] == "bad-session", r
    # presented over TLS with another person's certificate: someone else's token
    r = stack.request("GET", "/eidgate/whoami", who="vte-b",
                      headers={"Authorization": "Bearer " + token})
    assert r.status == 403 and r.json()["reason"] == "session-certificate-mismatch", r
    r = stack.request("GET", "/eidgate/whoami", headers={"Authorization": "Bearer " + token})
    assert r.status == 200 and r.json()["name"] == "Lotte Vermeulen", r


def test_token_on_an_identified_connection_is_the_signers_own(stack):
    """A PKCS#11 login over a TLS connection that presents someone else's certificate
    gives a session of the signer, with nothing of the other person in it."""
    p = stack.person("vte-b")
    r, _ = signed_token_request(stack, "mod-molenberg", via="vte-b")
    assert r.status == 200, r
    me = stack.request("GET", "/eidgate/whoami",
                       headers={"Authorization": "Bearer " + r.json()["token"]}).json()
    assert me["name"] == "Rudi Gerrits" and me.get("facility") == "ckg-molenberg", me
    assert me.get("organisation") == "0412345614" and p["nrn"] not in json.dumps(me)
