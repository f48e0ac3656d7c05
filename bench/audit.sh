#!/bin/bash
# bench/audit.sh - access-log figures: append rate per sync mode (1 and 4 threads, and
# FULL without the linger for comparison), then a log of RECORDS records (default
# 10,000,000; written once into a temporary directory, removed afterwards): time to
# write it, bytes per record, query latency by person, verify speed.
#
# usage: bench/audit.sh [RECORDS] [SECONDS_PER_RATE]     (needs `make all` first)
set -eu
BIN=${BIN:-bin}
RECORDS=${1:-10000000}
SECONDS_PER_RATE=${2:-3}
[ -x "$BIN/audit-bench" ] || { echo "bench/audit.sh: $BIN/audit-bench missing: make all" >&2; exit 1; }
DIR=$(mktemp -d /tmp/eidgate-audit-bench-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
"$BIN/audit-bench" --records "$RECORDS" --seconds "$SECONDS_PER_RATE" --dir "$DIR"
