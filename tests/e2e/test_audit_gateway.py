"""Issue 6 §3: nothing is served unlogged. A log that cannot be written makes the gateway
answer 503; a gateway killed with -9 under load restarts with a log that verifies, and
with sync = full every response a client received has its record."""
import os
import resource
import signal
import subprocess
import threading
import time

import harness


def audit_of(stack, name, *args):
    return stack.audit(*args, db=os.path.join(stack.root, "audit-" + name))


def test_unwritable_log_gives_503(stack):
    # The data file may not grow past what the first records need: the next commits fail
    # with EFBIG, as on a full disk.
    limit = 256 * 1024

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    port = harness.gateway_variant(stack, "full", preexec_fn=small_files,
                                   replace={"map_size = 64MiB": "map_size = 1MiB"})
    statuses = []
    for i in range(400):
        r = harness.request_on(stack, port, "GET", "/modules/catalog/modules", who="vte-a")
        statuses.append(r.status)
        if r.status == 503:
            assert r.json()["reason"] == "audit-unavailable", r
            break
    assert 503 in statuses, statuses[-5:]
    # Once failed, the log stays failed: nothing more is served.
    r = harness.request_on(stack, port, "GET", "/modules/catalog/modules", who="vte-a")
    assert r.status == 503, r
    assert "access log" in stack.log("full") or "audit" in stack.log("full")
    stack.stop_process("full", signal.SIGKILL)


def load(stack, port, stop, seen, lock):
    while not stop.is_set():
        try:
            r = harness.request_on(stack, port, "GET", "/modules/facilities/ckg-molenberg/modules",
                                   who="mod-molenberg")
        except OSError:
            continue
        rid = r.headers.get("x-request-id")
        if rid:
            with lock:
                seen.append((r.status, rid))


def test_kill_9_under_load_with_sync_full(stack):
    port = harness.gateway_variant(stack, "crash", replace={"sync = group": "sync = full"})
    stop, lock, seen = threading.Event(), threading.Lock(), []
    workers = [threading.Thread(target=load, args=(stack, port, stop, seen, lock)) for _ in range(4)]
    for w in workers:
        w.start()
    time.sleep(2.0)
    stack.procs["crash"].send_signal(signal.SIGKILL)
    stack.procs["crash"].wait()
    stop.set()
    for w in workers:
        w.join()
    del stack.procs["crash"]
    assert len(seen) > 10, len(seen)
    # Restart on the same log: it opens, and the chain verifies.
    port = harness.gateway_variant(stack, "crash", replace={"sync = group": "sync = full"}, port=port)
    r = harness.request_on(stack, port, "GET", "/modules/catalog/modules", who="vte-a")
    assert r.status == 200, r
    stack.stop_process("crash")
    v = subprocess.run([os.path.join(stack.bin, "eidgate"), "audit", "verify", "--db",
                        os.path.join(stack.root, "audit-crash")], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    logged = {rec["request_id"] for rec in audit_of(stack, "crash")}
    missing = [rid for status, rid in seen if rid not in logged]
    assert not missing, "%d responses without a record, e.g. %s" % (len(missing), missing[:3])
