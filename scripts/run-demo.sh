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

# Revocation is checked as in production: the gateway reads the CAs' CRLs ([eid] crl),
# so the demo's revoked card is refused. The test PKI's CRLs last a week; each start
# issues fresh ones, so a PKI made long ago still lets the other cards in.
for crl in "$DEMO"/pki/crl/*.crl.pem; do
	ca=$(basename "$crl" .crl.pem)
	openssl ca -config "$DEMO/pki/ca/$ca/openssl.cnf" -gencrl -crldays 7 -out "$crl.new" 2>/dev/null
	mv "$crl.new" "$crl"
done

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
sed -i "s|^intermediates = .*|&\ncrl = $DEMO/pki/crl|" "$DEMO/eidgate.conf"
grep -q "^crl = " "$DEMO/eidgate.conf" || { echo "eidgate demo: no [eid] crl in the configuration" >&2; exit 1; }
"$BIN/eidgate" check-config -c "$DEMO/eidgate.conf" >/dev/null
"$BIN/eidgate" serve -c "$DEMO/eidgate.conf" & pids+=($!)
for _ in $(seq 50); do port_free "$GW" || break; sleep 0.1; done

P=$DEMO/pki/people
CA=$DEMO/pki/server/server-ca.pem
# One demo person per role, each with a PKCS#12 of their card for a browser (password:
# demo), the certificate pair for curl, and a SoftHSM2 card for eidgate-login.
ROLES=(
	"mod-molenberg|care worker: moduleerder of CKG Molenberg"
	"lb-molenberg|local administrator (lokale beheerder) of CKG Molenberg"
	"vte-a|VTE of vzw Kinderzorg Limburg-Antwerpen (rights management)"
	"secoff-a|security officer of vzw Kinderzorg Limburg-Antwerpen (access log)"
)
name_of() { awk -F'\t' -v k="$1" '$1 == k { print $3 " " $4 }' demo/directory/people.tsv; }
for entry in "${ROLES[@]}"; do
	key=${entry%%|*}
	openssl pkcs12 -export -passout pass:demo -in "$P/$key/chain.pem" -inkey "$P/$key/auth.key" \
		-name "$(name_of "$key") (demo eID)" -out "$DEMO/$key.p12" 2>/dev/null
done

cat <<MSG

eidgate demo is running at https://127.0.0.1:$GW/eidgate/   (Ctrl-C stops everything)

  Module database backend:  http://127.0.0.1:$MOD     Dossier backend: http://127.0.0.1:$DOS
  Directory (slapd):         ldap://127.0.0.1:$LDAP (StartTLS), ldaps://127.0.0.1:$LDAPS
                             CA: $DEMO/pki/ldap/ldap-ca.pem
  Access log:                $DEMO/audit
  Server CA for clients:     $CA
  Revocation:                the CRLs of $DEMO/pki/crl, as in production

Log in as one of these demo people (their cards: $P/<key>/):
MSG
for entry in "${ROLES[@]}"; do
	key=${entry%%|*}
	cat <<MSG

  $(name_of "$key") - ${entry#*|}
    browser:  import $DEMO/$key.p12 (password demo), open https://127.0.0.1:$GW/eidgate/
    curl:     curl --cacert $CA --cert $P/$key/chain.pem --key $P/$key/auth.key https://127.0.0.1:$GW/eidgate/whoami
    card:     SOFTHSM2_CONF=$DEMO/tokens/$key/softhsm2.conf $BIN/eidgate-login --url https://127.0.0.1:$GW \\
                --module /usr/lib/softhsm/libsofthsm2.so --cacert $CA     (PIN 1234; prints a Bearer token)
MSG
done
cat <<MSG

In a browser, also trust $CA (or accept the warning). The care worker's modules:
  curl --cacert $CA --cert $P/mod-molenberg/chain.pem --key $P/mod-molenberg/auth.key \\
       https://127.0.0.1:$GW/modules/facilities/ckg-molenberg/modules
A revoked card, refused by the CRL (reason "revoked"):
  curl --cacert $CA --cert $DEMO/pki/special/revoked-chain.pem --key $DEMO/pki/special/revoked.key \\
       https://127.0.0.1:$GW/eidgate/whoami
A card's signature certificate, refused with its own reason (signature-certificate) when
eidgate-login offers it; a browser cannot even complete TLS with it (no digitalSignature).

Other demo people are in demo/directory/people.tsv.
Read the access log:  $BIN/eidgate audit query --db $DEMO/audit

MSG
wait "${pids[2]}"
