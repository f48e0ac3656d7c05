#!/usr/bin/env bash
# Runs every libFuzzer target in BIN_DIR for SECONDS each (make fuzz, make test).
# usage: tests/fuzz/run.sh BIN_DIR SECONDS
#
# Each target starts from its seed corpus tests/fuzz/corpus/<target>/ (read, never
# written) and what earlier runs found in run/fuzz/<target>/corpus/ (git-ignored), where
# new inputs go; a crash, leak, hang (-timeout), sanitizer report or broken invariant
# leaves its input in run/fuzz/<target>/ (crash-*, leak-*, timeout-*) and fails the
# target. Options: tests/fuzz/<target>.dict (a dictionary) and tests/fuzz/<target>.options
# (more libFuzzer flags, one line). Prints one line per target (executions per second,
# edges covered: libFuzzer's `cov:`) and "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=$1
SECS=$2
# fuzz_cert verifies chains against the public specimen roots beside the clone, as the
# unit tests do (tests/run.sh); without them it fuzzes the profile checks only.
if [ -z "${EIDGATE_EID_PKI:-}" ] && [ -d ../shared/eid-pki ]; then
	EIDGATE_EID_PKI=$(cd ../shared/eid-pki && pwd)
	export EIDGATE_EID_PKI
fi
# Seeds holding certificates are made from those public specimens now (seeds.py), not
# kept in git.
rm -rf run/fuzz/seeds
python3 tests/fuzz/seeds.py run/fuzz/seeds || echo "run.sh: no specimen seeds" >&2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
passed=0 failed=0

for t in "$BIN"/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out=run/fuzz/$name
	mkdir -p "$out/corpus"
	opts=(-max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$out/")
	[ -f "tests/fuzz/$name.dict" ] && opts+=(-dict="tests/fuzz/$name.dict")
	# shellcheck disable=SC2207
	[ -f "tests/fuzz/$name.options" ] && opts+=($(cat "tests/fuzz/$name.options"))
	seeds=(); for d in "tests/fuzz/corpus/$name" "run/fuzz/seeds/$name"; do
		[ -d "$d" ] && seeds+=("$d")
	done
	"$t" "${opts[@]}" "$out/corpus" "${seeds[@]}" >"$out/log" 2>&1
	rc=$?
	runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$out/log" | grep -oE '[0-9]+$')
	eps=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$out/log" | grep -oE '[0-9]+$')
	cov=$(grep -oE 'cov: [0-9]+' "$out/log" | tail -1 | grep -oE '[0-9]+')
	ft=$(grep -oE 'ft: [0-9]+' "$out/log" | tail -1 | grep -oE '[0-9]+')
	seeds=$(find "tests/fuzz/corpus/$name" "run/fuzz/seeds/$name" -type f 2>/dev/null | wc -l)
	new=$(grep -oE 'stat::new_units_added: *[0-9]+' "$out/log" | grep -oE '[0-9]+$')
	line=$(printf '%-20s %9s runs  %7s exec/s  cov %5s  ft %6s  seeds %3s  new %4s' \
		"$name" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$seeds" "${new:-?}")
	if [ "$rc" -eq 0 ]; then
		echo "$line  ok"
		passed=$((passed + 1))
	else
		echo "$line  FAILED (exit $rc)"
		grep -E 'ERROR: |SUMMARY: |invariant broken|Test unit written to' "$out/log" | head -8
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
