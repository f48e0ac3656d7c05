"""The Debian packages as an operator installs and runs them (issue 13).

Built once with dpkg-buildpackage (scripts/build-deb.sh, in run/), checked with lintian,
installed into this machine with dpkg -i, given a configuration for this stack's slapd
and backends in /etc/eidgate, and started the way the installed unit starts it: its
ExecStartPre and ExecStart lines run as root (CI has no systemd as PID 1), so the
gateway drops to the eidgate user itself. Then a login with a test card through the
installed eidgate-login, a forwarded request, a reload (the unit's ExecReload), a stop,
a removal that keeps the access log and a purge that leaves the machine as it was: the
user eidgate goes too when the package made it.

Runs only as root on a machine without eidgate installed; elsewhere it says why and
does nothing.
"""
import glob
import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time

import harness

REPO = harness.REPO
OUT = os.path.join(REPO, "run", "test-deb")
SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
UNIT = "/lib/systemd/system/eidgate.service"
PKGS = ("eidgate", "eidgate-login")


def run(args, check=True, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout,
                                                    r.stderr))
    return r


def installed(pkg):
    """Known to dpkg in any state but not-installed (also config-files)."""
    r = run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return r.returncode == 0 and r.stdout.split()[-1:] != ["not-installed"]


def dpkg(*args):
    """dpkg, waiting (up to 2 minutes) while another dpkg or apt holds its lock."""
    end = time.time() + 120
    while True:
        r = run(["dpkg"] + list(args), check=False,
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if r.returncode == 0 or "lock" not in r.stderr or time.time() > end:
            break
        time.sleep(2)
    if r.returncode != 0:
        raise AssertionError("dpkg %s: exit %d\n%s%s" % (" ".join(args), r.returncode,
                                                        r.stdout, r.stderr))
    return r


def exists_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def exists_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def mode_owner(path):
    st = os.stat(path)
    return (oct(st.st_mode & 0o7777), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


def unit_lines(key):
    with open(UNIT) as f:
        return [l.split("=", 1)[1].strip() for l in f if l.startswith(key + "=")]


def man_excluded():
    """Slim Debian images tell dpkg not to install manual pages (path-exclude)."""
    for f in glob.glob("/etc/dpkg/dpkg.cfg.d/*"):
        with open(f, errors="replace") as fh:
            if re.search(r"^path-exclude\s*=?\s*/usr/share/man", fh.read(), re.M):
                return True
    return False


def leftovers():
    """Paths with "eidgate" in their name where a package puts or makes things."""
    found = []
    for top in ("/etc", "/var/lib/eidgate", "/lib/systemd", "/usr/sbin", "/usr/bin",
                "/usr/share/man", "/usr/share/doc", "/usr/share/eidgate",
                "/var/lib/systemd/deb-systemd-helper-enabled"):
        if "eidgate" in top and os.path.exists(top):
            found.append(top)
            continue
        for dirpath, dirs, files in os.walk(top):
            found += [os.path.join(dirpath, n) for n in dirs + files if "eidgate" in n]
    return sorted(found)


# ---- the steps ---------------------------------------------------------------------------
def build():
    r = run(["bash", os.path.join(REPO, "scripts", "build-deb.sh"), OUT], check=False)
    assert r.returncode == 0, "dpkg-buildpackage failed:\n" + (r.stdout + r.stderr)[-4000:]
    debs = {p: glob.glob(os.path.join(OUT, "%s_*.deb" % p))[0] for p in PKGS}
    lint = run(["lintian", glob.glob(os.path.join(OUT, "*.changes"))[0]], check=False)
    print("lintian:\n" + (lint.stdout + lint.stderr).strip())
    errors = [l for l in lint.stdout.splitlines() if l.startswith("E:")]
    assert not errors, "lintian errors:\n" + "\n".join(errors)
    shutil.rmtree(glob.glob(os.path.join(OUT, "eidgate-*/"))[0], ignore_errors=True)
    return debs


def check_installed():
    u = pwd.getpwnam("eidgate")
    assert u.pw_uid < 1000 and u.pw_shell in ("/usr/sbin/nologin", "/bin/false"), u
    assert mode_owner("/var/lib/eidgate") == ("0o750", "root", "eidgate")
    assert mode_owner("/var/lib/eidgate/audit") == ("0o700", "root", "root")
    assert mode_owner("/var/lib/eidgate/crl") == ("0o750", "root", "eidgate")
    # eidgate setup, run by the postinst: the keys, root's, 0600; their public halves.
    for key in ("session.key", "assertion.key", "audit.key"):
        assert mode_owner("/etc/eidgate/" + key) == ("0o600", "root", "root"), key
    assert os.path.getsize("/etc/eidgate/session.key") == 32
    for pub in ("assertion.pub.pem", "audit.pub.pem"):
        assert mode_owner("/etc/eidgate/" + pub)[0] == "0o644", pub
    # Run again, it keeps every key.
    before = open("/etc/eidgate/session.key", "rb").read()
    r = run(["eidgate", "setup", "-c", "/etc/eidgate/eidgate.conf"])
    assert "created" not in r.stdout and "kept" in r.stdout, r.stdout
    assert open("/etc/eidgate/session.key", "rb").read() == before
    # The installed unit and manual pages (verify also looks up its Documentation=).
    no_man = man_excluded()
    r = run(["systemd-analyze", "verify"] + (["--man=no"] if no_man else []) + [UNIT],
            check=False)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), \
        r.stdout + r.stderr
    r = run(["systemd-analyze", "security", "--offline=true", UNIT])
    print("systemd-analyze security --offline=true %s:\n%s" % (UNIT, r.stdout))
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d)", r.stdout)
    assert level and float(level.group(1)) <= 2.0, r.stdout[-400:]
    if no_man:
        print("test_package: dpkg excludes /usr/share/man here: installed pages not checked")
        return
    pages = ["/usr/share/man/man8/eidgate.8.gz", "/usr/share/man/man5/eidgate.conf.5.gz",
             "/usr/share/man/man5/eidgate.policy.5.gz",
             "/usr/share/man/man1/eidgate-login.1.gz"]
    for page in pages:     # mandoc -T lint reads the page itself, not its gzip
        text = run(["zcat", page]).stdout
        r = run(["mandoc", "-T", "lint"], input=text, check=False)
        findings = [l for l in (r.stdout + r.stderr).splitlines()
                    if "outdated mandoc.db" not in l]
        assert not findings, page + ":\n" + "\n".join(findings)
    for name in ("eidgate", "eidgate.conf", "eidgate.policy", "eidgate-login"):
        r = run(["man", "-P", "cat", name], env=dict(os.environ, MANWIDTH="80"))
        assert "NAME" in r.stdout, name


def configure(stack, port):
    """What the operator provides, where eidgate.conf(5) and eidgate(8) say."""
    pki = stack.pki

    def put(src, dst, mode, group="root"):
        shutil.copyfile(src, dst)
        os.chown(dst, 0, grp.getgrnam(group).gr_gid)
        os.chmod(dst, mode)

    put(os.path.join(pki, "server", "server.pem"), "/etc/eidgate/server.pem", 0o644)
    put(os.path.join(pki, "server", "server.key"), "/etc/eidgate/server.key", 0o600)
    put(os.path.join(pki, "keys", "ldap.secret"), "/etc/eidgate/ldap.secret", 0o640, "eidgate")
    for kind in ("roots", "intermediates"):
        for f in glob.glob(os.path.join(pki, "trust", kind, "*")):
            put(f, os.path.join("/etc/eidgate/eid", kind, os.path.basename(f)), 0o644)
    for f in glob.glob(os.path.join(pki, "crl", "*")):
        put(f, os.path.join("/var/lib/eidgate/crl", os.path.basename(f)), 0o644)
    with open("/etc/eidgate/jeugdhulp.policy", "w") as f:
        f.write("backend modules http://127.0.0.1:%d timeout=10s\n"
                "allow module-read GET,HEAD /modules/facilities/{f}/** -> modules "
                "when role member on facility {f} or role moduleerder on facility {f}\n"
                % stack.modules_port)
    # The packaged example with this stack's addresses; [process] user stays the default.
    with open("/etc/eidgate/eidgate.conf") as f:
        text = f.read()
    for old, new in (("address = 0.0.0.0:443", "address = 127.0.0.1:%d" % port),
                     ("uri = ldap://127.0.0.1", "uri = ldap://127.0.0.1:%d" % stack.ldap_port),
                     ("ocsp = prefer", "ocsp = off"), ("map_size = 4GiB", "map_size = 64MiB"),
                     ("user = eidgate\n", "")):
        assert old in text, old
        text = text.replace(old, new)
    with open("/etc/eidgate/eidgate.conf", "w") as f:
        f.write(text)


def start(stack):
    """The unit's ExecStartPre, then its ExecStart, as root, as systemd would."""
    for line in unit_lines("ExecStartPre"):
        run(shlex.split(line))
    log = open(os.path.join(stack.root, "installed.log"), "ab")
    return subprocess.Popen(shlex.split(unit_lines("ExecStart")[0]), stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)


def check_dropped(pid):
    u = pwd.getpwnam("eidgate")
    with open("/proc/%d/status" % pid) as f:
        st = dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
    assert st["Uid"].split() == [str(u.pw_uid)] * 4, st["Uid"]
    assert st["Gid"].split() == [str(u.pw_gid)] * 4, st["Gid"]
    assert st["Groups"].split() == [str(u.pw_gid)], st["Groups"]
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, st["CapEff"]
    assert st["NoNewPrivs"].strip() == "1"


def login(stack, port, who):
    tokens = harness.shared_tokens(stack.pki)
    env = dict(os.environ, SOFTHSM2_CONF=os.path.join(tokens, who, "softhsm2.conf"))
    r = subprocess.run(["/usr/bin/eidgate-login", "--url", "https://127.0.0.1:%d" % port,
                        "--module", SOFTHSM, "--pin-stdin", "--cacert",
                        os.path.join(stack.pki, "server", "server-ca.pem")],
                       input="1234\n", capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def control_socket_answers():
    """The control socket (root's directory) is still served after the drop."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect("/var/lib/eidgate/audit/control.sock")
        s.sendall(b"{}\n")
        return s.recv(200).decode()


def wait_log(stack, text, timeout=10):
    path = os.path.join(stack.root, "installed.log")
    ok = harness.wait_until(lambda: text in open(path, errors="replace").read(), timeout)
    assert ok, "no %r in the gateway's log:\n%s" % (text, open(path).read()[-2000:])


def unconfigure():
    """What the operator provided is the operator's to remove: purge leaves it."""
    for f in ["/etc/eidgate/server.pem", "/etc/eidgate/server.key", "/etc/eidgate/ldap.secret"] \
            + glob.glob("/etc/eidgate/eid/*/*"):
        if os.path.isfile(f):
            os.unlink(f)


def remove_and_purge():
    unconfigure()
    dpkg("--remove", *PKGS)
    assert os.path.exists("/var/lib/eidgate/audit/data.mdb"), "remove must keep the log"
    assert not os.path.exists("/usr/sbin/eidgate")
    dpkg("--purge", *PKGS)


# ---- the scenario ------------------------------------------------------------------------
def test_install_run_reload_purge(stack):
    if os.geteuid() != 0:
        print("test_package: not root: the packages are not installed (CI runs as root)")
        return
    if any(installed(p) for p in PKGS) or os.path.exists("/etc/eidgate") or \
            os.path.exists("/var/lib/eidgate"):
        print("test_package: eidgate is installed on this machine: not touching it")
        return
    had_user, had_group = exists_user("eidgate"), exists_group("eidgate")
    before = leftovers()
    debs = build()
    proc = None
    try:
        dpkg("-i", debs["eidgate"], debs["eidgate-login"])
        check_installed()
        port = harness.free_port()
        configure(stack, port)
        proc = start(stack)
        harness.wait_port(port)
        wait_log(stack, "running as eidgate")
        check_dropped(proc.pid)

        token = login(stack, port, "mod-molenberg")
        path = "/modules/facilities/ckg-molenberg/modules"
        auth = {"Authorization": "Bearer " + token}
        r = stack.request("GET", path, headers=auth, port=port)
        assert r.status == 200, r
        harness.verify_jws(r.json()["received"]["assertion"], "/etc/eidgate/assertion.pub.pem")
        page = stack.request("GET", "/eidgate/", headers=auth, port=port)
        assert page.status == 200 and b"<html" in page.body.lower(), page
        assert control_socket_answers().startswith("error malformed"), "control socket"

        # The unit's ExecReload; the keys read as root are kept, so the session holds.
        reload_cmd = unit_lines("ExecReload")[0].replace("$MAINPID", str(proc.pid))
        run(shlex.split(reload_cmd))
        wait_log(stack, "reloaded /etc/eidgate/eidgate.conf")
        r = stack.request("GET", path, headers=auth, port=port)
        assert r.status == 200, r

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, "exit status %s" % proc.returncode
        proc = None
        records = run(["eidgate", "audit", "query", "--db", "/var/lib/eidgate/audit",
                       "--format", "json"]).stdout
        assert '"kind":"login"' in records.replace(" ", ""), records[-1000:]
        run(["eidgate", "audit", "verify", "--db", "/var/lib/eidgate/audit", "--key",
             "/etc/eidgate/audit.pub.pem"])
        remove_and_purge()
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        if any(installed(p) for p in PKGS):
            unconfigure()
            dpkg("--purge", *PKGS)
        if not had_user and exists_user("eidgate"):
            run(["userdel", "eidgate"])
        if not had_group and exists_group("eidgate"):
            run(["groupdel", "eidgate"])
    assert not exists_user("eidgate") or had_user
    after = leftovers()
    assert after == before, "left behind: %s" % sorted(set(after) - set(before))
