"""Issue 11, finding 1 and the smaller finding on bytes: the access log is written ahead.

A request reaches a backend only after its decision record is in the log (sync = full:
committed; group: accepted into the batch, and a batch that cannot be written stops all
forwarding until the log works again, without dropping what it accepted). The outcome
follows as its own record with the same request id: status, the bytes the client really
received, latency, and how the request ended.

The log is made unwritable as a full disk would: a file size limit set on the running
gateway (prlimit), then lifted again.
"""
import http.client
import os
import resource
import signal

import harness

WHO = "mod-molenberg"


def data_size(stack, name):
    return os.path.getsize(os.path.join(stack.root, "audit-" + name, "data.mdb"))


def limit_files(stack, name, size):
    resource.prlimit(stack.procs[name].pid, resource.RLIMIT_FSIZE,
                     (size, resource.RLIM_INFINITY))


def lift_limit(stack, name):
    resource.prlimit(stack.procs[name].pid, resource.RLIMIT_FSIZE,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def echo(stack, port, i):
    return harness.request_on(stack, port, "POST", "/__echo", who=WHO,
                              body=("request %d" % i).encode())


def decisions(stack, name, path):
    recs = stack.audit(db=os.path.join(stack.root, "audit-" + name))
    return [r for r in recs if r["kind"] == "request" and r.get("path") == path]


def test_full_sync_no_request_reaches_the_backend_without_its_record(stack):
    port = harness.gateway_variant(stack, "wal-full", replace={"sync = group": "sync = full"})
    assert echo(stack, port, -1).status == 200
    limit_files(stack, "wal-full", data_size(stack, "wal-full"))
    before = harness.backend_requests(stack)
    statuses = [echo(stack, port, i).status for i in range(40)]
    executed = harness.backend_requests(stack) - before - 1
    stack.stop_process("wal-full", signal.SIGKILL)
    assert 503 in statuses, statuses
    allowed = [d for d in decisions(stack, "wal-full", "/__echo") if d["decision"] == "allow"]
    # Every request the backend ran has its committed decision; the refused ones never
    # reached it.
    assert executed == statuses.count(200), (executed, statuses)
    assert executed == len(allowed) - 1, (executed, len(allowed))


def test_group_sync_failure_stops_forwarding_and_recovers_without_losing_records(stack):
    port = harness.gateway_variant(stack, "wal-group")
    assert echo(stack, port, -1).status == 200
    limit_files(stack, "wal-group", data_size(stack, "wal-group"))
    before = harness.backend_requests(stack)
    answered = []
    for i in range(400):
        r = echo(stack, port, i)
        answered.append((r.status, r.headers.get("x-request-id")))
        if r.status == 503:
            break
    assert answered[-1][0] == 503, answered[-3:]
    # Refused while the log cannot be written...
    assert echo(stack, port, 1000).status == 503
    lift_limit(stack, "wal-group")
    # ...and working again once it can, without a restart.
    r = harness.wait_until(lambda: echo(stack, port, 1001).status == 200, timeout=10)
    assert r, stack.log("wal-group")[-2000:]
    for i in range(5):
        r = echo(stack, port, 2000 + i)
        answered.append((r.status, r.headers.get("x-request-id")))
    executed = harness.backend_requests(stack) - before - 1
    stack.stop_process("wal-group")
    ok = [rid for status, rid in answered if status == 200]
    logged = {d["request_id"] for d in decisions(stack, "wal-group", "/__echo")
              if d["decision"] == "allow"}
    assert all(rid in logged for rid in ok), [rid for rid in ok if rid not in logged]
    # Each request the backend ran was answered 200 (the one of the wait included).
    assert executed == len(ok) + 1, (executed, len(ok))


def outcome_of(stack, rid):
    def find():
        recs = [r for r in stack.audit() if r.get("request_id") == rid]
        return recs if any(r["kind"] == "outcome" for r in recs) else None
    recs = harness.wait_until(find, timeout=10)
    assert recs, "no outcome record for %s" % rid
    decision = [r for r in recs if r["kind"] == "request"]
    outcome = [r for r in recs if r["kind"] == "outcome"]
    assert len(decision) == 1 and len(outcome) == 1, recs
    assert decision[0]["seq"] < outcome[0]["seq"]
    return decision[0], outcome[0]


def test_outcome_follows_the_decision_with_the_bytes_delivered(stack):
    r = stack.request("GET", "/__big?bytes=5000", who=WHO)
    assert r.status == 200 and len(r.body) == 5000
    decision, outcome = outcome_of(stack, r.headers["x-request-id"])
    assert decision["decision"] == "allow" and decision.get("upstream_status", 0) == 0
    assert outcome["upstream_status"] == 200 and outcome["bytes"] == 5000, outcome
    assert outcome["reason"] == "complete" and outcome["nrn"] == decision["nrn"]


def test_chunked_answer_logs_its_bytes(stack):
    r = stack.request("GET", "/__big?bytes=7777&chunked=1", who=WHO)
    assert r.status == 200 and len(r.body) == 7777
    _, outcome = outcome_of(stack, r.headers["x-request-id"])
    assert outcome["bytes"] == 7777, outcome


def test_client_that_reads_part_of_a_large_answer_is_logged_with_what_it_got(stack):
    p = stack.person(WHO)
    c = http.client.HTTPSConnection("127.0.0.1", stack.port, timeout=30,
                                    context=stack.tls_context(p["chain"], p["key_file"]))
    total = 64 * 1024 * 1024
    c.request("GET", "/__big?bytes=%d" % total)
    resp = c.getresponse()
    rid = resp.getheader("X-Request-Id")
    got = len(resp.read(200 * 1024))
    c.close()
    _, outcome = outcome_of(stack, rid)
    assert outcome["reason"] == "client-gone", outcome
    assert got <= outcome["bytes"] < total, (got, outcome["bytes"])
