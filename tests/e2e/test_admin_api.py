"""PRODUCT §8 (rights management API) and §4 (who may change what), against the real
stack: scope listings, grants and revocations with every status, refusals logged as
kind=rights, names kept as text, filter metacharacters, and the cache dropped at once.

Callers authenticate with their card certificate and the session cookie from
GET /eidgate/whoami; POSTs carry X-Eidgate-CSRF.
"""
import json
import os
import subprocess

import harness

API = "/eidgate/admin/api/"
ORG_A = "0412345614"
XSS = "<img src=x onerror=alert(1)>"


class Admin:
    """One person's browser-like session: card certificate + cookie + CSRF token."""

    def __init__(self, stack, who):
        self.stack, self.who = stack, who
        r = stack.request("GET", "/eidgate/whoami", who=who)
        assert r.status == 200, r
        self.cookie = r.headers["set-cookie"].split(";")[0]
        self.csrf = r.json()["csrf"]

    def get(self, path):
        return self.stack.request("GET", API + path, who=self.who, headers={"Cookie": self.cookie})

    def post(self, path, body, raw=False):
        """path: below the rights API, or any path of the gateway when it starts with /."""
        data = body if raw else json.dumps(body)
        path = path if path.startswith("/") else API + path
        return self.stack.request("POST", path, who=self.who, body=data, headers={
            "Cookie": self.cookie, "X-Eidgate-CSRF": self.csrf,
            "Content-Type": "application/json"})

    def grant(self, nrn, role, scope, name=None, until=None):
        body = {"nrn": nrn, "role": role, "scope": scope}
        if name is not None:
            body["name"] = name
        if until is not None:
            body["until"] = until
        return self.post("grants", body)

    def revoke(self, nrn, role, scope):
        return self.post("revocations", {"nrn": nrn, "role": role, "scope": scope})


def nrn_of(stack, who):
    return stack.person(who)["nrn"]


def fresh_nrn(serial):
    """A valid national number nobody in the demo has (born 1984-05-06, 2000-rule off)."""
    body = "840506%03d" % serial
    return body + "%02d" % (97 - int(body) % 97)


def rights_record(stack, request_id):
    rec = stack.audit_record(request_id)
    assert rec["kind"] == "rights", rec
    return rec


def people(admin, scope, **params):
    q = "&".join("%s=%s" % kv for kv in [("scope", scope)] + sorted(params.items()))
    r = admin.get("people?" + q)
    assert r.status == 200, r
    return r.json()["people"]


def test_scope_listing_per_caller(stack):
    orgs = Admin(stack, "vte-a").get("scope").json()["organisations"]
    assert [o["id"] for o in orgs] == [ORG_A]
    assert orgs[0]["administer"] and orgs[0]["grantable"] == ["co-vte", "lb", "security-officer"]
    assert sorted(f["id"] for f in orgs[0]["facilities"]) == ["ckg-betlehem", "ckg-molenberg"]
    assert "lb" in orgs[0]["facilities"][0]["grantable"]

    orgs = Admin(stack, "lb-a").get("scope").json()["organisations"]
    assert orgs[0]["administer"] and orgs[0]["grantable"] == []
    assert sorted(f["id"] for f in orgs[0]["facilities"]) == ["ckg-betlehem", "ckg-molenberg"]
    assert orgs[0]["facilities"][0]["grantable"] == ["member", "moduleerder",
                                                     "insisto-aanmelder", "insisto-raadpleger"]

    orgs = Admin(stack, "lb-molenberg").get("scope").json()["organisations"]
    assert len(orgs) == 1 and not orgs[0]["administer"]
    assert [f["id"] for f in orgs[0]["facilities"]] == ["ckg-molenberg"]

    for who in ("norole", "mod-molenberg", "secoff-a"):
        assert Admin(stack, who).get("scope").json()["organisations"] == [], who


def test_grant_and_revoke_statuses_and_records(stack):
    vte = Admin(stack, "vte-a")
    target = nrn_of(stack, "norole")
    r = vte.grant(target, "lb", "facility:ckg-betlehem")
    assert r.status == 201 and r.json()["status"] == "granted", r
    rec = rights_record(stack, r.headers["x-request-id"])
    assert rec["decision"] == "allow" and rec["action"] == "grant"
    assert rec["actor"] == nrn_of(stack, "vte-a") and rec["target"] == target
    assert rec["role"] == "lb" and rec["scope"] == "facility:ckg-betlehem"
    r = vte.grant(target, "lb", "facility:ckg-betlehem")
    assert r.status == 200 and r.json()["status"] == "already-held", r
    listed = people(vte, "facility:ckg-betlehem", role="lb")
    assert [p["nrn"] for p in listed] == [target]
    r = vte.revoke(target, "lb", "facility:ckg-betlehem")
    assert r.status == 204 and r.body == b"", r
    rec = rights_record(stack, r.headers["x-request-id"])
    assert rec["decision"] == "allow" and rec["action"] == "revoke"
    r = vte.revoke(target, "lb", "facility:ckg-betlehem")
    assert r.status == 404 and r.json()["reason"] == "not-held", r
    assert rights_record(stack, r.headers["x-request-id"])["decision"] == "deny"
    # the group went with its last member: nobody is listed, and granting recreates it
    assert people(vte, "facility:ckg-betlehem", role="lb") == []


def test_new_person_with_markup_name_is_stored_as_text(stack):
    lb = Admin(stack, "lb-molenberg")
    nrn = fresh_nrn(1)
    r = lb.grant(nrn, "moduleerder", "facility:ckg-molenberg")
    assert r.status == 400 and r.json()["field"] == "name", r
    r = lb.grant(nrn, "moduleerder", "facility:ckg-molenberg", name=XSS)
    assert r.status == 201, r
    listed = [p for p in people(lb, "facility:ckg-molenberg") if p["nrn"] == nrn]
    assert listed and listed[0]["name"] == XSS
    assert [(x["role"], x["scope"]) for x in listed[0]["roles"]] == [
        ("moduleerder", "facility:ckg-molenberg")]
    assert listed[0]["roles"][0]["granted_by"] == "Bram Claes"     # the card's name
    assert r.headers["content-type"].startswith("application/json")
    r = lb.revoke(nrn, "moduleerder", "facility:ckg-molenberg")
    assert r.status == 204, r


def test_malformed_input_names_the_field(stack):
    vte = Admin(stack, "vte-a")
    ok = {"nrn": nrn_of(stack, "norole"), "role": "lb", "scope": "facility:ckg-molenberg"}
    cases = [
        ("not json", "body"), ("[1,2]", "body"), ('{"nrn": "1", "nrn": "2"}', "body"),
        (dict(ok, nrn="78031402155"), "nrn"),                 # check digits
        (dict(ok, nrn="7803140215*"), "nrn"), (dict(ok, nrn=78031402154), "nrn"),
        (dict(ok, role="*"), "role"), (dict(ok, role="lb)(cn=*"), "role"),
        (dict(ok, role="admin"), "role"),
        (dict(ok, scope="facility:*"), "scope"), (dict(ok, scope="facility:a)(ou=*"), "scope"),
        (dict(ok, scope="facility:a\\2a"), "scope"), (dict(ok, scope="ckg-molenberg"), "scope"),
        (dict(ok, scope="facility:ckg-molenberg,o=x"), "scope"),
        (dict(ok, name="Anne\nBerge"), "name"), (dict(ok, name="x" * 129), "name"),
        (dict(ok, name=""), "name"), (dict(ok, extra=1), "extra"),
        (dict(ok, role="moduleerder", scope="organisation:" + ORG_A), "role"),
    ]
    for body, field in cases:
        raw = isinstance(body, str)
        r = vte.post("grants", body, raw=raw)
        assert r.status == 400, (body, r)
        assert r.json()["field"] == field, (body, r)
        assert rights_record(stack, r.headers["x-request-id"])["decision"] == "deny"
    # a NUL inside a JSON string never reaches LDAP: the body is refused
    r = vte.post("grants", '{"nrn": "7803140215\\u0000", "role": "lb", "scope": "x"}', raw=True)
    assert r.status == 400 and r.json()["field"] == "body", r
    r = vte.post("revocations", dict(ok, name="Someone"))
    assert r.status == 400 and r.json()["field"] == "name", r
    r = vte.post("grants", dict(ok, scope="facility:no-such-facility"))
    assert r.status == 400 and r.json()["reason"] == "unknown-scope", r


def test_outside_rights_is_403_and_logged(stack):
    target = nrn_of(stack, "norole")
    lb = Admin(stack, "lb-molenberg")
    r = lb.grant(target, "moduleerder", "facility:ckg-betlehem")
    assert r.status == 403 and r.json()["reason"] == "outside-rights", r
    rec = rights_record(stack, r.headers["x-request-id"])
    assert rec["decision"] == "deny" and rec["reason"] == "outside-rights"
    assert rec["actor"] == nrn_of(stack, "lb-molenberg") and rec["target"] == target
    assert rec["scope"] == "facility:ckg-betlehem" and rec["role"] == "moduleerder"
    denied = [x for x in stack.audit("--kind", "rights", "--decision", "deny")
              if x.get("request_id") == r.headers["x-request-id"]]
    assert len(denied) == 1
    cases = [
        ("lb-molenberg", "lb", "facility:ckg-molenberg"),        # lb does not appoint lb
        ("lb-a", "co-vte", "organisation:" + ORG_A),
        ("covte-a", "security-officer", "organisation:" + ORG_A),
        ("covte-a", "co-vte", "organisation:" + ORG_A),
        ("vte-a", "vte", "organisation:" + ORG_A),                 # VTEs come from the operator
        ("vte-b", "lb", "organisation:" + ORG_A),                  # another organisation
        ("vte-b", "member", "facility:ckg-molenberg"),
        ("secoff-a", "member", "facility:ckg-molenberg"),
        ("mod-molenberg", "moduleerder", "facility:ckg-molenberg"),
        ("norole", "member", "facility:ckg-molenberg"),
    ]
    for who, role, scope in cases:
        r = Admin(stack, who).grant(target, role, scope)
        assert r.status == 403, (who, role, scope, r)
    r = Admin(stack, "vte-a").grant(target, "indicatiesteller", "region:limburg")
    assert r.status == 403 and r.json()["reason"] == "region-scope", r
    r = lb.get("people?scope=facility:ckg-betlehem")
    assert r.status == 403, r
    assert rights_record(stack, r.headers["x-request-id"])["action"] == "list"
    r = lb.get("people?scope=organisation:" + ORG_A)
    assert r.status == 403, r


def test_self_change_is_refused(stack):
    lb = Admin(stack, "lb-molenberg")
    r = lb.grant(nrn_of(stack, "lb-molenberg"), "moduleerder", "facility:ckg-molenberg")
    assert r.status == 403 and r.json()["reason"] == "self-change", r
    assert rights_record(stack, r.headers["x-request-id"])["reason"] == "self-change"
    vte = Admin(stack, "vte-a")
    r = vte.grant(nrn_of(stack, "vte-a"), "lb", "organisation:" + ORG_A)
    assert r.status == 403 and r.json()["reason"] == "self-change", r


def directory_cli(stack, *args):
    return subprocess.run([os.path.join(stack.bin, "eidgate"), "directory"] + list(args)
                          + ["-c", stack.config], capture_output=True, text=True)


def test_last_vte_cannot_be_removed(stack):
    vte = Admin(stack, "vte-a")
    me = nrn_of(stack, "vte-a")
    r = vte.revoke(me, "vte", "organisation:" + ORG_A)
    assert r.status == 409 and r.json()["reason"] == "last-vte", r
    assert rights_record(stack, r.headers["x-request-id"])["reason"] == "last-vte"
    # with a second VTE (appointed by the operator) one VTE may remove the other
    second = nrn_of(stack, "covte-a")
    cli = directory_cli(stack, "add-vte", "--organisation", ORG_A, "--nrn", second,
                        "--name", "Pieter Janssens")
    assert cli.returncode == 0, cli.stderr
    r = vte.revoke(me, "vte", "organisation:" + ORG_A)
    assert r.status == 403 and r.json()["reason"] == "self-change", r
    r = vte.revoke(second, "vte", "organisation:" + ORG_A)
    assert r.status == 204, r
    r = vte.revoke(me, "vte", "organisation:" + ORG_A)
    assert r.status == 409, r
    # someone outside the organisation learns nothing about its VTEs
    r = Admin(stack, "vte-b").revoke(me, "vte", "organisation:" + ORG_A)
    assert r.status == 403, r


def test_filter_metacharacters_never_reach_ldap_unescaped(stack):
    vte = Admin(stack, "vte-a")
    base = "people?scope=facility:ckg-molenberg"
    everyone = vte.get(base).json()["people"]
    assert len(everyone) >= 3
    for q in ("*", "%2A", "*)(uid=*", "%2A%29%28uid%3D%2A", "%5C", "%5C2a", "(", ")",
              "a*)(|(cn=*", "%28%7C%28cn%3D*"):
        r = vte.get(base + "&q=" + q)
        assert r.status == 200, (q, r)
        assert r.json()["people"] == [], (q, r)       # nobody's name contains these
    for bad in ("&q=%00", "&q=an%00", "&role=*", "&role=lb)(cn=*", "&role=%00", "&role=x"):
        r = vte.get(base + bad)
        assert r.status == 400, (bad, r)
    for scope in ("facility:*", "facility:%2A", "facility:ckg-molenberg%00", "facility:ckg*",
                  "facility:ckg-molenberg)(ou=*", "organisation:*", "%00", "region:*", ""):
        r = vte.get("people?scope=" + scope)
        assert r.status == 400 and r.json()["field"] == "scope", (scope, r)
    # q finds by name, case-insensitively; nothing else
    found = vte.get(base + "&q=RUDI").json()["people"]
    assert [p["name"] for p in found] == ["Rudi Gerrits"]
    assert vte.get(base + "&role=moduleerder").json()["people"][0]["roles"][0]["role"] == "moduleerder"
    assert "Bad search filter" not in stack.log("gateway")


def test_new_role_applies_at_once(stack):
    """After a grant the person's next request reflects it: the resolver's cache for
    them is dropped (cache_ttl is 60 s in the test configuration)."""
    who = "foreigner-molenberg"
    path = "/modules/facilities/ckg-molenberg/modules"
    body = json.dumps({"name": "Opvoedingsondersteuning", "type": "tm-ambulant"})
    hdr = {"Content-Type": "application/json"}
    r = stack.request("POST", path, who=who, body=body, headers=hdr)
    assert r.status == 403, r                                   # member: read only (cached now)
    lb = Admin(stack, "lb-molenberg")
    r = lb.grant(nrn_of(stack, who), "moduleerder", "facility:ckg-molenberg")
    assert r.status == 201, r
    r = stack.request("POST", path, who=who, body=body, headers=hdr)
    assert r.status == 201, r
    assert stack.audit_record(r.headers["x-request-id"])["rule"] == "module-write"
    r = stack.request("GET", "/modules/facilities/ckg-betlehem/modules", who=who)
    assert r.status == 403, r                                   # another facility: still no
    r = lb.revoke(nrn_of(stack, who), "moduleerder", "facility:ckg-molenberg")
    assert r.status == 204, r
    r = stack.request("POST", path, who=who, body=body, headers=hdr)
    assert r.status == 403, r


def test_post_without_csrf_is_refused(stack):
    vte = Admin(stack, "vte-a")
    r = stack.request("POST", API + "grants", who="vte-a", headers={"Cookie": vte.cookie},
                      body=json.dumps({"nrn": nrn_of(stack, "norole"), "role": "lb",
                                       "scope": "facility:ckg-molenberg"}))
    assert r.status == 403 and r.json()["reason"] == "csrf", r
    r = vte.get("grants")
    assert r.status == 405, r
    r = vte.get("nothing")
    assert r.status == 404, r
