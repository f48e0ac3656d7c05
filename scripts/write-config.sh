#!/usr/bin/env bash
# Writes an eidgate configuration and policy for a local stack (demo and tests).
# usage: scripts/write-config.sh DIR PKI GATEWAY_PORT LDAP_PORT MODULES_PORT DOSSIERS_PORT [SYNC]
# Creates DIR/eidgate.conf and DIR/jeugdhulp.policy (the example policy of PRODUCT.md §5
# pointed at the given backend ports); the audit log goes to DIR/audit.
# [process] user is whoever runs this: a gateway started by the tests or `make run` stays
# that user (also root, on CI) and drops nothing; the privilege drop to a service user is
# the installed package's (tests/e2e/test_package.py, unit/privilege_test).
# With EIDGATE_TEST_RULES=1 in the environment, the policy also routes the sample
# backends' test endpoints (/__echo, /__big, /__slow, /__status, /__stats): tests and
# bench/ only, never the demo of `make run`.
# The gateway reaches slapd with StartTLS and checks its certificate against the test
# PKI's directory CA (slapd started with scripts/slapd.sh start ... --tls PKI/ldap/slapd.pem
# PKI/ldap/slapd.key), as a production gateway would; EIDGATE_LDAP_TLS=off binds in
# clear over loopback instead (for measuring what TLS costs).
set -euo pipefail
[ $# -ge 6 ] || { echo "usage: $0 DIR PKI GATEWAY_PORT LDAP_PORT MODULES_PORT DOSSIERS_PORT [SYNC]" >&2; exit 2; }
dir=$1 pki=$2 gw=$3 ldap=$4 mod=$5 dos=$6 sync=${7:-group}
case ${EIDGATE_LDAP_TLS:-starttls} in
	starttls) ldap_tls="starttls = on
ca_file = $pki/ldap/ldap-ca.pem" ;;
	off) ldap_tls="starttls = off" ;;
	*) echo "$0: EIDGATE_LDAP_TLS must be starttls or off" >&2; exit 2 ;;
esac
mkdir -p "$dir"
umask 077

cat > "$dir/jeugdhulp.policy" <<POLICY
# The example policy of PRODUCT.md §5.
backend modules  http://127.0.0.1:$mod  timeout=10s
backend dossiers http://127.0.0.1:$dos  timeout=10s

allow catalog      GET,HEAD  /modules/catalog/**                  -> modules  when authenticated
allow module-read  GET,HEAD  /modules/facilities/{f}/**           -> modules  when role member on facility {f} or role moduleerder on facility {f}
allow module-write POST,PUT,PATCH,DELETE /modules/facilities/{f}/** -> modules when role moduleerder on facility {f}
allow a-doc-submit POST      /dossiers/a-documents                -> dossiers when role insisto-aanmelder on facility context
allow a-doc-read   GET       /dossiers/facilities/{f}/**          -> dossiers when role insisto-aanmelder on facility {f} or role insisto-raadpleger on facility {f}
allow itp          *         /dossiers/regions/{r}/**             -> dossiers when role indicatiesteller on region {r} or role jeugdhulpregisseur on region {r}
deny  no-delete    DELETE    /dossiers/**
POLICY

if [ "${EIDGATE_TEST_RULES:-0}" = 1 ]; then
	cat >> "$dir/jeugdhulp.policy" <<POLICY

# Test only (EIDGATE_TEST_RULES=1): the sample backends' test endpoints, behind backend
# lines that differ in one option each. Port 1 has no listener: connection refused.
backend test-bulk    http://127.0.0.1:$mod  timeout=10s max_body=2GiB
backend test-headers http://127.0.0.1:$mod  timeout=10s identity=headers
backend test-small   http://127.0.0.1:$mod  timeout=10s max_body=1MiB
backend test-quick   http://127.0.0.1:$mod  timeout=1s
backend test-down    http://127.0.0.1:1     timeout=2s

allow test-echo        *        /__echo               -> test-bulk    when authenticated
allow test-echo-hdrs   *        /__echo/headers/**    -> test-headers when authenticated
allow test-echo-small  *        /__echo/small/**      -> test-small   when authenticated
allow test-echo-down   *        /__echo/down/**       -> test-down    when authenticated
allow test-big         GET,HEAD /__big                -> modules      when authenticated
allow test-slow        GET      /__slow               -> test-quick   when authenticated
allow test-status      GET,HEAD /__status             -> modules      when authenticated
allow test-stats       GET      /__stats              -> modules      when authenticated
POLICY
fi

cat > "$dir/eidgate.conf" <<CONF
[listen]
address = 127.0.0.1:$gw
tls_cert = $pki/server/server.pem
tls_key = $pki/server/server.key
client_cert = request
web_root = $(cd "$(dirname "$0")/.." && pwd)/web

[eid]
trust_anchors = $pki/trust/roots
intermediates = $pki/trust/intermediates
ocsp = off

[session]
key_file = $pki/keys/session.key
idle_timeout = 15m
absolute_timeout = 8h

[ldap]
uri = ldap://127.0.0.1:$ldap
$ldap_tls
base = dc=jeugdhulp,dc=example
bind_dn = cn=eidgate,dc=jeugdhulp,dc=example
bind_password_file = $pki/keys/ldap.secret
cache_ttl = 60s
timeout = 2s

[policy]
file = $dir/jeugdhulp.policy

[audit]
db = $dir/audit
map_size = 64MiB
sync = $sync
signing_key = $pki/keys/audit.key

[assertion]
signing_key = $pki/keys/assertion.key
lifetime = 60s

[metrics]
allow_from = 127.0.0.1

[process]
user = $(id -un)
CONF
