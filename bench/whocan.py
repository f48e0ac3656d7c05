"""who-can on a large directory (issue 16, item 2): a test slapd loaded (ldapadd of
LDIF made by demo/directory/make-ldif.sh from generated tables) with PEOPLE people
(default 50,000) holding 1-3 facility roles each on FACILITIES facilities (default
2,000) in FACILITIES/20 organisations, one VTE per organisation; then `eidgate access
who-can` for a facility's module pages, timed whole (reading the directory included)
and for its decisions alone (the command's own figure), and `what-can` for one person.
Then the same through the security officers' API of a running gateway (POST who-can,
POST what-can, GET review, as the demo officer of organisation 0412345614), while a
second client asks /eidgate/healthz every 20 ms: its slowest answer during the calls
shows whether the event loop kept serving while the directory was read.

With MIGRATE=1 (the default) the commands run twice: on the directory as loaded (roles
without provenance), and after `eidgate directory migrate` gave every membership its
grant entry (issue 16 item 6), which is timed too: the cost of reading those entries.

usage: python3 bench/whocan.py [BIN_DIR]  (PEOPLE, FACILITIES, RUNS, MIGRATE in the
environment)
"""
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import harness  # noqa: E402

PEOPLE = int(os.environ.get("PEOPLE", "50000"))
FACILITIES = int(os.environ.get("FACILITIES", "2000"))
RUNS = int(os.environ.get("RUNS", "3"))
MIGRATE = os.environ.get("MIGRATE", "1") == "1"
ROLES = ["member", "moduleerder", "insisto-aanmelder", "insisto-raadpleger"]
REGIONS = ["antwerpen", "limburg", "oost-vlaanderen", "vlaams-brabant-brussel",
           "west-vlaanderen"]


def nrn(i):
    yy, rest = 50 + i % 50, i // 50
    mm, rest = 1 + rest % 12, rest // 12
    dd, seq = 1 + rest % 28, 1 + rest // 28
    body = "%02d%02d%02d%03d" % (yy, mm, dd, seq)
    return body + "%02d" % (97 - int(body) % 97)


def kbo(i):
    body = "04%06d" % i
    return body + "%02d" % (97 - int(body) % 97)


def tables(d):
    rnd = random.Random(16)
    norgs = max(1, FACILITIES // 20)
    orgs = [kbo(i) for i in range(norgs)]
    with open(os.path.join(d, "orgs.tsv"), "w") as f:
        for i, o in enumerate(orgs):
            f.write("org\t%s\tOrganisation %d\tjeugdhulp\n" % (o, i))
        for j in range(FACILITIES):
            f.write("fac\t%s\tfac-%d\tFacility %d\tkg\t%s\n"
                    % (orgs[j % norgs], j, j, REGIONS[j % 5]))
    with open(os.path.join(d, "people.tsv"), "w") as f:
        for i in range(PEOPLE):
            if i < norgs:
                roles = ["vte@organisation:%s" % orgs[i]]
            else:
                roles = sorted({"%s@facility:fac-%d" % (rnd.choice(ROLES),
                                                        rnd.randrange(FACILITIES))
                                for _ in range(rnd.randint(1, 3))})
            f.write("p%d\t%s\tGiven%d\tSurname%d\tcitizen-rsa\t%s\n"
                    % (i, nrn(i), i, i, ",".join(roles)))


def timed(argv):
    t = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, check=True)
    return (time.perf_counter() - t) * 1000, r.stdout


def main():
    bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "bin")
    stack = harness.Stack(bin_dir)
    try:
        stack.start_ldap()
        subprocess.run(["bash", os.path.join(REPO, "scripts", "write-config.sh"), stack.root,
                        stack.pki, str(stack.port), str(stack.ldap_port),
                        str(stack.modules_port), str(stack.dossiers_port), "group"],
                       check=True, stdout=subprocess.DEVNULL)
        conf = os.path.join(stack.root, "eidgate.conf")
        tables(stack.root)
        ldif = subprocess.run(["bash", os.path.join(REPO, "demo", "directory", "make-ldif.sh"),
                               os.path.join(stack.root, "people.tsv"),
                               os.path.join(stack.root, "orgs.tsv")],
                              check=True, capture_output=True).stdout
        t = time.perf_counter()
        subprocess.run(["bash", os.path.join(REPO, "scripts", "slapd.sh"), "load",
                        os.path.join(stack.root, "ldap"), "-"], input=ldif, check=True,
                       stdout=subprocess.DEVNULL)
        print("directory: %d people, %d facilities, %d organisations; ldapadd of %d KiB "
              "LDIF took %.1f s" % (PEOPLE, FACILITIES, max(1, FACILITIES // 20),
                                   len(ldif) // 1024, time.perf_counter() - t))
        eid = os.path.join(bin_dir, "eidgate")
        commands(eid, conf, "roles without provenance")
        if MIGRATE:
            # issue 16 item 6: date every membership (one eidgateGrant entry each), then
            # the same again: the cost of reading the grant entries too
            ms, out = timed([eid, "directory", "migrate", "-c", conf])
            print("eidgate directory migrate: %.1f s: %s" % (ms / 1000, out.strip()))
            commands(eid, conf, "every role dated")
        api(stack, conf)
    finally:
        stack.stop()


def commands(eid, conf, label):
    walls, last = [], ""
    for _ in range(RUNS):
        ms, last = timed([eid, "access", "who-can", "-c", conf, "GET",
                          "/modules/facilities/fac-7/modules"])
        walls.append(ms)
    print("[%s] who-can GET /modules/facilities/fac-7/modules: %s" % (label, last.splitlines()[-1]))
    print("  whole command (directory read in pages + decisions), %d runs: min %.0f ms, "
          "median %.0f ms" % (RUNS, min(walls), sorted(walls)[len(walls) // 2]))
    ms, out = timed([eid, "access", "what-can", "-c", conf, "--nrn", nrn(PEOPLE - 1)])
    print("[%s] what-can one person: %.0f ms (%d routes listed)"
          % (label, ms, sum(1 for l in out.splitlines() if l.startswith("  "))))


def probe(stack, stop, out):
    """GET /eidgate/healthz every 20 ms until stop is set: the answer times (ms)."""
    while not stop.is_set():
        t = time.perf_counter()
        stack.request("GET", "/eidgate/healthz")
        out.append((time.perf_counter() - t) * 1000)
        time.sleep(0.02)


def api(stack, conf):
    from test_admin_api import Admin
    stack.config = conf
    stack.start_gateway()
    officer = Admin(stack, "secoff-a")
    calls = [("POST who-can", lambda: officer.post("/eidgate/audit/api/who-can", {
                 "method": "GET", "path": "/modules/facilities/ckg-molenberg/modules"})),
             ("POST what-can", lambda: officer.post("/eidgate/audit/api/what-can", {
                 "nrn": stack.person("mod-betlehem")["nrn"]})),
             ("GET review", lambda: stack.request("GET", "/eidgate/audit/api/review",
                                                  who="secoff-a",
                                                  headers={"Cookie": officer.cookie}))]
    idle = []
    stop = threading.Event()
    th = threading.Thread(target=probe, args=(stack, stop, idle))
    th.start()
    time.sleep(1)
    stop.set()
    th.join()
    print("gateway: healthz alone: median %.1f ms, max %.1f ms"
          % (sorted(idle)[len(idle) // 2], max(idle)))
    for name, call in calls:
        walls, probes = [], []
        for _ in range(RUNS):
            stop = threading.Event()
            th = threading.Thread(target=probe, args=(stack, stop, probes))
            th.start()
            t = time.perf_counter()
            r = call()
            walls.append((time.perf_counter() - t) * 1000)
            stop.set()
            th.join()
            assert r.status == 200, r
        body = r.json()
        size = len(body.get("people", body.get("rights", body.get("backends", []))))
        print("officers' API %s: %d runs: min %.0f ms, median %.0f ms (%d items); healthz "
              "meanwhile: %d answers, median %.1f ms, max %.1f ms"
              % (name, RUNS, min(walls), sorted(walls)[len(walls) // 2], size, len(probes),
                 sorted(probes)[len(probes) // 2], max(probes)))


if __name__ == "__main__":
    main()
