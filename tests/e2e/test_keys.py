"""Issue 13 §3 and §4: privilege separation and key rotation.

The process that talks to clients and backends holds no long-term key: the session key,
the assertion key and the access log's checkpoint key live in the key process (keys/),
reached over socketpairs. Checked from outside, as an operator would: /proc shows the
two processes, their users and descriptors, and the network process's memory is
searched for the keys' bytes (and the key process's, to show the search finds them
where they are). A key process that dies makes the gateway answer 503 and stop with
status 1 so that systemd starts it again; nothing reaches a backend unsigned or
unrecorded meanwhile.

Rotation through SIGHUP: the session key as a ring (old sessions open until the old key
is dropped), the assertion key (published before it signs, the old one kept), the
checkpoint key (the old key signs the change; `audit verify` with the first key alone
follows it).
"""
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import time

import harness

WHO = "mod-molenberg"


# ---- processes, seen from /proc -------------------------------------------------------
def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def key_process(stack, name):
    pid = stack.procs[name].pid
    kids = children(pid)
    assert len(kids) == 1, kids
    with open("/proc/%d/comm" % kids[0]) as f:
        assert f.read().strip() == "eidgate-keys"
    return pid, kids[0]


def status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        return re.search(r"^%s:\s+(.*)$" % field, f.read(), re.M).group(1)


def open_files(pid, skip_stdio=False):
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        if skip_stdio and int(fd) <= 2:
            continue
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out


def memory_has(pid, needles):
    """Which of needles (bytes) occur in pid's readable memory, and how many bytes could
    be read. Huge mappings (the sanitizers' shadow) are skipped: the heap and stacks are
    what matter."""
    found, read = set(), 0
    try:
        mem = open("/proc/%d/mem" % pid, "rb", 0)
    except OSError:
        return found, 0
    with open("/proc/%d/maps" % pid) as maps, mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if "r" not in parts[1] or hi - lo > (512 << 20) or "[vvar]" in line:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            read += len(data)
            for n in needles:
                if n in data:
                    found.add(n)
    return found, read


def private_scalar(pem_path):
    out = subprocess.run(["openssl", "ec", "-in", pem_path, "-text", "-noout"],
                         capture_output=True, text=True, check=True).stdout
    hexpart = re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)", out).group(1)
    return bytes.fromhex(re.sub(r"[\s:]", "", hexpart)).rjust(32, b"\0")[-32:]


def session_secrets(path):
    with open(path, "rb") as f:
        master = f.read()
    return master, hmac.new(master, b"eidgate session v1", hashlib.sha256).digest()


def test_the_serving_process_holds_no_key(stack):
    pid, kpid = key_process(stack, "gateway")
    keys = os.path.join(stack.pki, "keys")
    names = ("session.key", "assertion.key", "audit.key", "server.key")
    for path in open_files(pid):
        assert not any(path.endswith(n) for n in names), path
    # Besides stdio, the key process has its channels (socketpairs) and nothing else:
    # no listening socket, no access log, no key file left open.
    tcp = ""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            tcp += f.read()
    tcp_inodes = {line.split()[9] for line in tcp.splitlines()[1:] if len(line.split()) > 9}
    for path in open_files(kpid, skip_stdio=True):
        assert path.startswith("socket:"), path
        assert path[len("socket:["):-1] not in tcp_inodes, "a TCP socket in the key process"
    assert status(kpid, "NoNewPrivs") == "1"
    # Make the gateway use every key before looking.
    assert stack.request("GET", "/__echo", who=WHO).status == 200
    resp, _ = harness.signed_token_request(stack, WHO)
    assert resp.status == 200
    master, derived = session_secrets(os.path.join(keys, "session.key"))
    secrets = {"session key": master, "derived session key": derived}
    for name, path in (("assertion.key", os.path.join(keys, "assertion.key")),
                       ("audit.key", os.path.join(keys, "audit.key")),
                       ("TLS key", os.path.join(stack.pki, "server", "server.key"))):
        d = private_scalar(path)
        # A BIGNUM keeps its words little-endian: the number's bytes reversed.
        secrets[name] = d
        secrets[name + " (as a BIGNUM)"] = d[::-1]
    # The search works: it finds what the gateway certainly holds (its origin).
    known = b"https://127.0.0.1:%d" % stack.port
    leaked, read = memory_has(pid, set(secrets.values()) | {known})
    assert read > 0 and known in leaked, "the gateway's memory could not be searched " \
        "(%d bytes read)" % read
    leaked.discard(known)
    assert not leaked, [k for k, v in secrets.items() if v in leaked]
    # The key process holds them, and no one, root included, may read its memory
    # (PR_SET_DUMPABLE 0) unless it can ptrace anything.
    held, read = memory_has(kpid, {derived, secrets["assertion.key (as a BIGNUM)"],
                                   secrets["TLS key (as a BIGNUM)"]})
    print("  key process memory: %d bytes readable here, %d of 3 keys found" %
          (read, len(held)))
    assert read == 0 or len(held) == 3


def test_started_as_root_the_serving_process_is_the_service_user(stack):
    if os.geteuid() != 0:
        print("  (not root: skipped)")
        return
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    port = harness.gateway_variant(stack, "as-nobody",
                                   replace={"user = %s" % user: "user = nobody"})
    try:
        # The port listens before the drop (binding 443 needs root); a request is served
        # only after it: answered first, then the serving process must already be nobody.
        assert stack.request("GET", "/__echo", who=WHO, port=port).status == 200
        pid, kpid = key_process(stack, "as-nobody")
        nobody = subprocess.run(["id", "-u", "nobody"], capture_output=True,
                                text=True).stdout.strip()
        assert status(pid, "Uid").split() == [nobody] * 4
        assert status(kpid, "Uid").split()[0] == "0"
        # root's uid to read root's key files, but no capability at all.
        assert int(status(kpid, "CapEff"), 16) == 0 and int(status(kpid, "CapPrm"), 16) == 0
        assert stack.request("GET", "/__echo", who=WHO, port=port).status == 200
        for path in open_files(pid):
            assert not path.endswith((".key", "session.key")), path
    finally:
        stack.stop_process("as-nobody")


def test_a_dead_key_process_means_503_then_a_restart(stack):
    """New connections cannot even finish their handshake (the TLS key is gone with the
    key process); on a connection opened before, requests that need a key get 503."""
    port = harness.gateway_variant(stack, "keys-die")
    proc = stack.procs["keys-die"]
    _, kpid = key_process(stack, "keys-die")
    p = stack.person("lb-a")
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30,
                                       context=stack.tls_context(p["chain"], p["key_file"]))
    conn.request("GET", "/eidgate/healthz")
    assert conn.getresponse().read() and True
    before = harness.backend_requests(stack)
    os.kill(kpid, signal.SIGKILL)
    # A user this gateway never signed for: no assertion to reuse.
    conn.request("GET", "/__echo")
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 503 and body["reason"] == "keys-unavailable", (r.status, body)
    conn.request("GET", "/eidgate/readyz")
    r = conn.getresponse()
    ready = json.loads(r.read())
    assert r.status == 503 and ready.get("checks", {}).get("keys") == "unavailable", (r.status, ready)
    conn.close()
    assert proc.wait(timeout=10) == 1, "must stop with status 1 for systemd to restart it"
    # backend_requests counts its own question too.
    assert harness.backend_requests(stack) == before + 1, "a request reached a backend"
    log = stack.log("keys-die")
    assert "the key process" in log and "killed by signal 9" in log, log
    refused = [x for x in stack.audit(db=os.path.join(stack.root, "audit-keys-die"))
               if x.get("reason") == "keys-unavailable"]
    assert refused and all(x["decision"] == "deny" for x in refused), refused
    stack.procs.pop("keys-die", None)


# ---- rotation ------------------------------------------------------------------------
def openssl_key(path):
    harness.ec_key(path, path + ".pub")


def session_key(path):
    with open(path, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(path, 0o600)


def reload(stack, name, config, text):
    with open(config, "w") as f:
        f.write(text)
    log_before = len(stack.log(name))
    os.kill(stack.procs[name].pid, signal.SIGHUP)
    assert harness.wait_until(lambda: "reloaded" in stack.log(name)[log_before:] or
                              "reload of" in stack.log(name)[log_before:], timeout=10)
    assert "reload of" not in stack.log(name)[log_before:], stack.log(name)[log_before:]


def jwks_kids(stack, port):
    return [k["kid"] for k in stack.request(
        "GET", "/.well-known/eidgate-jwks.json", port=port).json()["keys"]]


def bearer(stack, port, token, path="/__echo"):
    return stack.request("GET", path, port=port, headers={"Authorization": "Bearer " + token})


def login(stack, port):
    resp, _ = harness.signed_token_request(stack, WHO, port=port)
    assert resp.status == 200, resp
    return resp.json()["token"]


def test_keys_rotate_through_sighup(stack):
    d = os.path.join(stack.root, "rotation")
    os.makedirs(d, exist_ok=True)
    s1, s2 = os.path.join(d, "s1.key"), os.path.join(d, "s2.key")
    a1, a2 = os.path.join(d, "a1.key"), os.path.join(d, "a2.key")
    c1, c2 = os.path.join(d, "c1.key"), os.path.join(d, "c2.key")
    session_key(s1)
    session_key(s2)
    for k in (a1, a2, c1, c2):
        openssl_key(k)
    keys = os.path.join(stack.pki, "keys")
    port = harness.gateway_variant(stack, "rotate", replace={
        "key_file = %s/session.key" % keys: "key_file = %s" % s1,
        "signing_key = %s/assertion.key" % keys: "signing_key = %s" % a1,
        "signing_key = %s/audit.key" % keys: "signing_key = %s" % c1})
    config = os.path.join(stack.root, "rotate.conf")
    with open(config) as f:
        base = f.read()
    try:
        t1 = login(stack, port)
        [kid1] = jwks_kids(stack, port)
        # 1. Sessions: s2 seals, s1 still opens.
        step1 = base.replace("key_file = %s" % s1,
                             "key_file = %s\nprevious_key_files = %s" % (s2, s1))
        reload(stack, "rotate", config, step1)
        assert bearer(stack, port, t1).status == 200
        t2 = login(stack, port)
        assert bearer(stack, port, t2).status == 200
        # 2. Assertions: a2 published before it signs.
        step2 = step1.replace("signing_key = %s" % a1,
                              "signing_key = %s\npublish_keys = %s" % (a1, a2 + ".pub"))
        reload(stack, "rotate", config, step2)
        kids = jwks_kids(stack, port)
        assert len(kids) == 2 and kids[0] == kid1, kids
        claims = bearer(stack, port, t2, "/__echo/small/x").json()["received"]["assertion"]
        assert json.loads(harness.b64url_decode(claims.split(".")[0]))["kid"] == kid1
        # 3. a2 signs, a1 stays published; the checkpoint key changes too.
        step3 = step2.replace("signing_key = %s\npublish_keys = %s" % (a1, a2 + ".pub"),
                              "signing_key = %s\npublish_keys = %s" % (a2, a1 + ".pub"))
        step3 = step3.replace("signing_key = %s" % c1, "signing_key = %s" % c2)
        reload(stack, "rotate", config, step3)
        kids = jwks_kids(stack, port)
        assert len(kids) == 2 and kids[1] == kid1 and kids[0] != kid1, kids
        a = bearer(stack, port, t2, "/__echo/small/y").json()["received"]["assertion"]
        harness.verify_jws(a, a2 + ".pub")
        for i in range(5):
            assert bearer(stack, port, t2, "/__echo/small/%d" % i).status == 200
        # 4. The old session key dropped: its sessions end; a1 unpublished.
        step4 = step3.replace("\nprevious_key_files = %s" % s1, "")
        step4 = step4.replace("\npublish_keys = %s" % (a1 + ".pub"), "")
        reload(stack, "rotate", config, step4)
        assert bearer(stack, port, t1).status == 401
        assert bearer(stack, port, t2).status == 200
        assert jwks_kids(stack, port) == [kids[0]]
    finally:
        stack.stop_process("rotate")
    # The chain across the checkpoint key change, with the first key alone.
    db = os.path.join(stack.root, "audit-rotate")
    out = subprocess.run([os.path.join(stack.bin, "eidgate"), "audit", "verify", "--db", db,
                          "--key", c1 + ".pub"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 checkpoint key change followed" in out.stdout, out.stdout
    out = subprocess.run([os.path.join(stack.bin, "eidgate"), "audit", "verify", "--db", db,
                          "--key", c2 + ".pub"], capture_output=True, text=True)
    assert out.returncode == 1 and "forged checkpoint" in out.stderr, out.stderr
    changes = stack.audit(db=db, key_changes=True)
    assert [x["reason"] for x in changes if x["kind"] == "key-change"] == [
        "checkpoint-key", "checkpoint-key-rotated"], changes
    shutil.rmtree(d, ignore_errors=True)
