"""Issue 16 item 2, the officers' side: who-can, what-can and the periodic review under
/eidgate/audit/api/, against the real slapd and gateway. An officer sees the people and
rights of their own organisation only (another organisation's officer sees nothing of
it), a non-officer gets 403, national numbers go in bodies, and each verdict is a
kind=review record from which the overdue list is computed."""
import json
import threading
import time

import harness
from test_admin_api import Admin

API = "/eidgate/audit/api/"
ORG_A, ORG_B = "0412345614", "0423456765"
MOLENBERG = "/modules/facilities/ckg-molenberg/modules"
SCHOMMEL = "/modules/facilities/ckg-de-schommel/modules"


def post(officer, what, body):
    return officer.post(API + what, body)


def who_can(officer, path, method="GET"):
    r = post(officer, "who-can", {"method": method, "path": path})
    assert r.status == 200, r
    return r.json()


def review_list(officer):
    r = officer.stack.request("GET", API + "review", who=officer.who,
                              headers={"Cookie": officer.cookie})
    assert r.status == 200, r
    return r.json()


def test_who_can_lists_own_organisation_only(stack):
    officer = Admin(stack, "secoff-a")
    res = who_can(officer, MOLENBERG)
    assert res["kind"] == "people" and res["organisation"] == ORG_A, res
    by_name = {p["name"]: p for p in res["people"]}
    rudi = by_name["Rudi Gerrits"]
    assert rudi["nrn_masked"] == "72*******24" and "nrn" not in rudi
    assert (rudi["role"], rudi["scope"], rudi["rule"]) == \
        ("moduleerder", "facility:ckg-molenberg", "module-read")
    assert "Wout Peeters" in by_name and "Johan Feskens" in by_name, by_name.keys()
    assert res["count"] == len(res["people"])
    # A facility of organisation B: Tina Herbiest (B) is not shown, nor is Wout Peeters
    # by his moduleerder right in B.
    res = who_can(officer, SCHOMMEL)
    assert res["people"] == [], res
    body = json.dumps(res)
    assert "Herbiest" not in body and "ckg-de-schommel\"" not in body.replace(SCHOMMEL, "")


def test_who_can_refusals(stack):
    officer = Admin(stack, "secoff-a")
    for bad in ({"method": "GET"}, {"method": "BREW", "path": "/x"},
                {"method": "GET", "path": "no-slash"}):
        r = post(officer, "who-can", bad)
        assert r.status == 400, (bad, r)
    r = post(officer, "who-can", {"method": "GET", "path": MOLENBERG, "org": ORG_B})
    assert r.status == 403, r
    for who in ("vte-a", "mod-molenberg"):
        r = post(Admin(stack, who), "who-can", {"method": "GET", "path": MOLENBERG})
        assert r.status == 403, r
        assert stack.audit_record(r.json()["request_id"])["decision"] == "deny"
        r = post(Admin(stack, who), "what-can", {"nrn": stack.person("mod-molenberg")["nrn"]})
        assert r.status == 403, r
        r = stack.request("GET", API + "review", who=who)
        assert r.status == 403, r


def test_what_can_is_limited_to_own_facilities(stack):
    officer = Admin(stack, "secoff-a")
    r = post(officer, "what-can", {"nrn": stack.person("multi-org")["nrn"]})
    assert r.status == 200, r
    res = r.json()
    assert res["person"]["name"] == "Wout Peeters"
    assert res["person"]["nrn_masked"].startswith("86") and "nrn" not in res["person"]
    assert res["person"]["grants"] == [{"role": "member", "scope": "facility:ckg-molenberg"}]
    routes = {rt["rule"]: rt for be in res["backends"] for rt in be["routes"]}
    assert routes["module-read"]["values"] == ["ckg-molenberg"], routes["module-read"]
    assert "module-write" not in routes or routes["module-write"]["values"] == []
    assert "ckg-de-schommel" not in json.dumps(res)
    # Someone of organisation B only: nothing of them is shown.
    r = post(officer, "what-can", {"nrn": stack.person("member-schommel")["nrn"]})
    assert r.status == 404, r
    rec = stack.audit_record(r.json()["request_id"])      # the probe is recorded
    assert rec["decision"] == "deny" and rec["reason"] == "not-in-organisation", rec
    # The number goes in the body: a GET with it is no route of the API.
    r = stack.request("GET", API + "what-can?nrn=" + stack.person("multi-org")["nrn"],
                      who="secoff-a", headers={"Cookie": officer.cookie})
    assert r.status in (400, 404, 405), r
    r = post(officer, "what-can", {"nrn": "123"})
    assert r.status == 400, r


def test_review_is_recorded_and_the_overdue_list_follows(stack):
    officer = Admin(stack, "secoff-a")
    before = review_list(officer)
    assert before["organisation"] == ORG_A and before["period_days"] == 90
    rights = {(x["name"], x["role"], x["scope"]): x for x in before["rights"]}
    key = ("Rudi Gerrits", "moduleerder", "facility:ckg-molenberg")
    assert key in rights and rights[key]["overdue"] is True, rights.keys()
    assert all(not x["scope"].endswith("ckg-de-schommel") for x in before["rights"])
    assert ("Tina Herbiest", "member", "facility:ckg-de-schommel") not in rights
    rudi = stack.person("mod-molenberg")["nrn"]
    r = post(officer, "review", {"nrn": rudi, "role": "moduleerder",
                                 "scope": "facility:ckg-molenberg", "verdict": "confirmed"})
    assert r.status == 201, r
    rec = [x for x in stack.audit("--kind", "review") if x.get("target") == rudi]
    assert rec and rec[-1]["action"] == "confirmed" and rec[-1]["role"] == "moduleerder"
    assert rec[-1]["actor"] == stack.person("secoff-a")["nrn"]
    assert rec[-1]["scope"] == "facility:ckg-molenberg" and rec[-1]["org"] == ORG_A
    after = review_list(officer)
    now = {(x["name"], x["role"], x["scope"]): x for x in after["rights"]}
    assert now[key]["overdue"] is False and now[key]["last_verdict"] == "confirmed"
    assert now[key]["last_confirmed"], now[key]
    assert after["overdue"] == before["overdue"] - (1 if rights[key]["overdue"] else 0)
    # to-remove is a verdict, not a confirmation: the right stays overdue.
    bram = stack.person("lb-molenberg")["nrn"]
    r = post(officer, "review", {"nrn": bram, "role": "lb", "scope": "facility:ckg-molenberg",
                                 "verdict": "to-remove"})
    assert r.status == 201, r
    now = {(x["name"], x["role"], x["scope"]): x for x in review_list(officer)["rights"]}
    bk = ("Bram Claes", "lb", "facility:ckg-molenberg")
    assert now[bk]["last_verdict"] == "to-remove" and now[bk]["overdue"] is True
    # Only the overdue ones; another organisation's list is refused.
    r = stack.request("GET", API + "review?overdue=1", who="secoff-a",
                      headers={"Cookie": officer.cookie})
    assert r.status == 200, r
    late = r.json()["rights"]
    assert late and all(x["overdue"] for x in late) and len(late) == r.json()["overdue"]
    assert key not in {(x["name"], x["role"], x["scope"]) for x in late}
    r = stack.request("GET", API + "review?org=" + ORG_B, who="secoff-a",
                      headers={"Cookie": officer.cookie})
    assert r.status == 403, r
    # Refusals: a verdict that is none, a right not held, a right of organisation B.
    r = post(officer, "review", {"nrn": rudi, "role": "moduleerder",
                                 "scope": "facility:ckg-molenberg", "verdict": "maybe"})
    assert r.status == 400, r
    r = post(officer, "review", {"nrn": rudi, "role": "member",
                                 "scope": "facility:ckg-betlehem", "verdict": "confirmed"})
    assert r.status == 404, r
    r = post(officer, "review", {"nrn": stack.person("member-schommel")["nrn"], "role": "member",
                                 "scope": "facility:ckg-de-schommel", "verdict": "confirmed"})
    assert r.status == 403, r


def test_another_organisations_officer_sees_nothing_of_it(stack):
    vte_b = Admin(stack, "vte-b")
    nrn = stack.person("norole")["nrn"]
    r = vte_b.grant(nrn, "security-officer", "organisation:" + ORG_B)
    assert r.status in (200, 201), r
    try:
        officer_b = Admin(stack, "norole")
        res = who_can(officer_b, MOLENBERG)
        assert res["organisation"] == ORG_B and res["people"] == [], res
        res = who_can(officer_b, SCHOMMEL)
        names = [p["name"] for p in res["people"]]
        assert "Tina Herbiest" in names and "Rudi Gerrits" not in names, names
        r = post(officer_b, "what-can", {"nrn": stack.person("mod-molenberg")["nrn"]})
        assert r.status == 404, r
        lst = review_list(officer_b)
        assert lst["organisation"] == ORG_B
        assert all("molenberg" not in x["scope"] and "betlehem" not in x["scope"]
                   for x in lst["rights"]), lst["rights"]
        assert all(x["name"] != "Rudi Gerrits" for x in lst["rights"])
        r = post(officer_b, "review", {"nrn": stack.person("mod-molenberg")["nrn"],
                                       "role": "moduleerder", "scope": "facility:ckg-molenberg",
                                       "verdict": "confirmed"})
        assert r.status == 403, r
        r = post(officer_b, "who-can", {"method": "GET", "path": MOLENBERG, "org": ORG_A})
        assert r.status == 403, r
    finally:
        r = vte_b.revoke(nrn, "security-officer", "organisation:" + ORG_B)
        assert r.status in (200, 204), r


def test_a_confirmation_holds_for_the_review_period(stack):
    """[audit] review_period: a confirmed right is overdue again once the period is over
    (a gateway of its own with a 2 s period and its own log)."""
    port = harness.gateway_variant(stack, "review", {"sync = group": "sync = group\n"
                                                     "review_period = 2s"})
    try:
        me = harness.request_on(stack, port, "GET", "/eidgate/whoami", who="secoff-a")
        hdr = {"Cookie": me.headers["set-cookie"].split(";")[0]}

        def rudi():
            r = harness.request_on(stack, port, "GET", API + "review", who="secoff-a",
                                   headers=hdr)
            assert r.status == 200 and r.json()["period_seconds"] == 2, r
            return [x for x in r.json()["rights"] if x["name"] == "Rudi Gerrits"][0]

        assert rudi()["overdue"] is True and rudi()["last_confirmed"] is None
        r = harness.request_on(stack, port, "POST", API + "review", who="secoff-a",
                               headers=dict(hdr, **{"X-Eidgate-CSRF": me.json()["csrf"],
                                                    "Content-Type": "application/json"}),
                               body=json.dumps({"nrn": stack.person("mod-molenberg")["nrn"],
                                                "role": "moduleerder",
                                                "scope": "facility:ckg-molenberg",
                                                "verdict": "confirmed"}))
        assert r.status == 201, r
        assert rudi()["overdue"] is False
        time.sleep(2.5)
        again = rudi()
        assert again["overdue"] is True and again["last_verdict"] == "confirmed", again
    finally:
        stack.stop_process("review")


def test_concurrent_reviews_are_bounded_and_all_answered(stack):
    """At most EG_MAX_REVIEW_JOBS run at once; the others get 503 review-busy at once,
    and the count comes back down (a call afterwards is answered)."""
    officer = Admin(stack, "secoff-a")
    results = []

    def one():
        r = post(officer, "who-can", {"method": "GET", "path": MOLENBERG})
        results.append((r.status, r.json().get("reason")))

    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 12
    assert all(s == 200 or (s == 503 and reason == "review-busy") for s, reason in results), \
        results
    assert any(s == 200 for s, _ in results)
    for _ in range(3):
        assert who_can(officer, MOLENBERG)["count"] >= 3
