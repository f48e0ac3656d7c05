"""Issue 4 §2: the directory resolver fails closed and recovers; hostile values never
change an LDAP filter."""
import time

OWN_STACK = True


def test_directory_down_fails_closed_and_recovers(stack):
    # vte-a is looked up (and cached) while the directory is up.
    assert stack.request("GET", "/eidgate/whoami", who="vte-a").status == 200
    stack.stop_ldap()
    try:
        r = stack.request("GET", "/modules/catalog/modules", who="vte-a")
        assert r.status == 200, r                       # cached: still served
        r = stack.request("GET", "/modules/catalog/modules", who="covte-a")
        assert r.status == 503 and r.json()["reason"] == "directory-unavailable", r
        rec = stack.audit_record(r.json()["request_id"])
        assert rec["decision"] == "deny" and rec["reason"] == "directory-unavailable"
    finally:
        stack.restart_ldap()
    for _ in range(50):
        r = stack.request("GET", "/modules/catalog/modules", who="covte-a")
        if r.status == 200:
            break
        time.sleep(0.1)
    assert r.status == 200, r


def test_filter_metacharacters_in_facility_ids(stack):
    # lb-a holds "lb" on the organisation: deciding needs the facility's organisation,
    # looked up by the id taken from the path.
    for fid in ("*", "%2A", "ckg-*", "*)(ou=*", "x)(objectClass=*", "%5C2a", "(", ")"):
        r = stack.request("GET", "/modules/facilities/%s/modules" % fid, who="lb-a")
        assert r.status in (400, 403), (fid, r)
        assert b"directory" not in r.body, (fid, r)
    r = stack.request("GET", "/modules/facilities/ckg%00x/modules", who="lb-a")
    assert r.status == 400, r
