"""Issue 14, proven on one machine: three instances behind HAProxy (TCP mode, TLS end to
end, readiness health checks).

1. A login through HAProxy, then requests that land on every instance with the same
   cookie and the same Bearer token; every instance serves all instances' assertion keys.
3. kill -9 of one instance under load (sync = full): clients retry and carry on through
   the others, no backend ran a request without a record, every log verifies.
And the drain on SIGTERM, alone and behind HAProxy under load.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time

import cluster
import harness

OWN_STACK = True
STACK_ARGS = {"sync": "full", "ldap_pair": True}
WHO = "mod-molenberg"


def records_of(stack, c, name, path):
    return [r for r in stack.audit(db=c.db(name))
            if r.get("kind") == "request" and r.get("path") == path]


def bearer_through(stack, c, who):
    r, _ = harness.signed_token_request(stack, who, port=c.front, origin=c.origin)
    assert r.status == 200, r
    return r.json()["token"]


def test_one_login_through_haproxy_works_on_every_instance(stack):
    c = cluster.Cluster(stack).start()
    try:
        r = c.request("GET", "/eidgate/whoami", who=WHO)
        assert r.status == 200, r
        cookie = r.headers["set-cookie"].split(";")[0]
        token = bearer_through(stack, c, WHO)
        path = "/modules/facilities/ckg-molenberg/modules"
        # The cookie with the card it belongs to (as a browser sends both), the token
        # alone (as eidgate-login's user does).
        for i in range(6):
            if i % 2 == 0:
                r = c.request("GET", path, who=WHO, headers={"Cookie": cookie})
            else:
                r = c.request("GET", path, headers={"Authorization": "Bearer " + token})
            assert r.status == 200, (i, r)
        # Round robin: each instance decided some of them, each in its own log.
        for n in c.names:
            seen = harness.wait_until(lambda: records_of(stack, c, n, path), timeout=5)
            assert seen and all(s["decision"] == "allow" for s in seen), (n, seen)
        # Any instance's assertion verifies with the JWK set any instance serves.
        # Straight to each instance, as HAProxy would for a client elsewhere.
        jwks = [json.loads(harness.proxied_request(stack, p, "GET",
                                                   "/.well-known/eidgate-jwks.json").body)
                for p in c.ports.values()]
        kids = [sorted(k["kid"] for k in j["keys"]) for j in jwks]
        assert all(k == kids[0] for k in kids) and len(kids[0]) >= 3, kids
        for n in c.names:
            r = harness.proxied_request(stack, c.ports[n], "GET", path,
                                        headers={"Authorization": "Bearer " + token})
            # The instance records the client HAProxy names, not HAProxy.
            rec = stack.audit_record(r.headers["x-request-id"], db=c.db(n))
            assert rec["client"] == "203.0.113.7", rec
            assert r.status == 200, r
            kid = json.loads(harness.b64url_decode(
                r.json()["received"]["assertion"].split(".")[0]))["kid"]
            assert kid in kids[0], (n, kid)
            harness.verify_jws(r.json()["received"]["assertion"],
                               os.path.join(stack.root, "assertion-%s.key.pub.pem" % n))
    finally:
        c.stop()


def load(c, token, stop, results):
    """One client: POSTs through HAProxy until stop is set, retrying each request up to
    five times on a broken connection or a 5xx, as a browser or eidgate-login user would
    press reload. results gets (final status, attempts)."""
    n = 0
    while not stop.is_set():
        n += 1
        status, attempts = None, 0
        while attempts < 5 and status != 200:
            attempts += 1
            try:
                status = c.request("POST", "/__echo", body=b"load %d" % n,
                                   headers={"Authorization": "Bearer " + token}).status
            except (OSError, ConnectionError):
                status = None
                time.sleep(0.05)
        results.append((status, attempts))


def test_kill_9_under_load_loses_no_record(stack):
    c = cluster.Cluster(stack).start()
    try:
        token = bearer_through(stack, c, WHO)
        before = {rid for rid, _m, _p in harness.backend_journal(stack)}
        stop, results = threading.Event(), []
        wrk = subprocess.Popen(["wrk", "-t1", "-c8", "-d4s", "-H", "Authorization: Bearer " + token,
                                "https://127.0.0.1:%d/modules/facilities/ckg-molenberg/modules" % c.front],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        clients = [threading.Thread(target=load, args=(c, token, stop, results))
                   for _ in range(4)]
        for t in clients:
            t.start()
        time.sleep(1.5)
        stack.procs["gw-b"].send_signal(signal.SIGKILL)
        stack.procs["gw-b"].wait()
        time.sleep(2.5)
        stop.set()
        for t in clients:
            t.join(60)
        wrk_out = wrk.communicate(timeout=60)[0]
        # Clients carried on through the other instances.
        assert results and all(s == 200 for s, _ in results), \
            [r for r in results if r[0] != 200][:5]
        assert sum(1 for _, a in results if a > 1) < len(results) // 2, results
        assert "requests in" in wrk_out, wrk_out
        # Every request the backend ran has its allow record in some instance's log.
        ran = [(rid, m, p) for rid, m, p in harness.backend_journal(stack)
               if rid not in before]
        ids = set()
        for n in c.names:
            ids |= {r["request_id"] for r in stack.audit(db=c.db(n))
                    if r.get("kind") == "request" and r.get("decision") == "allow"}
        missing = [x for x in ran if x[0] not in ids]
        assert ran and not missing, (len(ran), missing[:5])
        # Every log verifies, the killed one too, each on its own and all of them
        # together against the checkpoints the other instances cosigned as witnesses.
        for n in c.names:
            rc, out = cluster.verify_log(stack, c.db(n))
            assert rc == 0, (n, out)
        rc, out = c.verify()
        assert rc == 0, out
        print("    " + "\n    ".join(out.strip().splitlines()[-6:]))
        print("    kill -9 under load: %d client requests (%d retried), %d at the backend; "
              "wrk: %s" % (len(results), sum(1 for _, a in results if a > 1), len(ran),
                           " ".join(wrk_out.split("\n")[-4:-1])))
    finally:
        c.stop()


# ---- drain on SIGTERM ------------------------------------------------------------------
def slow_request(stack, port, out):
    try:
        out.append(harness.request_on(stack, port, "GET", "/__slow?ms=900", who=WHO).status)
    except (OSError, ConnectionError) as e:
        out.append(repr(e))


def test_sigterm_drains_an_instance(stack):
    """SIGTERM: nothing new is accepted, an idle kept-alive connection is closed, a
    request in flight is answered whole, and the gateway then exits 0 by itself."""
    port = harness.gateway_variant(stack, "drain")
    p = stack.person(WHO)
    idle = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                       context=stack.tls_context(p["chain"], p["key_file"]))
    idle.request("GET", "/eidgate/whoami")
    assert idle.getresponse().read()
    answers = []
    t = threading.Thread(target=slow_request, args=(stack, port, answers))
    t.start()
    time.sleep(0.3)
    proc = stack.procs["drain"]
    proc.send_signal(signal.SIGTERM)
    refused = harness.wait_until(lambda: not port_open(port), timeout=5, step=0.02)
    assert refused, "still accepting after SIGTERM"
    t.join(30)
    assert answers == [200], answers
    # The kept-alive connection was closed by the gateway, not left to time out.
    idle.sock.settimeout(5)
    assert idle.sock.recv(1) == b""
    assert proc.wait(20) == 0
    log = stack.log("drain")
    assert "draining" in log and "drained in" in log, log[-2000:]
    stack.procs.pop("drain", None)


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_sigterm_behind_haproxy_loses_no_request(stack):
    """An instance drained under load behind HAProxy: clients that do not retry see no
    error (HAProxy sends refused connections elsewhere), the instance exits 0, and HAProxy
    marks it down."""
    c = cluster.Cluster(stack).start()
    try:
        token = bearer_through(stack, c, WHO)
        failures, done = [], []
        stop = threading.Event()

        def client():
            while not stop.is_set():
                try:
                    r = c.request("GET", "/__slow?ms=200",
                                  headers={"Authorization": "Bearer " + token})
                    (done if r.status == 200 else failures).append(r.status)
                except (OSError, ConnectionError) as e:
                    failures.append(repr(e))
        threads = [threading.Thread(target=client) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        stack.procs["gw-b"].send_signal(signal.SIGTERM)
        assert stack.procs["gw-b"].wait(30) == 0
        assert c.wait_states({"gw-b": "DOWN"}, timeout=10), c.server_states()
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(30)
        assert done and not failures, (len(done), failures[:5])
        assert "drained in" in stack.log("gw-b"), stack.log("gw-b")[-2000:]
        stack.procs.pop("gw-b", None)
        print("    drain behind HAProxy: %d requests, 0 failed" % len(done))
    finally:
        c.stop()
