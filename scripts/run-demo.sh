#!/usr/bin/env bash
# `make run`: the whole demo on this machine, on 127.0.0.1 only: test PKI and card tokens,
# a private slapd with the demo directory, both sample backends and the gateway.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DEMO=$REPO/run/demo
BIN=$REPO/bin
mkdir -p "$DEMO"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
port_free() { python3 -c 'import socket,sys;s=socket.socket();s.bind(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null; }

pids=()
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "eidgate demo: stopping"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	bash scripts/slapd.sh stop "$DEMO/ldap" >/dev/null 2>&1 || true
}
trap cleanup INT TERM EXIT

bash certs/gen-test-pki.sh "$DEMO/pki"
bash certs/make-tokens.sh "$DEMO/pki" "$DEMO/tokens"

GW=8443; port_free $GW || GW=$(free_port)
LDAP=$(free_port); LDAPS=$(free_port); MOD=$(free_port); DOS=$(free_port)

# A fresh directory each run: the demo data is the starting point, changes are not kept.
bash scripts/slapd.sh stop "$DEMO/ldap" >/dev/null 2>&1 || true
rm -rf "$DEMO/ldap"
bash scripts/slapd.sh start "$DEMO/ldap" "$LDAP" "$DEMO/pki/keys/ldap.secret" \
	--tls "$DEMO/pki/ldap/slapd.pem" "$DEMO/pki/ldap/slapd.key" --ldaps "$LDAPS"
bash demo/directory/make-ldif.sh | bash scripts/slapd.sh load "$DEMO/ldap" - >/dev/null

"$BIN/eidgate-demo-modules" --listen "127.0.0.1:$MOD" >"$DEMO/modules.log" 2>&1 & pids+=($!)
"$BIN/eidgate-demo-dossiers" --listen "127.0.0.1:$DOS" >"$DEMO/dossiers.log" 2>&1 & pids+=($!)
bash scripts/write-config.sh "$DEMO" "$DEMO/pki" "$GW" "$LDAP" "$MOD" "$DOS"
"$BIN/eidgate" check-config -c "$DEMO/eidgate.conf" >/dev/null
"$BIN/eidgate" serve -c "$DEMO/eidgate.conf" & pids+=($!)
for _ in $(seq 50); do port_free "$GW" || break; sleep 0.1; done

P=$DEMO/pki/people
# A PKCS#12 of one demo card for importing into a browser (password: demo).
openssl pkcs12 -export -passout pass:demo -in "$P/mod-betlehem/chain.pem" \
	-inkey "$P/mod-betlehem/auth.key" -name "Johan Feskens (demo eID)" \
	-out "$DEMO/mod-betlehem.p12" 2>/dev/null || true
cat <<MSG

eidgate demo is running at https://127.0.0.1:$GW/   (Ctrl-C stops everything)

  Module database backend:  http://127.0.0.1:$MOD     Dossier backend: http://127.0.0.1:$DOS
  Directory (slapd):         ldap://127.0.0.1:$LDAP (StartTLS), ldaps://127.0.0.1:$LDAPS
                             CA: $DEMO/pki/ldap/ldap-ca.pem
  Access log:                $DEMO/audit
  Server CA for clients:     $DEMO/pki/server/server-ca.pem

Log in with a demo certificate (Rudi Gerrits, moduleerder of CKG Molenberg):
  curl --cacert $DEMO/pki/server/server-ca.pem \\
       --cert $P/mod-molenberg/chain.pem --key $P/mod-molenberg/auth.key \\
       https://127.0.0.1:$GW/modules/facilities/ckg-molenberg/modules

Log in with a demo card (a SoftHSM2 token laid out like an eID card, PIN 1234):
  TOKEN=\$(SOFTHSM2_CONF=$DEMO/tokens/mod-molenberg/softhsm2.conf \\
       $BIN/eidgate-login --url https://127.0.0.1:$GW --module /usr/lib/softhsm/libsofthsm2.so \\
       --cacert $DEMO/pki/server/server-ca.pem)
  curl --cacert $DEMO/pki/server/server-ca.pem -H "Authorization: Bearer \$TOKEN" \\
       https://127.0.0.1:$GW/eidgate/whoami

In a browser: import $DEMO/mod-betlehem.p12 (password demo) as your certificate and
trust $DEMO/pki/server/server-ca.pem, then open https://127.0.0.1:$GW/eidgate/
(Johan Feskens may act for two facilities: choose one, then open its modules).

Other demo people are in demo/directory/people.tsv (their files: $P/<key>/).
Read the access log:  $BIN/eidgate audit query --db $DEMO/audit

MSG
wait "${pids[2]}"
