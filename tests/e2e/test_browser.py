"""Browser scenarios (tests/browser/*.test.mjs): Debian's chromium driven by
playwright-core, against this run's stack."""
import glob
import json
import os
import subprocess

import harness

BROWSER = os.path.join(harness.REPO, "tests", "browser")


def ensure_playwright():
    """The node modules of tests/browser/package.json (playwright-core, axe-core)."""
    if not all(os.path.isdir(os.path.join(BROWSER, "node_modules", m))
               for m in ("playwright-core", "axe-core")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=BROWSER,
                       check=True, timeout=600)


def run_scenario(stack, name, port=None, audit="audit", extra=None):
    """port, audit: another gateway of the stack and its log; extra: more ctx keys."""
    ensure_playwright()
    shots = os.path.join(harness.REPO, "run", "screenshots")
    os.makedirs(shots, exist_ok=True)
    ctx = {"baseURL": "https://127.0.0.1:%d" % (port or stack.port), "pki": stack.pki,
           "bin": stack.bin, "auditDir": os.path.join(stack.root, audit), "root": stack.root,
           "screenshotDir": shots, "tokens": harness.shared_tokens(stack.pki)}
    ctx.update(extra or {})
    r = subprocess.run(["node", os.path.join(BROWSER, "run.mjs"), os.path.join(BROWSER, name)],
                       env=dict(os.environ, EIDGATE_BROWSER_CTX=json.dumps(ctx)),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def pseudonym_scenario(stack, name):
    """pseudonym.test.mjs runs against a gateway whose modules backend receives
    pseudonyms (test_pseudonym.setup); ctx.pseudonyms has the expected values."""
    import test_pseudonym
    master, port, kid = test_pseudonym.setup(stack, "pseudo-browser")
    try:
        people = ("mod-molenberg", "member-schommel")
        expected = {p: test_pseudonym.expected(master, "modules", stack.person(p)["nrn"])
                    for p in people}
        run_scenario(stack, name, port=port, audit="audit-pseudo-browser",
                     extra={"pseudonyms": expected, "pseudonymKid": kid})
    finally:
        stack.stop_process("pseudo-browser")


SPECIAL = {"pseudonym.test.mjs": pseudonym_scenario}


def make_test(name):
    def test(stack):
        SPECIAL.get(name, run_scenario)(stack, name)
    return test


# One scenario per tests/browser/*.test.mjs file: test_browser_<name>.
for _path in sorted(glob.glob(os.path.join(BROWSER, "*.test.mjs"))):
    _name = os.path.basename(_path)
    globals()["test_browser_" + _name[:-len(".test.mjs")]] = make_test(_name)
