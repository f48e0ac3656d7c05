"""Issue 11, finding 5: records and assertions name the resource's organisation.

A decision record's org and facility are those of the scope that made the rule hold (the
facility in the path, the chosen context, the region), with the roles held there; the
facility the user acts for is a field of its own (acting_org, acting_facility). The
assertion's org, facility and roles are the resource's, so each organisation's security
officers see every access to their facilities, and a backend is never told that A's
roles apply to B's data.
"""
import json
import os

import harness

WHO = "multi-org"       # member on ckg-molenberg (org A), moduleerder on ckg-de-schommel (org B)
ORG_A, ORG_B = "0412345614", "0423456765"


def claims_of(stack, r):
    _, claims = harness.verify_jws(r.json()["received"]["assertion"],
                                   os.path.join(stack.pki, "keys", "assertion.pub.pem"))
    return claims


def test_without_a_chosen_facility_the_record_names_the_facility_read(stack):
    r = stack.request("GET", "/modules/facilities/ckg-de-schommel/modules", who=WHO)
    assert r.status == 200, r
    rec = stack.audit_record(r.headers["x-request-id"])
    assert rec["org"] == ORG_B and rec["facility"] == "ckg-de-schommel", rec
    assert rec.get("acting_org") is None and rec.get("acting_facility") is None, rec
    claims = claims_of(stack, r)
    assert claims["org"] == ORG_B and claims["facility"] == "ckg-de-schommel", claims
    assert [g["role"] for g in claims["roles"]] == ["moduleerder"], claims


def test_acting_for_a_reading_b_is_recorded_and_asserted_as_b(stack):
    r = stack.request("GET", "/eidgate/whoami", who=WHO)
    cookie = r.headers["set-cookie"].split(";")[0]
    hdr = {"Cookie": cookie, "X-Eidgate-CSRF": r.json()["csrf"],
           "Content-Type": "application/json"}
    r = stack.request("POST", "/eidgate/context", who=WHO, headers=hdr,
                      body=json.dumps({"facility": "ckg-molenberg"}))
    assert r.status == 200, r
    hdr = {"Cookie": r.headers["set-cookie"].split(";")[0]}
    r = stack.request("GET", "/modules/facilities/ckg-de-schommel/modules", who=WHO, headers=hdr)
    assert r.status == 200, r
    rec = stack.audit_record(r.headers["x-request-id"])
    assert rec["org"] == ORG_B and rec["facility"] == "ckg-de-schommel", rec
    assert rec["acting_org"] == ORG_A and rec["acting_facility"] == "ckg-molenberg", rec
    claims = claims_of(stack, r)
    assert claims["org"] == ORG_B and claims["facility"] == "ckg-de-schommel", claims
    assert [g["role"] for g in claims["roles"]] == ["moduleerder"], claims
    # Reading A's own facility in the same session: A's scope, A's roles.
    r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who=WHO, headers=hdr)
    assert r.status == 200, r
    claims = claims_of(stack, r)
    assert claims["org"] == ORG_A and claims["facility"] == "ckg-molenberg", claims
    assert [g["role"] for g in claims["roles"]] == ["member"], claims
