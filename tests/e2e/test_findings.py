"""Issue 11, the smaller findings (§9): refused paths recorded with who sent them,
metrics only for configured clients, the officers' verify status per organisation, and
national numbers never in URLs. (test_operator_records.py has the directory ones.)
"""
import json
import os

import harness

ORG_A = "0412345614"


def test_unsafe_path_is_recorded_with_the_identity_and_the_path(stack):
    r = stack.request("GET", "/modules/facilities/%2e%2e%2fadmin/x", who="vte-a")
    assert r.status == 400, r
    rec = stack.audit_record(r.headers["x-request-id"])
    assert rec["reason"] == "bad-path" and rec["nrn"] == stack.person("vte-a")["nrn"], rec
    assert rec["cert_sha256"] and rec["path"] != "?" and "admin" in rec["path"], rec


def test_metrics_only_for_configured_clients(stack):
    port = harness.gateway_variant(stack, "metrics-closed", replace={
        "allow_from = 127.0.0.1": "allow_from ="})
    r = harness.request_on(stack, port, "GET", "/eidgate/metrics", who="vte-a")
    assert r.status == 403, r
    fp = stack.audit_record(stack.request("GET", "/eidgate/whoami",
                                          who="secoff-a").headers["x-request-id"])["cert_sha256"]
    stack.stop_process("metrics-closed")
    port = harness.gateway_variant(stack, "metrics-cert", replace={
        "allow_from = 127.0.0.1": "allow_from =\ncertificates = " + fp})
    assert harness.request_on(stack, port, "GET", "/eidgate/metrics", who="secoff-a").status == 200
    assert harness.request_on(stack, port, "GET", "/eidgate/metrics", who="vte-a").status == 403
    assert harness.request_on(stack, port, "GET", "/eidgate/metrics").status == 403
    stack.stop_process("metrics-cert")
    r = stack.request("GET", "/eidgate/metrics")
    assert r.status == 200 and b"eidgate_decisions_total" in r.body, r


def test_verify_status_says_nothing_about_other_organisations(stack):
    r = stack.request("GET", "/eidgate/audit/api/verify?org=" + ORG_A, who="secoff-a")
    assert r.status == 200 and r.json()["ok"] is True, r
    body = r.json()
    assert "head" not in body and "checkpoint_seq" not in body, body
    mine = [x for x in stack.audit("--org", ORG_A)]
    assert body["organisation"] == ORG_A and 0 < body["records"] <= len(mine) + 50, body
    r = stack.request("GET", "/eidgate/audit/api/verify?org=0423456765", who="secoff-a")
    assert r.status == 403, r


def test_national_numbers_never_go_into_urls(stack):
    nrn = stack.person("mod-molenberg")["nrn"]
    r = stack.request("GET", "/eidgate/audit/api/records?org=%s&nrn=%s" % (ORG_A, nrn),
                      who="secoff-a")
    assert r.status == 400 and r.json()["reason"] == "nrn-in-url", r
    me = stack.request("GET", "/eidgate/whoami", who="secoff-a")
    hdr = {"Cookie": me.headers["set-cookie"].split(";")[0], "X-Eidgate-CSRF": me.json()["csrf"],
           "Content-Type": "application/json"}
    r = stack.request("POST", "/eidgate/audit/api/records", who="secoff-a", headers=hdr,
                      body=json.dumps({"org": ORG_A, "nrn": nrn}))
    assert r.status == 200, r
    assert all(x["nrn"] == nrn for x in r.json()["records"]), r
    r = stack.request("POST", "/eidgate/audit/api/records", who="secoff-a", headers=hdr,
                      body=json.dumps({"org": ORG_A, "nrn": nrn, "format": "csv"}))
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv"), r
    with open(os.path.join(stack.root, "..", "..", "web", "audit", "audit.js")) as f:
        js = f.read()
    assert "nrn=" not in js and "set(\"nrn\"" not in js, "the page still puts nrn in a URL"
