"""Issue 15, what the pages stand on: the officers' records a page at a time with the
total, found by person (name or national number, never in a URL), named from the
directory, the browser's own requests marked, counts per Brussels day that follow the
filters; logins made with eidgate-login placed in the person's organisations; the
administrators' people found by national number, a page at a time; whoami's menus and
applications; the gateway's own /favicon.ico unless a rule routes it; logout keeping the
card from logging in again until "Aanmelden"."""
import datetime
import os
import time

import harness
from test_admin_api import Admin, fresh_nrn

ORG_A, ORG_B = "0412345614", "0423456765"


def records(officer, **body):
    r = officer.post("/eidgate/audit/api/records", dict({"org": ORG_A}, **body))
    assert r.status == 200, r
    return r.json()


def test_records_come_a_page_at_a_time_with_the_total(stack):
    for _ in range(6):
        stack.request("GET", "/modules/catalog/modules", who="mod-molenberg")
    time.sleep(2)
    # up to a second ago: the officer's own reads (records too) stay out of the window
    until = (datetime.datetime.now(datetime.timezone.utc) -
             datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    officer = Admin(stack, "secoff-a")
    everything = records(officer, until=until, limit=500)
    total = everything["total"]
    assert total >= 12 and (total == len(everything["records"]) or total > 500), total
    page = records(officer, until=until, offset=3, limit=4)
    assert page["total"] == total and page["offset"] == 3 and page["limit"] == 4
    assert [x["seq"] for x in page["records"]] == [x["seq"] for x in everything["records"][3:7]]
    assert records(officer, until=until, offset=total + 10, limit=5)["records"] == []
    for bad in ({"limit": 0}, {"limit": 100000}, {"offset": -1}, {"limit": "x"}):
        r = officer.post("/eidgate/audit/api/records", dict({"org": ORG_A}, **bad))
        assert r.status == 400 and r.json()["reason"] == "filter", (bad, r)


def test_records_name_people_and_mask_their_numbers(stack):
    r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="mod-molenberg")
    stack.audit_record(r.headers["x-request-id"])
    rec = records(Admin(stack, "secoff-a"), kind="request", limit=20)["records"]
    rudi = [x for x in rec if x.get("nrn") == stack.person("mod-molenberg")["nrn"]]
    assert rudi, rec[:3]
    assert rudi[0]["person"] == {"name": "Rudi Gerrits", "nrn_masked": "72*******24"}
    assert rudi[0]["facility_name"] == "CKG Molenberg"


def test_a_person_is_found_by_name_or_number_never_in_a_url(stack):
    nrn = stack.person("mod-molenberg")["nrn"]
    r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="mod-molenberg")
    harness.audit_outcome(stack, r.headers["x-request-id"])
    officer = Admin(stack, "secoff-a")
    by_number = records(officer, person="72.09.30-069.24", limit=500)
    by_name = records(officer, person="gerrits", limit=500)
    assert by_number["total"] > 0
    assert [x["seq"] for x in by_number["records"]] == [x["seq"] for x in by_name["records"]]
    assert all(nrn in (x.get("nrn"), x.get("target")) for x in by_number["records"])
    assert records(officer, person="Nobody Of That Name")["total"] == 0
    for query in ("person=gerrits", "nrn=" + nrn):
        r = stack.request("GET", "/eidgate/audit/api/records?org=%s&%s" % (ORG_A, query),
                          who="secoff-a")
        assert r.status == 400 and r.json()["reason"] == "nrn-in-url", r


def test_rights_records_name_who_granted_what_to_whom_where(stack):
    vte = Admin(stack, "vte-a")
    target = stack.person("member-schommel")["nrn"]
    assert vte.grant(target, "member", "facility:ckg-betlehem").status in (200, 201)
    assert vte.revoke(target, "member", "facility:ckg-betlehem").status == 204
    recs = records(Admin(stack, "secoff-a"), kind="rights", limit=50)["records"]
    grant = [x for x in recs if x.get("action") == "grant" and x.get("target") == target][0]
    assert grant["actor_person"]["name"] == "Lotte Vermeulen"
    assert grant["target_person"] == {"name": "Tina Herbiest", "nrn_masked": "93*******48"}
    assert grant["role"] == "member" and grant["scope_name"] == "CKG Betlehem"


def test_the_browsers_own_requests_are_marked_as_noise(stack):
    for path in ("/apple-touch-icon.png", "/apple-touch-icon-precomposed.png", "/robots.txt"):
        r = stack.request("GET", path, who="mod-molenberg")
        assert r.status == 403, r
    stack.audit_record(r.headers["x-request-id"])
    officer = Admin(stack, "secoff-a")
    noise = records(officer, noise="only", limit=100)["records"]
    assert noise and all(x["noise"] for x in noise)
    assert {"/apple-touch-icon.png", "/robots.txt"} <= {x["path"] for x in noise}
    hidden = records(officer, noise="hide", limit=500)["records"]
    assert not any(x["noise"] for x in hidden)
    # a real refusal is no noise
    r = stack.request("GET", "/modules/facilities/ckg-betlehem/modules", who="mod-molenberg")
    stack.audit_record(r.headers["x-request-id"])
    rec = [x for x in records(officer, decision="deny", limit=20)["records"]
           if x["request_id"] == r.headers["x-request-id"]]
    assert rec and rec[0]["noise"] is False


def brussels_today():
    """Today in Brussels (the EU rule: UTC+2 from the last Sunday of March to the last
    Sunday of October, 01:00 UTC, else UTC+1)."""
    now = datetime.datetime.now(datetime.timezone.utc)

    def last_sunday(month):
        d = datetime.datetime(now.year, month, 31, 1, tzinfo=datetime.timezone.utc)
        return d - datetime.timedelta(days=(d.weekday() + 1) % 7)
    summer = last_sunday(3) <= now < last_sunday(10)
    return (now + datetime.timedelta(hours=2 if summer else 1)).date().isoformat()


def test_counts_per_brussels_day_follow_the_filters(stack):
    stack.request("GET", "/modules/facilities/ckg-betlehem/modules", who="mod-molenberg")
    r = stack.request("GET", "/modules/catalog/modules", who="mod-molenberg")
    harness.audit_outcome(stack, r.headers["x-request-id"])
    officer = Admin(stack, "secoff-a")
    r = officer.post("/eidgate/audit/api/stats", {"org": ORG_A})
    stats = r.json()
    assert stats["until"] == brussels_today(), stats
    today = stats["days"][-1]
    assert today["day"] == brussels_today() and today["allow"] > 0 and today["deny"] > 0, today
    denied = officer.post("/eidgate/audit/api/stats", {"org": ORG_A, "decision": "deny"}).json()
    assert denied["days"][-1]["allow"] == 0 and denied["days"][-1]["deny"] > 0
    rudi = officer.post("/eidgate/audit/api/stats", {"org": ORG_A, "person": "Gerrits"}).json()
    assert sum(d["allow"] + d["deny"] + d["noise"] for d in rudi["days"]) == \
        records(officer, person="Gerrits", since=stats["since"], limit=1)["total"]
    week = officer.post("/eidgate/audit/api/stats", {"org": ORG_A, "since": "2020-01-01",
                                                     "until": "2020-01-07"}).json()
    assert week["since"] == "2020-01-01" and week["until"] == "2020-01-07" and week["days"] == []


def test_a_pkcs11_login_belongs_to_the_persons_organisations(stack):
    r, _ = harness.signed_token_request(stack, "covte-a")
    assert r.status == 200, r
    rid = r.headers["x-request-id"]
    logins = harness.wait_until(lambda: [x for x in stack.audit("--kind", "login")
                                         if x["request_id"] == rid])
    assert [x["org"] for x in logins] == [ORG_A], logins
    seen = records(Admin(stack, "secoff-a"), kind="login", person="Pieter Janssens", limit=50)["records"]
    assert r.headers["x-request-id"] in [x["request_id"] for x in seen]
    # someone working for two organisations: one record for each, the same request
    r, _ = harness.signed_token_request(stack, "multi-org")
    assert r.status == 200, r
    rid = r.headers["x-request-id"]
    harness.wait_until(lambda: len([x for x in stack.audit("--kind", "login")
                                    if x["request_id"] == rid]) == 2)
    logins = [x for x in stack.audit("--kind", "login") if x["request_id"] == rid]
    assert sorted(x["org"] for x in logins) == sorted([ORG_A, ORG_B]), logins


def test_admin_people_by_national_number_and_by_page(stack):
    vte = Admin(stack, "vte-a")
    nrn = stack.person("foreigner-molenberg")["nrn"]
    written = "%s.%s.%s-%s.%s" % (nrn[:2], nrn[2:4], nrn[4:6], nrn[6:9], nrn[9:])
    r = vte.post("people", {"scope": "organisation:" + ORG_A, "q": written})
    assert r.status == 200, r
    assert [p["nrn"] for p in r.json()["people"]] == [nrn] and r.json()["total"] == 1
    listed = stack.audit_record(r.headers["x-request-id"])
    assert listed["action"] == "list" and listed["target"] == nrn
    r = vte.get("people?scope=organisation:%s&q=%s" % (ORG_A, nrn))
    assert r.status == 400 and r.json()["reason"] == "nrn-in-url" and r.json()["field"] == "q", r
    everyone = vte.post("people", {"scope": "organisation:" + ORG_A}).json()
    assert everyone["total"] == len(everyone["people"]) >= 9
    second = vte.post("people", {"scope": "organisation:" + ORG_A, "offset": 3, "limit": 3}).json()
    assert [p["nrn"] for p in second["people"]] == [p["nrn"] for p in everyone["people"][3:6]]
    assert second["total"] == everyone["total"]
    for bad in ({"limit": 0}, {"offset": -2}, {"limit": "many"}):
        r = vte.post("people", dict({"scope": "organisation:" + ORG_A}, **bad))
        assert r.status == 400 and r.json()["field"] in ("limit", "offset"), (bad, r)
    assert vte.post("people", {"scope": "organisation:" + ORG_A, "q": fresh_nrn(991)}).json()["people"] == []


def test_whoami_offers_only_the_menus_and_applications_that_work(stack):
    for who, menus in (("mod-molenberg", {"admin": False, "audit": False}),
                       ("vte-a", {"admin": True, "audit": False}),
                       ("lb-molenberg", {"admin": True, "audit": False}),
                       ("secoff-a", {"admin": False, "audit": True}),
                       ("aanmelder-boomgaard", {"admin": False, "audit": False}),
                       ("indicatiesteller-limburg", {"admin": False, "audit": False})):
        me = stack.request("GET", "/eidgate/whoami", who=who).json()
        assert me["menus"] == menus, (who, me["menus"])
        for app in me["apps"]:
            r = stack.request("GET", app["href"], who=who)
            assert r.status == 200, (who, app, r)
    apps = stack.request("GET", "/eidgate/whoami", who="aanmelder-boomgaard").json()["apps"]
    assert {a["id"] for a in apps} >= {"app.modules", "app.a-documents", "app.catalog"}, apps
    apps = stack.request("GET", "/eidgate/whoami", who="indicatiesteller-limburg").json()["apps"]
    assert [a["place"] for a in apps if a["id"].startswith("app.region")] == ["limburg", "limburg"]


def test_favicon_is_the_gateways_own_unless_a_rule_routes_it(stack):
    before = len(stack.audit())
    for who in (None, "mod-molenberg"):
        r = stack.request("GET", "/favicon.ico", who=who)
        assert r.status == 200 and r.headers["content-type"] == "image/x-icon", r
        assert r.body[:4] == b"\x00\x00\x01\x00"
        assert stack.request("HEAD", "/favicon.ico", who=who).status == 200
    assert stack.request("POST", "/favicon.ico", who="mod-molenberg").status == 403
    assert [x for x in stack.audit()[before:] if x.get("path") == "/favicon.ico" and
            x.get("method") != "POST"] == []
    # a policy that routes the path sends it to its backend
    policy = os.path.join(stack.root, "favicon.policy")
    with open(os.path.join(stack.root, "jeugdhulp.policy")) as f:
        text = f.read()
    with open(policy, "w") as f:
        f.write(text + "\nallow favicon GET,HEAD /favicon.ico -> modules when authenticated\n")
    port = harness.gateway_variant(stack, "favicon", replace={
        "file = %s/jeugdhulp.policy" % stack.root: "file = " + policy})
    r = harness.request_on(stack, port, "GET", "/favicon.ico", who="mod-molenberg")
    assert r.headers.get("content-type") != "image/x-icon", r
    rec = stack.audit_record(r.headers["x-request-id"], db=os.path.join(stack.root, "audit-favicon"))
    assert rec["rule"] == "favicon" and rec["decision"] == "allow", rec
    stack.stop_process("favicon")


def test_logout_keeps_the_card_from_logging_in_until_login(stack):
    s = Admin(stack, "covte-a")
    r = s.post("/eidgate/logout", {})
    assert r.status == 200, r
    marker = "__Host-eidgate-out=1"
    hdr = {"Cookie": marker, "Accept-Language": "en"}
    r = stack.request("GET", "/eidgate/whoami", who="covte-a", headers=hdr)
    assert r.status == 401 and r.json()["reason"] == "signed-out", r
    assert "set-cookie" not in r.headers, "no new session"
    r = stack.request("GET", "/modules/catalog/modules", who="covte-a", headers=hdr)
    assert r.status == 401, r
    # "Aanmelden" from another site is refused; from the portal it clears the marker
    r = stack.request("POST", "/eidgate/login", who="covte-a",
                      headers={"Cookie": marker, "Sec-Fetch-Site": "cross-site"})
    assert r.status == 403, r
    r = stack.request("POST", "/eidgate/login", who="covte-a",
                      headers={"Cookie": marker, "Sec-Fetch-Site": "same-origin",
                               "Accept": "text/html"})
    assert r.status == 303 and r.headers["location"] == "/eidgate/", r
    assert "__Host-eidgate-out=;" in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    assert stack.request("GET", "/eidgate/whoami", who="covte-a").status == 200
