"""Issue 5: the policy on a running gateway.

- reload on SIGHUP: new rules apply to new requests, a request in flight finishes under
  the policy it started with, a bad policy file keeps the old one (and the log says why),
  and every access-log record names the policy version that decided it;
- the request target: tricks with dots, encodings, parameters, methods, absolute-form
  targets and Host headers are either refused (400/405) or normalised to exactly the
  path the backend receives, and the decision is taken on that path;
- `eidgate policy explain` against the live directory agrees with the gateway.

Reload scenarios run on a gateway variant with a policy file of its own, so the shared
stack's policy never changes under the other modules' tests.
"""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import harness

SLOW_RULE = "allow slow GET /__slow -> modules when authenticated\n"


# ---- helpers ---------------------------------------------------------------------------
def base_policy(stack):
    """The stack's policy without its test-only routes (these tests add their own)."""
    with open(os.path.join(stack.root, "jeugdhulp.policy")) as f:
        return f.read().split("\n# Test only")[0]


def version_of(text):
    """policy_version(): the first 16 hex digits of the SHA-256 of the file's bytes."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Variant:
    """A gateway of its own on the shared directory and backends, with its own policy
    file, configuration and access log."""

    def __init__(self, stack, name, policy_text):
        self.stack, self.name = stack, name
        self.policy = os.path.join(stack.root, name + ".policy")
        self.write(policy_text)
        self.reloads = 0
        self.port = harness.gateway_variant(stack, name, replace={
            "file = %s" % os.path.join(stack.root, "jeugdhulp.policy"):
                "file = %s" % self.policy})
        self.db = os.path.join(stack.root, "audit-" + name)

    def write(self, text):
        # Written to a new file and renamed, as an operator's deploy tool would: a
        # SIGHUP never sees half a file.
        tmp = self.policy + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.policy)
        self.text = text

    def log(self):
        return self.stack.log(self.name)

    def hup(self, expect="reloaded"):
        """Sends SIGHUP and waits for the gateway to report the outcome."""
        before = self.log().count(expect)
        self.stack.procs[self.name].send_signal(signal.SIGHUP)
        end = time.time() + 10
        while time.time() < end:
            if self.log().count(expect) > before:
                return
            time.sleep(0.05)
        raise AssertionError("no %r after SIGHUP:\n%s" % (expect, self.log()[-2000:]))

    def request(self, method, path, who="mod-molenberg"):
        return self.stack.request(method, path, who=who, port=self.port)

    def audit(self):
        return self.stack.audit(db=self.db)

    def record(self, request_id, timeout=5.0):
        return self.stack.audit_record(request_id, timeout, db=self.db)

    def stop(self):
        self.stack.stop_process(self.name)


def request_id(resp):
    rid = resp.headers.get("x-request-id")
    if rid is None:
        rid = resp.json()["request_id"]
    return rid


# ---- reload ----------------------------------------------------------------------------
def test_reload_applies_new_rules_and_names_the_version(stack):
    old = base_policy(stack) + SLOW_RULE
    v = Variant(stack, "policy-reload", old)
    try:
        r1 = v.request("GET", "/modules/catalog/modules")
        assert r1.status == 200, r1
        # The catalog now needs a role nobody in the test has there.
        new = re.sub(r"(allow catalog .*/modules/catalog/\*\* +-> modules +when) "
                     r"authenticated", r"\1 role vte", old)
        assert new != old
        v.write(new)
        v.hup()
        assert "reloaded" in v.log() and version_of(new) in v.log()
        r2 = v.request("GET", "/modules/catalog/modules")
        assert r2.status == 403, r2
        rec1, rec2 = v.record(request_id(r1)), v.record(request_id(r2))
        assert rec1["decision"] == "allow" and rec1["rule"] == "catalog"
        assert rec2["decision"] == "deny" and rec2["reason"] == "no-rule"
        assert rec1["policy_version"] == version_of(old)
        assert rec2["policy_version"] == version_of(new)
        # Every decision record of this gateway names one of the two versions.
        decided = [r for r in v.audit() if r.get("kind") == "request"]
        assert decided and all(r.get("policy_version") in (version_of(old), version_of(new))
                               for r in decided), decided
    finally:
        v.stop()


def test_request_in_flight_finishes_under_the_old_policy(stack):
    old = base_policy(stack) + SLOW_RULE
    v = Variant(stack, "policy-inflight", old)
    result = {}

    def slow():
        try:
            result["resp"] = v.request("GET", "/__slow?ms=2500")
        except Exception as e:  # reported by the main thread
            result["error"] = e

    try:
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.7)                     # the slow request has been decided by now
        new = old.replace(SLOW_RULE, "")
        v.write(new)
        v.hup()
        r_new = v.request("GET", "/__slow?ms=0")
        assert r_new.status == 403, r_new   # new requests: no rule for /__slow any more
        t.join(30)
        assert "error" not in result, result.get("error")
        r_old = result["resp"]
        assert r_old.status == 200, r_old
        assert r_old.json()["slept_ms"] == 2500
        assert r_old.json()["received"]["path"] == "/__slow?ms=2500"
        rec_old, rec_new = v.record(request_id(r_old)), v.record(request_id(r_new))
        assert rec_old["rule"] == "slow" and rec_old["decision"] == "allow"
        assert harness.audit_outcome(v.stack, request_id(r_old), db=v.db)["upstream_status"] == 200
        assert rec_old["policy_version"] == version_of(old)
        assert rec_new["policy_version"] == version_of(new)
    finally:
        v.stop()


def test_bad_policy_keeps_the_old_one_and_says_why(stack):
    old = base_policy(stack)
    v = Variant(stack, "policy-bad", old)
    try:
        broken = old + "allow oops GET /x -> nowhere when role boss\n"
        v.write(broken)
        v.hup(expect="failed")
        log = v.log()
        line = len(broken.splitlines())
        assert "%s:%d: error:" % (v.policy, line) in log, log[-2000:]
        assert "unknown role 'boss'" in log and "keeping the running configuration" in log
        r = v.request("GET", "/modules/catalog/modules")
        assert r.status == 200, r           # still the old policy
        assert v.record(request_id(r))["policy_version"] == version_of(old)
        # An unreadable file is refused the same way.
        os.remove(v.policy)
        v.hup(expect="failed")
        assert v.request("GET", "/modules/catalog/modules").status == 200
        # And a good file afterwards is taken.
        v.write(old + SLOW_RULE)
        v.hup()
        r = v.request("GET", "/__slow?ms=0")
        assert r.status == 200, r
        assert v.record(request_id(r))["policy_version"] == version_of(old + SLOW_RULE)
    finally:
        v.stop()


# ---- the request target ------------------------------------------------------------------
def raw_request(stack, lines, who="mod-molenberg", port=None):
    """Sends a request exactly as written (no client library tidies it) over TLS with
    the person's certificate; returns (status, headers, body) or (None, {}, b"") when
    the gateway closes the connection without an answer."""
    p = stack.person(who)
    ctx = stack.tls_context(p["chain"], p["key_file"])
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port or stack.port), timeout=15) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            t.sendall(data)
            buf = b""
            while True:
                try:
                    chunk = t.recv(65536)
                except (ConnectionError, OSError):
                    break
                if not chunk:
                    break
                buf += chunk
    return parse_response(buf)


def parse_response(buf):
    if not buf.startswith(b"HTTP/"):
        return None, {}, b""
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for ln in lines[1:]:
        k, _, val = ln.partition(":")
        headers[k.strip().lower()] = val.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        while body:
            size, _, rest = body.partition(b"\r\n")
            n = int(size.split(b";")[0], 16)
            if n == 0:
                break
            out += rest[:n]
            body = rest[n + 2:]
        body = out
    return status, headers, body


def get(stack, target, extra=(), method="GET", host=None, who="mod-molenberg"):
    host_lines = ["Host: %s" % (host or "127.0.0.1:%d" % stack.port)] if host != "" else []
    return raw_request(stack, ["%s %s HTTP/1.1" % (method, target)] + host_lines +
                       list(extra) + ["Connection: close"], who=who)


def received_path(body):
    try:
        return json.loads(body)["received"]["path"]
    except (ValueError, KeyError, TypeError):
        return None


def check_forwarded_path(stack, target, status, headers, body):
    """A request the backend answered was decided on exactly the path it received."""
    got = received_path(body)
    if got is None:
        return None
    rec = stack.audit_record(headers["x-request-id"])
    query = target.partition("?")[2]
    expect = rec["path"] + ("?" + query if "?" in target else "")
    assert got == expect, (target, got, expect, status)
    assert rec["decision"] == "allow", (target, rec)
    return got


# target -> the path the backend must receive, or None when it must not reach it
FORWARDED = {
    "/modules/catalog/modules": "/modules/catalog/modules",
    "/modules/catalog/./modules": "/modules/catalog/modules",
    "/modules//catalog///modules": "/modules/catalog/modules",
    "//modules/catalog/modules": "/modules/catalog/modules",
    "/modules/catalog/x/../modules": "/modules/catalog/modules",
    "/modules/x/y/../../catalog/modules": "/modules/catalog/modules",
    "/modules/catalog/%2e/modules": "/modules/catalog/modules",
    "/modules/catalog/x/%2E%2E/modules": "/modules/catalog/modules",
    "/modules/catalog/x/.%2e/modules": "/modules/catalog/modules",
    "/modules/%63atalog/modules": "/modules/catalog/modules",
    "/modules/catalog/%6D%6fdules": "/modules/catalog/modules",
    "/modules/catalog/modules?x=1&y=%2F": "/modules/catalog/modules?x=1&y=%2F",
    "/modules/catalog/modules?a=../../etc": "/modules/catalog/modules?a=../../etc",
    "/modules/catalog/caf%c3%a9": "/modules/catalog/caf%C3%A9",
    "/modules/catalog/a%20b": "/modules/catalog/a%20b",
    "/modules/catalog/a%7cb": "/modules/catalog/a%7Cb",
}

REFUSED_400 = [
    "/modules/catalog/..%2fmodules",
    "/modules/catalog%2fmodules",
    "/modules/catalog/%2F",
    "/modules/catalog/%5c..%5cmodules",
    "/modules/catalog/%252e%252e/modules",
    "/modules/catalog/%252fmodules",
    "/modules/catalog/%25%32%65",
    "/../modules/catalog/modules",
    "/%2e%2e/modules/catalog/modules",
    "/modules/../../modules/catalog/modules",
    "/modules;jsessionid=1/catalog/modules",
    "/modules/catalog/modules;x=y",
    "/modules/catalog/..;/modules",
    "/modules/catalog/%3b/modules",
    "/modules/catalog/%00",
    "/modules/catalog/modules%00.json",
    "/modules/catalog/%0d%0aX-Injected:%20yes",
    "/modules/catalog/%c0%ae%c0%ae/modules",
    "/modules/catalog/%c0%af",
    "/modules/catalog/%e0%80%ae",
    "/modules/catalog/%ed%a0%80",
    "/modules/catalog/%ff",
    "/modules/catalog/%zz",
    "/modules/catalog/%4",
    "http://127.0.0.1:%(port)d/modules/catalog/modules",
    "https://127.0.0.1:%(port)d/modules/catalog/modules",
    "http://evil.example/modules/catalog/modules",
    "modules/catalog/modules",
]

# Attempts to reach a facility mod-molenberg has no role on: never a 200.
BYPASS = [
    "/modules/facilities/ckg-molenberg/../ckg-betlehem/modules",
    "/modules/facilities/ckg-molenberg/%2e%2e/ckg-betlehem/modules",
    "/modules/facilities/ckg-molenberg/..%2fckg-betlehem/modules",
    "/modules/facilities/ckg-molenberg%2f..%2fckg-betlehem/modules",
    "/modules/facilities/ckg-molenberg;/../ckg-betlehem/modules",
    "/modules/facilities/ckg-molenberg/..;/ckg-betlehem/modules",
    "/modules/facilities/ckg-molenberg/%252e%252e/ckg-betlehem/modules",
    "/modules/facilities/ckg-molenberg\\..\\ckg-betlehem/modules",
    "/modules/facilities/ckg-%62etlehem/modules",
    "/modules/facilities/CKG-BETLEHEM/modules",
    "/modules/facilities//ckg-betlehem/modules",
    "/modules/catalog/../facilities/ckg-betlehem/modules",
]


def test_tricks_are_normalised_to_what_the_backend_receives(stack):
    for target, expect in FORWARDED.items():
        status, headers, body = get(stack, target)
        assert status in (200, 404), (target, status, body[:300])
        assert received_path(body) == expect, (target, received_path(body), expect)
        check_forwarded_path(stack, target, status, headers, body)


def test_tricks_that_cannot_be_normalised_are_400(stack):
    for target in REFUSED_400:
        target = target % {"port": stack.port} if "%(port)" in target else target
        status, headers, body = get(stack, target)
        assert status == 400, (target, status, body[:300])
        assert received_path(body) is None, target


def test_tricks_never_reach_another_facility(stack):
    for target in BYPASS:
        status, headers, body = get(stack, target)
        assert status in (400, 403), (target, status, body[:300])
        assert received_path(body) is None, target
        if status == 403:
            rec = stack.audit_record(json.loads(body)["request_id"])
            assert rec["decision"] == "deny"
            assert rec["path"].lower().startswith("/modules/facilities/ckg-betlehem/") or \
                rec["path"].startswith("/modules/facilities/CKG-BETLEHEM/"), rec["path"]


def test_methods_are_case_sensitive_and_known(stack):
    for method in ("get", "GeT", "gET", "TRACE", "PROPFIND", "FOO"):
        status, headers, body = get(stack, "/modules/catalog/modules", method=method)
        assert status == 405, (method, status, body[:200])
        assert received_path(body) is None
    status, _, body = get(stack, "/modules/catalog/modules", method="GET")
    assert status == 200 and received_path(body) == "/modules/catalog/modules"


def test_host_header_games_are_refused_or_harmless(stack):
    cases = [
        ("evil.example", []),
        ("127.0.0.1:%d" % stack.port, ["Host: evil.example"]),      # two Host headers
        ("", []),                                                    # none (HTTP/1.1)
        ("evil.example/../../x", []),
        ("127.0.0.1:%d" % stack.port, ["X-Forwarded-Host: evil.example",
                                       "X-Original-URL: /modules/facilities/ckg-betlehem/modules",
                                       "X-Rewrite-URL: /modules/facilities/ckg-betlehem/modules"]),
    ]
    for host, extra in cases:
        status, headers, body = get(stack, "/modules/catalog/modules", extra=extra, host=host)
        assert status in (200, 400), (host, extra, status, body[:200])
        if status == 200:
            assert received_path(body) == "/modules/catalog/modules", (host, extra)
            check_forwarded_path(stack, "/modules/catalog/modules", status, headers, body)
    # An absolute-form target naming another host than Host: refused whatever Host says.
    status, _, body = get(stack, "http://evil.example/modules/catalog/modules")
    assert status == 400 and received_path(body) is None


# ---- policy explain against the live directory ------------------------------------------
def explain(stack, *args):
    return subprocess.run([os.path.join(stack.bin, "eidgate"), "policy", "explain", "-c",
                           stack.config] + list(args), capture_output=True, text=True)


EXPLAIN_TABLE = [
    # who, facility, method, path
    ("mod-molenberg", None, "GET", "/modules/facilities/ckg-molenberg/modules"),
    ("mod-molenberg", None, "GET", "/modules/facilities/ckg-betlehem/modules"),
    ("mod-molenberg", None, "POST", "/modules/facilities/ckg-betlehem/modules"),
    ("mod-betlehem", None, "GET", "/modules/facilities/ckg-molenberg/modules"),
    ("lb-a", None, "GET", "/modules/facilities/ckg-betlehem/modules"),
    ("norole", None, "GET", "/modules/catalog/modules"),
    ("indicatiesteller-limburg", None, "GET", "/dossiers/regions/limburg/indication-reports"),
    ("indicatiesteller-limburg", None, "DELETE", "/dossiers/regions/limburg/a-documents"),
    ("indicatiesteller-limburg", None, "GET", "/dossiers/regions/antwerpen/indication-reports"),
]


def test_explain_agrees_with_the_gateway(stack):
    for who, fac, method, path in EXPLAIN_TABLE:
        nrn = stack.person(who)["nrn"]
        args = ["--nrn", nrn] + (["--facility", fac] if fac else []) + [method, path]
        out = explain(stack, *args)
        assert out.returncode == 0, (who, path, out.stdout, out.stderr)
        body = json.dumps({}) if method in ("POST",) else None
        r = stack.request(method, path, who=who, body=body,
                          headers={"Content-Type": "application/json"} if body else None)
        rec = stack.audit_record(request_id(r))
        if rec["decision"] == "allow":
            assert "decision: allow by rule %s " % rec["rule"] in out.stdout, (who, path,
                                                                              out.stdout)
        elif rec.get("rule"):
            assert "decision: deny by rule %s\n" % rec["rule"] in out.stdout, out.stdout
        else:
            assert "decision: deny (no allow rule holds" in out.stdout, (who, path, out.stdout)


def test_explain_says_why_each_term_held(stack):
    nrn = stack.person("mod-molenberg")["nrn"]
    out = explain(stack, "--nrn", nrn, "GET", "/modules/facilities/ckg-betlehem/modules")
    assert out.returncode == 0, out.stderr
    assert "person:  %s Rudi Gerrits" % nrn in out.stdout
    assert "or role moduleerder on facility ckg-betlehem ({f}): not held: no grant of " \
        "moduleerder on facility ckg-betlehem or its organisation 0412345614" in out.stdout
    out = explain(stack, "--nrn", nrn, "--facility", "ckg-molenberg", "GET",
                  "/modules/facilities/ckg-molenberg/./modules")
    assert out.returncode == 0, out.stderr
    assert "role moduleerder on facility ckg-molenberg ({f}): held (facility grant)" in out.stdout
    assert "(as sent: /modules/facilities/ckg-molenberg/./modules)" in out.stdout
    assert "<- decides" in out.stdout
    # an organisation role holds on its facilities; context comes from --facility
    lb = stack.person("aanmelder-boomgaard")["nrn"]
    out = explain(stack, "--nrn", lb, "-v", "POST", "/dossiers/a-documents")
    assert "role insisto-aanmelder on facility ckg-den-boomgaard (context): held" in out.stdout
    assert "path does not match:" in out.stdout
    out = explain(stack, "--nrn", lb, "--facility", "ckg-molenberg", "POST", "/dossiers/a-documents")
    assert "note: the person holds no role on this facility" in out.stdout
    assert "decision: deny" in out.stdout


def test_explain_refusals_and_exit_codes(stack):
    nrn = stack.person("mod-molenberg")["nrn"]
    out = explain(stack, "--nrn", nrn, "get", "/modules/catalog/modules")
    assert out.returncode == 0 and "refused with 405" in out.stdout
    out = explain(stack, "--nrn", nrn, "GET", "/modules/catalog/..%2fx")
    assert out.returncode == 0 and "refused with 400" in out.stdout
    out = explain(stack, "--nrn", nrn, "GET", "/eidgate/whoami")
    assert out.returncode == 0 and "built-in page" in out.stdout
    unknown = "00010100146"
    out = explain(stack, "--nrn", unknown, "GET", "/modules/catalog/modules")
    assert out.returncode == 1 and "not in the directory" in out.stdout
    assert unknown not in out.stderr and out.stderr.startswith("eidgate: ")
    out = explain(stack, "--nrn", nrn, "--facility", "no-such-facility", "GET", "/x")
    assert out.returncode == 1 and "no facility" in out.stderr
    out = explain(stack, "--nrn", "123", "GET", "/x")
    assert out.returncode == 2
    out = explain(stack, "GET", "/x")
    assert out.returncode == 2
    # directory unreachable: exit 1, and the national number is masked on stderr
    bad = os.path.join(stack.root, "explain-noldap.conf")
    with open(stack.config) as f:
        text = f.read().replace("ldap://127.0.0.1:%d" % stack.ldap_port, "ldap://127.0.0.1:1")
    with open(bad, "w") as f:
        f.write(text)
    out = subprocess.run([os.path.join(stack.bin, "eidgate"), "policy", "explain", "-c", bad,
                          "--nrn", nrn, "GET", "/modules/catalog/modules"],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "directory unreachable" in out.stderr, out.stderr
    assert nrn not in out.stderr
    out = subprocess.run([os.path.join(stack.bin, "eidgate"), "policy", "--help"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "explain" in out.stdout and "exit status" in out.stdout
