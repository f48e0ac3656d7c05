"""Issue 6 §5: the security officers' API and pages: their own organisation's records
only (in the API as well), per-day counts, CSV export, verification status."""
import csv
import json
import io

ORG_A = "0412345614"
ORG_B = "0423456765"


def test_officer_sees_only_own_organisation(stack):
    # Traffic in both organisations first.
    stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="mod-molenberg")
    stack.request("GET", "/modules/facilities/ckg-de-schommel/modules", who="member-schommel")
    r = stack.request("GET", "/eidgate/audit/api/scope", who="secoff-a")
    assert r.status == 200, r
    assert [o["id"] for o in r.json()["organisations"]] == [ORG_A]
    r = stack.request("GET", "/eidgate/audit/api/records?org=" + ORG_A, who="secoff-a")
    assert r.status == 200, r
    recs = r.json()["records"]
    assert recs and all(x.get("org") == ORG_A for x in recs), recs[:3]
    seqs = [x["seq"] for x in recs]
    assert seqs == sorted(seqs, reverse=True)
    r = stack.request("GET", "/eidgate/audit/api/records?org=" + ORG_B, who="secoff-a")
    assert r.status == 403, r
    r = stack.request("GET", "/eidgate/audit/api/records", who="secoff-a")
    assert r.status == 403, r


def test_non_officers_are_refused_and_logged(stack):
    for who in ("vte-a", "mod-molenberg"):
        r = stack.request("GET", "/eidgate/audit/api/records?org=" + ORG_A, who=who)
        assert r.status == 403, r
        rec = stack.audit_record(r.json()["request_id"])
        assert rec["decision"] == "deny"
    r = stack.request("GET", "/eidgate/audit/api/records?org=" + ORG_A)
    assert r.status == 401, r


def test_filters_csv_stats_and_verification(stack):
    nrn = stack.person("mod-molenberg")["nrn"]
    r = stack.request("GET", "/modules/facilities/ckg-betlehem/modules", who="mod-molenberg")
    stack.audit_record(r.json()["request_id"])     # committed (group commit takes a few ms)
    me = stack.request("GET", "/eidgate/whoami", who="secoff-a")
    hdr = {"Cookie": me.headers["set-cookie"].split(";")[0],
           "X-Eidgate-CSRF": me.json()["csrf"], "Content-Type": "application/json"}
    r = stack.request("POST", "/eidgate/audit/api/records", who="secoff-a", headers=hdr,
                      body=json.dumps({"org": ORG_A, "nrn": nrn, "decision": "deny"}))
    recs = r.json()["records"]
    assert recs and all(x["nrn"] == nrn and x["decision"] == "deny" for x in recs)
    r = stack.request("GET", "/eidgate/audit/api/records?org=%s&format=csv" % ORG_A, who="secoff-a")
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv"), r
    rows = list(csv.DictReader(io.StringIO(r.body.decode())))
    assert rows and all(row["org"] == ORG_A for row in rows)
    r = stack.request("GET", "/eidgate/audit/api/stats?org=" + ORG_A, who="secoff-a")
    days = r.json()["days"]
    assert days and days[-1]["allow"] + days[-1]["deny"] > 0, days
    r = stack.request("GET", "/eidgate/audit/api/verify?org=" + ORG_A, who="secoff-a")
    assert r.status == 200 and r.json()["ok"] is True, r
    assert r.json()["records"] > 0
    r = stack.request("GET", "/eidgate/audit/api/records?org=%s&since=yesterday" % ORG_A, who="secoff-a")
    assert r.status == 400, r


def test_audit_page_is_served(stack):
    r = stack.request("GET", "/eidgate/audit/", who="secoff-a", headers={"Accept": "text/html"})
    assert r.status == 200 and b"audit.js" in r.body


def test_reading_the_log_is_itself_recorded(stack):
    r = stack.request("GET", "/eidgate/audit/api/records?org=" + ORG_A, who="secoff-a")
    assert r.status == 200, r
    nrn = stack.person("secoff-a")["nrn"]
    reads = [x for x in stack.audit("--nrn", nrn) if x.get("reason") == "audit-read"]
    assert reads, "no record of the officer's read"
