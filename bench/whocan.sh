#!/bin/bash
# bench/whocan.sh - `eidgate access who-can` on a directory of 50,000 people and 2,000
# facilities (issue 16 item 2): bench/whocan.py does the work.
# usage: bench/whocan.sh [BIN]       (PEOPLE, FACILITIES, RUNS in the environment)
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-bin}
[ -x "$BIN/eidgate" ] || { echo "bench/whocan.sh: $BIN/eidgate missing: make all" >&2; exit 1; }
exec python3 bench/whocan.py "$BIN"
