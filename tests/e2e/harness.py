"""A real eidgate stack for end-to-end tests: test PKI, slapd, both sample backends and
the gateway, each a real process on 127.0.0.1 with ports picked free at start.

Only the Python standard library is used; certificates and keys come from
certs/gen-test-pki.sh, the directory from scripts/slapd.sh and demo/directory/make-ldif.sh.
"""
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def shared_pki():
    """The test PKI, generated once per checkout (idempotent, ~10 s the first time)."""
    pki = os.environ.get("EIDGATE_TEST_PKI", os.path.join(REPO, "run", "test", "pki"))
    subprocess.run(["bash", os.path.join(REPO, "certs", "gen-test-pki.sh"), pki], check=True,
                   stdout=subprocess.DEVNULL)
    return pki


def shared_tokens(pki):
    tokens = os.path.join(os.path.dirname(pki), "tokens")
    subprocess.run(["bash", os.path.join(REPO, "certs", "make-tokens.sh"), pki, tokens],
                   check=True, stdout=subprocess.DEVNULL)
    return tokens


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:200])


class Stack:
    """ldap_pair: two slapd providers in mirror mode (scripts/slapd.sh start-pair) on
    ldap_port and ldap_port2, the gateway's [ldap] uri naming both in that order;
    provider_stop("a"|"b") and provider_start() stop and bring back one of them."""
    def __init__(self, bin_dir, sync="group", ldap_pair=False):
        self.bin = os.path.abspath(bin_dir)
        self.ldap_pair = ldap_pair
        self.ldap_port2 = free_port() if ldap_pair else None
        self.pki = shared_pki()
        self.root = tempfile.mkdtemp(prefix="eidgate-e2e-", dir=os.path.join(REPO, "run"))
        self.sync = sync
        self.procs = {}
        self.ldap_port = free_port()
        self.ldaps_port = free_port()
        self.modules_port = free_port()
        self.dossiers_port = free_port()
        self.port = free_port()

    # ---- lifecycle -------------------------------------------------------------------
    def start(self, gateway=True, test_rules=True):
        """gateway=False: everything but the gateway (make cluster starts instances of its
        own); test_rules=False: the policy of make run, without the test-only routes."""
        self.start_ldap()
        self.start_backends()
        # Test stacks get the test-only routes to the backends' /__echo, /__big, ...
        subprocess.run(["bash", os.path.join(REPO, "scripts", "write-config.sh"), self.root,
                        self.pki, str(self.port), str(self.ldap_port), str(self.modules_port),
                        str(self.dossiers_port), self.sync], check=True,
                       env=dict(os.environ, EIDGATE_TEST_RULES="1" if test_rules else "0"))
        self.config = os.path.join(self.root, "eidgate.conf")
        if self.ldap_pair:
            config_variant(self, "eidgate", {
                "uri = ldap://127.0.0.1:%d\n" % self.ldap_port:
                "uri = ldap://127.0.0.1:%d/ ldap://127.0.0.1:%d/\n" % (self.ldap_port,
                                                                     self.ldap_port2)})
        if gateway:
            self.start_gateway()
        return self

    def ldap_dir(self):
        """The directory slapd.sh load and stop take: the first provider of a pair."""
        return os.path.join(self.root, "ldap", "a") if self.ldap_pair else \
            os.path.join(self.root, "ldap")

    def start_ldap(self):
        """slapd with the test directory, StartTLS on ldap_port and TLS on ldaps_port;
        or, with ldap_pair, two providers (StartTLS on ldap_port and ldap_port2)."""
        ldap = os.path.join(self.root, "ldap")
        if self.ldap_pair:
            subprocess.run(["bash", os.path.join(REPO, "scripts", "slapd.sh"), "start-pair",
                            ldap, str(self.ldap_port), str(self.ldap_port2),
                            os.path.join(self.pki, "keys", "ldap.secret"),
                            "--tls", os.path.join(self.pki, "ldap", "slapd.pem"),
                            os.path.join(self.pki, "ldap", "slapd.key")],
                           check=True, stdout=subprocess.DEVNULL)
            ldap = self.ldap_dir()
        else:
            self.start_single_ldap(ldap)
        ldif = subprocess.run(["bash", os.path.join(REPO, "demo", "directory", "make-ldif.sh")],
                              check=True, capture_output=True).stdout
        subprocess.run(["bash", os.path.join(REPO, "scripts", "slapd.sh"), "load", ldap, "-"],
                       input=ldif, check=True, stdout=subprocess.DEVNULL)

    def start_single_ldap(self, ldap):
        subprocess.run(["bash", os.path.join(REPO, "scripts", "slapd.sh"), "start", ldap,
                        str(self.ldap_port), os.path.join(self.pki, "keys", "ldap.secret"),
                        "--tls", os.path.join(self.pki, "ldap", "slapd.pem"),
                        os.path.join(self.pki, "ldap", "slapd.key"),
                        "--ldaps", str(self.ldaps_port)],
                       check=True, stdout=subprocess.DEVNULL)

    def stop_ldap(self):
        if self.ldap_pair:
            subprocess.run(["bash", os.path.join(REPO, "scripts", "slapd.sh"), "stop-pair",
                            os.path.join(self.root, "ldap")], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return
        subprocess.run(["bash", os.path.join(REPO, "scripts", "slapd.sh"), "stop",
                        os.path.join(self.root, "ldap")], check=False,
                       stdout=subprocess.DEVNULL)

    def provider_stop(self, which):
        subprocess.run(["bash", os.path.join(REPO, "scripts", "slapd.sh"), "stop",
                        os.path.join(self.root, "ldap", which)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def provider_start(self, which):
        subprocess.run(["bash", os.path.join(REPO, "scripts", "slapd.sh"), "restart",
                        os.path.join(self.root, "ldap", which)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def restart_ldap(self):
        subprocess.run(["bash", os.path.join(REPO, "scripts", "slapd.sh"), "restart",
                        os.path.join(self.root, "ldap")], check=True,
                       stdout=subprocess.DEVNULL)

    def spawn(self, name, args, preexec_fn=None):
        log = open(os.path.join(self.root, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(args, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL, preexec_fn=preexec_fn)

    def start_backends(self):
        # The module backend's journal names every request it ran (backend_journal).
        self.spawn("modules", [os.path.join(self.bin, "eidgate-demo-modules"), "--listen",
                               "127.0.0.1:%d" % self.modules_port, "--journal",
                               os.path.join(self.root, "modules.journal")])
        self.spawn("dossiers", [os.path.join(self.bin, "eidgate-demo-dossiers"), "--listen",
                                "127.0.0.1:%d" % self.dossiers_port])
        wait_port(self.modules_port)
        wait_port(self.dossiers_port)

    def start_gateway(self):
        self.spawn("gateway", [os.path.join(self.bin, "eidgate"), "serve", "-c", self.config])
        try:
            wait_port(self.port)
        except RuntimeError:
            raise RuntimeError("gateway did not start:\n" + self.log("gateway"))

    def stop_process(self, name, sig=signal.SIGTERM, timeout=20):
        p = self.procs.pop(name, None)
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def log(self, name):
        try:
            with open(os.path.join(self.root, name + ".log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, keep=False):
        for name in list(self.procs):
            self.stop_process(name)
        self.stop_ldap()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- people and requests -----------------------------------------------------------
    def person(self, key):
        d = os.path.join(self.pki, "people", key)
        with open(os.path.join(d, "nrn")) as f:
            nrn = f.read().strip()
        return {"key": key, "nrn": nrn, "chain": os.path.join(d, "chain.pem"),
                "cert": os.path.join(d, "auth.pem"), "key_file": os.path.join(d, "auth.key"),
                "sign": os.path.join(d, "sign.pem"), "sign_key": os.path.join(d, "sign.key")}

    def tls_context(self, cert=None, key=None):
        ctx = ssl.create_default_context(cafile=os.path.join(self.pki, "server", "server-ca.pem"))
        if cert is not None:
            ctx.load_cert_chain(cert, key)
        return ctx

    def request(self, method, path, who=None, cert=None, key=None, headers=None, body=None,
                conn=None, port=None):
        """who: a person key (their authentication chain is the client certificate);
        port: another gateway than this stack's."""
        if who is not None:
            p = self.person(who)
            cert, key = p["chain"], p["key_file"]
        own = conn is None
        if own:
            conn = http.client.HTTPSConnection("127.0.0.1", port or self.port, timeout=30,
                                               context=self.tls_context(cert, key))
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        if own:
            conn.close()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)

    # ---- the access log ----------------------------------------------------------------
    def audit(self, *args, db=None, key_changes=False, policies=False):
        """Records of this stack's access log (or of the log in db), as dicts; the
        records naming the checkpoint key ("key-change", the first of every log) and
        the policy put in force ("policy", at every start and reload) only when asked
        for."""
        out = subprocess.run([os.path.join(self.bin, "eidgate"), "audit", "query", "--db",
                              db or os.path.join(self.root, "audit"), "--format", "json"]
                             + list(args),
                             check=True, capture_output=True, text=True).stdout
        recs = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [r for r in recs if (key_changes or r.get("kind") != "key-change") and
                (policies or r.get("kind") != "policy")]

    def audit_record(self, request_id, timeout=5.0, db=None):
        """The decision record of one request (group commit may take a few ms to land).
        A request that also logged someone in has a "login" record first: the decision
        is the last record with its id that is not its outcome (audit_outcome)."""
        end = time.time() + timeout
        while time.time() < end:
            found = [rec for rec in self.audit(db=db) if rec.get("request_id") == request_id
                     and rec.get("kind") != "outcome"]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError("no access-log record for request %s" % request_id)


def audit_outcome(stack, request_id, timeout=10.0, db=None):
    """The outcome record of one forwarded request or rights change (it follows the
    decision once the request has ended)."""
    def find():
        found = [rec for rec in stack.audit(db=db) if rec.get("request_id") == request_id
                 and rec.get("kind") == "outcome"]
        return found[-1] if found else None
    rec = wait_until(find, timeout=timeout)
    if rec is None:
        raise AssertionError("no outcome record for request %s" % request_id)
    return rec


# ---- JWS (ES256) checking with the openssl command line ----------------------------------
def ec_key(path, pub):
    """An EC P-256 private key at path (mode 0600, as eidgate wants its keys) and its
    public half at pub; returns (path, pub)."""
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", path], check=True, capture_output=True)
    os.chmod(path, 0o600)
    subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    return path, pub


def pipeline_healthz(t, n, timeout):
    """Sends n pipelined GET /eidgate/healthz at once on the TLS socket t and reads the
    answers; (answers counted, seconds taken). Counted as they come: a client that
    rescanned all it had read would be the slow part itself."""
    one = b"GET /eidgate/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    start = time.time()
    t.sendall(one * n)
    got, tail = 0, b""
    t.settimeout(timeout)
    while got < n:
        chunk = t.recv(1 << 20)
        if not chunk:
            break
        buf = tail + chunk
        got += buf.count(b"HTTP/1.1 200")
        tail = buf[-11:]
    return got, time.time() - start


def read_all(sock):
    """Everything sock sends until it closes."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def der_of(pem):
    return subprocess.run(["openssl", "x509", "-outform", "DER", "-in", pem], check=True,
                          capture_output=True).stdout


def signed_token_request(stack, who, challenge=None, origin=None, use_sign_key=False,
                         port=None, via=None):
    """The PKCS#11 login as eidgate-login does it, with who's key file and openssl
    instead of a token: the gateway's challenge signed, sent to /eidgate/auth/token.
    port: another gateway; via: a person whose certificate the TLS connection presents.
    Returns (response, challenge)."""
    p = stack.person(who)
    port = port or stack.port
    if challenge is None:
        challenge = stack.request("POST", "/eidgate/auth/challenge",
                                  port=port).json()["challenge"]
    origin = origin or "https://127.0.0.1:%d" % port
    msg = ("eidgate-login-v1\n%s\n%s" % (origin, challenge)).encode()
    key = p["sign_key"] if use_sign_key else p["key_file"]
    cert = p["sign"] if use_sign_key else p["cert"]
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=msg, check=True,
                         capture_output=True).stdout
    body = {"challenge": challenge, "origin": origin, "alg": "RSA-SHA256", "signature": b64u(sig),
            "chain": [b64u(der_of(cert))]}
    return stack.request("POST", "/eidgate/auth/token", who=via, body=json.dumps(body),
                         headers={"Content-Type": "application/json"}, port=port), challenge


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def der_int(b):
    b = b.lstrip(b"\x00") or b"\x00"
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + bytes([len(b)]) + b


def raw_to_der(sig):
    body = der_int(sig[:32]) + der_int(sig[32:])
    return b"\x30" + bytes([len(body)]) + body


def verify_jws(token, pubkey_pem):
    """Returns (header, claims) when the ES256 signature verifies under pubkey_pem."""
    h, p, s = token.split(".")
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "in"), "wb") as f:
            f.write((h + "." + p).encode())
        with open(os.path.join(d, "sig"), "wb") as f:
            f.write(raw_to_der(b64url_decode(s)))
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pubkey_pem, "-signature",
                            os.path.join(d, "sig"), os.path.join(d, "in")],
                           capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("assertion signature does not verify: " + r.stdout + r.stderr)
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


def jwk_thumbprint(jwk):
    canon = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]},
                       separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b"=").decode()


def config_variant(stack, name, replace, text=None):
    """The stack's configuration (or text) with lines replaced ({"old": "new"}, every old
    present), written to <root>/<name>.conf; returns that path."""
    if text is None:
        with open(stack.config) as f:
            text = f.read()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = os.path.join(stack.root, name + ".conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def gateway_variant(stack, name, replace=None, session_key=None, preexec_fn=None, port=None):
    """Starts another gateway on the same directory and backends, with its own port,
    access log and configuration lines replaced ({"idle_timeout = 15m": "..."})."""
    port = port or free_port()
    with open(stack.config) as f:
        text = f.read()
    text = text.replace("127.0.0.1:%d" % stack.port, "127.0.0.1:%d" % port)
    text = text.replace("db = %s/audit" % stack.root, "db = %s/audit-%s" % (stack.root, name))
    if session_key is not None:
        text = text.replace(os.path.join(stack.pki, "keys", "session.key"), session_key)
    path = config_variant(stack, name, replace or {}, text)
    stack.spawn(name, [os.path.join(stack.bin, "eidgate"), "serve", "-c", path],
                preexec_fn=preexec_fn)
    try:
        wait_port(port)
    except RuntimeError:
        raise RuntimeError("gateway %s did not start:\n%s" % (name, stack.log(name)))
    return port


def request_on(stack, port, method, path, who=None, headers=None, body=None):
    """Like Stack.request, against another gateway port."""
    return stack.request(method, path, who=who, headers=headers, body=body, port=port)


# ---- raw requests ------------------------------------------------------------------------
def raw_tls_request(stack, request, who, port=None, until=b"\r\n\r\n"):
    """Sends raw bytes over a TLS connection with who's card certificate; returns what
    came back up to `until` (or all until the connection closed)."""
    p = stack.person(who)
    ctx = stack.tls_context(p["chain"], p["key_file"])
    with socket.create_connection(("127.0.0.1", port or stack.port), timeout=30) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(request)
            data = b""
            while until not in data:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
    return data


def proxy_v2_header(src_ip, src_port, dst_ip="127.0.0.1", dst_port=443):
    """A PROXY protocol v2 header (PROXY command, TCP over IPv4), as HAProxy's
    send-proxy-v2 writes it."""
    import ipaddress
    import struct
    body = (ipaddress.IPv4Address(src_ip).packed + ipaddress.IPv4Address(dst_ip).packed +
            struct.pack("!HH", src_port, dst_port))
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) +
            body)


def proxied_request(stack, port, method, path, src=("203.0.113.7", 40001), who=None,
                    headers=None):
    """A request to a gateway that expects PROXY headers from this address, as HAProxy
    would forward it for a client at src."""
    cert = key = None
    if who is not None:
        p = stack.person(who)
        cert, key = p["chain"], p["key_file"]
    ctx = stack.tls_context(cert, key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    raw.sendall(proxy_v2_header(src[0], src[1], dst_port=port))
    with ctx.wrap_socket(raw, server_hostname="localhost") as t:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)
        conn.sock = t
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)


# ---- what a backend saw, from the backend itself ----------------------------------------
def backend_requests(stack):
    """Requests the module backend started since it began (its /__stats, asked directly,
    which counts itself too): the backend's own view, not the gateway's."""
    c = http.client.HTTPConnection("127.0.0.1", stack.modules_port, timeout=10)
    c.request("GET", "/__stats")
    n = json.loads(c.getresponse().read())["requests"]
    c.close()
    return n


def backend_journal(stack):
    """(request id, method, path) of every request the module backend ran, from its own
    journal: what reached it, whatever the gateways' logs say."""
    try:
        with open(os.path.join(stack.root, "modules.journal")) as f:
            return [tuple(line.split(" ", 2)) for line in f.read().splitlines() if line]
    except FileNotFoundError:
        return []


# ---- a private copy of a test CA, to revoke cards without touching the shared PKI ----------
class PrivateCA:
    def __init__(self, stack, name):
        src = os.path.join(stack.pki, "ca", name)
        self.dir = tempfile.mkdtemp(prefix="ca-" + name + "-", dir=stack.root)
        shutil.rmtree(self.dir)
        shutil.copytree(src, self.dir)
        self.name = name
        cnf = os.path.join(self.dir, "openssl.cnf")
        with open(cnf) as f:
            text = f.read()
        with open(cnf, "w") as f:
            f.write(text.replace("dir = " + src, "dir = " + self.dir))
        self.cnf = cnf

    def revoke(self, cert_pem):
        subprocess.run(["openssl", "ca", "-config", self.cnf, "-revoke", cert_pem],
                       check=True, capture_output=True)

    def publish_crl(self, crl_dir):
        """Writes a fresh CRL of this CA into crl_dir atomically (temp file + rename)."""
        tmp = os.path.join(crl_dir, ".%s.tmp" % self.name)
        subprocess.run(["openssl", "ca", "-config", self.cnf, "-gencrl", "-out", tmp],
                       check=True, capture_output=True)
        os.rename(tmp, os.path.join(crl_dir, "%s.crl.pem" % self.name))


def crl_dir_copy(stack, name):
    """A CRL directory of the test PKI's current CRLs, for a gateway variant."""
    d = os.path.join(stack.root, name)
    shutil.copytree(os.path.join(stack.pki, "crl"), d)
    return d


def wait_until(pred, timeout=10.0, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
