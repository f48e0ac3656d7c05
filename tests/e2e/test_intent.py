"""Card-signed intent (policy `signed`): a request to such a route is forwarded only with
a fresh signature of the authenticated card over method, target, body, time and the
gateway's origin; the record keeps the evidence. Signatures are made with the people's
key files and openssl, and once through `eidgate-login sign` on a SoftHSM2 token."""
import hashlib
import json
import os
import subprocess
import tempfile
import time

import harness
import test_pkcs11_login

SIGNED_RULE = ("allow test-echo        *        /__echo               -> test-bulk    "
               "when authenticated")
SMALL_RULE = ("allow test-echo-small  *        /__echo/small/**      -> test-small   "
              "when authenticated")


def variant(stack):
    """A gateway whose /__echo route is `signed` (started once per stack)."""
    port = getattr(stack, "_intent_port", None)
    if port is None:
        with open(os.path.join(stack.root, "jeugdhulp.policy")) as f:
            text = f.read()
        assert SIGNED_RULE in text and SMALL_RULE in text
        text = text.replace(SIGNED_RULE, SIGNED_RULE.replace("-> test-bulk    when",
                                                             "-> test-bulk signed when"))
        text = text.replace(SMALL_RULE, SMALL_RULE.replace("-> test-small   when",
                                                           "-> test-small signed when"))
        path = os.path.join(stack.root, "intent.policy")
        with open(path, "w") as f:
            f.write(text)
        port = harness.gateway_variant(stack, "intent", replace={
            "file = %s" % os.path.join(stack.root, "jeugdhulp.policy"): "file = %s" % path})
        stack._intent_port = port
    return port


def canonical(port, method, target, body, t):
    return ("eidgate-intent-v1\nhttps://127.0.0.1:%d\n%s\n%s\n%d\n%s" % (
        port, method, target, t, hashlib.sha256(body).hexdigest())).encode()


def header(stack, who, port, method, target, body, t=None, cert=False):
    """The X-Eidgate-Intent value of who's authentication key (RSA, openssl)."""
    t = int(time.time()) if t is None else t
    p = stack.person(who)
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", p["key_file"]],
                         input=canonical(port, method, target, body, t), check=True,
                         capture_output=True).stdout
    v = "v1;t=%d;alg=RSA-SHA256;sig=%s" % (t, harness.b64u(sig))
    if cert:
        v += ";cert=" + harness.b64u(harness.der_of(p["cert"]))
    return v


def post(stack, port, who, body, intent=None, path="/__echo", headers=None):
    h = dict(headers or {})
    h["Content-Type"] = "application/octet-stream"
    if intent is not None:
        h["X-Eidgate-Intent"] = intent
    return stack.request("POST", path, who=who, body=body, headers=h, port=port)


def test_signed_post_is_forwarded_with_evidence(stack):
    port = variant(stack)
    body = b"transfer 100 to dossier 7"
    r = post(stack, port, "vte-a", body, header(stack, "vte-a", port, "POST", "/__echo", body))
    assert r.status == 200, r
    assert r.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
    rec = stack.audit_record(r.headers["x-request-id"], db=os.path.join(stack.root,
                                                                        "audit-intent"))
    assert rec["decision"] == "allow" and rec["rule"] == "test-echo"
    assert rec["intent"].startswith("v1;t=") and ";alg=RSA-SHA256;" in rec["intent"]
    assert ";body=%s;" % hashlib.sha256(body).hexdigest() in rec["intent"]
    assert rec["intent_cert"] == "sha256:" + rec["cert_sha256"]


def test_cert_in_header_is_kept(stack):
    port = variant(stack)
    body = b"{}"
    r = post(stack, port, "vte-a", body,
             header(stack, "vte-a", port, "POST", "/__echo", body, cert=True))
    assert r.status == 200, r
    rec = stack.audit_record(r.headers["x-request-id"], db=os.path.join(stack.root,
                                                                        "audit-intent"))
    assert rec["intent_cert"] == harness.b64u(harness.der_of(stack.person("vte-a")["cert"]))


def test_unsigned_gets_challenge(stack):
    port = variant(stack)
    r = post(stack, port, "vte-a", b"x", headers={"Accept-Language": "nl"})
    assert r.status == 401, r
    j = r.json()
    assert j["reason"] == "intent-required" and "eID" in j["message"]
    ch = j["intent"]
    assert ch["header"] == "X-Eidgate-Intent" and ch["origin"] == "https://127.0.0.1:%d" % port
    assert ch["method"] == "POST" and ch["target"] == "/__echo" and ch["window"] == 60
    assert abs(ch["time"] - time.time()) < 5 and "RSA-SHA256" in ch["alg"]
    rec = stack.audit_record(j["request_id"], db=os.path.join(stack.root, "audit-intent"))
    assert rec["decision"] == "deny" and rec["reason"] == "intent-required"
    # Unsigned routes are unchanged.
    assert post(stack, stack.port, "vte-a", b"x").status == 200


def refused(stack, port, who, body, intent):
    r = post(stack, port, who, body, intent)
    assert r.status == 401, r
    assert r.json()["reason"] == "intent-invalid", r
    return r


def test_refusals(stack):
    port = variant(stack)
    body = b"payload"
    # Another body than the one signed.
    refused(stack, port, "vte-a", b"payload!",
            header(stack, "vte-a", port, "POST", "/__echo", body))
    # Out of the window, either way.
    refused(stack, port, "vte-a", body, header(stack, "vte-a", port, "POST", "/__echo", body,
                                               t=int(time.time()) - 120))
    refused(stack, port, "vte-a", body, header(stack, "vte-a", port, "POST", "/__echo", body,
                                               t=int(time.time()) + 120))
    # Another person's card, with or without that card's certificate in the header.
    refused(stack, port, "vte-a", body, header(stack, "vte-b", port, "POST", "/__echo", body))
    r = refused(stack, port, "vte-a", body,
                header(stack, "vte-b", port, "POST", "/__echo", body, cert=True))
    rec = stack.audit_record(r.json()["request_id"], db=os.path.join(stack.root,
                                                                     "audit-intent"))
    assert rec["reason"] == "intent-invalid" and rec["intent"].startswith("v1;")
    # Another origin, another method.
    refused(stack, port, "vte-a", body, header(stack, "vte-a", stack.port, "POST", "/__echo",
                                               body))
    refused(stack, port, "vte-a", body, header(stack, "vte-a", port, "PUT", "/__echo", body))
    # Malformed headers.
    for bad in ("v2;t=1;alg=RSA-SHA256;sig=AA", "v1;t=1;alg=RSA-SHA256", "v1;alg=RSA-SHA256;sig=AA",
                "v1;t=01;alg=RSA-SHA256;sig=AA", "v1;t=1;alg=MD5;sig=AA",
                "v1;t=1;t=1;alg=RSA-SHA256;sig=AA", "v1;t=1;alg=RSA-SHA256;sig=AA;x=1"):
        refused(stack, port, "vte-a", body, bad)
    # Replay: the same signature twice.
    good = header(stack, "vte-a", port, "POST", "/__echo", body)
    assert post(stack, port, "vte-a", body, good).status == 200
    refused(stack, port, "vte-a", body, good)


# The order of P-384, the curve of the EC cards' authentication keys.
P384_N = int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
             "581a0db248b0a77aecec196accc52973", 16)


def ec_intent(stack, who, port, body, t, other_form=False):
    """The X-Eidgate-Intent value of an EC card's key (ECDSA-SHA384, DER); other_form
    replaces s by n - s: another valid signature of the same text."""
    p = stack.person(who)
    sig = subprocess.run(["openssl", "dgst", "-sha384", "-sign", p["key_file"]],
                         input=canonical(port, "POST", "/__echo", body, t), check=True,
                         capture_output=True).stdout
    if other_form:
        r, s = der_ints(sig)
        sig = der_seq(der_int(r) + der_int(P384_N - s))
    return "v1;t=%d;alg=ECDSA-SHA384;sig=%s" % (t, harness.b64u(sig))


def der_ints(sig):
    """(r, s) of a DER ECDSA-Sig-Value (short or one-byte long form lengths)."""
    i = 3 if sig[1] & 0x80 else 2
    out = []
    for _ in range(2):
        assert sig[i] == 0x02
        n = sig[i + 1]
        out.append(int.from_bytes(sig[i + 2:i + 2 + n], "big"))
        i += 2 + n
    return out


def der_int(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "big")
    return bytes([0x02, len(b)]) + b


def der_seq(content):
    n = len(content)
    return bytes([0x30]) + (bytes([n]) if n < 0x80 else bytes([0x81, n])) + content


def test_ec_signature_in_its_other_form_is_a_replay(stack):
    """An ECDSA signature (r, s) has a twin (r, n - s) that verifies as well: the intent,
    not the bytes of its signature, is good once."""
    port = variant(stack)
    body = b"close dossier 9"
    t = int(time.time())
    # The other form alone is a good signature...
    assert post(stack, port, "mod-betlehem", b"x",
                ec_intent(stack, "mod-betlehem", port, b"x", t, other_form=True)).status == 200
    # ...but after the first form it is the same intent again, and so is a new signature.
    assert post(stack, port, "mod-betlehem", body,
                ec_intent(stack, "mod-betlehem", port, body, t)).status == 200
    refused(stack, port, "mod-betlehem", body,
            ec_intent(stack, "mod-betlehem", port, body, t, other_form=True))
    refused(stack, port, "mod-betlehem", body, ec_intent(stack, "mod-betlehem", port, body, t))


def test_query_body_limit_and_form(stack):
    port = variant(stack)
    # The query is part of what is signed.
    body = b"q"
    h = header(stack, "vte-a", port, "POST", "/__echo/small/x?a=1", body)
    assert post(stack, port, "vte-a", body, h, path="/__echo/small/x?a=1").status == 200
    h = header(stack, "vte-a", port, "POST", "/__echo/small/x?a=1", body)
    r = post(stack, port, "vte-a", body, h, path="/__echo/small/x?a=2")
    assert r.status == 401 and r.json()["reason"] == "intent-invalid", r
    # The body is held up to the backend's max_body (1 MiB here), then 413.
    big = b"x" * (1024 * 1024 + 1)
    r = post(stack, port, "vte-a", big,
             header(stack, "vte-a", port, "POST", "/__echo/small/x", big), path="/__echo/small/x")
    assert r.status == 413, r
    # A signed form is still checked for a _method field.
    form = b"a=1&_method=DELETE"
    r = stack.request("POST", "/__echo", who="vte-a", body=form, port=port, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Eidgate-Intent": header(stack, "vte-a", port, "POST", "/__echo", form)})
    assert r.status == 400 and r.json()["reason"] == "method-override", r


def test_eidgate_login_sign_ec_card(stack):
    sign_with_token(stack, "mod-betlehem")


def test_eidgate_login_sign_with_softhsm(stack):
    sign_with_token(stack, "mod-molenberg")


def sign_with_token(stack, key):
    port = variant(stack)
    tokens = harness.shared_tokens(stack.pki)
    env = dict(os.environ, SOFTHSM2_CONF=os.path.join(tokens, key, "softhsm2.conf"))
    cacert = os.path.join(stack.pki, "server", "server-ca.pem")
    exe = os.path.join(stack.bin, "eidgate-login")
    url = "https://127.0.0.1:%d" % port
    login = subprocess.run([exe, "--url", url, "--module", test_pkcs11_login.SOFTHSM,
                            "--pin-stdin", "--cacert", cacert], input="1234\n",
                           capture_output=True, text=True, env=env, timeout=60)
    assert login.returncode == 0, login.stderr
    bearer = {"Authorization": "Bearer " + login.stdout.strip()}
    with tempfile.TemporaryDirectory() as d:
        bf = os.path.join(d, "body")
        body = json.dumps({"amount": 100}).encode()
        with open(bf, "wb") as f:
            f.write(body)
        sign = subprocess.run([exe, "sign", "--url", url, "--module",
                               test_pkcs11_login.SOFTHSM, "--pin-stdin", "--method", "POST",
                               "--path", "/__echo", "--body-file", bf], input="1234\n",
                              capture_output=True, text=True, env=env, timeout=60)
        assert sign.returncode == 0, sign.stderr
        name, value = sign.stdout.strip().split(": ", 1)
        assert name == "X-Eidgate-Intent" and value.startswith("v1;t=")
        assert (";alg=ECDSA-SHA384;" if key == "mod-betlehem" else ";alg=RSA-SHA256;") in value
        r = stack.request("POST", "/__echo", body=body, port=port,
                          headers=dict(bearer, **{name: value}))
        assert r.status == 200, r
        rec = stack.audit_record(r.headers["x-request-id"], db=os.path.join(stack.root,
                                                                            "audit-intent"))
        assert rec["nrn"] == stack.person(key)["nrn"] and rec["intent"].startswith("v1;")
        # Single use, and not good for another person's session.
        again = stack.request("POST", "/__echo", body=body, port=port,
                              headers=dict(bearer, **{name: value}))
        assert again.status == 401 and again.json()["reason"] == "intent-invalid", again
        usage = subprocess.run([exe, "sign", "--url", url, "--method", "POST", "--path",
                                "/a//b"], capture_output=True, text=True, env=env, timeout=60)
        assert usage.returncode == 2 and "normalised" in usage.stderr
