"""Issue 14, the directory part: two gateway instances that share only the directory (two
slapd providers in mirror mode, scripts/slapd.sh start-pair) and the keys, no HAProxy.

- A role revoked through instance A's admin API is refused by instance B within one
  second (the change feed, RFC 4533; cache_ttl is 60 s in the test configuration).
- A logout on A ends the session on B (Bearer token and cookie) within one second; so
  does "log out everywhere" for every session of the person.
- Scenario 4: with one provider stopped, logins and rights changes go on through the
  other; brought back, it catches up (the entry written meanwhile is on it).
- A broken feed is said in the log and in /eidgate/metrics, and the TTL still applies.

Latency: each wait polls every 20 ms and measures from the moment the change was
answered (HTTP 2xx from A) to the first refusal on B. The bound asserted is 1 s; a
request takes a few ms on loopback, so the slack within that second is the poll step
plus one request.
"""
import json
import os
import re
import subprocess
import time

import harness

OWN_STACK = True
STACK_ARGS = {"ldap_pair": True}

API = "/eidgate/admin/api/"
WHO = "foreigner-molenberg"          # member on ckg-molenberg
PATH = "/modules/facilities/ckg-molenberg/modules"
BODY = json.dumps({"name": "Opvoedingsondersteuning", "type": "tm-ambulant"})
JSON = {"Content-Type": "application/json"}
LIMIT = 1.0
LATENCIES = []


class Admin:
    """One person's browser-like session on one instance."""

    def __init__(self, stack, who, port):
        self.stack, self.who, self.port = stack, who, port
        r = stack.request("GET", "/eidgate/whoami", who=who, port=port)
        assert r.status == 200, r
        self.cookie = r.headers["set-cookie"].split(";")[0]
        self.csrf = r.json()["csrf"]

    def post(self, path, body):
        return self.stack.request("POST", API + path, who=self.who, port=self.port,
                                  body=json.dumps(body), headers={
                                      "Cookie": self.cookie, "X-Eidgate-CSRF": self.csrf,
                                      "Content-Type": "application/json"})


def nrn(stack, who):
    return stack.person(who)["nrn"]


def metric(stack, port, name):
    r = stack.request("GET", "/eidgate/metrics", port=port)
    assert r.status == 200, r
    m = re.search(r"^%s (\S+)$" % re.escape(name), r.body.decode(), re.M)
    return float(m.group(1)) if m else None


def wait_feed(stack, port, up=1.0, timeout=20):
    ok = harness.wait_until(lambda: metric(stack, port, "eidgate_directory_feed_up") == up,
                            timeout=timeout, step=0.1)
    assert ok, "feed_up never became %s on %d" % (up, port)


def until_refused(fn, since, limit=LIMIT, timeout=10.0):
    """Polls fn (a response) until it is 401/403; returns the delay from since."""
    end = time.time() + timeout
    while time.time() < end:
        r = fn()
        if r.status in (401, 403):
            delay = time.time() - since
            LATENCIES.append(delay)
            return delay
        time.sleep(0.02)
    raise AssertionError("still not refused after %.1f s: %r" % (timeout, r))


def instance_b(stack):
    if "b" not in stack.procs:
        stack.port_b = harness.gateway_variant(stack, "b")
    wait_feed(stack, stack.port)
    wait_feed(stack, stack.port_b)
    return stack.port_b


def token_on(stack, port, who):
    r, _ = harness.signed_token_request(stack, who, port=port)
    assert r.status == 200, r
    return r.json()["token"]


def test_revoked_role_refused_on_the_other_instance_within_a_second(stack):
    b = instance_b(stack)
    lb = Admin(stack, "lb-molenberg", stack.port)
    r = lb.post("grants", {"nrn": nrn(stack, WHO), "role": "moduleerder",
                           "scope": "facility:ckg-molenberg"})
    assert r.status == 201, r
    # B learns the grant too (its cache of WHO is dropped by the feed).
    ok = harness.wait_until(lambda: stack.request("POST", PATH, who=WHO, port=b, body=BODY,
                                                  headers=JSON).status == 201, timeout=2,
                            step=0.05)
    assert ok, "grant through A not honoured by B"
    # B has WHO's roles cached now (cache_ttl 60 s): only the feed can make it forget.
    r = stack.request("POST", PATH, who=WHO, port=b, body=BODY, headers=JSON)
    assert r.status == 201, r
    before = metric(stack, b, "eidgate_directory_invalidations_total")
    r = lb.post("revocations", {"nrn": nrn(stack, WHO), "role": "moduleerder",
                                "scope": "facility:ckg-molenberg"})
    assert r.status == 204, r
    changed = time.time()
    delay = until_refused(lambda: stack.request("POST", PATH, who=WHO, port=b, body=BODY,
                                                headers=JSON), changed)
    assert delay < LIMIT, "B refused after %.3f s" % delay
    assert metric(stack, b, "eidgate_directory_invalidations_total") > before
    print("revocation through A refused on B after %.3f s" % delay)


def test_logout_on_one_instance_ends_the_session_on_the_other(stack):
    b = instance_b(stack)
    token = token_on(stack, stack.port, "member-schommel")
    bearer = {"Authorization": "Bearer " + token}
    cookie = {"Cookie": "__Host-eidgate=" + token}
    assert stack.request("GET", "/eidgate/whoami", headers=bearer, port=b).status == 200
    assert stack.request("GET", "/eidgate/whoami", headers=cookie, port=b).status == 200
    r = stack.request("POST", "/eidgate/logout", headers=bearer)
    assert r.status == 200 and r.json()["all_instances"] is True, r
    done = time.time()
    delay = until_refused(lambda: stack.request("GET", "/eidgate/whoami", headers=bearer,
                                                port=b), done)
    assert delay < LIMIT, "B accepted the token %.3f s after the logout" % delay
    r = stack.request("GET", "/eidgate/whoami", headers=cookie, port=b)
    assert r.status in (401, 403), r
    print("logout on A refused on B after %.3f s" % delay)


def test_log_out_everywhere_ends_every_session_of_the_person(stack):
    b = instance_b(stack)
    t1 = token_on(stack, stack.port, "member-schommel")
    t2 = token_on(stack, b, "member-schommel")
    time.sleep(1.1)     # sessions are dated in seconds: "made at or before now"
    r = stack.request("POST", "/eidgate/logout", headers={"Authorization": "Bearer " + t1,
                                                          "Content-Type": "application/json"},
                      body=json.dumps({"everywhere": True}))
    assert r.status == 200 and r.json()["everywhere"] is True, r
    done = time.time()
    delay = until_refused(lambda: stack.request(
        "GET", "/eidgate/whoami", headers={"Authorization": "Bearer " + t2}, port=b), done)
    assert delay < LIMIT, delay
    r = stack.request("GET", "/eidgate/whoami", headers={"Authorization": "Bearer " + t2})
    assert r.status in (401, 403), r
    time.sleep(1.1)
    t3 = token_on(stack, b, "member-schommel")  # a later login is not affected
    assert stack.request("GET", "/eidgate/whoami", port=stack.port,
                         headers={"Authorization": "Bearer " + t3}).status == 200


def test_administrator_ends_someones_sessions_everywhere(stack):
    b = instance_b(stack)
    token = token_on(stack, b, WHO)
    bearer = {"Authorization": "Bearer " + token}
    assert stack.request("GET", "/eidgate/whoami", headers=bearer, port=b).status == 200
    time.sleep(1.1)     # sessions are dated in seconds
    lb = Admin(stack, "lb-molenberg", stack.port)
    r = lb.post("sessions/end", {"nrn": nrn(stack, WHO), "scope": "facility:ckg-betlehem"})
    assert r.status == 403 and r.json()["reason"] == "outside-rights", r
    r = lb.post("sessions/end", {"nrn": nrn(stack, "member-schommel"),
                                 "scope": "facility:ckg-molenberg"})
    assert r.status == 404 and r.json()["reason"] == "not-held", r
    r = lb.post("sessions/end", {"nrn": nrn(stack, WHO), "scope": "facility:ckg-molenberg"})
    assert r.status == 200 and r.json() == {"ended": True, "all_instances": True}, r
    done = time.time()
    delay = until_refused(lambda: stack.request("GET", "/eidgate/whoami", headers=bearer,
                                                port=b), done)
    assert delay < LIMIT, delay
    recs = [x for x in stack.audit() if x.get("action") == "end-sessions"]
    assert recs and recs[-1]["decision"] == "allow", recs
    print("administrator's end through A refused on B after %.3f s" % delay)


def ldap_has(stack, which, dn):
    port = stack.ldap_port if which == "a" else stack.ldap_port2
    r = subprocess.run(["ldapsearch", "-LLL", "-x", "-o", "ldif_wrap=no", "-H", "ldap://127.0.0.1:%d" % port,
                        "-D", "cn=admin,dc=jeugdhulp,dc=example", "-y",
                        os.path.join(stack.root, "ldap", which, "admin.secret"),
                        "-b", dn, "-s", "base", "1.1"], capture_output=True, text=True,
                       env=dict(os.environ, LDAPNOINIT="1"))
    return r.returncode == 0 and ("dn: " + dn) in r.stdout


def test_one_provider_down_then_back_catches_up(stack):
    """Scenario 4."""
    b = instance_b(stack)
    stack.provider_stop("a")
    try:
        # Both instances fail over to the second provider, for reads and writes.
        r, _ = harness.signed_token_request(stack, "member-schommel", port=b)
        assert r.status == 200, r
        lb = Admin(stack, "lb-molenberg", stack.port)
        target = nrn(stack, "foreigner-molenberg")
        r = lb.post("grants", {"nrn": target, "role": "insisto-raadpleger",
                               "scope": "facility:ckg-molenberg"})
        assert r.status == 201, r
        wait_feed(stack, b)             # B's feed follows provider b now
        dn = "cn=insisto-raadpleger,ou=ckg-molenberg,o=0412345614,ou=organisations," \
             "dc=jeugdhulp,dc=example"
        assert ldap_has(stack, "b", dn)
        r = Admin(stack, "lb-molenberg", b).post("revocations", {
            "nrn": target, "role": "insisto-raadpleger", "scope": "facility:ckg-molenberg"})
        assert r.status == 204, r
        r = lb.post("grants", {"nrn": target, "role": "insisto-aanmelder",
                               "scope": "facility:ckg-molenberg"})
        assert r.status == 201, r
    finally:
        stack.provider_start("a")
    added = "cn=insisto-aanmelder,ou=ckg-molenberg,o=0412345614,ou=organisations," \
            "dc=jeugdhulp,dc=example"
    assert harness.wait_until(lambda: ldap_has(stack, "a", added), timeout=10, step=0.2), \
        "provider a did not catch up"
    assert not ldap_has(stack, "a", dn)


def test_broken_feed_is_logged_and_counted_and_ttl_applies(stack):
    """Both providers gone: the feed is down (log, metric, readiness says ttl-only), the
    cached roles still answer until cache_ttl; back, the feed follows again."""
    b = instance_b(stack)
    breaks = metric(stack, b, "eidgate_directory_feed_breaks_total")
    stack.provider_stop("b")
    try:
        # The feed follows a now (it may have failed over, emptying the caches once);
        # B caches WHO's roles, then the last provider goes.
        wait_feed(stack, b)
        path = "/modules/facilities/ckg-molenberg/modules"
        assert stack.request("GET", path, who=WHO, port=b).status == 200
        token = token_on(stack, b, WHO)
        bearer = {"Authorization": "Bearer " + token}
        failures = metric(stack, b, "eidgate_session_end_write_failures_total")
        stack.provider_stop("a")
        wait_feed(stack, b, up=0.0, timeout=10)
        assert metric(stack, b, "eidgate_directory_feed_breaks_total") >= breaks + 1
        assert "directory change feed broken" in stack.log("b")
        r = stack.request("GET", "/eidgate/readyz", port=b)
        assert r.json()["checks"]["feed"] == "ttl-only", r
        # The TTL applies: what B had cached still answers; what it had not cannot.
        r = stack.request("GET", path, who=WHO, port=b)
        assert r.status == 200, r
        r = stack.request("GET", path, who="mod-betlehem", port=b)
        assert r.status == 503, r
        # A logout without the directory: ended here, and the answer says it is only here.
        r = stack.request("POST", "/eidgate/logout", headers=bearer, port=b)
        assert r.status == 200 and r.json()["all_instances"] is False, r
        assert metric(stack, b, "eidgate_session_end_write_failures_total") == failures + 1
        assert "ended here, but not in the directory" in stack.log("b")
        r = stack.request("GET", "/eidgate/whoami", headers=bearer, port=b)
        assert r.status in (401, 403), r
    finally:
        stack.provider_start("a")
        stack.provider_start("b")
    wait_feed(stack, b, timeout=40)
    assert "directory change feed: following" in stack.log("b")


def test_zz_latency_report(stack):
    if LATENCIES:
        print("change-to-refusal latencies (s): " + ", ".join("%.3f" % x for x in LATENCIES))
