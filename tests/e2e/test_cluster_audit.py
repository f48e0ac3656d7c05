"""Issue 14, the logs of several instances: three gateways on the same directory, each
with its own log, cosign each other's checkpoints as witnesses; one merged view (the
command line and the officers' API) names the instance in every row; scenario 5: one
instance's LMDB file rolled back to an older copy is caught by `audit verify` on the
merged view, naming the instance and the witnessed checkpoint; and a real rsyslogd
receives the records with their chain position."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import harness

NAMES = ("gw-a", "gw-b", "gw-c")
ORG_A = "0412345614"


def keypair(stack, name):
    return harness.ec_key(os.path.join(stack.root, name + ".key"),
                          os.path.join(stack.root, name + ".pub"))


def db(stack, name):
    return os.path.join(stack.root, "audit-" + name)


def eidgate(stack, *args, check=None):
    r = subprocess.run([os.path.join(stack.bin, "eidgate")] + list(args),
                       capture_output=True, text=True, timeout=120)
    if check is not None:
        assert r.returncode == check, (r.returncode, r.stdout[-3000:], r.stderr[-3000:])
    return r


def start_cluster(stack):
    ports = {n: harness.free_port() for n in NAMES}
    keys = {n: keypair(stack, "witness-" + n) for n in NAMES}
    ca = os.path.join(stack.pki, "server", "server-ca.pem")
    for n in NAMES:
        others = [m for m in NAMES if m != n]
        lines = ["[audit]", "instance = " + n, "witness_key = " + keys[n][0],
                 "peers = " + " ".join("https://127.0.0.1:%d" % ports[m] for m in others),
                 "peer_keys = " + ",".join(keys[m][1] for m in others),
                 "peer_ca = " + ca, ""]
        harness.gateway_variant(stack, n, port=ports[n],
                                replace={"[audit]\n": "\n".join(lines)})
    return ports, keys


def traffic(stack, ports, n=5):
    for name, port in ports.items():
        for i in range(n):
            r = harness.request_on(stack, port, "GET",
                                   "/modules/facilities/ckg-molenberg/modules",
                                   who="mod-molenberg")
            assert r.status == 200, (name, r)


def verify(stack, keys, *extra):
    args = ["audit", "verify"]
    for n in NAMES:
        args += ["--db", db(stack, n)]
    args += ["--key", os.path.join(stack.pki, "keys", "audit.key")]
    for n in NAMES:
        args += ["--witness-key", keys[n][1]]
    return eidgate(stack, *(args + list(extra)))


def wait_witnessed(stack, keys, instance, above=0, timeout=20):
    """Until both other instances cosigned a checkpoint of instance beyond seq above."""
    deadline = time.time() + timeout
    pat = re.compile(r"instance %s: extends the checkpoint witness (\S+) cosigned at seq (\d+)"
                     % re.escape(instance))
    while True:
        r = verify(stack, keys)
        seen = {w: int(s) for w, s in pat.findall(r.stdout)}
        if len(seen) == 2 and min(seen.values()) > above and r.returncode == 0:
            return seen
        if time.time() > deadline:
            raise AssertionError("not witnessed: %s\n%s\n%s\n%s" % (
                seen, r.stdout[-2000:], r.stderr[-2000:],
                "\n".join(n + ": " + stack.log(n)[-1500:] for n in NAMES)))
        time.sleep(0.5)


def last_seq(stack, path):
    r = eidgate(stack, "audit", "query", "--db", path, "--no-peers",
                "--format", "json", check=0)
    return max(json.loads(line)["seq"] for line in r.stdout.splitlines())


def test_cluster_logs(stack):
    ports, keys = start_cluster(stack)
    try:
        traffic(stack, ports)
        for n in NAMES:
            wait_witnessed(stack, keys, n)

        # One view from any instance's directory: its own log and its mirrors of the
        # peers', merged by time, every row naming its instance.
        r = eidgate(stack, "audit", "query", "--db", db(stack, "gw-b"), "--format", "json",
                    "--kind", "request", check=0)
        rows = [json.loads(line) for line in r.stdout.splitlines()]
        assert {x["instance"] for x in rows} == set(NAMES), rows[:3]
        times = [x["time"] for x in rows]
        assert times == sorted(times)
        r = eidgate(stack, "audit", "query", "--db", db(stack, "gw-a"), "--db",
                    db(stack, "gw-b"), "--db", db(stack, "gw-c"), "--kind", "request", check=0)
        assert all(n in r.stdout for n in NAMES) and r.stdout.startswith("instance")
        r = eidgate(stack, "audit", "stats", "--db", db(stack, "gw-c"), "--format", "json",
                    check=0)
        assert {json.loads(line)["instance"] for line in r.stdout.splitlines()} == set(NAMES)
        # The officers' API of one instance shows all three.
        r = harness.request_on(stack, ports["gw-a"], "GET",
                               "/eidgate/audit/api/records?org=%s&limit=200" % ORG_A,
                               who="secoff-a")
        assert r.status == 200, r
        assert {x.get("instance") for x in r.json()["records"]} == set(NAMES)

        # A feed request without a witness key's signature is refused and recorded.
        r = harness.request_on(stack, ports["gw-a"], "GET",
                               "/eidgate/audit/peer/feed?after=0&limit=10")
        assert r.status == 403, r

        # Scenario 5: a consistent copy of gw-a's log now, more records, witnessed ...
        old = os.path.join(stack.root, "audit-gw-a-old")
        os.makedirs(old)
        subprocess.run(["mdb_copy", db(stack, "gw-a"), old], check=True)
        copied = last_seq(stack, old)
        traffic(stack, {"gw-a": ports["gw-a"]}, n=10)
        time.sleep(1.2)     # the next checkpoint covers them
        wait_witnessed(stack, keys, "gw-a", above=copied)
        # ... then gw-a stops and its file is replaced by the older copy.
        stack.stop_process("gw-a")
        shutil.copyfile(os.path.join(old, "data.mdb"), os.path.join(db(stack, "gw-a"),
                                                                    "data.mdb"))
        r = verify(stack, keys)
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert re.search(r"instance gw-a: ROLLED BACK: its log ends at seq %d, but witness "
                         r"gw-[bc] cosigned its checkpoint at seq \d+ hash [0-9a-f]{64}"
                         % copied, r.stderr), r.stderr
        # Its own chain and checkpoints still verify: only the witnesses catch it.
        r = eidgate(stack, "audit", "verify", "--db", db(stack, "gw-a"), "--key",
                    os.path.join(stack.pki, "keys", "audit.key"))
        assert r.returncode == 0, r.stderr

        # Restarted on the old file, gw-a forks; the witnesses see it and record it.
        restart(stack, "gw-a", ports["gw-a"])
        traffic(stack, {"gw-a": ports["gw-a"]}, n=20)
        deadline = time.time() + 20
        while True:
            r = eidgate(stack, "audit", "query", "--db", db(stack, "gw-b"), "--no-peers",
                        "--kind", "witness", "--format", "json", check=0)
            if r.stdout.strip():
                break
            assert time.time() < deadline, stack.log("gw-b")[-2000:]
            time.sleep(0.5)
        rec = json.loads(r.stdout.splitlines()[0])
        assert rec["scope"] == "instance:gw-a" and rec["decision"] == "deny", rec
        r = verify(stack, keys)
        assert r.returncode == 1 and "gw-a" in r.stderr, r.stderr
    finally:
        for n in NAMES:
            if n in stack.procs:
                stack.stop_process(n)


def restart(stack, name, port):
    """Starts a stopped variant again with its configuration file as it was."""
    path = os.path.join(stack.root, name + ".conf")
    stack.spawn(name, [os.path.join(stack.bin, "eidgate"), "serve", "-c", path])
    harness.wait_port(port)


RSYSLOG_CONF = """global(workDirectory="%(dir)s")
module(load="imtcp")
input(type="imtcp" port="%(port)d" address="127.0.0.1")
template(name="raw" type="string" string="%%rawmsg%%\\n")
*.* action(type="omfile" file="%(dir)s/received.log" template="raw")
"""


def test_syslog_through_rsyslog(stack):
    rdir = os.path.join(stack.root, "rsyslog")
    os.makedirs(rdir)
    port = harness.free_port()
    conf = os.path.join(rdir, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(RSYSLOG_CONF % {"dir": rdir, "port": port})
    stack.spawn("rsyslogd", ["rsyslogd", "-n", "-f", conf, "-i", os.path.join(rdir, "pid")])
    harness.wait_port(port)
    dbdir = os.path.join(stack.root, "audit")
    state = os.path.join(rdir, "state")
    out = os.path.join(rdir, "received.log")
    try:
        for i in range(3):
            stack.request("GET", "/modules/catalog/modules", who="vte-a")
        eidgate(stack, "audit", "syslog", "--db", dbdir, "--to", "127.0.0.1:%d" % port,
                "--state", state, "--once", check=0)
        sent = int(open(state).read().split()[0])
        # Resumable: later records only.
        for i in range(2):
            stack.request("GET", "/modules/catalog/modules", who="vte-a")
        time.sleep(0.2)
        eidgate(stack, "audit", "syslog", "--db", dbdir, "--to", "127.0.0.1:%d" % port,
                "--state", state, "--once", check=0)
        later = int(open(state).read().split()[0])
        assert later > sent
        deadline = time.time() + 10
        pat = re.compile(r'\[eidgate@32473 instance="([^"]+)" seq="(\d+)" hash="([0-9a-f]{64})"\]'
                         r' (\{.*\})$')
        while True:
            lines = open(out).read().splitlines() if os.path.exists(out) else []
            found = [pat.search(line) for line in lines]
            seqs = [int(m.group(2)) for m in found if m]
            if seqs and max(seqs) >= later:
                break
            assert time.time() < deadline, lines[-3:]
            time.sleep(0.2)
        assert all(found), [line for line, m in zip(lines, found) if not m][:2]
        assert seqs == list(range(seqs[0], later + 1)), seqs      # each once, in order
        assert lines[0].startswith("<8")
        first = found[-1]
        rec = json.loads(first.group(4))
        assert rec["seq"] == int(first.group(2)) and rec["hash"] == first.group(3)
        # The chain position matches the log's own.
        r = eidgate(stack, "audit", "query", "--db", dbdir, "--format", "json", check=0)
        log = {json.loads(x)["seq"]: json.loads(x)["hash"] for x in r.stdout.splitlines()}
        assert all(log[int(m.group(2))] == m.group(3) for m in found)
        # A state naming a record the log does not hold is refused.
        with open(state, "w") as f:
            f.write("%d %s\n" % (2, "0" * 64))
        r = eidgate(stack, "audit", "syslog", "--db", dbdir, "--to", "127.0.0.1:%d" % port,
                    "--state", state, "--once")
        assert r.returncode == 1 and "rolled back or replaced" in r.stderr, r.stderr
    finally:
        stack.stop_process("rsyslogd")
