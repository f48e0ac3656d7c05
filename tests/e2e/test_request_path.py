"""Issue 2: one request all the way through, and the refusals on the way.

Each scenario checks the HTTP answer and the access-log record of that request.
"""
import json
import os
import ssl
import subprocess

import harness


def assertion_of(resp):
    received = resp.json()["received"]
    return received["assertion"], received


def test_allowed_request_carries_a_verifiable_assertion(stack):
    me = stack.person("mod-molenberg")
    r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="mod-molenberg")
    assert r.status == 200, r
    token, received = assertion_of(r)
    header, claims = harness.verify_jws(token, os.path.join(stack.pki, "keys", "assertion.pub.pem"))
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    jwks = stack.request("GET", "/.well-known/eidgate-jwks.json").json()
    assert header["kid"] == jwks["keys"][0]["kid"] == harness.jwk_thumbprint(jwks["keys"][0])
    assert claims["iss"] == "eidgate" and claims["aud"] == "modules"
    assert claims["sub"] == me["nrn"]
    assert claims["name"] == "Rudi Gerrits"
    assert claims["given_name"] == "Rudi" and claims["family_name"] == "Gerrits"
    assert claims["org"] == "0412345614" and claims["facility"] == "ckg-molenberg"
    assert claims["capacity"] == "gezinsondersteuning"
    assert {"role": "moduleerder", "scope": "facility:ckg-molenberg"} in claims["roles"]
    assert claims["exp"] - claims["iat"] == 60
    assert "jti" not in claims and r.headers["x-request-id"] == received["request_id"]
    assert received["forwarded_for"] == "127.0.0.1" and received["forwarded_proto"] == "https"
    rec = stack.audit_record(r.headers["x-request-id"])
    assert rec["decision"] == "allow" and rec["rule"] == "module-read"
    assert rec["backend"] == "modules"
    assert harness.audit_outcome(stack, r.headers["x-request-id"])["upstream_status"] == 200
    assert rec["nrn"] == me["nrn"] and rec["facility"] == "ckg-molenberg"
    assert rec["path"] == "/modules/facilities/ckg-molenberg/modules"


def test_ec_card_and_write_rule(stack):
    r = stack.request("POST", "/modules/facilities/ckg-betlehem/modules", who="mod-betlehem",
                      headers={"Content-Type": "application/json"},
                      body=json.dumps({"name": "Thuisbegeleiding", "type": "tm-contextbegeleiding"}))
    assert r.status == 201, r
    rec = stack.audit_record(r.headers["x-request-id"])
    assert rec["decision"] == "allow" and rec["rule"] == "module-write"


def test_no_certificate_is_401(stack):
    r = stack.request("GET", "/modules/catalog/modules")
    assert r.status == 401, r
    assert r.json()["reason"] == "no-certificate"
    rec = stack.audit_record(r.json()["request_id"])
    assert rec["decision"] == "deny" and rec["reason"] == "no-certificate"


def test_unknown_root_is_refused(stack):
    sp = os.path.join(stack.pki, "special")
    r = stack.request("GET", "/modules/catalog/modules", cert=os.path.join(sp, "unknown-user-chain.pem"),
                      key=os.path.join(sp, "unknown-user.key"))
    assert r.status == 403, r
    assert r.json()["reason"] == "unknown-root"
    rec = stack.audit_record(r.json()["request_id"])
    assert rec["kind"] == "login-refused" and rec["decision"] == "deny"
    assert rec["reason"] == "unknown-root"


def test_rogue_root_with_a_trusted_name_is_refused(stack):
    sp = os.path.join(stack.pki, "special")
    r = stack.request("GET", "/modules/catalog/modules", cert=os.path.join(sp, "rogue-user-chain.pem"),
                      key=os.path.join(sp, "rogue-user.key"))
    assert r.status == 403, r
    rec = stack.audit_record(r.json()["request_id"])
    assert rec["decision"] == "deny" and rec["kind"] == "login-refused"


def make_signature_cert_with_digital_signature(stack):
    """A certificate named "(Signature)" that TLS would accept (digitalSignature set):
    the gateway must still refuse it on its name."""
    out = os.path.join(stack.root, "sigdual")
    os.makedirs(out, exist_ok=True)
    key, csr, crt = (os.path.join(out, n) for n in ("key.pem", "req.csr", "cert.pem"))
    ext = os.path.join(out, "ext.cnf")
    with open(ext, "w") as f:
        f.write("keyUsage=critical,digitalSignature,nonRepudiation\n"
                "certificatePolicies=2.16.56.12.1.1.2.2\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", csr, "-subj", "/C=BE/CN=Rudi Gerrits (Signature)/SN=Gerrits/GN=Rudi/"
                    "serialNumber=72093006924"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA",
                    os.path.join(stack.pki, "intermediates", "citizen-ca4.pem"), "-CAkey",
                    os.path.join(stack.pki, "private", "citizen-ca4.key"), "-days", "30",
                    "-set_serial", "4242", "-extfile", ext, "-out", crt], check=True,
                   capture_output=True)
    chain = os.path.join(out, "chain.pem")
    with open(chain, "w") as f:
        f.write(open(crt).read() + open(os.path.join(stack.pki, "intermediates", "citizen-ca4.pem")).read())
    return chain, key


def test_signature_certificate_is_refused(stack):
    chain, key = make_signature_cert_with_digital_signature(stack)
    r = stack.request("GET", "/modules/catalog/modules", cert=chain, key=key)
    assert r.status == 403, r
    assert r.json()["reason"] == "signature-certificate"
    rec = stack.audit_record(r.json()["request_id"])
    assert rec["kind"] == "login-refused" and rec["reason"] == "signature-certificate"


def test_real_shaped_signature_certificate_fails_the_handshake(stack):
    """A real eID signature certificate allows only nonRepudiation: it cannot even sign
    a TLS handshake, and GnuTLS ends the connection."""
    me = stack.person("mod-molenberg")
    try:
        r = stack.request("GET", "/modules/catalog/modules", cert=me["sign"], key=me["sign_key"])
    except (ssl.SSLError, ConnectionError, OSError):
        return
    assert r.status == 403, r


def test_user_without_the_role_is_403(stack):
    r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="norole")
    assert r.status == 403, r
    rec = stack.audit_record(r.json()["request_id"])
    assert rec["decision"] == "deny" and rec["reason"] == "no-rule"
    assert rec["nrn"] == stack.person("norole")["nrn"]


def test_moduleerder_of_a_facility_is_refused_for_another(stack):
    r = stack.request("GET", "/modules/facilities/ckg-betlehem/modules", who="mod-molenberg")
    assert r.status == 403, r
    rec = stack.audit_record(r.json()["request_id"])
    assert rec["decision"] == "deny" and rec["reason"] == "no-rule"
    assert rec["path"] == "/modules/facilities/ckg-betlehem/modules"
    r = stack.request("POST", "/modules/facilities/ckg-betlehem/modules", who="mod-molenberg",
                      body=b"{}", headers={"Content-Type": "application/json"})
    assert r.status == 403, r


def test_role_on_organisation_holds_on_its_facilities(stack):
    # lb-a is "lb" on organisation 0412345614, not member: no access to modules...
    r = stack.request("GET", "/modules/facilities/ckg-betlehem/modules", who="lb-a")
    assert r.status == 403, r
    # ...while an ITP role holds on its region only.
    r = stack.request("GET", "/dossiers/regions/limburg/indication-reports", who="indicatiesteller-limburg")
    assert r.status == 200, r
    r = stack.request("GET", "/dossiers/regions/antwerpen/indication-reports", who="indicatiesteller-limburg")
    assert r.status == 403, r


def test_deny_overrides_allow(stack):
    r = stack.request("DELETE", "/dossiers/regions/limburg/a-documents", who="indicatiesteller-limburg")
    assert r.status == 403, r
    rec = stack.audit_record(r.json()["request_id"])
    assert rec["rule"] == "no-delete" and rec["reason"] == "denied"


def test_client_identity_headers_never_reach_a_backend(stack):
    forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIwMDAwMDAwMDAwMCJ9."
    r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="mod-molenberg",
                      headers={"X-Eidgate-Assertion": forged, "X-Eidgate-Nrn": "00000000000",
                               "X-Forwarded-For": "10.9.9.9", "Forwarded": "for=10.9.9.9",
                               "X-Request-Id": "forged-id", "X-Forwarded-Proto": "http"})
    assert r.status == 200, r
    token, received = assertion_of(r)
    assert token != forged
    harness.verify_jws(token, os.path.join(stack.pki, "keys", "assertion.pub.pem"))
    ids = received["identity_headers"]
    assert "x-eidgate-nrn" not in ids and "forwarded" not in ids
    assert ids["x-eidgate-assertion"] == token           # one value, ours
    assert received["forwarded_for"] == "127.0.0.1"
    assert received["request_id"] == r.headers["x-request-id"] != "forged-id"


def test_anonymous_request_cannot_smuggle_an_assertion(stack):
    r = stack.request("GET", "/modules/catalog/modules",
                      headers={"X-Eidgate-Assertion": "x.y.z"})
    assert r.status == 401, r


def test_audit_query_filters_and_table(stack):
    nrn = stack.person("mod-molenberg")["nrn"]
    stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="mod-molenberg")
    r = stack.request("GET", "/modules/facilities/ckg-betlehem/modules", who="mod-molenberg")
    stack.audit_record(r.json()["request_id"])
    recs = stack.audit("--nrn", nrn)
    assert recs and all(r["nrn"] == nrn for r in recs)
    denies = stack.audit("--nrn", nrn, "--decision", "deny")
    assert denies and all(r["decision"] == "deny" for r in denies)
    out = subprocess.run([os.path.join(stack.bin, "eidgate"), "audit", "query", "--db",
                          os.path.join(stack.root, "audit"), "--nrn", nrn], check=True,
                         capture_output=True, text=True).stdout
    assert "module-read" in out and "no-rule" in out


def test_underscore_headers_never_reach_a_backend(stack):
    # CGI-style backends read X-Eidgate_Nrn as HTTP_X_EIDGATE_NRN.
    r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="mod-molenberg",
                      headers={"X-Eidgate_Nrn": "00000000000", "X_Forwarded_For": "10.9.9.9",
                               "X-Other_Header": "x"})
    assert r.status == 200, r
    names = [k.lower() for k in r.json()["received"]["identity_headers"]]
    assert not any("_" in n for n in names), names
