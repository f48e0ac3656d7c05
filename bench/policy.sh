#!/bin/bash
# bench/policy.sh - policy decisions per second at 10, 1,000 and 100,000 rules (issue 5,
# item 5): generated policies with per-facility rules for many facilities plus the
# wildcard rules of the example policy, decided by the compiled trie in one thread.
# The release build is what is measured (make builds build/release, -O2).
#
# usage: bench/policy.sh [SECONDS_PER_SIZE] [SIZE...]      (needs `make all` first)
set -eu
BIN=${BIN:-bin}
SECS=${1:-2}
shift $(( $# > 0 ? 1 : 0 ))
[ -x "$BIN/policy-bench" ] || { echo "bench/policy.sh: $BIN/policy-bench missing: make all" >&2; exit 1; }
exec "$BIN/policy-bench" -n "$SECS" "$@"
