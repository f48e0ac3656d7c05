"""Issue 11, findings 2 and 4: a revoked card and a logout end every session.

A Bearer token or cookie made with a card is re-checked against the card's revocation
status when the CRL it was checked against is replaced (and at least every [session]
recheck): within 30 s of a CRL revoking the card landing in the CRL directory, its
sessions are refused, with a session-revoked record. Logout ends the session at the
gateway: its id is refused until its absolute timeout, also after a restart. So are the
sessions an administrator ended for someone, even when the directory never got the end.
"""
import json
import os
import signal
import subprocess
import time

import harness

WHO = "member-schommel"         # an RSA citizen card of citizen-ca4


def token_for(stack, port, who=WHO):
    r, _ = harness.signed_token_request(stack, who, port=port)
    assert r.status == 200, r
    return r.json()["token"]


def bearer(token):
    return {"Authorization": "Bearer " + token}


def test_revoked_card_ends_its_bearer_and_cookie_sessions(stack):
    crl = harness.crl_dir_copy(stack, "crl-revoke")
    port = harness.gateway_variant(stack, "revoke", replace={
        "ocsp = off": "ocsp = off\ncrl = " + crl})
    token = token_for(stack, port)
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", headers=bearer(token))
    assert r.status == 200, r
    ca = harness.PrivateCA(stack, "citizen-ca4")
    ca.revoke(stack.person(WHO)["cert"])
    ca.publish_crl(crl)
    landed = time.time()

    def refused():
        r = harness.request_on(stack, port, "GET", "/eidgate/whoami", headers=bearer(token))
        return r if r.status in (401, 403) else None
    r = harness.wait_until(refused, timeout=40, step=0.5)
    assert r and r.json()["reason"] == "revoked", r
    assert time.time() - landed < 30 + 2
    # The admin API and forwarded requests are refused the same way.
    r = harness.request_on(stack, port, "GET", "/eidgate/admin/api/scope", headers=bearer(token))
    assert r.status in (401, 403), r
    r = harness.request_on(stack, port, "GET", "/modules/facilities/ckg-de-schommel/modules",
                           headers=bearer(token))
    assert r.status in (401, 403), r
    # The same token as a cookie (eidgate-login --cookie-jar) is no better.
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami",
                           headers={"Cookie": "__Host-eidgate=" + token})
    assert r.status in (401, 403), r
    recs = stack.audit(db=os.path.join(stack.root, "audit-revoke"))
    assert any(x["kind"] == "session-revoked" and x["reason"] == "revoked" for x in recs), \
        [x["kind"] for x in recs]
    stack.stop_process("revoke")


def test_logout_ends_the_bearer_token_and_the_cookie_also_after_a_restart(stack):
    port = harness.gateway_variant(stack, "logout")
    token = token_for(stack, port, who="vte-c")
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", headers=bearer(token))
    assert r.status == 200, r
    r = harness.request_on(stack, port, "POST", "/eidgate/logout", headers=bearer(token))
    assert r.status == 200, r
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", headers=bearer(token))
    assert r.status == 401 and r.json()["reason"] == "session-ended", r
    # A cookie session: logout with the CSRF token, then the cookie is refused even on
    # the card's own connection (the card then makes a new session, a new login).
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", who="vte-c")
    cookie = r.headers["set-cookie"].split(";")[0]
    csrf = r.json()["csrf"]
    r = harness.request_on(stack, port, "POST", "/eidgate/logout", who="vte-c",
                           headers={"Cookie": cookie, "X-Eidgate-CSRF": csrf})
    assert r.status == 200, r
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", who="vte-c",
                           headers={"Cookie": cookie})
    assert r.status == 401 and r.json()["reason"] == "session-ended", r
    # Kept across a restart.
    stack.stop_process("logout")
    port = harness.gateway_variant(stack, "logout", port=port)
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", headers=bearer(token))
    assert r.status == 401 and r.json()["reason"] == "session-ended", r
    stack.stop_process("logout")


SUFFIX = "dc=jeugdhulp,dc=example"
ENDED_OU = "ou=ended-sessions," + SUFFIX


def ldap_admin(stack, tool, args, stdin=None):
    """An OpenLDAP tool bound as the test directory's rootdn."""
    return subprocess.run([tool, "-x", "-H", "ldap://127.0.0.1:%d" % stack.ldap_port,
                           "-D", "cn=admin," + SUFFIX, "-y",
                           os.path.join(stack.ldap_dir(), "admin.secret")] + args,
                          input=stdin, capture_output=True, text=True,
                          env=dict(os.environ, LDAPNOINIT="1"))


def test_sessions_an_administrator_ended_stay_ended_after_a_restart(stack):
    """The directory cannot take the end (its ou=ended-sessions is gone): the sessions
    end at this instance only ("all_instances": false), and a restart must not bring
    them back: the access log's decision record carries the end."""
    port = harness.gateway_variant(stack, "ends")
    target = "foreigner-molenberg"          # member on ckg-molenberg
    token = token_for(stack, port, who=target)
    assert harness.request_on(stack, port, "GET", "/eidgate/whoami",
                              headers=bearer(token)).status == 200
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", who="lb-molenberg")
    cookie, csrf = r.headers["set-cookie"].split(";")[0], r.json()["csrf"]
    gone = ldap_admin(stack, "ldapdelete", ["-r", ENDED_OU])
    assert gone.returncode == 0, gone.stderr
    try:
        r = harness.request_on(stack, port, "POST", "/eidgate/admin/api/sessions/end",
                               who="lb-molenberg", body=json.dumps({
                                   "nrn": stack.person(target)["nrn"],
                                   "scope": "facility:ckg-molenberg"}), headers={
                                   "Cookie": cookie, "X-Eidgate-CSRF": csrf,
                                   "Content-Type": "application/json"})
        assert r.status == 200 and r.json() == {"ended": True, "all_instances": False}, r
    finally:
        back = ldap_admin(stack, "ldapadd", [], stdin="dn: %s\nobjectClass: organizationalUnit\n"
                          "ou: ended-sessions\n" % ENDED_OU)
        assert back.returncode == 0, back.stderr
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", headers=bearer(token))
    assert r.status == 401 and r.json()["reason"] == "session-ended", r
    stack.stop_process("ends")
    port = harness.gateway_variant(stack, "ends", port=port)
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", headers=bearer(token))
    assert r.status == 401 and r.json()["reason"] == "session-ended", r
    # A session made after the end is not touched by it.
    time.sleep(1.1)     # sessions are dated in seconds
    fresh = token_for(stack, port, who=target)
    assert harness.request_on(stack, port, "GET", "/eidgate/whoami",
                              headers=bearer(fresh)).status == 200
    stack.stop_process("ends")


def test_log_out_everywhere_stays_so_after_a_restart(stack):
    """"Log out everywhere" while the directory cannot take it: the person's other
    sessions end at this instance, and a restart must not bring them back (the logout
    record says whose sessions it ended)."""
    port = harness.gateway_variant(stack, "everywhere")
    who = "mod-molenberg"
    other = token_for(stack, port, who=who)
    mine = token_for(stack, port, who=who)
    gone = ldap_admin(stack, "ldapdelete", ["-r", ENDED_OU])
    assert gone.returncode == 0, gone.stderr
    try:
        r = harness.request_on(stack, port, "POST", "/eidgate/logout",
                               body=json.dumps({"everywhere": True}),
                               headers=dict(bearer(mine), **{"Content-Type": "application/json"}))
        assert r.status == 200 and r.json()["everywhere"] is True, r
        assert r.json()["all_instances"] is False, r
    finally:
        back = ldap_admin(stack, "ldapadd", [], stdin="dn: %s\nobjectClass: organizationalUnit\n"
                                                       "ou: ended-sessions\n" % ENDED_OU)
        assert back.returncode == 0, back.stderr
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", headers=bearer(other))
    assert r.status == 401 and r.json()["reason"] == "session-ended", r
    stack.stop_process("everywhere")
    port = harness.gateway_variant(stack, "everywhere", port=port)
    r = harness.request_on(stack, port, "GET", "/eidgate/whoami", headers=bearer(other))
    assert r.status == 401 and r.json()["reason"] == "session-ended", r
    stack.stop_process("everywhere")
