"""Issue 16, item 3: decision receipts, against the real gateway.

Every forwarded request carries X-Eidgate-Record: <instance>;<seq> of its decision
record. A backend at an address of [audit] receipt_from asks
/eidgate/audit/api/receipt?instance=I&seq=N[&hash=H] and gets the record's hash and the
signed checkpoint that covers it (it checks the signature with the audit public key);
a wrong hash, an unknown seq, another instance or a bad parameter is refused with a JSON
reason; anyone else gets 403. `eidgate audit receipt --db DIR SEQ HASH` says the same
offline.
"""
import base64
import json
import os
import struct
import subprocess
import tempfile
import time
import urllib.parse

import harness

INSTANCE = "rcpt-1"


def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def receipt(stack, port, **q):
    return harness.request_on(stack, port, "GET", "/eidgate/audit/api/receipt?" +
                              urllib.parse.urlencode(q))


def confirmed_receipt(stack, port, seq, timeout=5.0):
    """The gateway signs a checkpoint every second while records arrive: poll."""
    deadline = time.time() + timeout
    while True:
        r = receipt(stack, port, instance=INSTANCE, seq=seq)
        if r.status != 202 or time.time() > deadline:
            return r
        assert r.json()["reason"] == "not-yet-checkpointed", r.json()
        time.sleep(0.2)


def checkpoint_signature_holds(stack, ck):
    """What a backend does with a receipt: the signed message is
    "eidgate-audit-checkpoint-v1" || seq (8 BE) || hash || time_us (8 BE)."""
    msg = (b"eidgate-audit-checkpoint-v1" + struct.pack(">Q", ck["seq"]) +
           bytes.fromhex(ck["hash"]) + struct.pack(">q", ck["time_us"]))
    with tempfile.NamedTemporaryFile() as m, tempfile.NamedTemporaryFile() as s:
        m.write(msg)
        m.flush()
        s.write(b64u(ck["signature"]))
        s.flush()
        out = subprocess.run(["openssl", "dgst", "-sha256", "-verify",
                              os.path.join(stack.pki, "keys", "audit.pub.pem"),
                              "-signature", s.name, m.name], capture_output=True)
    return out.returncode == 0


def test_backend_gets_position_and_receipt(stack):
    port = harness.gateway_variant(stack, "receipts", replace={
        "[audit]\n": "[audit]\ninstance = %s\nreceipt_from = 127.0.0.1\n" % INSTANCE})
    r = harness.request_on(stack, port, "GET", "/modules/facilities/ckg-molenberg/modules",
                           who="mod-molenberg", headers={"X-Eidgate-Record": INSTANCE + ";1"})
    assert r.status == 200, r
    got = r.json()["received"]
    pos = got["identity_headers"]["x-eidgate-record"]     # one value: the gateway's
    assert isinstance(pos, str) and pos != INSTANCE + ";1", got
    instance, seq = pos.split(";")
    assert instance == INSTANCE and int(seq) > 0, pos
    # The decision record at that position is this request's.
    rec = stack.audit_record(got["request_id"], db=os.path.join(stack.root, "audit-receipts"))
    assert rec["seq"] == int(seq) and rec["decision"] == "allow", rec

    a = confirmed_receipt(stack, port, seq)
    assert a.status == 200, a
    body = a.json()
    assert body["confirmed"] is True and body["reason"] == "confirmed", body
    assert body["record"]["seq"] == int(seq) and body["record"]["hash"] == rec["hash"], body
    assert body["record"]["request_id"] == got["request_id"], body
    assert body["record"]["backend"] == "modules", body
    ck = body["checkpoint"]
    assert ck["seq"] >= int(seq) and checkpoint_signature_holds(stack, ck), ck
    # The national number is not in a receipt.
    assert stack.person("mod-molenberg")["nrn"] not in a.body.decode()

    # The same with the hash the backend kept.
    again = receipt(stack, port, instance=INSTANCE, seq=seq, hash=rec["hash"])
    assert again.status == 200 and again.json()["confirmed"] is True, again

    # Refusals, each with a reason.
    bad = ("0" if rec["hash"][0] != "0" else "1") + rec["hash"][1:]
    w = receipt(stack, port, instance=INSTANCE, seq=seq, hash=bad)
    assert w.status == 409 and w.json()["reason"] == "hash-mismatch", w
    assert w.json()["confirmed"] is False
    u = receipt(stack, port, instance=INSTANCE, seq=10 ** 12)
    assert u.status == 404 and u.json()["reason"] == "no-such-record", u
    o = receipt(stack, port, instance="elsewhere", seq=seq)
    assert o.status == 404 and o.json()["reason"] == "other-instance", o
    for q in ({"instance": INSTANCE, "seq": "abc"}, {"instance": INSTANCE},
              {"instance": "a/b", "seq": seq},
              {"instance": INSTANCE, "seq": seq, "hash": "xyz"}):
        b = receipt(stack, port, **q)
        assert b.status == 400 and b.json()["reason"] == "bad-request", (q, b)
        assert b.json()["explanation"], b

    # Offline, from the log itself: the same answer.
    out = subprocess.run([os.path.join(stack.bin, "eidgate"), "audit", "receipt", "--db",
                          os.path.join(stack.root, "audit-receipts"), seq, rec["hash"]],
                         capture_output=True, text=True)
    assert out.returncode == 0, out
    offline = json.loads(out.stdout)
    assert offline["confirmed"] is True, offline
    assert offline["record"] == body["record"] and offline["checkpoint"] == ck, offline
    out = subprocess.run([os.path.join(stack.bin, "eidgate"), "audit", "receipt", "--db",
                          os.path.join(stack.root, "audit-receipts"), seq, bad],
                         capture_output=True, text=True)
    assert out.returncode == 1 and json.loads(out.stdout)["reason"] == "hash-mismatch", out


def test_receipts_only_for_receipt_from(stack):
    """The stack's own gateway names no receipt_from: nobody may ask, and the refusal is
    recorded."""
    r = stack.request("GET", "/eidgate/audit/api/receipt?instance=gw&seq=1")
    assert r.status == 403, r
    rid = r.headers.get("x-request-id")
    rec = stack.audit_record(rid)
    assert rec["decision"] == "deny", rec
