"""Runs the end-to-end scenarios: python3 tests/e2e/run.py BIN_DIR [name-filter].

Each tests/e2e/test_*.py module has test_* functions taking a started Stack; modules
that need a stack of their own (they stop slapd, restart the gateway...) set
OWN_STACK = True. Prints one line per scenario and a final 'N passed, M failed'.
"""
import importlib.util
import glob
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_module(mod, bin_dir, shared, only, counts):
    stack = shared
    own = getattr(mod, "OWN_STACK", False)
    tests = [(n, f) for n, f in sorted(vars(mod).items()) if n.startswith("test_") and callable(f)]
    tests = [(n, f) for n, f in tests if only is None or only in mod.__name__ + "." + n]
    if not tests:
        return
    if own:
        stack = harness.Stack(bin_dir, **getattr(mod, "STACK_ARGS", {})).start()
    try:
        for name, fn in tests:
            label = "%s.%s" % (mod.__name__, name)
            try:
                fn(stack)
                counts[0] += 1
                print("PASS %s" % label, flush=True)
            except Exception:  # a failing scenario must not stop the others
                counts[1] += 1
                print("FAIL %s\n%s" % (label, traceback.format_exc()), flush=True)
                print("--- gateway log (tail) ---\n%s" % stack.log("gateway")[-3000:], flush=True)
    finally:
        if own:
            stack.stop()


def main():
    bin_dir = sys.argv[1]
    only = sys.argv[2] if len(sys.argv) > 2 else None
    counts = [0, 0]
    shared = harness.Stack(bin_dir).start()
    try:
        for path in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "test_*.py"))):
            run_module(load(path), bin_dir, shared, only, counts)
    finally:
        shared.stop()
    print("e2e: %d passed, %d failed" % (counts[0], counts[1]))
    return 1 if counts[1] else 0


if __name__ == "__main__":
    sys.exit(main())
