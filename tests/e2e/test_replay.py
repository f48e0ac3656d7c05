"""Issue 16, item 1: replayable decisions against the real gateway and slapd.

The gateway keeps the policy that decides in its access log (a "policy" record naming
the text's SHA-256, the text kept once per version), and each decision record keeps what
it depended on: the roles held, the facility acted for, the capacities, the facilities'
organisations it looked up, the certificate's revocation evidence. `eidgate audit replay`
decides a record again ("same"), and against a new policy lists the requests whose
outcome changes by rule and person; `eidgate policy check --against-log` prints that.
"""
import hashlib
import os
import subprocess
import time

import harness


def eidgate(stack, *args):
    return subprocess.run([os.path.join(stack.bin, "eidgate")] + list(args),
                          capture_output=True, text=True)


def policy_file(stack):
    return os.path.join(stack.root, "jeugdhulp.policy")


def db(stack):
    return os.path.join(stack.root, "audit")


def test_the_policy_in_force_is_kept_in_the_log(stack):
    with open(policy_file(stack), "rb") as f:
        text = f.read()
    recs = [r for r in stack.audit("--kind", "policy", policies=True)]
    assert recs, "no policy record"
    assert recs[-1]["policy_sha256"] == hashlib.sha256(text).hexdigest(), recs[-1]
    assert recs[-1]["policy_version"] == hashlib.sha256(text).hexdigest()[:16]


def test_a_decision_keeps_what_it_depended_on_and_replays_the_same(stack):
    r = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="mod-betlehem")
    assert r.status == 200, r
    rec = stack.audit_record(r.headers["x-request-id"])
    assert "member facility:ckg-molenberg@0412345614" in rec["grants"], rec
    assert "moduleerder facility:ckg-betlehem@0412345614" in rec["grants"], rec
    assert rec["capacities"] == "gezinsondersteuning", rec
    assert rec["revocation"] == "none", rec     # this stack checks no CRL (ocsp = off)
    time.sleep(0.1)     # group commit
    out = eidgate(stack, "audit", "replay", "--db", db(stack), str(rec["seq"]))
    assert out.returncode == 0, out
    assert out.stdout.strip().endswith("same"), out.stdout
    assert "recorded: allow by module-read" in out.stdout, out.stdout


def test_the_revocation_evidence_names_the_crl_and_its_number(stack):
    crl = harness.crl_dir_copy(stack, "crl-replay")
    port = harness.gateway_variant(stack, "replay-crl", replace={
        "ocsp = off": "ocsp = off\ncrl = " + crl})
    try:
        r = harness.request_on(stack, port, "GET", "/modules/facilities/ckg-molenberg/modules",
                               who="mod-molenberg")
        assert r.status == 200, r
        rec = stack.audit_record(r.headers["x-request-id"],
                                 db=os.path.join(stack.root, "audit-replay-crl"))
        # "crl:<issuer>#<crlNumber> <thisUpdate>"
        kind, rest = rec["revocation"].split(":", 1)
        assert kind == "crl" and "#" in rest and rest.endswith("Z"), rec
        number = rest.split("#", 1)[1].split(" ")[0]
        assert number.isdigit() or number == "-", rec
    finally:
        stack.stop_process("replay-crl")


def test_a_refusal_replays_the_same_and_a_new_policy_shows_the_difference(stack):
    r = stack.request("GET", "/modules/facilities/ckg-de-schommel/modules", who="mod-molenberg")
    assert r.status == 403, r
    rec = stack.audit_record(r.headers["x-request-id"])
    assert rec["decision"] == "deny" and rec["facility_orgs"] == \
        "ckg-de-schommel=0423456765", rec
    out = eidgate(stack, "audit", "replay", "--db", db(stack), str(rec["seq"]))
    assert out.returncode == 0 and "same" in out.stdout, out


def test_replay_with_a_new_policy_lists_changes_by_rule_and_person(stack):
    start = int(time.time()) + 1
    while time.time() < start + 0.05:
        time.sleep(0.05)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
    # A member of Molenberg reads modules (allowed by module-read), a moduleerder too.
    r1 = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="member-schommel")
    r2 = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="foreigner-molenberg")
    r3 = stack.request("GET", "/modules/facilities/ckg-molenberg/modules", who="mod-molenberg")
    assert (r1.status, r2.status, r3.status) == (403, 200, 200), (r1, r2, r3)
    seq2 = stack.audit_record(r2.headers["x-request-id"])["seq"]
    with open(policy_file(stack)) as f:
        text = f.read()
    old = ("role member on facility {f} or role moduleerder on facility {f}")
    assert old in text
    new = os.path.join(stack.root, "replay-new.policy")
    with open(new, "w") as f:
        f.write(text.replace(old, "role moduleerder on facility {f}", 1))
    time.sleep(0.1)
    out = eidgate(stack, "audit", "replay", "--db", db(stack), "--policy", new, "--since", since)
    assert out.returncode == 0, out
    lines = out.stdout.splitlines()
    assert "1 change," in lines[0], out.stdout
    assert lines[1] == "rule module-read: 1 change", out.stdout
    nrn = stack.person("foreigner-molenberg")["nrn"]
    masked = nrn[:2] + "*" * 7 + nrn[-2:]
    assert lines[2].split()[:4] == ["allow", "->", "deny", masked], lines[2]
    assert nrn not in out.stdout
    # One record against the new policy: the difference rule by rule.
    one = eidgate(stack, "audit", "replay", "--db", db(stack), "--policy", new, str(seq2))
    assert one.returncode == 1, one
    assert "different: allow -> deny" in one.stdout, one.stdout
    assert "module-read" in one.stdout and "holds -> does not hold" in one.stdout, one.stdout
    # The summary an operator reads before a reload.
    chk = eidgate(stack, "policy", "check", "--against-log", db(stack), "--since", since, new)
    assert chk.returncode == 0, chk
    assert "ok (" in chk.stdout and "rule module-read: 1 change" in chk.stdout, chk.stdout


def test_replay_refuses_what_it_cannot_replay(stack):
    recs = stack.audit("--kind", "policy", policies=True)
    out = eidgate(stack, "audit", "replay", "--db", db(stack), str(recs[-1]["seq"]))
    assert out.returncode == 1 and "not a decision of the policy" in out.stderr, out
    out = eidgate(stack, "audit", "replay", "--db", db(stack), "99999999")
    assert out.returncode == 1 and "no record" in out.stderr, out
    out = eidgate(stack, "audit", "replay", "--db", db(stack), "abc")
    assert out.returncode == 2, out


def test_audit_verify_holds_the_kept_policy_texts_to_their_records(stack):
    """The text kept for each policy version is what its chained "policy" record names
    (SHA-256): an attacker with write access to the LMDB file who changes, removes or
    adds a policy text is caught by `audit verify`."""
    name = "replay-verify"
    port = harness.gateway_variant(stack, name)
    log = os.path.join(stack.root, "audit-" + name)
    try:
        r = harness.request_on(stack, port, "GET", "/modules/catalog/modules", who="vte-a")
        assert r.status == 200, r
    finally:
        stack.stop_process(name)
    pol = stack.audit("--kind", "policy", db=log, policies=True)[-1]
    key = os.path.join(stack.pki, "keys", "audit.pub.pem")
    tamper = os.path.join(stack.bin, "audit-tamper")

    def verify():
        return eidgate(stack, "audit", "verify", "--db", log, "--key", key)

    def edit(version, op):
        subprocess.run([tamper, "policy", log, version, op], check=True,
                       capture_output=True, text=True)

    ok = verify()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    edit(pol["policy_version"], "change")
    bad = verify()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert ("audit verify: policy text mismatch at seq %d: policy version %s: the kept "
            "text's SHA-256 is" % (pol["seq"], pol["policy_version"])) in bad.stderr, bad.stderr
    assert "(policy text changed)" in bad.stderr, bad.stderr
    edit(pol["policy_version"], "change")        # the same bit flipped back
    assert verify().returncode == 0
    edit("0123456789abcdef", "add")
    bad = verify()
    assert bad.returncode == 1 and "policy text mismatch: a policy text (version " \
        "0123456789abcdef) is kept that no policy record announces" in bad.stderr, bad.stderr
    edit("0123456789abcdef", "remove")
    assert verify().returncode == 0
    edit(pol["policy_version"], "remove")
    bad = verify()
    assert bad.returncode == 1 and ("policy text mismatch at seq %d: policy version %s: "
                                    "the record names a text the log does not keep "
                                    "(policy text removed)" % (pol["seq"],
                                                               pol["policy_version"])) \
        in bad.stderr, bad.stderr
