"""Issue 16, item 2: access review against the real slapd and the stack's policy.

`eidgate access who-can -c FILE METHOD PATH` lists every person who could make the
request now (name, masked national number, role and scope, rule, the facility they
would act for); `eidgate access what-can -c FILE --nrn N` lists per backend and route
what that person can reach, each facility by its id.
"""
import json
import os
import subprocess

import harness


def access(stack, *args):
    return subprocess.run([os.path.join(stack.bin, "eidgate"), "access"] + list(args),
                          capture_output=True, text=True)


def masked(stack, key):
    nrn = stack.person(key)["nrn"]
    return nrn, nrn[:2] + "*" * 7 + nrn[-2:]


def rows(out):
    return [line.split() for line in out.splitlines()[1:-1]]


def test_who_can_read_a_facilitys_modules(stack):
    r = access(stack, "who-can", "-c", stack.config, "GET",
               "/modules/facilities/ckg-molenberg/modules")
    assert r.returncode == 0, r
    people = {}
    for line in r.stdout.splitlines()[1:-1]:
        cells = line.split()
        people[cells[-5]] = cells[-4:]
    for key, role in (("mod-molenberg", "moduleerder"), ("mod-betlehem", "member"),
                      ("multi-org", "member"), ("foreigner-molenberg", "member")):
        nrn, m = masked(stack, key)
        assert nrn not in r.stdout
        assert people[m][:3] == [role, "facility:ckg-molenberg", "module-read"], (key, r.stdout)
    assert len(people) == 4, r.stdout
    assert r.stdout.splitlines()[-1].startswith("4 people could make GET "), r.stdout


def test_who_can_names_the_role_and_the_facility_acted_for(stack):
    r = access(stack, "who-can", "-c", stack.config, "POST", "/dossiers/a-documents")
    assert r.returncode == 0, r
    _, m = masked(stack, "aanmelder-boomgaard")
    line = [l for l in r.stdout.splitlines() if m in l]
    assert line and line[0].split()[-4:] == ["insisto-aanmelder", "facility:ckg-den-boomgaard",
                                              "a-doc-submit", "ckg-den-boomgaard"], r.stdout


def test_who_can_a_route_open_to_every_card(stack):
    r = access(stack, "who-can", "-c", stack.config, "GET", "/modules/catalog/x")
    assert r.returncode == 0 and "everyone with an accepted eID card" in r.stdout, r


def test_who_can_refuses_a_path_the_gateway_would_not_serve(stack):
    r = access(stack, "who-can", "-c", stack.config, "GET", "/a/../../etc")
    assert r.returncode == 2, r
    r = access(stack, "who-can", "-c", stack.config, "GET")
    assert r.returncode == 2, r


def test_what_can_lists_facilities_per_backend_and_route(stack):
    nrn, _ = masked(stack, "mod-betlehem")
    r = access(stack, "what-can", "-c", stack.config, "--nrn", nrn)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Johan Feskens"), r.stdout
    backend = None
    routes = {}
    for line in lines[1:]:
        if line.startswith("backend "):
            backend = line.split()[1]
            continue
        rule, rest = line.split(None, 1)
        routes[(backend, rule)] = rest.split(":", 1)[1].strip()
    assert routes[("modules", "module-read")] == "ckg-betlehem, ckg-molenberg", r.stdout
    assert routes[("modules", "module-write")] == "ckg-betlehem", r.stdout
    assert routes[("modules", "catalog")] == "yes", r.stdout
    assert routes[("dossiers", "a-doc-read")] == "nothing", r.stdout


def test_what_can_for_someone_without_roles(stack):
    nrn, _ = masked(stack, "norole")
    r = access(stack, "what-can", "-c", stack.config, "--nrn", nrn)
    assert r.returncode == 0, r
    assert "no roles" in r.stdout.splitlines()[0], r.stdout
    assert "module-read      GET,HEAD /modules/facilities/{f}/**: nothing" in r.stdout, r.stdout
    r = access(stack, "what-can", "-c", stack.config, "--nrn", "123")
    assert r.returncode == 2, r


def signed_policy(stack):
    """The stack's policy with module-write (and the catalog) `signed`; its path."""
    path = os.path.join(stack.root, "access-signed.policy")
    with open(os.path.join(stack.root, "jeugdhulp.policy")) as f:
        text = f.read()
    lines = []
    for line in text.splitlines():
        words = line.split()
        if words[:2] in (["allow", "module-write"], ["allow", "catalog"]):
            line = line.replace(" when ", " signed when ", 1)
        lines.append(line)
    assert sum(" signed when " in l for l in lines) == 2, text
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def signed_config(stack):
    policy = os.path.join(stack.root, "jeugdhulp.policy")
    return harness.config_variant(stack, "access-signed",
                                  {"file = " + policy: "file = " + signed_policy(stack)})


def test_who_can_and_what_can_mark_routes_that_need_a_card_signature(stack):
    cfg = signed_config(stack)
    r = access(stack, "who-can", "-c", cfg, "POST", "/modules/facilities/ckg-molenberg/x")
    assert r.returncode == 0, r
    _, m = masked(stack, "mod-molenberg")
    line = [l for l in r.stdout.splitlines() if m in l]
    assert line and line[0].endswith("module-write     - (signed)"), r.stdout
    assert "(signed): each request must carry a signature by the person's card" in r.stdout
    r = access(stack, "who-can", "-c", cfg, "GET", "/modules/facilities/ckg-molenberg/x")
    assert r.returncode == 0 and "signed" not in r.stdout, r.stdout
    r = access(stack, "who-can", "-c", cfg, "GET", "/modules/catalog/x")
    assert r.returncode == 0 and "(rule catalog); signed: each request must carry" \
        in r.stdout, r.stdout
    nrn, _ = masked(stack, "mod-betlehem")
    r = access(stack, "what-can", "-c", cfg, "--nrn", nrn)
    assert r.returncode == 0, r
    write = [l for l in r.stdout.splitlines() if l.split()[:1] == ["module-write"]]
    read = [l for l in r.stdout.splitlines() if l.split()[:1] == ["module-read"]]
    assert write and "/modules/facilities/{f}/** (signed): ckg-betlehem" in write[0], r.stdout
    assert read and "(signed)" not in read[0], r.stdout


def test_the_officers_api_says_signed(stack):
    """POST who-can / what-can on a gateway with the signed policy: "signed": true."""
    policy = os.path.join(stack.root, "jeugdhulp.policy")
    port = harness.gateway_variant(stack, "access-signed-gw",
                                   replace={"file = " + policy: "file = " + signed_policy(stack)})
    try:
        r = stack.request("GET", "/eidgate/whoami", who="secoff-a", port=port)
        assert r.status == 200, r
        h = {"Cookie": r.headers["set-cookie"].split(";")[0], "X-Eidgate-CSRF": r.json()["csrf"],
             "Content-Type": "application/json"}

        def post(what, body):
            r = stack.request("POST", "/eidgate/audit/api/" + what, who="secoff-a",
                              body=json.dumps(body), headers=h, port=port)
            assert r.status == 200, r
            return r.json()
        res = post("who-can", {"method": "POST", "path": "/modules/facilities/ckg-molenberg/x"})
        assert res["people"] and all(p["signed"] is True for p in res["people"]), res
        assert res["signed"] is False, res
        res = post("who-can", {"method": "GET", "path": "/modules/facilities/ckg-molenberg/x"})
        assert res["people"] and all(p["signed"] is False for p in res["people"]), res
        res = post("who-can", {"method": "GET", "path": "/modules/catalog/x"})
        assert res["kind"] == "everyone" and res["signed"] is True, res
        res = post("what-can", {"nrn": stack.person("mod-betlehem")["nrn"]})
        routes = {r["rule"]: r for b in res["backends"] for r in b["routes"]}
        assert routes["module-write"]["signed"] is True, routes
        assert routes["module-read"]["signed"] is False, routes
    finally:
        stack.stop_process("access-signed-gw")
