#!/bin/bash
# bench/throughput.sh - keep-alive GET throughput of 1 KiB and 64 KiB bodies
# (/__big?bytes=N of the sample module backend) through eidgate over TLS with an
# established bearer session, against the same requests sent straight to the backend,
# in one run, with wrk. Prints requests/s, latency percentiles and the ratios.
#
# usage: bench/throughput.sh [BIN_DIR]      (default bin/, the release build: make all)
# knobs (environment): DURATION=10s CONNECTIONS=32 THREADS=1 SIZES="1024 65536"
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-bin}
command -v wrk >/dev/null || { echo "bench/throughput.sh: wrk missing (scripts/deps.sh installs it)" >&2; exit 1; }
[ -x "$BIN/eidgate" ] || { echo "bench/throughput.sh: $BIN/eidgate missing: make all" >&2; exit 1; }
exec python3 bench/throughput.py "$BIN"
