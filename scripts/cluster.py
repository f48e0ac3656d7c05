"""`make cluster`: several eidgate instances on this machine, on 127.0.0.1 only, as
tests/e2e/test_cluster.py runs them: the test PKI and card tokens, two directory providers
replicating each other (mirror mode), both sample backends, three gateway instances (each its own port, access log and assertion
key; all instances' keys published from one shared directory) and HAProxy in TCP mode in
front of them. Ctrl-C stops everything this started.

usage: python3 scripts/cluster.py [BIN_DIR]      (BIN_DIR default: bin/)
"""
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import cluster  # noqa: E402
import harness  # noqa: E402

PEOPLE = [
    ("mod-molenberg", "care worker: moduleerder of CKG Molenberg"),
    ("lb-molenberg", "local administrator (lokale beheerder) of CKG Molenberg"),
    ("secoff-a", "security officer of vzw Kinderzorg Limburg-Antwerpen (access log)"),
]


def explain(stack, c):
    ca = os.path.join(stack.pki, "server", "server-ca.pem")
    front = c.front
    print("""
eidgate cluster is running: HAProxy at https://127.0.0.1:%d/eidgate/   (Ctrl-C stops it)
""" % front)
    for n in c.names:
        print("  instance %-5s https://127.0.0.1:%d   access log %s" % (n, c.ports[n], c.db(n)))
    print("""  HAProxy            %s (stats: echo 'show stat' | socat - %s)
  Directory          two slapd providers in mirror mode: ldap://127.0.0.1:%d/ and
                     ldap://127.0.0.1:%d/ (StartTLS); each instance follows their changes
  Backends           modules http://127.0.0.1:%d, dossiers http://127.0.0.1:%d
  Assertion keys     %s (every instance publishes all of them)
""" % (os.path.join(stack.root, "haproxy.cfg"), c.stats_socket(), stack.ldap_port,
       stack.ldap_port2,
       stack.modules_port, stack.dossiers_port, c.keydir))
    for key, what in PEOPLE:
        p = stack.person(key)
        print("  %s - %s\n    curl --cacert %s --cert %s --key %s \\\n"
              "         https://127.0.0.1:%d/eidgate/whoami\n"
              % (p.get("name", key), what, ca, p["chain"], p["key_file"], front))
    print("""Requests land on the instances in turn; each instance's log holds its own:
  %s/eidgate audit query --db %s
Stop one instance (kill -9 or SIGTERM on its pid) and go on through the others.
""" % (stack.bin, c.db(c.names[0])))


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "bin")
    stack = harness.Stack(bin_dir, ldap_pair=True)
    c = None
    try:
        stack.start(gateway=False, test_rules=False)
        c = cluster.Cluster(stack).start()
        explain(stack, c)
        for n, proc in stack.procs.items():
            print("  pid %-7d %s" % (proc.pid, n))
        sys.stdout.flush()
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        print("\neidgate cluster: stopping")
        if c is not None:
            c.stop()
        stack.stop(keep=True)
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(main())
