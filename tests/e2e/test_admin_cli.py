"""PRODUCT §1 and §4: `eidgate directory init|add-organisation|add-facility|add-vte`, the
platform operator's bootstrap, against the real directory; then the new VTE manages
their organisation through the API."""
import json
import os
import subprocess
import time

import harness

OWN_STACK = True      # adds organisations and roles other scenarios do not expect

def kbo(body8):
    return body8 + "%02d" % (97 - int(body8) % 97)


def cli(stack, *args, config=True):
    argv = [os.path.join(stack.bin, "eidgate"), "directory"] + list(args)
    if config:
        argv += ["-c", stack.config]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_help_and_usage_errors(stack):
    r = cli(stack, "--help", config=False)
    assert r.returncode == 0 and "add-facility" in r.stdout
    for sub in ("init", "add-organisation", "add-facility", "add-vte"):
        r = cli(stack, sub, "--help", config=False)
        assert r.returncode == 0, (sub, r.stderr)
    r = cli(stack, "frobnicate", config=False)
    assert r.returncode == 2 and r.stderr.startswith("eidgate: ")
    r = cli(stack, "init", config=False)
    assert r.returncode == 2 and "-c CONFIG" in r.stderr


def test_init_is_idempotent(stack):
    r = cli(stack, "init")
    assert r.returncode == 0, r.stderr
    assert "already initialised" in r.stdout


def test_add_organisation_facility_and_vte(stack):
    org = kbo("09876543")
    r = cli(stack, "add-organisation", "--number", org, "--name", "vzw Nieuw Begin",
            "--capacity", "jeugdhulp", "--capacity", "ggz")
    assert r.returncode == 0, r.stderr
    r = cli(stack, "add-organisation", "--number", org, "--name", "again", "--capacity", "ggz")
    assert r.returncode == 1 and "already exists" in r.stderr and r.stderr.startswith("eidgate: ")
    for bad in (["--number", org[:-1] + str((int(org[-1]) + 1) % 10)],   # check digits
                ["--number", "2" + org[1:]], ["--number", "0*"]):
        r = cli(stack, "add-organisation", *bad, "--name", "x", "--capacity", "ggz")
        assert r.returncode == 2, (bad, r.stderr)
    r = cli(stack, "add-organisation", "--number", kbo("09876544"), "--name", "x",
            "--capacity", "taxes")
    assert r.returncode == 2 and "capacity" in r.stderr
    r = cli(stack, "add-organisation", "--number", kbo("09876544"), "--name", "x")
    assert r.returncode == 2

    r = cli(stack, "add-facility", "--organisation", org, "--id", "cgg-nieuw-begin",
            "--name", "CGG Nieuw Begin", "--sector", "cgg", "--region", "limburg")
    assert r.returncode == 0, r.stderr
    # unique across organisations: an id of organisation A is refused for the new one
    r = cli(stack, "add-facility", "--organisation", org, "--id", "ckg-molenberg",
            "--name", "Molenberg bis", "--sector", "kg", "--region", "limburg")
    assert r.returncode == 1 and "already exists" in r.stderr
    for bad in (["--id", "Bad_Id"], ["--id", "a*"], ["--sector", "xyz"], ["--region", "mars"]):
        args = {"--id": "ok-id", "--sector": "cgg", "--region": "limburg"}
        args[bad[0]] = bad[1]
        r = cli(stack, "add-facility", "--organisation", org, "--name", "x",
                *[x for kv in args.items() for x in kv])
        assert r.returncode == 2, (bad, r.stderr)
    r = cli(stack, "add-facility", "--organisation", kbo("09876544"), "--id", "orphan",
            "--name", "x", "--sector", "cgg", "--region", "limburg")
    assert r.returncode == 1 and "does not exist" in r.stderr

    # an ITP worker becomes the new organisation's VTE (their entry exists: name kept)
    vte = "regisseur-antwerpen"
    nrn = stack.person(vte)["nrn"]
    r = cli(stack, "add-vte", "--organisation", org, "--nrn", nrn, "--name", "Ignored Name")
    assert r.returncode == 0 and "VTE added" in r.stdout, r.stderr
    r = cli(stack, "add-vte", "--organisation", org, "--nrn", nrn, "--name", "Ignored Name")
    assert r.returncode == 0 and "already" in r.stdout
    wrong = nrn[:-1] + str((int(nrn[-1]) + 1) % 10)             # check digits fail
    r = cli(stack, "add-vte", "--organisation", org, "--nrn", wrong, "--name", "X Y")
    assert r.returncode == 2 and "--nrn" in r.stderr

    # The gateway sees the new VTE once its cache entry for them (if any) expires: the CLI
    # is another process and cannot drop the gateway's cache ([ldap] cache_ttl, 60 s here).
    # This person has not been seen by the gateway earlier in the run, so it is at once.
    deadline = time.time() + 70
    while True:
        whoami = stack.request("GET", "/eidgate/whoami", who=vte)
        cookie = whoami.headers["set-cookie"].split(";")[0]
        hdr = {"Cookie": cookie}
        orgs = stack.request("GET", "/eidgate/admin/api/scope", who=vte, headers=hdr).json()
        mine = [o for o in orgs["organisations"] if o["id"] == org]
        if mine or time.time() > deadline:
            break
        time.sleep(1)
    assert mine and mine[0]["name"] == "vzw Nieuw Begin"
    assert [f["id"] for f in mine[0]["facilities"]] == ["cgg-nieuw-begin"]
    hdr.update({"X-Eidgate-CSRF": whoami.json()["csrf"], "Content-Type": "application/json"})
    r = stack.request("POST", "/eidgate/admin/api/grants", who=vte, headers=hdr,
                      body=json.dumps({"nrn": stack.person("lb-a")["nrn"], "role": "lb",
                                       "scope": "facility:cgg-nieuw-begin"}))
    assert r.status == 201, r
    people = stack.request("GET", "/eidgate/admin/api/people?scope=organisation:" + org,
                           who=vte, headers={"Cookie": cookie}).json()["people"]
    assert sorted(p["name"] for p in people) == ["Klaartje Cops", "Sofie Maes"]


def test_new_person_entry_from_add_vte(stack):
    org = kbo("09876545")
    assert cli(stack, "add-organisation", "--number", org, "--name", "vzw Derde",
               "--capacity", "handicap").returncode == 0
    body = "750101123"
    nrn = body + "%02d" % (97 - int(body) % 97)
    r = cli(stack, "add-vte", "--organisation", org, "--nrn", nrn, "--name", "Jan Van den Broeck")
    assert r.returncode == 0, r.stderr
    # given name = the first word, surname = the rest (particles stay with the surname)
    out = subprocess.run(["ldapsearch", "-LLL", "-x", "-H", "ldap://127.0.0.1:%d" % stack.ldap_port,
                          "-D", "cn=admin,dc=jeugdhulp,dc=example", "-y",
                          os.path.join(stack.root, "ldap", "admin.secret"), "-b",
                          "uid=%s,ou=people,dc=jeugdhulp,dc=example" % nrn, "-s", "base",
                          "cn", "sn", "givenName"], capture_output=True, text=True,
                         env=dict(os.environ, LDAPNOINIT="1")).stdout
    assert "cn: Jan Van den Broeck" in out and "givenName: Jan" in out, out
    assert "sn: Van den Broeck" in out, out
    # another organisation's VTE may not list it
    vte = "vte-a"
    whoami = stack.request("GET", "/eidgate/whoami", who=vte)
    r = stack.request("GET", "/eidgate/admin/api/people?scope=organisation:" + org, who=vte,
                      headers={"Cookie": whoami.headers["set-cookie"].split(";")[0]})
    assert r.status == 403, r
