"""Issue 11, finding 3: no cross-site writes in the card holder's name.

A browser sends the client certificate (and, when allowed, the cookie) with any site's
requests to the gateway. A request with an unsafe method that is authenticated by the
certificate or the cookie is refused with 403 and reason cross-site when Sec-Fetch-Site
says cross-site (or same-site, unless the backend allows it), or when Origin is present
and is neither the gateway's own origin nor one the backend lists (origins=...). Bearer
clients and clients that send neither header are unaffected. (tests/browser has the same
with a real chromium: a form and a fetch() from another origin.)
"""
import json
import re

import harness

WHO = "mod-molenberg"
PATH = "/modules/facilities/ckg-molenberg/modules"
BODY = json.dumps({"name": "Cross-site", "type": "tm-ambulant"})


def post(stack, headers, who=WHO):
    h = {"Content-Type": "text/plain"}
    h.update(headers)
    return stack.request("POST", PATH, who=who, headers=h, body=BODY)


def refused_cross_site(stack, r):
    assert r.status == 403 and r.json()["reason"] == "cross-site", r
    rec = stack.audit_record(r.headers["x-request-id"])
    assert rec["decision"] == "deny" and rec["reason"] == "cross-site", rec
    assert rec["nrn"] and rec["cert_sha256"], rec


def test_certificate_post_from_another_site_is_refused_and_recorded(stack):
    before = harness.backend_requests(stack)
    refused_cross_site(stack, post(stack, {"Origin": "https://evil.example",
                                           "Sec-Fetch-Site": "cross-site"}))
    refused_cross_site(stack, post(stack, {"Origin": "https://evil.example"}))
    refused_cross_site(stack, post(stack, {"Sec-Fetch-Site": "cross-site"}))
    refused_cross_site(stack, post(stack, {"Sec-Fetch-Site": "same-site"}))
    refused_cross_site(stack, post(stack, {"Origin": "null"}))
    assert harness.backend_requests(stack) == before + 1     # only its own /__stats


def test_own_origin_and_plain_clients_pass(stack):
    own = "https://127.0.0.1:%d" % stack.port
    r = post(stack, {"Origin": own, "Sec-Fetch-Site": "same-origin",
                     "Content-Type": "application/json"})
    assert r.status == 201, r
    r = post(stack, {"Content-Type": "application/json"})      # curl, scripts
    assert r.status == 201, r
    r = stack.request("GET", PATH, who=WHO, headers={"Origin": "https://evil.example",
                                                     "Sec-Fetch-Site": "cross-site"})
    assert r.status == 200, r                                   # reads are not changes


def test_bearer_clients_are_not_affected(stack):
    r, _ = harness.signed_token_request(stack, WHO)
    token = r.json()["token"]
    r = stack.request("POST", PATH, headers={"Authorization": "Bearer " + token,
                                            "Origin": "https://evil.example",
                                            "Sec-Fetch-Site": "cross-site",
                                            "Content-Type": "application/json"}, body=BODY)
    assert r.status == 201, r


def test_a_backend_may_list_origins_it_accepts(stack):
    with open(stack.config) as f:
        conf = f.read()
    policy = re.search(r"^file = (.*)$", conf, re.M).group(1)
    with open(policy) as f:
        text = f.read()
    assert "backend modules  http://" in text
    mod = text.split("backend modules  ")[1].split("\n")[0]
    variant_policy = policy + ".origins"
    with open(variant_policy, "w") as f:
        f.write(text.replace("backend modules  " + mod, "backend modules  " + mod +
                             " origins=https://partner.example"))
    port = harness.gateway_variant(stack, "origins", replace={policy: variant_policy})
    h = {"Origin": "https://partner.example", "Content-Type": "application/json"}
    r = harness.request_on(stack, port, "POST", PATH, who=WHO, headers=h, body=BODY)
    assert r.status == 201, r
    h["Origin"] = "https://evil.example"
    r = harness.request_on(stack, port, "POST", PATH, who=WHO, headers=h, body=BODY)
    assert r.status == 403 and r.json()["reason"] == "cross-site", r
    stack.stop_process("origins")
