"""A backend that answers badly must not fool the gateway: responses whose end is
ambiguous (conflicting lengths, length and chunked, bad chunk framing), folded or
control-character header lines and oversized heads are refused with 502 and logged; a
backend that sends more than its response (a smuggled second answer) never has those
bytes read as the answer to another client's request. Also: refusals and built-in
answers keep the client's connection open (libmicrohttpd closes it after an answer
given in its first callback, which the gateway avoids).

The backend here is a real TCP server speaking raw bytes, so each bad answer is exactly
what a broken or compromised backend would put on the wire."""
import http.client
import os
import re
import socket
import ssl
import threading
import time

import harness

WHO = "mod-molenberg"

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
ANSWERS = {
    "plain": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain",
    "cl-conflict": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "cl-list": b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
    "cl-and-te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"5\r\nhello\r\n0\r\n\r\n",
    "te-gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok",
    "ctl-value": b"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok",
    "space-colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
    "bad-status": b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
    "not-http": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    "huge-head": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\nok",
    "switch": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
    # Acceptable oddities: bare LF line ends, an interim answer, a body ended by close.
    "lf-only": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "interim": b"HTTP/1.1 100 Continue\r\n\r\n" + OK,
    "eof-body": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close",
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    # A second answer after the first: must never reach anyone.
    "smuggle": OK + b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil",
    # Repeated fields reach the client in the backend's order.
    "order": b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nLink: <x>\r\n"
             b"Link: <y>\r\nContent-Length: 2\r\n\r\nok",
    # An answer before the upload was read, bigger than the gateway's buffer.
    "early": b"HTTP/1.1 200 OK\r\nContent-Length: 16777216\r\n\r\n" + b"e" * 16777216,
}
REFUSED = ["cl-conflict", "cl-list", "cl-and-te", "te-gzip", "obs-fold", "ctl-value",
           "space-colon", "bad-status", "not-http", "huge-head", "switch"]


FLOOD = 16 << 20


def flood(c):
    try:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % FLOOD + b"f" * FLOOD)
    except OSError:
        pass


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RawBackend:
    """Answers each request on a connection with ANSWERS[last path segment]."""

    def __init__(self, tls=None):
        self.tls = tls
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        if self.tls is not None:
            try:
                c = self.tls.wrap_socket(c, server_side=True)
            except (ssl.SSLError, OSError):
                c.close()
                return
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = c.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                case = head.split(b" ")[1].decode().rsplit("/", 1)[-1]
                if case == "reset":             # drop the connection with a RST
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                    return
                if case == "early":             # answer, never read the upload
                    try:
                        c.sendall(ANSWERS["early"])
                    except OSError:
                        pass
                    time.sleep(30)
                    return
                if case == "flood":             # a big answer at once, the upload read slowly
                    threading.Thread(target=lambda: flood(c), daemon=True).start()
                    length = int([h.split(b":")[1] for h in head.split(b"\r\n")
                                  if h.lower().startswith(b"content-length:")][0])
                    got = len(buf)
                    while got < length:
                        data = c.recv(65536)
                        if not data:
                            return
                        got += len(data)
                        time.sleep(0.005)
                    time.sleep(60)              # flood() closes the socket when done
                    return
                if case == "count":             # read the body slowly, answer its length
                    length = int([h.split(b":")[1] for h in head.split(b"\r\n")
                                  if h.lower().startswith(b"content-length:")][0])
                    while len(buf) < length:
                        data = c.recv(4096)
                        if not data:
                            return
                        buf += data
                    body, buf = str(length).encode(), buf[length:]
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                    continue
                c.sendall(ANSWERS.get(case, ANSWERS["plain"]))
                if case in ("eof-body", "bad-chunk", "huge-head", "not-http", "switch"):
                    return

    def close(self):
        self.sock.close()


def server_tls(stack):
    """A TLS server context with the test PKI's server certificate (127.0.0.1)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(stack.pki, "server", "server.pem"),
                        os.path.join(stack.pki, "server", "server.key"))
    return ctx


def gateway_with_raw_backend(stack, raw, name="raw", scheme="http", preexec_fn=None):
    """A gateway whose policy also routes /__raw/** to the raw backend."""
    with open(stack.config) as f:
        conf = f.read()
    policy = [line.split("=", 1)[1].strip() for line in conf.splitlines()
              if line.strip().startswith("file =") and line.strip().endswith(".policy")][0]
    with open(policy) as f:
        text = f.read()
    mine = os.path.join(stack.root, name + ".policy")
    with open(mine, "w") as f:
        f.write(text + "\nbackend test-raw %s://127.0.0.1:%d timeout=5s\n"
                "allow test-raw GET,HEAD,POST /__raw/** -> test-raw when authenticated\n" % (
                    scheme, raw.port))
    return harness.gateway_variant(stack, name, replace={policy: mine}, preexec_fn=preexec_fn)


def test_hostile_backend_answers(stack):
    raw = RawBackend()
    try:
        port = gateway_with_raw_backend(stack, raw)
        get = lambda case: harness.request_on(stack, port, "GET", "/__raw/" + case, who=WHO)  # noqa: E731
        for case in REFUSED:
            r = get(case)
            assert r.status == 502, (case, r)
            assert b"chunked" not in r.body and b"Content-Length" not in r.body, (case, r.body)
        rec = harness.audit_outcome(stack, r.json()["request_id"],
                                    db=os.path.join(stack.root, "audit-raw"))
        assert rec["upstream_status"] == 502 and rec["backend"] == "test-raw", rec
        assert get("lf-only").body == b"ok"
        p = stack.person(WHO)
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30,
                                        context=stack.tls_context(p["chain"], p["key_file"]))
        c.request("GET", "/__raw/order")
        r = c.getresponse()
        r.read()
        hdrs = [(k.lower(), v) for k, v in r.getheaders() if k.lower() in ("set-cookie", "link")]
        assert hdrs == [("set-cookie", "a=1"), ("set-cookie", "b=2"), ("link", "<x>"),
                        ("link", "<y>")], hdrs
        c.close()
        assert get("interim").body == b"ok"
        assert get("eof-body").body == b"until-close"
        # An upload to a backend that resets the connection: 502, and the gateway lives on.
        r = harness.request_on(stack, port, "POST", "/__raw/reset", who=WHO,
                               body=b"u" * (2 << 20))
        assert r.status == 502, r
        assert get("plain").body == b"plain"
        # The smuggled answer: the gateway's connection to the backend is dropped with
        # its extra bytes, so the next requests get their own answers.
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30,
                                        context=stack.tls_context(p["chain"], p["key_file"]))
        for case, want in (("smuggle", b"ok"), ("plain", b"plain"), ("plain", b"plain")):
            c.request("GET", "/__raw/" + case)
            r = c.getresponse()
            assert r.status == 200 and r.read() == want, case
        c.close()
        # Broken chunk framing after a good head: the client's body ends without its last
        # chunk, never as a complete answer.
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30,
                                        context=stack.tls_context(p["chain"], p["key_file"]))
        c.request("GET", "/__raw/bad-chunk")
        r = c.getresponse()
        try:
            data = r.read()
            complete = True
        except (http.client.IncompleteRead, ConnectionError):
            complete = False
            data = b""
        assert not complete or r.status >= 500, (r.status, data)
        c.close()
    finally:
        raw.close()


def test_refusals_and_builtin_answers_keep_the_connection(stack):
    p = stack.person(WHO)
    c = http.client.HTTPSConnection("127.0.0.1", stack.port, timeout=30,
                                    context=stack.tls_context(p["chain"], p["key_file"]))
    sock = None
    for method, path, status in (("GET", "/eidgate/whoami", 200),
                                 ("GET", "/dossiers/facilities/none/x", 403),
                                 ("GET", "/.well-known/eidgate-jwks.json", 200),
                                 ("GET", "/eidgate/nothing-here", 404),
                                 ("GET", "/eidgate/whoami", 200)):
        c.request(method, path)
        r = c.getresponse()
        r.read()
        assert r.status == status, (path, r.status)
        assert (r.getheader("Connection") or "").lower() != "close", path
        if sock is None:
            sock = c.sock
        assert c.sock is sock, "the connection was closed after " + path
    c.close()


def test_https_backend_is_verified(stack):
    """An https:// backend: TLS with the backend's certificate checked against the
    system's CA store (here pointed at the test server CA with SSL_CERT_FILE, which
    OpenSSL reads) and the URL's address; an unknown issuer is 502, logged."""
    raw = RawBackend(tls=server_tls(stack))
    ca = os.path.join(stack.pki, "server", "server-ca.pem")
    try:
        trusting = gateway_with_raw_backend(
            stack, raw, "tls-ok", "https",
            preexec_fn=lambda: os.environ.__setitem__("SSL_CERT_FILE", ca))
        for case, want in (("plain", b"plain"), ("smuggle", b"ok"), ("plain", b"plain")):
            r = harness.request_on(stack, trusting, "GET", "/__raw/" + case, who=WHO)
            assert r.status == 200 and r.body == want, (case, r)
        # TLS connections to the backend are kept alive too: one per event-loop thread.
        connections = lambda: int(re.search(  # noqa: E731
            r"^eidgate_upstream_connections_total (\d+)$", harness.request_on(
                stack, trusting, "GET", "/eidgate/metrics").body.decode(), re.M).group(1))
        before = connections()
        for _ in range(12):
            assert harness.request_on(stack, trusting, "GET", "/__raw/plain", who=WHO).status == 200
        assert connections() - before <= 2, connections() - before
        empty = os.path.join(stack.root, "no-ca.pem")
        open(empty, "w").close()
        doubting = gateway_with_raw_backend(
            stack, raw, "tls-unknown", "https",
            preexec_fn=lambda: os.environ.__setitem__("SSL_CERT_FILE", empty))
        r = harness.request_on(stack, doubting, "GET", "/__raw/plain", who=WHO)
        assert r.status == 502, r
        rec = harness.audit_outcome(stack, r.json()["request_id"],
                                    db=os.path.join(stack.root, "audit-tls-unknown"))
        assert rec["reason"] == "upstream-unreachable", rec
        assert "certificate" in stack.log("tls-unknown"), stack.log("tls-unknown")
    finally:
        raw.close()


def raw_tls_request(stack, port, request):
    """The status line of the answer to raw bytes (b"" when the connection closed
    without one)."""
    return harness.raw_tls_request(stack, request, WHO, port=port,
                                   until=b"\r\n").split(b"\r\n", 1)[0]


def test_request_smuggling_and_uploads(stack):
    """A request with both Content-Length and Transfer-Encoding (the classic way to
    smuggle a second request past a proxy) is refused with 400 before anything reaches
    a backend; so is a transfer coding other than chunked. Uploads to an https backend
    that reads slowly arrive whole; a backend that answers before reading the upload
    ends in 504, logged, instead of a wait without end."""
    raw = RawBackend()
    raws = RawBackend(tls=server_tls(stack))
    ca = os.path.join(stack.pki, "server", "server-ca.pem")
    try:
        port = gateway_with_raw_backend(stack, raw, "smuggle")
        smuggled = (b"GET /__raw/x HTTP/1.1\r\nX-Eidgate-Nrn: 00000000097\r\nHost: a\r\n\r\n")
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(b"hello" + smuggled), b"hello" + smuggled)
        for framing in (b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                        b"Transfer-Encoding: gzip, chunked\r\n",
                        b"Content-Length: 9223372036854775808\r\n"):
            status = raw_tls_request(stack, port, b"POST /__raw/a HTTP/1.1\r\nHost: x\r\n" +
                                     framing + b"\r\n" + body)
            assert status.startswith(b"HTTP/1.1 400") or status == b"", (framing, status)
        assert not any(r.get("path") == "/__raw/x" for r in
                       stack.audit(db=os.path.join(stack.root, "audit-smuggle"))), "smuggled"
        # A slow https backend and a 6 MiB upload: every byte arrives.
        sport = gateway_with_raw_backend(stack, raws, "tls-upload", "https",
                                         preexec_fn=lambda: os.environ.__setitem__("SSL_CERT_FILE", ca))
        r = harness.request_on(stack, sport, "POST", "/__raw/count", who=WHO, body=b"u" * (6 << 20))
        assert r.status == 200 and r.body == str(6 << 20).encode(), r
        # Answer first, upload never read: the backend's timeout (5 s) ends it.
        p = stack.person(WHO)
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=60,
                                        context=stack.tls_context(p["chain"], p["key_file"]))
        try:
            c.request("POST", "/__raw/early", body=b"u" * (64 << 20))
            r = c.getresponse()
            assert r.status == 504, r.status
        except (ConnectionError, ssl.SSLError, http.client.HTTPException):
            pass                    # the gateway answered and closed while we still sent
        c.close()
        recs = [x for x in stack.audit(db=os.path.join(stack.root, "audit-smuggle"))
                if x.get("path") == "/__raw/early"]
        assert recs and recs[-1]["upstream_status"] == 504, recs
        # A client that leaves in the middle of its upload still leaves a record.
        p = stack.person(WHO)
        ctx = stack.tls_context(p["chain"], p["key_file"])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            with ctx.wrap_socket(sock, server_hostname="localhost") as t:
                t.sendall(b"POST /__raw/count?gone=1 HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 1000000\r\n\r\n" + b"g" * 1000)
                time.sleep(0.5)
        end = time.time() + 10
        while time.time() < end:
            recs = [x for x in stack.audit(db=os.path.join(stack.root, "audit-smuggle"))
                    if x.get("path") == "/__raw/count"]
            if recs:
                break
            time.sleep(0.2)
        assert recs and recs[-1]["reason"] == "client-gone", recs
        # A backend answering big and early while the upload is read slowly: the gateway
        # waits without spinning (a spin would use a core for the whole upload).
        pid = stack.procs["smuggle"].pid
        cpu0, t0 = cpu_seconds(pid), time.time()
        # (48 MiB: more than the kernel's socket buffers hold, so the upload really waits)
        r = harness.request_on(stack, port, "POST", "/__raw/flood", who=WHO, body=b"u" * (48 << 20))
        cpu, wall = cpu_seconds(pid) - cpu0, time.time() - t0
        assert r.status == 200 and len(r.body) == FLOOD, (r.status, len(r.body))
        assert cpu < 0.6 * wall, "gateway used %.2f s of CPU in %.2f s" % (cpu, wall)
    finally:
        raw.close()
        raws.close()
