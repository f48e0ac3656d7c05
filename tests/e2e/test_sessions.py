"""Issue 3 §4 and §6: browser sessions (sealed cookie), CSRF, facility choice, timeouts,
other keys and other instances."""
import json
import os
import time

import harness


def cookie_of(resp):
    sc = resp.headers.get("set-cookie", "")
    assert sc.startswith("__Host-eidgate="), resp.headers
    for attr in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in sc, sc
    return sc.split(";")[0].split("=", 1)[1]


def login(stack, who):
    r = stack.request("GET", "/eidgate/whoami", who=who)
    assert r.status == 200, r
    return cookie_of(r), r.json()


def test_portal_page_and_whoami(stack):
    r = stack.request("GET", "/eidgate/", who="lb-a", headers={"Accept": "text/html"})
    assert r.status == 200 and b"portal.js" in r.body
    assert "script-src 'self'" in r.headers["content-security-policy"]
    _, me = login(stack, "lb-a")
    assert me["name"] == "Sofie Maes" and me["nrn_masked"] == "85*******60"
    ids = sorted(f["id"] for f in me["facilities"])
    assert ids == ["ckg-betlehem", "ckg-molenberg"], ids   # lb on the organisation
    assert me["csrf"]


def test_only_facility_is_chosen_automatically(stack):
    _, me = login(stack, "mod-molenberg")
    assert me["facility"] == "ckg-molenberg" and me["capacity"] == "gezinsondersteuning"


def test_choose_facility_needs_csrf_and_is_carried_in_the_assertion(stack):
    cookie, me = login(stack, "aanmelder-boomgaard")
    hdr = {"Cookie": "__Host-eidgate=" + cookie, "Content-Type": "application/json"}
    body = json.dumps({"facility": "ckg-den-boomgaard"})
    r = stack.request("POST", "/eidgate/context", who="aanmelder-boomgaard", headers=hdr, body=body)
    assert r.status == 403 and r.json()["reason"] == "csrf", r
    hdr["X-Eidgate-CSRF"] = me["csrf"]
    r = stack.request("POST", "/eidgate/context", who="aanmelder-boomgaard", headers=hdr,
                      body=json.dumps({"facility": "ckg-molenberg"}))
    assert r.status == 403, r                     # holds no role there
    r = stack.request("POST", "/eidgate/context", who="aanmelder-boomgaard", headers=hdr, body=body)
    assert r.status == 200, r
    cookie = cookie_of(r)
    r = stack.request("POST", "/dossiers/a-documents", who="aanmelder-boomgaard",
                      headers={"Cookie": "__Host-eidgate=" + cookie, "Content-Type": "application/json"},
                      body=json.dumps({"minor_pseudonym": "MIN-0042", "region": "oost-vlaanderen",
                                       "facility": "ckg-den-boomgaard"}))
    assert r.status == 201, r
    _, claims = harness.verify_jws(r.json()["received"]["assertion"],
                                   os.path.join(stack.pki, "keys", "assertion.pub.pem"))
    assert claims["facility"] == "ckg-den-boomgaard" and claims["org"] == "0423456765"
    assert r.json()["received"]["cookie"] is False


def test_cookie_on_another_certificate_is_refused(stack):
    cookie, _ = login(stack, "vte-a")
    r = stack.request("GET", "/eidgate/whoami", who="vte-b",
                      headers={"Cookie": "__Host-eidgate=" + cookie})
    assert r.status == 403 and r.json()["reason"] == "session-certificate-mismatch", r


def test_forged_and_tampered_cookies_are_refused(stack):
    cookie, _ = login(stack, "vte-a")
    for bad in ("v1.AAAA", "garbage", cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"),
                "v2." + cookie[3:]):
        r = stack.request("GET", "/eidgate/whoami", headers={"Cookie": "__Host-eidgate=" + bad})
        assert r.status == 401 and r.json()["reason"] == "bad-session", (bad, r)


def test_other_instance_with_same_key_accepts_and_other_key_refuses(stack):
    cookie, _ = login(stack, "vte-a")
    port = harness.gateway_variant(stack, "twin")
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", who="vte-a",
                           headers={"Cookie": "__Host-eidgate=" + cookie})
    assert r.status == 200 and r.json()["name"] == "Lotte Vermeulen", r
    other = os.path.join(stack.root, "other.key")
    with open(other, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(other, 0o600)
    port2 = harness.gateway_variant(stack, "otherkey", session_key=other)
    r = harness.request_on(stack, port2, "GET", "/eidgate/whoami", who="vte-a",
                           headers={"Cookie": "__Host-eidgate=" + cookie})
    assert r.status == 401 and r.json()["reason"] == "bad-session", r


def test_idle_and_absolute_timeouts(stack):
    port = harness.gateway_variant(stack, "short", replace={
        "idle_timeout = 15m": "idle_timeout = 2s", "absolute_timeout = 8h": "absolute_timeout = 4s"})
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", who="vte-a")
    cookie = cookie_of(r)
    time.sleep(3.3)
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami",
                           headers={"Cookie": "__Host-eidgate=" + cookie})
    assert r.status == 401 and r.json()["reason"] == "session-expired", r


def test_logout_clears_the_cookie(stack):
    cookie, me = login(stack, "vte-c")
    r = stack.request("POST", "/eidgate/logout", who="vte-c", body="{}",
                      headers={"Cookie": "__Host-eidgate=" + cookie, "X-Eidgate-CSRF": me["csrf"],
                               "Content-Type": "application/json"})
    assert r.status == 200, r
    assert "Max-Age=0" in r.headers["set-cookie"]
    assert stack.audit_record(r.headers["x-request-id"])["kind"] == "logout"


def test_certificate_login_is_recorded_and_its_cookie_needs_the_card(stack):
    r = stack.request("GET", "/eidgate/whoami", who="covte-a")
    cookie = cookie_of(r)
    stack.audit_record(r.headers["x-request-id"])         # landed
    rec = [x for x in stack.audit("--kind", "login") if x["request_id"] == r.headers["x-request-id"]]
    assert rec and rec[0]["nrn"] == stack.person("covte-a")["nrn"], rec
    # The cookie alone, on a connection without the certificate: refused.
    r = stack.request("GET", "/eidgate/whoami", headers={"Cookie": "__Host-eidgate=" + cookie})
    assert r.status == 403 and r.json()["reason"] == "session-certificate-mismatch", r
    # Cookie names are case-insensitive to the gateway: a case-changed copy is still
    # recognised, and never passed on to a backend.
    r = stack.request("GET", "/modules/catalog/modules", who="covte-a",
                      headers={"Cookie": "__host-eidgate=" + cookie + "; theme=dark"})
    assert r.status == 200, r
    assert "cookie" not in r.json()["received"]["identity_headers"]


def test_bearer_tokens_live_until_the_absolute_timeout(stack):
    port = harness.gateway_variant(stack, "bearer", replace={
        "idle_timeout = 15m": "idle_timeout = 2s", "absolute_timeout = 8h": "absolute_timeout = 30s"})
    ok, _ = harness.signed_token_request(stack, "vte-a", port=port)
    token = ok.json()["token"]
    time.sleep(3.2)
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami",
                           headers={"Authorization": "Bearer " + token})
    assert r.status == 200, r
