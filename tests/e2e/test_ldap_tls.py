"""Issue 13 §4: the directory over TLS. Lookups work over StartTLS and ldaps://, the bind
password only ever travels inside TLS, a directory certificate the gateway cannot verify
(another CA, another name, expired) refuses the connection with the reason in the log and
the directory-unavailable answer, recorded; the commands use the same connection code;
check-config reports what cannot be safe.

Each impostor or witness is a real slapd of its own (scripts/slapd.sh) logging every
connection and operation (EIDGATE_SLAPD_DEBUG=stats), so what reached the directory is
read from the directory's own log."""
import os
import re
import signal
import subprocess
import time

import harness

BIND_RE = re.compile(r'conn=(\d+) op=\d+ BIND dn="cn=eidgate,dc=jeugdhulp,dc=example" '
                     r'mech=SIMPLE bind_ssf=\d+ ssf=(\d+)')


class Slapd:
    """A private slapd beside the stack's: cert is a name in the test PKI's ldap/ (its
    StartTLS and ldaps:// certificate), None for no TLS at all; priority: what it offers
    (a GnuTLS priority string), by default TLS 1.3 and 1.2."""

    def __init__(self, stack, name, cert=None, load=False, priority=None):
        self.dir = os.path.join(stack.root, name)
        self.port = harness.free_port()
        self.ldaps_port = harness.free_port()
        self.env = dict(os.environ, EIDGATE_SLAPD_DEBUG="stats")
        if priority is not None:
            self.env["EIDGATE_SLAPD_TLS_PRIORITY"] = priority
        args = [str(self.port), os.path.join(stack.pki, "keys", "ldap.secret")]
        if cert is not None:
            ldap = os.path.join(stack.pki, "ldap")
            args += ["--tls", os.path.join(ldap, cert + ".pem"), os.path.join(ldap, cert + ".key"),
                     "--ldaps", str(self.ldaps_port)]
        self.pids = set()
        self.slapd_sh("start", *args)
        if load:
            ldif = subprocess.run(["bash", os.path.join(harness.REPO, "demo", "directory",
                                                        "make-ldif.sh")],
                                  check=True, capture_output=True).stdout
            self.slapd_sh("load", "-", input=ldif)

    def slapd_sh(self, command, *args, input=None, check=True):
        subprocess.run(["bash", os.path.join(harness.REPO, "scripts", "slapd.sh"), command,
                        self.dir] + list(args), input=input, check=check, env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if command in ("start", "restart"):
            self.pids.add(self.pid())

    def uri(self, ldaps=False):
        return "ldaps://127.0.0.1:%d" % self.ldaps_port if ldaps else \
            "ldap://127.0.0.1:%d" % self.port

    def log(self):
        with open(os.path.join(self.dir, "slapd.log")) as f:
            return f.read()

    def service_binds(self):
        """(connection, ssf) of every bind as the gateway's service account."""
        return [(int(c), int(ssf)) for c, ssf in BIND_RE.findall(self.log())]

    def pid(self):
        with open(os.path.join(self.dir, "slapd.pid")) as f:
            return int(f.read().strip())

    def restart(self):
        self.slapd_sh("restart")

    def stop(self):
        """Stops it; a slapd of this directory still there after slapd.sh's stop is
        killed, so that no scenario leaves one behind."""
        self.slapd_sh("stop", check=False)
        for pid in self.pids:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    mine = (self.dir + "/slapd.conf").encode() in f.read()
            except OSError:
                continue
            if mine:
                os.kill(pid, signal.SIGKILL)


def ldap_settings(stack, uri, starttls="on", ca="ldap-ca"):
    """Replacements for gateway_variant: the [ldap] connection lines of the stack's
    configuration (StartTLS to its slapd) set to these."""
    with open(stack.config) as f:
        text = f.read()
    old = [re.search(r"^%s = .*$" % k, text, re.M).group(0) for k in ("uri", "starttls", "ca_file")]
    new = ["uri = " + uri, "starttls = " + starttls,
           "ca_file = " + os.path.join(stack.pki, "ldap", ca + ".pem")]
    return dict(zip(old, new))


def eidgate(stack, *args):
    return subprocess.run([os.path.join(stack.bin, "eidgate")] + list(args),
                          capture_output=True, text=True, timeout=60)


def refused_lookup(stack, name, replace, who="covte-a"):
    """Starts a gateway with these [ldap] settings, asks it for a page as who and for
    readyz, and returns (response, its access-log record or None, readyz response,
    gateway log); the gateway is stopped again."""
    port = harness.gateway_variant(stack, name, replace=replace)
    try:
        r = stack.request("GET", "/modules/catalog/modules", who=who, port=port)
        rec = stack.audit_record(r.json()["request_id"],
                                 db=os.path.join(stack.root, "audit-" + name)) \
            if r.status == 503 else None
        ready = stack.request("GET", "/eidgate/readyz", port=port)
    finally:
        stack.stop_process(name)
    return r, rec, ready, stack.log(name)


def test_the_test_stack_uses_starttls_with_its_ca(stack):
    with open(stack.config) as f:
        text = f.read()
    assert "starttls = on\n" in text and "ldap/ldap-ca.pem" in text, text
    assert stack.request("GET", "/eidgate/whoami", who="vte-a").status == 200


def test_lookups_over_starttls_and_ldaps(stack):
    s = Slapd(stack, "ldap-witness", cert="slapd", load=True)
    try:
        for name, uri in (("tls-starttls", s.uri()), ("tls-ldaps", s.uri(ldaps=True))):
            port = harness.gateway_variant(stack, name, replace=ldap_settings(stack, uri))
            try:
                r = stack.request("GET", "/eidgate/whoami", who="vte-a", port=port)
                assert r.status == 200, (name, r, stack.log(name))
                out = eidgate(stack, "policy", "explain", "-c",
                              os.path.join(stack.root, name + ".conf"), "--nrn",
                              stack.person("vte-a")["nrn"], "GET", "/modules/catalog/modules")
                assert out.returncode == 0 and "decision: allow" in out.stdout, out.stderr
            finally:
                stack.stop_process(name)
        log = s.log()
        binds = s.service_binds()
        # the gateway and the command, each over StartTLS and over ldaps://
        assert len(binds) >= 4, log[-3000:]
        for conn, ssf in binds:
            assert ssf >= 128, (conn, ssf)
            tls = re.search(r"conn=%d fd=\d+ TLS established tls_ssf=\d+ ssf=\d+ "
                            r"tls_proto=(TLS1\.[23])" % conn, log)
            assert tls, (conn, log[-3000:])
        assert "EXT oid=1.3.6.1.4.1.1466.20037" in log
    finally:
        s.stop()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_tls_stays_after_the_directory_restarts(stack):
    """Pooled connections die with their slapd and are made anew, each with StartTLS
    before its bind and its searches."""
    s = Slapd(stack, "ldap-restart", cert="slapd", load=True)
    try:
        port = harness.gateway_variant(stack, "tls-restart",
                                       replace=ldap_settings(stack, s.uri()))
        assert stack.request("GET", "/eidgate/whoami", who="vte-a", port=port).status == 200
        s.restart()
        r = harness.wait_until(lambda: stack.request("GET", "/eidgate/whoami", who="covte-a",
                                                     port=port).status == 200, timeout=15)
        assert r, stack.log("tls-restart")
        log = s.log()                   # slapd.sh truncates it on every start
        ops = set(int(c) for c in re.findall(r"conn=(\d+) op=\d+ (?:SRCH|BIND) ", log))
        admin = set(int(c) for c in re.findall(r'conn=(\d+) op=\d+ BIND dn="cn=admin,', log))
        tls = set(int(c) for c in re.findall(r"conn=(\d+) fd=\d+ TLS established", log))
        assert ops - admin and ops - admin <= tls, (ops, admin, tls, log[-3000:])
    finally:
        stack.stop_process("tls-restart")
        s.stop()


def test_a_hung_directory_times_out_without_burning_a_core(stack):
    """slapd stopped with SIGSTOP: the kernel still accepts connections, nothing answers.
    The TLS handshake must give up after [ldap] timeout, waiting rather than spinning."""
    s = Slapd(stack, "ldap-hung", cert="slapd", load=True)
    os.kill(s.pid(), signal.SIGSTOP)
    try:
        for name, ldaps in (("hung-ldaps", True), ("hung-starttls", False)):
            replace = ldap_settings(stack, s.uri(ldaps=ldaps))
            replace["timeout = 2s"] = "timeout = 1s"
            port = harness.gateway_variant(stack, name, replace=replace)
            try:
                pid = stack.procs[name].pid
                cpu, t = cpu_seconds(pid), time.monotonic()
                r = stack.request("GET", "/eidgate/whoami", who="vte-a", port=port)
                took, used = time.monotonic() - t, cpu_seconds(pid) - cpu
                assert r.status == 503, (name, r)
                assert 0.9 < took < 8, (name, took)
                assert used < 0.5, (name, used, took)
                assert "no answer within [ldap] timeout" in stack.log(name) or \
                    "Timed out" in stack.log(name), stack.log(name)
            finally:
                stack.stop_process(name)
    finally:
        os.kill(s.pid(), signal.SIGCONT)
        s.stop()


def test_certificate_of_another_ca_is_refused_and_says_why(stack):
    s = Slapd(stack, "ldap-rogue", cert="rogue")
    try:
        for name, ldaps in (("rogue-starttls", False), ("rogue-ldaps", True)):
            r, rec, ready, log = refused_lookup(stack, name,
                                                ldap_settings(stack, s.uri(ldaps=ldaps)))
            assert r.status == 503 and r.json()["reason"] == "directory-unavailable", (name, r)
            assert rec["decision"] == "deny" and rec["reason"] == "directory-unavailable", rec
            assert ready.status == 503 and ready.json()["checks"]["directory"] == "unreachable"
            assert "TLS: refusing the directory's certificate for 127.0.0.1: unable to get " \
                "local issuer certificate (subject \"CN=127.0.0.1,O=eidgate\", issuer " \
                "\"CN=eidgate Test Directory CA,O=eidgate\", checked against [ldap] ca_file " \
                in log, (name, log)
        # the impostor saw TLS handshakes, never a bind (so never the password)
        assert s.service_binds() == [], s.log()[-3000:]
        assert "TLS established" in s.log()
    finally:
        s.stop()


def test_wrong_name_and_expired_certificates_are_refused(stack):
    for cert, reason in (("wrong-name", "IP address mismatch"),
                         ("expired", "certificate has expired")):
        s = Slapd(stack, "ldap-" + cert, cert=cert)
        try:
            r, _, _, log = refused_lookup(stack, "gw-" + cert,
                                          ldap_settings(stack, s.uri(ldaps=True)))
            assert r.status == 503, (cert, r)
            assert "refusing the directory's certificate for 127.0.0.1: %s" % reason in log, log
            assert s.service_binds() == []
        finally:
            s.stop()


def test_an_outdated_directory_gets_no_bind(stack):
    """TLS 1.1, or TLS 1.2 with a CBC cipher: the handshake succeeds, the bind never
    comes."""
    for name, priority, want in (
            ("tls11", "NORMAL:-VERS-ALL:+VERS-TLS1.1", "settled on TLS1.1"),
            ("cbc", "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:"
             "-MAC-ALL:+SHA1:+SHA256", "-CBC")):
        s = Slapd(stack, "ldap-" + name, cert="slapd", priority=priority)
        try:
            r, _, _, log = refused_lookup(stack, "old-" + name,
                                          ldap_settings(stack, s.uri(ldaps=True)))
            assert r.status == 503, (name, r)
            assert want in log and "TLS 1.2 or newer with an AEAD cipher is required" in log, log
            assert "TLS established" in s.log() and s.service_binds() == [], s.log()[-2000:]
        finally:
            s.stop()


def test_no_bind_in_clear_when_starttls_fails(stack):
    s = Slapd(stack, "ldap-plain", cert=None, load=True)
    try:
        r, rec, _, log = refused_lookup(stack, "plain-starttls", ldap_settings(stack, s.uri()))
        assert r.status == 503 and rec["reason"] == "directory-unavailable", r
        assert "StartTLS failed, so no bind: Protocol error: unsupported extended operation" \
            in log, log
        assert "EXT oid=1.3.6.1.4.1.1466.20037" in s.log()
        assert s.service_binds() == [], s.log()[-3000:]
        # starttls = auto binds in clear only because this slapd is on loopback
        port = harness.gateway_variant(stack, "plain-auto",
                                       replace=ldap_settings(stack, s.uri(), starttls="auto"))
        try:
            assert stack.request("GET", "/eidgate/whoami", who="vte-a", port=port).status == 200
        finally:
            stack.stop_process("plain-auto")
        # (the resolver's connection, and the change feed's: each binds once, in clear)
        ssfs = [ssf for _, ssf in s.service_binds()]
        assert ssfs and set(ssfs) == {0}, ssfs
    finally:
        s.stop()


def test_commands_say_why_the_directory_is_refused(stack):
    s = Slapd(stack, "ldap-rogue-cli", cert="rogue")
    try:
        conf = harness.config_variant(stack, "rogue-cli", ldap_settings(stack, s.uri(ldaps=True)))
        out = eidgate(stack, "directory", "init", "-c", conf)
        assert out.returncode == 1, out
        last = out.stderr.splitlines()[-1]
        assert last.startswith("eidgate: directory init: ") and \
            "refusing the directory's certificate for 127.0.0.1: unable to get local " \
            "issuer certificate" in last, out.stderr
        nrn = stack.person("vte-a")["nrn"]
        out = eidgate(stack, "policy", "explain", "-c", conf, "--nrn", nrn, "GET", "/x")
        assert out.returncode == 1 and "directory unreachable" in out.stderr, out.stderr
        assert "refusing the directory's certificate" in out.stderr, out.stderr
        assert nrn not in out.stderr
        assert s.service_binds() == []
    finally:
        s.stop()
    # the same commands against the stack's own directory, over StartTLS and ldaps://
    for uri in ("ldap://127.0.0.1:%d" % stack.ldap_port, "ldaps://127.0.0.1:%d" % stack.ldaps_port):
        conf = harness.config_variant(stack, "cli-tls", ldap_settings(stack, uri))
        out = eidgate(stack, "directory", "init", "-c", conf)
        assert out.returncode == 0 and "already initialised" in out.stdout, (uri, out)


def test_check_config_reports_what_cannot_be_safe(stack):
    cases = (
        ({"starttls = on": "starttls = off"}, None),       # loopback: allowed
        (ldap_settings(stack, "ldap://192.0.2.10:389", starttls="off"),
         "[ldap] starttls = off would send the bind password and every role in clear to "
         "192.0.2.10"),
        (ldap_settings(stack, "ldaps://192.0.2.10", ca="missing"), "missing.pem: No such file"),
        (ldap_settings(stack, "ldaps://localhost:636"), "for \"localhost\" libldap checks"),
        (ldap_settings(stack, "ldapx://192.0.2.10"), "is not an ldap://, ldaps:// or ldapi://"),
    )
    for replace, want in cases:
        conf = harness.config_variant(stack, "check-tls", replace)
        out = eidgate(stack, "check-config", "-c", conf)
        if want is None:
            assert out.returncode == 0, out.stderr
            continue
        assert out.returncode == 1, (want, out)
        line = [i for i, text in enumerate(open(conf).read().splitlines(), 1)
                if text.startswith(("uri =", "starttls =", "ca_file ="))]
        m = re.match(r"eidgate: %s:(\d+): " % re.escape(conf), out.stderr)
        assert m and int(m.group(1)) in line and want in out.stderr, (want, out.stderr)
    # ca_file left out where TLS is needed: named at the URI's line
    with open(stack.config) as f:
        text = re.sub(r"^ca_file = .*\n", "", f.read(), flags=re.M)
    conf = os.path.join(stack.root, "check-noca.conf")
    with open(conf, "w") as f:
        f.write(text)
    out = eidgate(stack, "check-config", "-c", conf)
    uri_line = [i for i, t in enumerate(text.splitlines(), 1) if t.startswith("uri =")][0]
    assert out.returncode == 1 and "%s:%d: [ldap] ca_file is required" % (conf, uri_line) \
        in out.stderr, out.stderr
