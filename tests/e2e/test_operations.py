"""Issue 13 §2: what an operator's monitoring reads. /eidgate/metrics in the Prometheus text
format (checked by promtool from Debian's prometheus package) with the families an
operator graphs, and /eidgate/readyz, which says 503 and why when a request could not be
served now: the directory down, the access log not writable.
"""
import json
import os
import re
import resource
import shutil
import subprocess

import harness

WHO = "mod-molenberg"


def promtool():
    local = os.path.join(harness.REPO, "build", "tools", "promtool")
    found = local if os.access(local, os.X_OK) else shutil.which("promtool")
    assert found, "promtool missing: scripts/deps.sh takes it from Debian's prometheus package"
    return found


def metrics(stack, port=None):
    r = stack.request("GET", "/eidgate/metrics", port=port)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    return r.body.decode()


def sample(text, name, labels=None):
    """The value of one sample; labels is a dict the sample's labels must include."""
    for m in re.finditer(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M):
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(got.get(k) == v for k, v in (labels or {}).items()):
            return float(m.group(2))
    return None


def test_metrics_pass_promtool_and_carry_what_an_operator_graphs(stack):
    assert stack.request("GET", "/__echo", who=WHO).status == 200
    assert stack.request("GET", "/modules/catalog/modules").status == 401
    resp, _ = harness.signed_token_request(stack, WHO)
    assert resp.status == 200, resp
    text = metrics(stack)
    check = subprocess.run([promtool(), "check", "metrics"], input=text, text=True,
                           capture_output=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr + text
    assert sample(text, "eidgate_decisions_total",
                  {"kind": "request", "decision": "allow", "reason": "ok"}) >= 1, text
    assert sample(text, "eidgate_decisions_total",
                  {"kind": "request", "decision": "deny"}) >= 1, text
    assert sample(text, "eidgate_decisions_total",
                  {"kind": "outcome", "reason": "complete"}) >= 1, text
    assert sample(text, "eidgate_logins_total", {"result": "ok"}) >= 1, text
    assert sample(text, "eidgate_request_duration_seconds_count") >= 2, text
    assert sample(text, "eidgate_request_duration_seconds_bucket", {"le": "+Inf"}) == \
        sample(text, "eidgate_request_duration_seconds_count"), text
    assert sample(text, "eidgate_backend_duration_seconds_count") >= 1, text
    assert sample(text, "eidgate_directory_cache_hits_total") + \
        sample(text, "eidgate_directory_cache_misses_total") >= 1, text
    assert sample(text, "eidgate_directory_errors_total") is not None, text
    for name in ("eidgate_ocsp_cache_hits_total", "eidgate_ocsp_cache_misses_total",
                 "eidgate_ocsp_errors_total", "eidgate_crl_loaded_timestamp_seconds",
                 "eidgate_crl_next_update_timestamp_seconds", "eidgate_log_queue_records"):
        assert sample(text, name) is not None, (name, text)
    assert sample(text, "eidgate_log_commit_seconds_count") >= 1, text
    assert sample(text, "eidgate_log_writable") == 1, text
    assert sample(text, "eidgate_connections_open") >= 1, text


def test_metric_labels_never_carry_what_a_client_sent(stack):
    """A path or header of the client's never becomes a label (no cardinality attack,
    no text injected into the exposition)."""
    harness.raw_tls_request(stack, b'GET /evil/"}\tevil HTTP/1.1\r\nHost: x\r\n\r\n', "norole")
    harness.raw_tls_request(stack, b'GET /evil_"}_1 HTTP/1.1\r\nHost: x\r\n\r\n', WHO)
    stack.request("GET", "/__echo", who=WHO, headers={"X-Reason": '"} evil 2'})
    text = metrics(stack)
    assert "evil" not in text, text


def test_readyz_without_a_certificate(stack):
    r = stack.request("GET", "/eidgate/readyz")
    assert r.status == 200, r
    # "feed" is reported but never makes the instance unready (README, Monitoring)
    feed = r.json()["checks"].get("feed")
    assert feed in ("following", "ttl-only"), r.json()
    assert r.json() == {"status": "ready", "checks": {
        "serving": "ok", "directory": "ok", "feed": feed, "log": "ok", "policy": "ok",
        "keys": "ok"}}, r.json()


def ldap_uri_line(stack):
    with open(stack.config) as f:
        return re.search(r"^uri = ldap://\S+$", f.read(), re.M).group(0)


def test_readyz_says_the_directory_is_down(stack):
    dead = harness.free_port()
    port = harness.gateway_variant(stack, "ready-noldap", replace={
        ldap_uri_line(stack): "uri = ldap://127.0.0.1:%d" % dead})
    try:
        r = stack.request("GET", "/eidgate/readyz", port=port)
        assert r.status == 503, r
        assert r.json()["status"] == "not-ready", r.json()
        assert r.json()["checks"]["directory"] == "unreachable", r.json()
        assert r.json()["checks"]["log"] == "ok", r.json()
        assert "directory unreachable" in stack.log("ready-noldap")
        # Liveness is another question: the process is there and answers.
        assert stack.request("GET", "/eidgate/healthz", port=port).status == 200
    finally:
        stack.stop_process("ready-noldap")


def test_readyz_says_the_log_is_not_writable_and_recovers(stack):
    port = harness.gateway_variant(stack, "ready-nolog")
    pid = stack.procs["ready-nolog"].pid
    data = os.path.join(stack.root, "audit-ready-nolog", "data.mdb")
    try:
        assert stack.request("GET", "/eidgate/readyz", port=port).status == 200
        # A full disk, as test_write_ahead makes it: writes past the file's size fail.
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (os.path.getsize(data),
                                                      resource.RLIM_INFINITY))
        for i in range(400):
            r = stack.request("POST", "/__echo", who=WHO, body=b"x" * 4000, port=port)
            if r.status == 503:
                break
        assert r.status == 503, "the log never filled"
        r = stack.request("GET", "/eidgate/readyz", port=port)
        assert r.status == 503 and r.json()["checks"]["log"] == "not-writable", r
        assert sample(metrics(stack, port), "eidgate_log_writable") == 0
        resource.prlimit(pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        assert harness.wait_until(lambda: stack.request(
            "GET", "/eidgate/readyz", port=port).status == 200, timeout=10)
    finally:
        stack.stop_process("ready-nolog")


def all_nrns(stack):
    people = os.path.join(stack.pki, "people")
    return {k: stack.person(k)["nrn"] for k in os.listdir(people)}


def test_json_log_lines_without_a_national_number_in_full(stack):
    """[log] format = json: one JSON object per line (time, level, prog, msg) for a SIEM;
    level = debug says the most there is to say, and still no national number in full."""
    port = harness.gateway_variant(stack, "json-log", replace={
        "[metrics]": "[log]\nformat = json\nlevel = debug\n\n[metrics]"})
    try:
        for who in ("vte-a", "norole", "foreigner-molenberg"):
            stack.request("GET", "/modules/catalog/modules", who=who, port=port)
            resp, _ = harness.signed_token_request(stack, who, port=port)
        stack.request("GET", "/eidgate/readyz", port=port)
        # A card from an unknown root (logged, if at all, with the number masked).
        sp = os.path.join(stack.pki, "special")
        stack.request("GET", "/modules/catalog/modules", port=port,
                      cert=os.path.join(sp, "unknown-user-chain.pem"),
                      key=os.path.join(sp, "unknown-user.key"))
    finally:
        stack.stop_process("json-log")
    text = stack.log("json-log")
    lines = [x for x in text.splitlines() if x.strip()]
    assert len(lines) >= 3, text
    for line in lines:
        obj = json.loads(line)
        assert set(obj) == {"time", "level", "prog", "msg"}, obj
        assert obj["level"] in ("debug", "info", "warn", "error"), obj
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", obj["time"]), obj
    for who, n in all_nrns(stack).items():
        assert n not in text, (who, [x for x in lines if n in x])
    # And in the main gateway's text log, after everything the other tests did.
    main = stack.log("gateway")
    for who, n in all_nrns(stack).items():
        assert n not in main, (who, [x for x in main.splitlines() if n in x])
