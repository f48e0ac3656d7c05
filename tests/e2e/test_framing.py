"""Issue 11, findings 6, 7 and 8: strict client framing, no method or path overrides, and
TLS 1.2 with ECDHE and AEAD suites only.

Each ambiguous framing is refused with 400 before anything is forwarded, and recorded;
method and path override headers never reach a backend, and a _method parameter is
refused (a backend that honours it would turn a POST into the DELETE a rule denies).
"""
import json
import ssl
import subprocess

import harness

WHO = "mod-molenberg"


def raw(stack, request, who=WHO):
    return harness.raw_tls_request(stack, request, who)


def status_of(data):
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0


AMBIGUOUS = [
    ("two lengths", b"POST /__echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    b"Content-Length: 6\r\n\r\nhello!"),
    ("two transfer codings", b"POST /__echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ("space before the colon", b"POST /__echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n"
                               b"\r\n5\r\nhello\r\n0\r\n\r\n"),
    ("transfer coding on HTTP/1.0", b"POST /__echo HTTP/1.0\r\nHost: x\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ("length list", b"POST /__echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello"),
]


def test_ambiguous_framing_is_refused_before_forwarding(stack):
    before = harness.backend_requests(stack)
    for name, req in AMBIGUOUS:
        data = raw(stack, req)
        assert status_of(data) == 400, (name, data[:200])
    assert harness.backend_requests(stack) == before + 1, "something was forwarded"
    recs = [r for r in stack.audit() if r.get("path") == "/__echo" and
            r.get("reason") == "bad-framing"]
    assert len(recs) >= len(AMBIGUOUS) - 1, recs    # one may be refused by the parser


def test_override_headers_never_reach_a_backend(stack):
    headers = {"X-HTTP-Method-Override": "DELETE", "X-Method-Override": "DELETE",
               "X-HTTP-Method": "DELETE", "X-Original-URL": "/admin",
               "X-Rewrite-URL": "/admin", "Content-Type": "application/json"}
    r = stack.request("POST", "/__echo", who=WHO, headers=headers, body=b"{}")
    assert r.status == 200, r
    seen = {k.lower() for k in r.json()["header_names"]}
    for h in headers:
        if h != "Content-Type":
            assert h.lower() not in seen, (h, seen)


def test_method_parameter_is_refused(stack):
    r = stack.request("POST", "/modules/facilities/ckg-molenberg/modules?_method=DELETE",
                      who=WHO, headers={"Content-Type": "application/json"},
                      body=json.dumps({"name": "x", "type": "tm-ambulant"}))
    assert r.status == 400 and r.json()["reason"] == "method-override", r
    r = stack.request("POST", "/modules/facilities/ckg-molenberg/modules", who=WHO,
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      body=b"name=x&type=tm-ambulant&_method=DELETE")
    assert r.status == 400 and r.json()["reason"] == "method-override", r


def openssl_connects(stack, *args):
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % stack.port,
                        "-servername", "127.0.0.1"] + list(args),
                       input=b"", capture_output=True, timeout=20)
    return b"Cipher is (NONE)" not in r.stdout and r.returncode == 0, r.stdout + r.stderr


def test_tls12_offers_only_ecdhe_with_aead(stack):
    for cipher in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                   "AES128-GCM-SHA256", "AES128-SHA"):
        ok, out = openssl_connects(stack, "-tls1_2", "-cipher", cipher)
        assert not ok, (cipher, out[-400:])
    ok, out = openssl_connects(stack, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:"
                               "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305")
    assert ok, out[-400:]
    # An RSA card still logs in over TLS 1.2.
    p = stack.person("vte-a")
    ctx = stack.tls_context(p["chain"], p["key_file"])
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    import http.client
    c = http.client.HTTPSConnection("127.0.0.1", stack.port, timeout=10, context=ctx)
    c.request("GET", "/eidgate/whoami")
    assert c.getresponse().status == 200
    c.close()
