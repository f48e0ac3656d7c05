"""Several eidgate instances behind HAProxy, on one test stack (issue 14).

The instances share the directory, the backends, the session key and the checkpoint key;
each has its own port, access log and assertion key, and publishes all instances'
assertion keys from one shared directory ([assertion] publish_keys). HAProxy runs in TCP
mode: TLS with the card goes end to end to an instance, HAProxy sees no certificate, and
checks each instance's readiness over TLS (GET /eidgate/readyz).
"""
import os
import shutil
import socket
import subprocess

import harness

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def make_key(path):
    """An EC P-256 key (mode 0600) and its public half as path.pub.pem."""
    return harness.ec_key(path, path + ".pub.pem")[0]


class Cluster:
    def __init__(self, stack, names=("gw-a", "gw-b", "gw-c"), replace=None, proxy=True):
        self.stack = stack
        self.names = list(names)
        self.replace = dict(replace or {})
        self.proxy = proxy
        self.front = harness.free_port()
        self.ports = {}
        self.keydir = os.path.join(stack.root, "cluster-keys")
        self.origin = "https://127.0.0.1:%d" % self.front

    def witness_key(self, name):
        return os.path.join(self.stack.root, "witness-%s.key" % name)

    def audit_lines(self, name):
        """Each instance names itself and cosigns the others' checkpoints as a witness,
        fetching their records over the gateway port (README: one view and one proof)."""
        others = [m for m in self.names if m != name]
        return "\n".join([
            "[audit]", "instance = " + name, "witness_key = " + self.witness_key(name),
            "peers = " + " ".join("https://127.0.0.1:%d" % self.ports[m] for m in others),
            "peer_keys = " + ",".join(self.witness_key(m) + ".pub.pem" for m in others),
            "peer_ca = " + os.path.join(self.stack.pki, "server", "server-ca.pem"), ""])

    def config_lines(self, name):
        key = make_key(os.path.join(self.stack.root, "assertion-%s.key" % name))
        shutil.copy(key + ".pub.pem", os.path.join(self.keydir, name + ".pem"))
        make_key(self.witness_key(name))
        extra = "client_cert = request\norigin = %s" % self.origin
        if self.proxy:
            extra += "\nproxy_protocol = on\nproxy_from = 127.0.0.1"
        lines = {
            "client_cert = request": extra,
            "signing_key = %s" % os.path.join(self.stack.pki, "keys", "assertion.key"):
                "signing_key = %s\npublish_keys = %s" % (key, self.keydir),
        }
        lines.update(self.replace)
        return lines

    def start(self):
        os.makedirs(self.keydir, exist_ok=True)
        self.ports = {n: harness.free_port() for n in self.names}
        lines = {n: self.config_lines(n) for n in self.names}  # every key before any start
        for n in self.names:
            lines[n]["[audit]\n"] = self.audit_lines(n)
            harness.gateway_variant(self.stack, n, replace=lines[n], port=self.ports[n])
        self.start_haproxy()
        return self

    def verify(self):
        """eidgate audit verify on every instance's log at once, against the checkpoint
        key and the witnesses' cosignatures: (exit status, output)."""
        args = [os.path.join(self.stack.bin, "eidgate"), "audit", "verify"]
        for n in self.names:
            args += ["--db", self.db(n)]
        args += ["--key", os.path.join(self.stack.pki, "keys", "audit.pub.pem")]
        for n in self.names:
            args += ["--witness-key", self.witness_key(n) + ".pub.pem"]
        r = subprocess.run(args, capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    def db(self, name):
        return os.path.join(self.stack.root, "audit-" + name)

    def haproxy_config(self):
        ca = os.path.join(self.stack.pki, "server", "server-ca.pem")
        proxy = " send-proxy-v2 check-send-proxy" if self.proxy else ""
        servers = "\n".join(
            "    server %s 127.0.0.1:%d check check-ssl verify required ca-file %s "
            "check-sni localhost verifyhost localhost inter 300ms fall 2 rise 2%s"
            % (n, p, ca, proxy) for n, p in self.ports.items())
        return """global
    maxconn 4096
    stats socket %s mode 600 level admin
    log stdout format short local0 info

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch 1

frontend eidgate
    bind 127.0.0.1:%d
    default_backend instances

backend instances
    balance roundrobin
    option httpchk
    http-check send meth GET uri /eidgate/readyz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
%s
""" % (self.stats_socket(), self.front, servers)

    def start_haproxy(self):
        path = os.path.join(self.stack.root, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(self.haproxy_config())
        subprocess.run([HAPROXY, "-c", "-q", "-f", path], check=True)
        self.stack.spawn("haproxy", [HAPROXY, "-db", "-f", path])
        harness.wait_port(self.front)
        if not self.wait_all_up():
            raise RuntimeError("HAProxy does not see every instance up:\n" +
                               self.stack.log("haproxy")[-3000:])

    def stats_socket(self):
        return os.path.join(self.stack.root, "haproxy.sock")

    def server_states(self):
        """{instance: "UP" | "DOWN" | ...} as HAProxy's checks see them (its stats socket)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.stats_socket())
            s.sendall(b"show stat\n")
            data = harness.read_all(s)
        rows = [line.split(",") for line in data.decode().splitlines() if line and line[0] != "#"]
        return {r[1]: r[17] for r in rows if r[0] == "instances" and r[1] in self.names}

    def wait_states(self, want, timeout=15):
        """Polls until HAProxy sees each instance of want ({name: "UP"}) in that state."""
        def ok():
            st = self.server_states()
            return all(st.get(n, "").startswith(v) for n, v in want.items())
        return harness.wait_until(ok, timeout=timeout)

    def wait_all_up(self, timeout=15):
        return self.wait_states({n: "UP" for n in self.names}, timeout)

    def request(self, method, path, who=None, headers=None, body=None):
        return self.stack.request(method, path, who=who, headers=headers, body=body,
                                  port=self.front)

    def stop(self):
        self.stack.stop_process("haproxy")
        for n in self.names:
            self.stack.stop_process(n)


def verify_log(stack, db):
    """eidgate audit verify on one instance's log: (exit status, output)."""
    r = subprocess.run([os.path.join(stack.bin, "eidgate"), "audit", "verify", "--db", db,
                        "--key", os.path.join(stack.pki, "keys", "audit.pub.pem")],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr
