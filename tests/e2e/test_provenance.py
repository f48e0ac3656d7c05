"""Issue 16, item 6: delegation provenance, against the real slapd and gateway.

Every grant made through the rights API or by the platform operator is dated in the
directory (an eidgateGrant entry below the person, directory/schema/eidgate.schema): who
granted it, in which capacity, when, and until when. A grant with an end stops holding at
that end without anyone acting (the resolver re-reads the person then, however long its
cache would keep them), and the assertion never outlives a role it states. Nobody
delegates for longer than they hold. `eidgate directory migrate` dates a directory made
before this, once.
"""
import datetime
import json
import os
import subprocess
import time

import harness
from test_admin_api import Admin, ORG_A, nrn_of, people, rights_record

OWN_STACK = True        # the migration changes every membership of the directory

WHO = "foreigner-molenberg"     # member on ckg-molenberg
WRITE = "/modules/facilities/ckg-molenberg/modules"
BODY = json.dumps({"name": "Opvoedingsondersteuning", "type": "tm-ambulant"})
HDR = {"Content-Type": "application/json"}


def utc(seconds_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def role_of(admin, scope, nrn, role):
    for p in people(admin, scope):
        if p["nrn"] == nrn:
            for r in p["roles"]:
                if r["role"] == role and r["scope"] == scope:
                    return r
    return None


def claims_of(stack, r):
    _, claims = harness.verify_jws(r.json()["received"]["assertion"],
                                   os.path.join(stack.pki, "keys", "assertion.pub.pem"))
    return claims


def directory_cli(stack, *args):
    return subprocess.run([os.path.join(stack.bin, "eidgate"), "directory"] + list(args)
                          + ["-c", stack.config], capture_output=True, text=True)


def test_a_before_migration_roles_have_no_provenance_then_migrate_dates_them(stack):
    vte = Admin(stack, "vte-a")
    before = role_of(vte, "organisation:" + ORG_A, nrn_of(stack, "lb-a"), "lb")
    assert before["granted_by_kind"] == "unknown" and before["granted_at"] is None, before
    assert before["until"] is None and before["expired"] is False, before
    dry = directory_cli(stack, "migrate", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and " 0 to date" not in dry.stdout, dry.stdout
    assert role_of(vte, "organisation:" + ORG_A, nrn_of(stack, "lb-a"),
                   "lb")["granted_by_kind"] == "unknown"
    run = directory_cli(stack, "migrate")
    assert run.returncode == 0 and "dated now" in run.stdout, (run.stdout, run.stderr)
    after = role_of(vte, "organisation:" + ORG_A, nrn_of(stack, "lb-a"), "lb")
    assert after["granted_by_kind"] == "migration" and after["granted_by"] is None, after
    assert abs(parse(after["granted_at"]) - time.time()) < 120, after
    again = directory_cli(stack, "migrate")
    assert again.returncode == 0 and ", 0 dated now" in again.stdout, again.stdout
    # the rights did not change: lb-a still administers the organisation
    assert Admin(stack, "lb-a").get("scope").json()["organisations"][0]["administer"]


def test_b_a_grant_with_an_end_stops_holding_at_its_end_without_anyone_acting(stack):
    lb = Admin(stack, "lb-molenberg")
    target = nrn_of(stack, WHO)
    r = stack.request("POST", WRITE, who=WHO, body=BODY, headers=HDR)
    assert r.status == 403, r                           # member: read only (now cached)
    end = utc(6)
    r = lb.grant(target, "moduleerder", "facility:ckg-molenberg", until=end)
    assert r.status == 201 and r.json()["until"] == end, r
    # the decision record says what the directory will: until when, and by which right
    rec = rights_record(stack, r.headers["x-request-id"])
    assert rec["reason"] == "permitted" and rec["target"] == target, rec
    assert rec["until"] == end and rec["authority"] == "lb@facility:ckg-molenberg", rec
    shown = role_of(lb, "facility:ckg-molenberg", target, "moduleerder")
    assert shown["granted_by_kind"] == "person" and shown["granted_by"] == "Bram Claes", shown
    assert shown["granted_as"] == "lb@facility:ckg-molenberg" and shown["until"] == end, shown
    assert shown["expired"] is False and abs(parse(shown["granted_at"]) - time.time()) < 60
    mine = stack.request("GET", "/eidgate/whoami", who=WHO).json()["roles"]
    assert [x["until"] for x in mine if x["role"] == "moduleerder"] == [end], mine
    assert [x.get("until") for x in mine if x["role"] == "member"] == [None], mine
    r = stack.request("POST", WRITE, who=WHO, body=BODY, headers=HDR)
    assert r.status == 201, r
    claims = claims_of(stack, r)
    mod = [g for g in claims["roles"] if g["role"] == "moduleerder"]
    assert mod and mod[0]["until"] == end and mod[0]["granted_by"] == "Bram Claes", claims
    assert mod[0]["granted_as"] == "lb@facility:ckg-molenberg", claims
    assert claims["exp"] <= parse(end), claims         # never outlives the role it states
    assert "80211502294" not in json.dumps(mod), mod   # no national number but the subject's
    # nobody acts: the next request after the end is refused (cache_ttl is 60 s)
    deadline = time.time() + 30
    while True:
        r = stack.request("POST", WRITE, who=WHO, body=BODY, headers=HDR)
        if r.status == 403 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert r.status == 403 and time.time() >= parse(end), r
    assert stack.audit_record(r.headers["x-request-id"])["decision"] == "deny"
    shown = role_of(lb, "facility:ckg-molenberg", target, "moduleerder")
    assert shown is not None and shown["expired"] is True, shown
    # granting it again renews it; revoking removes it with its grant entry
    r = lb.grant(target, "moduleerder", "facility:ckg-molenberg")
    assert r.status == 200 and r.json()["status"] == "renewed" and r.json()["until"] is None, r
    r = stack.request("POST", WRITE, who=WHO, body=BODY, headers=HDR)
    assert r.status == 201, r
    r = lb.grant(target, "moduleerder", "facility:ckg-molenberg")
    assert r.status == 200 and r.json()["status"] == "already-held", r
    assert lb.revoke(target, "moduleerder", "facility:ckg-molenberg").status == 204
    assert role_of(lb, "facility:ckg-molenberg", target, "moduleerder") is None
    assert not ldap_exists(stack, "cn=moduleerder@facility:ckg-molenberg,uid=%s,ou=people,"
                                  "dc=jeugdhulp,dc=example" % target)


def test_c_the_end_is_checked(stack):
    lb = Admin(stack, "lb-molenberg")
    target = nrn_of(stack, WHO)
    tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    for bad in ("2020-01-01", utc(-5), "2027-02-30", "2027-13-01", "31/12/2027", "2027-06-30T12:00:00",
                "2027-06-30 12:00:00Z", (datetime.date.today().replace(year=datetime.date.today().year + 11)).isoformat(),
                "", 20270630, ["2027-06-30"], tomorrow + "\u0000", tomorrow + " "):
        r = lb.grant(target, "moduleerder", "facility:ckg-molenberg", until=bad)
        # (jansson refuses a NUL in a string: the body as a whole is at fault then)
        assert r.status == 400 and r.json()["field"] in ("until", "body"), (bad, r)
        assert r.json()["message"], r
    assert role_of(lb, "facility:ckg-molenberg", target, "moduleerder") is None
    # a day means through that day in Belgium: until the next midnight there
    r = lb.grant(target, "moduleerder", "facility:ckg-molenberg", until=tomorrow)
    assert r.status == 201, r
    end = datetime.datetime.strptime(r.json()["until"], "%Y-%m-%dT%H:%M:%SZ")
    day = datetime.date.fromisoformat(tomorrow) + datetime.timedelta(days=1)
    assert end.date() == day - datetime.timedelta(days=1) and end.hour in (22, 23), r.json()
    assert end.minute == 0 and end.second == 0, r.json()
    assert lb.revoke(target, "moduleerder", "facility:ckg-molenberg").status == 204


def test_d_nobody_delegates_longer_than_they_hold(stack):
    vte = Admin(stack, "vte-a")
    deputy = nrn_of(stack, "norole")
    own_end = utc(3 * 86400)
    r = vte.grant(deputy, "lb", "organisation:" + ORG_A, until=own_end)
    assert r.status == 201, r
    lb = Admin(stack, "norole")
    target = nrn_of(stack, WHO)
    r = lb.grant(target, "moduleerder", "facility:ckg-molenberg", until=utc(5 * 86400))
    assert r.status == 400 and r.json()["field"] == "until", r
    assert r.json()["message"] != "", r
    assert rights_record(stack, r.headers["x-request-id"])["decision"] == "deny"
    # without an end, the grant ends with the granter's own role
    r = lb.grant(target, "moduleerder", "facility:ckg-molenberg")
    assert r.status == 201 and r.json()["until"] == own_end, r
    shown = role_of(vte, "facility:ckg-molenberg", target, "moduleerder")
    assert shown["granted_as"] == "lb@organisation:" + ORG_A, shown
    assert shown["granted_by"] == "Benedikte Vanden Bruel", shown
    assert lb.revoke(target, "moduleerder", "facility:ckg-molenberg").status == 204
    assert vte.revoke(deputy, "lb", "organisation:" + ORG_A).status == 204


def test_e_the_operator_is_named_for_a_vte_it_appoints(stack):
    second = nrn_of(stack, "covte-a")
    cli = directory_cli(stack, "add-vte", "--organisation", ORG_A, "--nrn", second,
                        "--name", "Pieter Janssens")
    assert cli.returncode == 0, cli.stderr
    shown = role_of(Admin(stack, "vte-a"), "organisation:" + ORG_A, second, "vte")
    assert shown["granted_by_kind"] == "operator" and shown["until"] is None, shown
    cli = directory_cli(stack, "remove-vte", "--organisation", ORG_A, "--nrn", second)
    assert cli.returncode == 0, cli.stderr
    assert role_of(Admin(stack, "vte-a"), "organisation:" + ORG_A, second, "vte") is None


def ldap_modify(stack, ldif):
    """As a directory tool would, with the rootdn: not through eidgate."""
    r = subprocess.run(["ldapmodify", "-x", "-H", "ldap://127.0.0.1:%d" % stack.ldap_port,
                        "-D", "cn=admin,dc=jeugdhulp,dc=example", "-y",
                        os.path.join(stack.ldap_dir(), "admin.secret")],
                       input=ldif, capture_output=True, text=True,
                       env=dict(os.environ, LDAPNOINIT="1"))
    assert r.returncode == 0, r.stderr


def test_f_an_end_changed_in_the_directory_holds_at_once(stack):
    """A grant entry changed by another tool (or another instance): the change feed drops
    the person's cached roles (cache_ttl is 60 s), so a shortened end holds within
    seconds; a grant entry with an end that cannot be read counts as ended (fail closed)."""
    lb = Admin(stack, "lb-molenberg")
    target = nrn_of(stack, WHO)
    r = lb.grant(target, "moduleerder", "facility:ckg-molenberg", until=utc(86400))
    assert r.status == 201, r
    r = stack.request("POST", WRITE, who=WHO, body=BODY, headers=HDR)
    assert r.status == 201, r
    dn = "cn=moduleerder@facility:ckg-molenberg,uid=%s,ou=people,dc=jeugdhulp,dc=example" % target
    for value in ("20200101000000Z", "20991231235959.5Z"):
        ldap_modify(stack, "dn: %s\nchangetype: modify\nreplace: eidgateValidUntil\n"
                           "eidgateValidUntil: %s\n" % (dn, value))
        start = time.time()
        while True:
            r = stack.request("POST", WRITE, who=WHO, body=BODY, headers=HDR)
            if r.status == 403 or time.time() - start > 20:
                break
            time.sleep(0.2)
        assert r.status == 403, (value, r)
        print("end %s in the directory held after %.2f s" % (value, time.time() - start))
        ldap_modify(stack, "dn: %s\nchangetype: modify\ndelete: eidgateValidUntil\n" % dn)
        deadline = time.time() + 20
        while stack.request("POST", WRITE, who=WHO, body=BODY, headers=HDR).status != 201:
            assert time.time() < deadline, "the end removed in the directory did not hold"
            time.sleep(0.2)
    assert lb.revoke(target, "moduleerder", "facility:ckg-molenberg").status == 204


def test_g_grant_entries_in_the_wrong_place_date_nothing(stack):
    """Hostile or hand-made entries: an eidgateGrant entry carrying someone's uid but
    below another person, or outside ou=people, neither ends their role nor passes for
    their person entry."""
    target = nrn_of(stack, WHO)                   # member on ckg-molenberg (no end)
    other = nrn_of(stack, "mod-molenberg")
    base = "dc=jeugdhulp,dc=example"
    ended = ("objectClass: eidgateGrant\nuid: %s\neidgateGrantedBy: 00000000000\n"
             "eidgateGrantedAt: 20200101000000Z\neidgateValidUntil: 20200101000000Z\n" % target)
    # ... and a copy of ou=people inside organisation A's subtree (what a writer confined
    # to A could make), with the right shape below it
    copy = "ou=people,o=0412345614,ou=organisations,%s" % base
    ldap_modify(stack, "dn: cn=member@facility:ckg-molenberg,uid=%s,ou=people,%s\n"
                       "changetype: add\ncn: member@facility:ckg-molenberg\n%s\n"
                       "dn: cn=Mallory,o=0412345614,ou=organisations,%s\nchangetype: add\n"
                       "cn: Mallory\n%s\n"
                       "dn: %s\nchangetype: add\nobjectClass: organizationalUnit\nou: people\n\n"
                       "dn: uid=%s,%s\nchangetype: add\nobjectClass: inetOrgPerson\nuid: %s\n"
                       "cn: Mallory\nsn: Mallory\n\n"
                       "dn: cn=member@facility:ckg-molenberg,uid=%s,%s\nchangetype: add\n"
                       "cn: member@facility:ckg-molenberg\n%s"
                       % (other, base, ended, base, ended, copy, target, copy, target,
                          target, copy, ended))
    try:
        r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who=WHO)
        assert r.status == 200, r                 # still a member
        me = stack.request("GET", "/eidgate/whoami", who=WHO).json()
        assert me["name"] != "Mallory" and "member" in [x["role"] for x in me["roles"]], me
        shown = role_of(Admin(stack, "lb-molenberg"), "facility:ckg-molenberg", target, "member")
        assert shown["expired"] is False, shown
    finally:
        ldap_modify(stack, "dn: cn=member@facility:ckg-molenberg,uid=%s,ou=people,%s\n"
                           "changetype: delete\n\ndn: cn=Mallory,o=0412345614,ou=organisations,%s\n"
                           "changetype: delete\n\ndn: cn=member@facility:ckg-molenberg,uid=%s,%s\n"
                           "changetype: delete\n\ndn: uid=%s,%s\nchangetype: delete\n\n"
                           "dn: %s\nchangetype: delete\n"
                           % (other, base, base, target, copy, target, copy, copy))


def ldap_exists(stack, dn):
    r = subprocess.run(["ldapsearch", "-LLL", "-x", "-H", "ldap://127.0.0.1:%d" % stack.ldap_port,
                        "-D", "cn=admin,dc=jeugdhulp,dc=example", "-y",
                        os.path.join(stack.ldap_dir(), "admin.secret"), "-b", dn, "-s", "base",
                        "1.1"], capture_output=True, text=True, env=dict(os.environ, LDAPNOINIT="1"))
    return r.returncode == 0


def test_h_a_revocation_leaves_the_entry_of_a_grant_in_flight(stack):
    """A grant writes its entry, then its membership; a revocation that finds no
    membership (404) must not delete that entry, or the membership added next would hold
    without its end. A revocation that removes a membership deletes the entry."""
    lb = Admin(stack, "lb-molenberg")
    target = nrn_of(stack, WHO)
    base = "dc=jeugdhulp,dc=example"
    dn = "cn=moduleerder@facility:ckg-molenberg,uid=%s,ou=people,%s" % (target, base)
    ldap_modify(stack, "dn: %s\nchangetype: add\nobjectClass: eidgateGrant\n"
                       "cn: moduleerder@facility:ckg-molenberg\nuid: %s\n"
                       "eidgateGrantedBy: 90010705778\neidgateGrantedAt: 20260101000000Z\n"
                       "eidgateValidUntil: 20200101000000Z\n" % (dn, target))
    r = lb.revoke(target, "moduleerder", "facility:ckg-molenberg")
    assert r.status == 404, r
    assert ldap_exists(stack, dn), "a revocation of a role not held deleted a grant's entry"
    # the membership lands: it holds only as its entry says (ended already)
    ldap_modify(stack, "dn: cn=moduleerder,ou=ckg-molenberg,o=0412345614,ou=organisations,%s\n"
                       "changetype: modify\nadd: member\nmember: uid=%s,ou=people,%s\n"
                       % (base, target, base))
    time.sleep(1)
    assert stack.request("POST", WRITE, who=WHO, body=BODY, headers=HDR).status == 403
    shown = role_of(lb, "facility:ckg-molenberg", target, "moduleerder")
    assert shown["expired"] is True, shown
    r = lb.revoke(target, "moduleerder", "facility:ckg-molenberg")
    assert r.status == 204, r
    assert not ldap_exists(stack, dn), "the revocation left the grant entry"


def test_i_a_person_with_more_entries_than_roles_can_be_is_refused(stack):
    """The one search per person must come back whole: entries carrying someone's uid
    beyond what any person holds (planted anywhere) make the answer incomplete, and an
    incomplete answer could keep a role and lose the entry that ends it: 503, not allow."""
    target = nrn_of(stack, WHO)
    base = "dc=jeugdhulp,dc=example"
    junk = "".join("dn: cn=junk%d,o=0412345614,ou=organisations,%s\nchangetype: add\n"
                   "objectClass: eidgateGrant\ncn: junk%d\nuid: %s\n"
                   "eidgateGrantedBy: x\neidgateGrantedAt: 20260101000000Z\n\n"
                   % (i, base, i, target) for i in range(530))
    ldap_modify(stack, junk)
    try:
        deadline = time.time() + 20
        while True:
            r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who=WHO)
            if r.status != 200 or time.time() > deadline:
                break
            time.sleep(0.3)
        assert r.status == 503, r
        assert "too many" in stack.log("gateway") or "Size limit" in stack.log("gateway")
    finally:
        ldap_modify(stack, "".join("dn: cn=junk%d,o=0412345614,ou=organisations,%s\n"
                                   "changetype: delete\n\n" % (i, base) for i in range(530)))
    deadline = time.time() + 20
    while stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who=WHO).status != 200:
        assert time.time() < deadline
        time.sleep(0.3)
