#!/bin/bash
# setup_test.sh - `eidgate setup`: makes the keys a first start needs with their modes,
# keeps every file that exists (also a dangling symlink, never written through), refuses
# a public key that belongs to another key, and fails clearly where it cannot write.
# One function per scenario; prints "N passed, M failed" last.
#
# usage: tests/setup/setup_test.sh [BINDIR]     (default: bin)
set -u
BIN=${1:-bin}
EG=$BIN/eidgate
[ -x "$EG" ] || { echo "setup_test: $EG missing (make all)"; echo "0 passed, 1 failed"; exit 1; }
T=$(mktemp -d /tmp/eidgate-setup-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

check() {   # check NAME CONDITION...: one named assertion
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1)); echo "ok   $name"
	else
		fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     | /' "$T/out" | head -20
	fi
}

# conf DIR: a configuration whose keys live in DIR.
conf() {
	mkdir -p "$1"
	cat >"$1/eidgate.conf" <<-EOF
	[listen]
	address = 127.0.0.1:8443
	tls_cert = server.pem
	tls_key = server.key
	[eid]
	trust_anchors = roots
	[session]
	key_file = session.key
	[ldap]
	uri = ldap://127.0.0.1
	base = dc=example
	[policy]
	file = example.policy
	[audit]
	db = audit
	signing_key = keys/audit.key
	[assertion]
	signing_key = assertion.key
	EOF
}

mode() { stat -c %a "$1"; }
p256() { openssl pkey -in "$1" -noout -text 2>/dev/null | grep -q 'NIST CURVE: P-256'; }

fresh() {
	local d=$T/fresh
	conf "$d"
	mkdir -p "$d/keys"
	"$EG" setup -c "$d/eidgate.conf" >"$T/out" 2>&1
	check "creates the keys (exit 0)" [ $? -eq 0 ]
	check "session key: 32 bytes, 0600" [ "$(stat -c %s "$d/session.key")" = 32 ] &&
		check "session key mode" [ "$(mode "$d/session.key")" = 600 ]
	check "assertion key: EC P-256, 0600" p256 "$d/assertion.key"
	check "assertion key mode" [ "$(mode "$d/assertion.key")" = 600 ]
	check "audit key: EC P-256, 0600" p256 "$d/keys/audit.key"
	check "public keys beside them, 0644" [ "$(mode "$d/assertion.pub.pem")" = 644 ] &&
		check "audit public key" [ "$(mode "$d/keys/audit.pub.pem")" = 644 ]
	check "names what the operator must provide" grep -q 'missing \[listen\] tls_cert' "$T/out"
	local sum
	sum=$(cat "$d/session.key" "$d/assertion.key" "$d/keys/audit.key" | sha256sum)
	"$EG" setup -c "$d/eidgate.conf" >"$T/out" 2>&1
	check "a second run keeps every key" [ "$(cat "$d/session.key" "$d/assertion.key" \
		"$d/keys/audit.key" | sha256sum)" = "$sum" ]
	check "and says so" grep -q '^kept .*session.key' "$T/out"
	check "and creates nothing" bash -c '! grep -q "^created" "$0"' "$T/out"
	check "no temporary files left" bash -c '[ -z "$(ls "$0" | grep -E "\.[A-Za-z0-9]{6}$")" ]' "$d"
}

symlink_kept() {
	local d=$T/link
	conf "$d"
	mkdir -p "$d/keys"
	ln -s "$d/elsewhere" "$d/session.key"
	"$EG" setup -c "$d/eidgate.conf" >"$T/out" 2>&1
	check "a dangling symlink at a key's place is kept" [ -L "$d/session.key" ]
	check "and never written through" [ ! -e "$d/elsewhere" ]
}

foreign_public_key() {
	local d=$T/foreign
	conf "$d"
	mkdir -p "$d/keys"
	openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
		openssl pkey -pubout -out "$d/assertion.pub.pem" 2>/dev/null
	"$EG" setup -c "$d/eidgate.conf" >"$T/out" 2>&1
	check "a public key of another key fails setup (exit 1)" [ $? -eq 1 ]
	check "and is named" grep -q 'assertion.pub.pem exists but is not the public key' "$T/out"
	check "the other keys are still made" [ -s "$d/keys/audit.key" ]
}

no_directory() {
	local d=$T/nodir
	conf "$d"          # keys/ is missing: the audit key cannot be written
	"$EG" setup -c "$d/eidgate.conf" >"$T/out" 2>&1
	check "a key that cannot be written fails setup (exit 1)" [ $? -eq 1 ]
	check "with the path and the reason" grep -q 'keys/audit.key: cannot create' "$T/out"
}

usage() {
	"$EG" setup >"$T/out" 2>&1
	check "no -c: exit 2" [ $? -eq 2 ]
	"$EG" setup -c "$T/none.conf" >"$T/out" 2>&1
	check "unreadable configuration: exit 1" [ $? -eq 1 ]
}

umask 022
fresh
symlink_kept
foreign_public_key
no_directory
usage
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
