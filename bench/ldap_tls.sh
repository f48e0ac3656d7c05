#!/bin/bash
# bench/ldap_tls.sh - what TLS to the directory costs: a first lookup (new connection,
# StartTLS or ldaps://, bind, search) and uncached lookups on kept connections, against
# the same slapd in clear over loopback (bench/ldap_tls.py says how).
#
# usage: bench/ldap_tls.sh [BIN_DIR]      (default bin/, the release build: make all)
# knobs (environment): N=30 (first lookups per mode) M=300 (requests per mode)
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-bin}
[ -x "$BIN/eidgate" ] || { echo "bench/ldap_tls.sh: $BIN/eidgate missing: make all" >&2; exit 1; }
exec python3 bench/ldap_tls.py "$BIN"
