#!/usr/bin/env bash
# Runs every test against the binaries in BIN (built with ASan+UBSan by `make test`):
# source checks, C unit tests, shell scenario tests, the end-to-end scenarios and a short
# run of every fuzz target.
# usage: tests/run.sh BIN_DIR UNIT_DIR
# Prints one line per suite and a final "N passed, M failed"; exits 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "$1" && pwd)
UNIT=$2
export EIDGATE_BIN=$BIN
# The public Belgian eID certificates live in shared/ beside the clone (never copied in).
if [ -z "${EIDGATE_EID_PKI:-}" ] && [ -d ../shared/eid-pki ]; then
	EIDGATE_EID_PKI=$(cd ../shared/eid-pki && pwd)
	export EIDGATE_EID_PKI
fi
# LeakSanitizer reports go to the test output; a leak fails the process that has it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p run
passed=0 failed=0
log=$(mktemp)

# Adds the counts of a suite's closing "N passed, M failed" line; a suite that ends
# without one, or exits non-zero, counts as one failure more.
count() {
	local name=$1 rc=$2 line p f
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
		f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
		passed=$((passed + p)); failed=$((failed + f))
	fi
	if [ "$rc" -ne 0 ] && { [ -z "$line" ] || [ "${f:-0}" -eq 0 ]; }; then
		failed=$((failed + 1))
	fi
	if [ "$rc" -ne 0 ] || [ "${f:-0}" -ne 0 ]; then
		# Every failing scenario with its traceback, then how the suite ended.
		echo "== $name: FAILED (exit $rc)"
		awk '/^FAIL /{n=60} n>0{print; n--}' "$log" | head -600
		tail -20 "$log"
	else
		echo "== $name: ${line:-ok}"
	fi
}

suite() {
	local name=$1; shift
	"$@" >"$log" 2>&1
	count "$name" $?
}

# Source rules: banned functions and cppcheck.
banned() {
	local hits
	hits=$(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|gets|system|atoi)\s*\(' \
		$(git ls-files '*.c' '*.h') | grep -v '^\S*:\s*\*' || true)
	if [ -n "$hits" ]; then echo "$hits"; echo "0 passed, 1 failed"; return 1; fi
	echo "1 passed, 0 failed"
}
suite "banned functions" banned
suite "cppcheck" bash -c 'make -s cppcheck && echo "1 passed, 0 failed"'

for t in "$UNIT"/*_test; do
	[ -x "$t" ] || continue
	suite "unit $(basename "$t")" "$t"
done
for t in tests/*/*_test.sh; do
	[ -f "$t" ] || continue
	suite "scenario $t" bash "$t" "$BIN"
done
suite "e2e" python3 tests/e2e/run.py "$BIN"
# Every libFuzzer target of tests/fuzz/ for 10 s (clang, ASan and UBSan, build/fuzz).
suite "fuzz" make -s fuzz-test

rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
