"""Issue 11, smaller findings (§9) on the directory: `eidgate directory add-vte` (and
remove-vte) recorded in the running gateway's chain, and the last VTE kept when two VTEs
revoke each other at the same moment through two gateways on one directory (an LDAP
operation that removes a VTE only while another remains).
"""
import json
import os
import subprocess
import threading

import harness

OWN_STACK = True      # changes who is VTE of organisation C


def directory_cli(stack, *args):
    return subprocess.run([os.path.join(stack.bin, "eidgate"), "directory"] + list(args) +
                          ["-c", stack.config], capture_output=True, text=True, timeout=60)


def test_add_vte_from_the_command_line_is_in_the_gateway_chain(stack):
    nrn = stack.person("norole")["nrn"]
    r = directory_cli(stack, "add-vte", "--organisation", "0434567819", "--nrn", nrn,
                      "--name", "Benedikte Vanden Bruel")
    assert r.returncode == 0, r.stderr

    def found():
        return [x for x in stack.audit() if x["kind"] == "rights" and x.get("target") == nrn
                and x.get("role") == "vte"]
    recs = harness.wait_until(found, timeout=10)
    assert recs, "add-vte left no record"
    assert recs[0]["action"] == "grant" and recs[0]["scope"] == "organisation:0434567819"
    assert recs[0]["actor"].startswith("operator:"), recs[0]
    assert any(x["decision"] == "allow" for x in recs), recs
    # The chain of the running gateway is still one chain.
    out = subprocess.run([os.path.join(stack.bin, "eidgate"), "audit", "verify", "--db",
                          os.path.join(stack.root, "audit")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    # Undo, so that org C has one VTE again for the other scenarios.
    r = directory_cli(stack, "remove-vte", "--organisation", "0434567819", "--nrn", nrn)
    assert r.returncode == 0, r.stderr


def test_the_last_vte_survives_two_gateways_revoking_each_other(stack):
    """Two VTEs of one organisation revoke each other at the same moment through two
    gateways on one directory: exactly one succeeds, the organisation keeps a VTE."""
    org = "0434567819"
    second = stack.person("norole")["nrn"]
    first = stack.person("vte-c")["nrn"]
    r = directory_cli(stack, "add-vte", "--organisation", org, "--nrn", second,
                      "--name", "Benedikte Vanden Bruel")
    assert r.returncode == 0, r.stderr
    # A gateway of its own, started after the change, sees the second VTE at once.
    port = harness.gateway_variant(stack, "vte-race")
    try:
        tokens = {}
        for who, p in (("vte-c", stack.port), ("norole", port)):
            resp, _ = harness.signed_token_request(stack, who, port=p)
            tokens[who] = resp.json()["token"]
        results = {}
        barrier = threading.Barrier(2)

        def revoke(who, p, target):
            barrier.wait()
            results[who] = harness.request_on(
                stack, p, "POST", "/eidgate/admin/api/revocations",
                headers={"Authorization": "Bearer " + tokens[who],
                         "Content-Type": "application/json"},
                body=json.dumps({"nrn": target, "role": "vte",
                                 "scope": "organisation:" + org}))
        ts = [threading.Thread(target=revoke, args=("vte-c", stack.port, second)),
              threading.Thread(target=revoke, args=("norole", port, first))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert sorted(x.status for x in results.values()) == [204, 409], results
    finally:
        stack.stop_process("vte-race")
        # Put things back as they were: vte-c the one VTE of org C.
        directory_cli(stack, "add-vte", "--organisation", org, "--nrn", first,
                      "--name", "Anne Vanden Berge")
        directory_cli(stack, "remove-vte", "--organisation", org, "--nrn", second)
