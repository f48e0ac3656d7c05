#!/usr/bin/env bash
# gen-test-pki.sh OUT [--people FILE] [--ocsp-url URL]
#
# Builds a throw-away test PKI that imitates the Belgian eID PKI (Belgium Root CA4 / RSA,
# Belgium Root CA6 / EC P-384, Citizen CA and Foreigner CA under each), one Authentication and
# one Signature certificate per person in the people file, OCSP responder certificates, CRLs,
# a TLS server certificate, the test directory's TLS certificates (OUT/ldap), the gateway's
# own keys and a set of broken certificates for negative tests. Nothing here is a real key; everything is generated at run time into OUT
# (which must be git-ignored). Every CA keeps an `openssl ca` state directory
# (OUT/ca/<ca>/openssl.cnf, index.txt, serial, crlnumber) so tests can revoke certificates and
# issue new CRLs:
#   openssl ca -config OUT/ca/citizen-ca4/openssl.cnf -revoke CERT
#   openssl ca -config OUT/ca/citizen-ca4/openssl.cnf -gencrl -out OUT/crl/citizen-ca4.crl.pem
#
# Idempotent: when OUT/.stamp holds the hash of this script, the people file and the OCSP URL
# (and the "not yet valid" fixture is still in the future) nothing is done.
# Prints one summary line on success; on failure the tail of the openssl log goes to stderr.
set -euo pipefail
umask 022

PROG=gen-test-pki
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT_PATH=$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")

usage() { echo "usage: $0 OUT [--people FILE] [--ocsp-url URL]" >&2; exit 2; }
die() { echo "$PROG: $*" >&2; exit 1; }

[ $# -ge 1 ] || usage
OUT_ARG=$1; shift
case $OUT_ARG in -*) usage ;; esac
PEOPLE=$SCRIPT_DIR/../demo/directory/people.tsv
OCSP_URL=http://127.0.0.1:8888
while [ $# -gt 0 ]; do
    case $1 in
        --people) [ $# -ge 2 ] || usage; PEOPLE=$2; shift 2 ;;
        --people=*) PEOPLE=${1#*=}; shift ;;
        --ocsp-url) [ $# -ge 2 ] || usage; OCSP_URL=$2; shift 2 ;;
        --ocsp-url=*) OCSP_URL=${1#*=}; shift ;;
        *) usage ;;
    esac
done
[ -r "$PEOPLE" ] || die "people file not readable: $PEOPLE"
case $OCSP_URL in http://*|https://*) ;; *) die "bad --ocsp-url: $OCSP_URL" ;; esac

command -v openssl >/dev/null || die "openssl not found"
mkdir -p "$OUT_ARG"
OUT=$(cd "$OUT_ARG" && pwd -P)

# One generator at a time per OUT.
exec 9>"$OUT/.lock"
flock 9

# ---------------------------------------------------------------- idempotency
STAMP=$( { echo "script"; cat "$SCRIPT_PATH"; echo "people"; cat "$PEOPLE"; echo "ocsp $OCSP_URL"; } \
         | sha256sum | cut -d' ' -f1)

count_people() { grep -c -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$PEOPLE" || true; }

if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$STAMP" ] \
   && [ -f "$OUT/trust/client-ca-bundle.pem" ] && [ -f "$OUT/special/notyet.pem" ]; then
    # The notyet fixture must still lie at least an hour in the future.
    nb=$(openssl x509 -in "$OUT/special/notyet.pem" -noout -startdate 2>/dev/null | cut -d= -f2)
    if [ -n "$nb" ] && [ "$(date -u -d "$nb" +%s)" -gt $(( $(date -u +%s) + 3600 )) ]; then
        echo "$PROG: $OUT up to date ($(count_people) people)"
        exit 0
    fi
fi

T0=$(date +%s.%N)
rm -f "$OUT/.stamp"
for d in roots intermediates private people ca ocsp crl server ldap keys special trust; do
    rm -rf "${OUT:?}/$d"
done
mkdir -p "$OUT"/{roots,intermediates,private,people,ca,ocsp,crl,server,ldap,keys,special/ca,trust/roots,trust/intermediates}
chmod 700 "$OUT/private" "$OUT/keys"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gen-test-pki.XXXXXX")
LOG=$WORK/openssl.log
: >"$LOG"
trap 'rm -rf "$WORK"' EXIT

run() {
    if ! "$@" >>"$LOG" 2>&1; then
        echo "$PROG: failed: $*" >&2
        tail -n 25 "$LOG" >&2
        exit 1
    fi
}

# ---------------------------------------------------------------- dates
# openssl ca -startdate/-enddate take YYYYMMDDHHMMSSZ (stored as UTCTime before 2050).
d() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
NOW_M1D=$(d "-1 day")
ROOT_END=$(d "-1 day +20 years")
ICA_END=$(d "-1 day +12 years")
EE_END=$(d "-1 day +5 years")
SRV_END=$(d "-1 day +1 year")
EXP_START=$(d "-1 year -1 day")
EXP_END=$(d "-1 day")
NY_START=$(d "+1 day")
NY_END=$(d "+1 day +5 years")

# ---------------------------------------------------------------- people
P_KEYS=(); P_NRN=(); P_GIVEN=(); P_SURNAME=(); P_CARD=()
while IFS=$'\t' read -r key nrn given surname card _roles || [ -n "${key:-}" ]; do
    key=${key%$'\r'}; card=${card%$'\r'}
    case $key in ''|'#'*) continue ;; esac
    [[ $key =~ ^[A-Za-z0-9._-]+$ ]] || die "bad person key '$key' in $PEOPLE"
    if [ -z "${nrn:-}" ] || [ -z "${given:-}" ] || [ -z "${surname:-}" ]; then
        die "incomplete line for '$key' in $PEOPLE"
    fi
    case $card in citizen-rsa|citizen-ec|foreigner-rsa) ;;
        *) die "unknown card kind '$card' for '$key' (citizen-rsa | citizen-ec | foreigner-rsa)" ;;
    esac
    P_KEYS+=("$key"); P_NRN+=("$nrn"); P_GIVEN+=("$given"); P_SURNAME+=("$surname"); P_CARD+=("$card")
done <"$PEOPLE"
[ ${#P_KEYS[@]} -gt 0 ] || die "no people in $PEOPLE"

# ---------------------------------------------------------------- keys (in parallel)
PIDS=()
genkey() { # TYPE FILE
    local type=$1 out=$2
    case $type in
        rsa2048) set -- -algorithm RSA -pkeyopt rsa_keygen_bits:2048 ;;
        rsa4096) set -- -algorithm RSA -pkeyopt rsa_keygen_bits:4096 ;;
        p256)    set -- -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve ;;
        p384)    set -- -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -pkeyopt ec_param_enc:named_curve ;;
        *) die "genkey: $type" ;;
    esac
    (umask 077; openssl genpkey "$@" -out "$out" 2>>"$LOG.$BASHPID" \
        || { cat "$LOG.$BASHPID" >&2; exit 1; }) &
    PIDS+=("$!")
}
wait_keys() {
    local p rc=0
    for p in "${PIDS[@]}"; do wait "$p" || rc=1; done
    PIDS=()
    [ $rc -eq 0 ] || die "key generation failed"
}

P=$OUT/private
genkey rsa4096 "$P/belgium-root-ca4.key"
genkey p384    "$P/belgium-root-ca6.key"
genkey rsa2048 "$P/citizen-ca4.key"
genkey rsa2048 "$P/foreigner-ca4.key"
genkey p384    "$P/citizen-ca6.key"
genkey p384    "$P/foreigner-ca6.key"
genkey p256    "$P/server-ca.key"
genkey p256    "$OUT/server/server.key"
for k in ldap-ca ldap-rogue-ca; do genkey p256 "$P/$k.key"; done
for k in slapd wrong-name expired rogue; do genkey p256 "$OUT/ldap/$k.key"; done
for ca in belgium-root-ca4 citizen-ca4 foreigner-ca4; do genkey rsa2048 "$OUT/ocsp/$ca-responder.key"; done
for ca in belgium-root-ca6 citizen-ca6 foreigner-ca6; do genkey p384 "$OUT/ocsp/$ca-responder.key"; done
genkey p256 "$OUT/keys/assertion.key"
genkey p256 "$OUT/keys/audit.key"
for i in "${!P_KEYS[@]}"; do
    mkdir -p "$OUT/people/${P_KEYS[$i]}"
    case ${P_CARD[$i]} in *-ec) t=p384 ;; *) t=rsa2048 ;; esac
    genkey $t "$OUT/people/${P_KEYS[$i]}/auth.key"
    genkey $t "$OUT/people/${P_KEYS[$i]}/sign.key"
done
for s in expired notyet badcheck noserial badserial revoked rogue-root rogue-ca rogue-user \
         unknown-root unknown-ca unknown-user; do
    genkey rsa2048 "$OUT/special/$s.key"
done
wait_keys

# ---------------------------------------------------------------- CA state + configs
REQ_CNF=$WORK/req.cnf
cat >"$REQ_CNF" <<'EOF'
[ req ]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
prompt = no
[ req_dn ]
EOF

# Escape a value for an openssl -subj string.
subj_esc() { local s=$1; s=${s//\\/\\\\}; s=${s//\//\\/}; s=${s//+/\\+}; s=${s//=/\\=}; printf '%s' "$s"; }

# mkca NAME STATEDIR CERT KEY MD KIND
#   KIND selects the certificate policies of the end-entity profiles:
#   citizen-rsa | citizen-ec | foreigner-rsa | foreigner-ec | none
mkca() {
    local name=$1 dir=$2 cert=$3 key=$4 md=$5 kind=$6 auth_pol sign_pol
    case $kind in
        citizen-rsa)   auth_pol=2.16.56.12.1.1.2.2;     sign_pol=2.16.56.12.1.1.2.1 ;;
        citizen-ec)    auth_pol=2.16.56.13.6.1.1.1000;  sign_pol=2.16.56.12.1.1.2.1 ;;
        foreigner-rsa) auth_pol=2.16.56.12.1.1.7.2;     sign_pol=2.16.56.12.1.1.7.1 ;;
        foreigner-ec)  auth_pol=2.16.56.13.6.2.1.1000;  sign_pol=2.16.56.12.1.1.7.1 ;;
        none)          auth_pol=2.16.56.12.1.1.2.2;     sign_pol=2.16.56.12.1.1.2.1 ;;
    esac
    mkdir -p "$dir/newcerts"
    : >"$dir/index.txt"
    echo "unique_subject = no" >"$dir/index.txt.attr"
    openssl rand -hex 16 | tr 'a-f' 'A-F' >"$dir/serial"
    echo 1000 >"$dir/crlnumber"
    cat >"$dir/openssl.cnf" <<EOF
# openssl ca configuration for the test CA "$name" (generated by certs/gen-test-pki.sh).
#   openssl ca -config $dir/openssl.cnf -revoke CERT [-crl_reason keyCompromise]
#   openssl ca -config $dir/openssl.cnf -gencrl -out CRL.pem
#   openssl ca -config $dir/openssl.cnf -batch -notext -preserveDN -extensions ext_auth \\
#       -in CSR -out CERT        (pass -preserveDN: "preserve = yes" below is ignored by
#                                 openssl ca 3.0, which would reorder the DN otherwise)
dir = $dir

[ ca ]
default_ca = CA_default

[ CA_default ]
database        = \$dir/index.txt
new_certs_dir   = \$dir/newcerts
serial          = \$dir/serial
rand_serial     = yes
crlnumber       = \$dir/crlnumber
certificate     = $cert
private_key     = $key
default_md      = $md
default_days    = 1825
default_crl_days = 7
crl_extensions  = ext_crl
policy          = policy_anything
preserve        = yes
unique_subject  = no
email_in_dn     = no
copy_extensions = none
utf8            = yes
string_mask     = utf8only
name_opt        = ca_default
cert_opt        = ca_default

[ policy_anything ]
countryName            = optional
commonName             = optional
surname                = optional
givenName              = optional
serialNumber           = optional
organizationName       = optional

[ ext_crl ]
authorityKeyIdentifier = keyid:always

[ ext_root ]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_ca ]
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
certificatePolicies    = @pol_any
crlDistributionPoints  = URI:http://127.0.0.1/crl/$name.crl
authorityInfoAccess    = caIssuers;URI:http://127.0.0.1/certs/$name.crt

[ ext_auth ]
keyUsage               = critical,digitalSignature
extendedKeyUsage       = clientAuth
certificatePolicies    = @pol_auth
authorityKeyIdentifier = keyid:always
authorityInfoAccess    = OCSP;URI:$OCSP_URL,caIssuers;URI:http://127.0.0.1/certs/$name.crt
crlDistributionPoints  = URI:http://127.0.0.1/crl/$name.crl

[ ext_sign ]
keyUsage               = critical,nonRepudiation
certificatePolicies    = @pol_sign
authorityKeyIdentifier = keyid:always
authorityInfoAccess    = OCSP;URI:$OCSP_URL,caIssuers;URI:http://127.0.0.1/certs/$name.crt
crlDistributionPoints  = URI:http://127.0.0.1/crl/$name.crl

[ ext_ocsp ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = OCSPSigning
noCheck                = ignored
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_server_ca ]
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ ext_server ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ pol_any ]
policyIdentifier = anyPolicy
CPS.1 = http://repository.eid.belgium.be

[ pol_auth ]
policyIdentifier = $auth_pol
CPS.1 = http://repository.eid.belgium.be

[ pol_sign ]
policyIdentifier = $sign_pol
CPS.1 = http://repository.eid.belgium.be
EOF
}

# issue CADIR EXT KEYFILE SUBJ START END OUTPEM [-selfsign]
issue() {
    local cadir=$1 ext=$2 key=$3 subj=$4 start=$5 end=$6 out=$7; shift 7
    local csr=$WORK/csr.$$.pem
    run openssl req -new -config "$REQ_CNF" -utf8 -key "$key" -subj "$subj" -out "$csr"
    run openssl ca -batch -notext -preserveDN -config "$cadir/openssl.cnf" -extensions "$ext" \
        -startdate "$start" -enddate "$end" -in "$csr" -out "$out" "$@"
    rm -f "$csr"
}

# person_subj GIVEN SURNAME NRN ROLE   (NRN may be empty: no serialNumber)
person_subj() {
    local g s
    g=$(subj_esc "$1"); s=$(subj_esc "$2")
    printf '/C=BE/CN=%s %s (%s)/SN=%s/GN=%s' "$g" "$s" "$4" "$s" "$g"
    [ -z "$3" ] || printf '/serialNumber=%s' "$(subj_esc "$3")"
}

CA=$OUT/ca

# Roots (self-signed through openssl ca so they sit in their own index).
mkca belgium-root-ca4 "$CA/belgium-root-ca4" "$OUT/roots/belgium-root-ca4.pem" "$P/belgium-root-ca4.key" sha256 none
mkca belgium-root-ca6 "$CA/belgium-root-ca6" "$OUT/roots/belgium-root-ca6.pem" "$P/belgium-root-ca6.key" sha384 none
issue "$CA/belgium-root-ca4" ext_root "$P/belgium-root-ca4.key" "/C=BE/CN=Belgium Root CA4" \
    "$NOW_M1D" "$ROOT_END" "$OUT/roots/belgium-root-ca4.pem" -selfsign
issue "$CA/belgium-root-ca6" ext_root "$P/belgium-root-ca6.key" "/C=BE/CN=Belgium Root CA6" \
    "$NOW_M1D" "$ROOT_END" "$OUT/roots/belgium-root-ca6.pem" -selfsign

# Intermediates.
# name root md kind subject-cn serial
while read -r name root md kind cn ser; do
    mkca "$name" "$CA/$name" "$OUT/intermediates/$name.pem" "$P/$name.key" "$md" "$kind"
    issue "$CA/$root" ext_ca "$P/$name.key" "/C=BE/CN=$cn CA/serialNumber=$ser" \
        "$NOW_M1D" "$ICA_END" "$OUT/intermediates/$name.pem"
done <<'EOF'
citizen-ca4   belgium-root-ca4 sha256 citizen-rsa   Citizen   202301
foreigner-ca4 belgium-root-ca4 sha256 foreigner-rsa Foreigner 202302
citizen-ca6   belgium-root-ca6 sha384 citizen-ec    Citizen   202401
foreigner-ca6 belgium-root-ca6 sha384 foreigner-ec  Foreigner 202402
EOF

ALL_CAS=(belgium-root-ca4 belgium-root-ca6 citizen-ca4 foreigner-ca4 citizen-ca6 foreigner-ca6)
ca_cert() { case $1 in belgium-root-*) echo "$OUT/roots/$1.pem" ;; *) echo "$OUT/intermediates/$1.pem" ;; esac; }
ca_label() {
    case $1 in
        belgium-root-ca4) echo "Belgium Root CA4" ;; belgium-root-ca6) echo "Belgium Root CA6" ;;
        citizen-ca4) echo "Citizen CA 202301" ;; foreigner-ca4) echo "Foreigner CA 202302" ;;
        citizen-ca6) echo "Citizen CA 202401" ;; foreigner-ca6) echo "Foreigner CA 202402" ;;
    esac
}

# Delegated OCSP responders.
for ca in "${ALL_CAS[@]}"; do
    issue "$CA/$ca" ext_ocsp "$OUT/ocsp/$ca-responder.key" "/C=BE/CN=$(ca_label "$ca") OCSP Responder" \
        "$NOW_M1D" "$EE_END" "$OUT/ocsp/$ca-responder.pem"
done

# People.
for i in "${!P_KEYS[@]}"; do
    k=${P_KEYS[$i]}; dir=$OUT/people/$k
    case ${P_CARD[$i]} in
        citizen-rsa) ca=citizen-ca4 ;; citizen-ec) ca=citizen-ca6 ;; foreigner-rsa) ca=foreigner-ca4 ;;
    esac
    issue "$CA/$ca" ext_auth "$dir/auth.key" \
        "$(person_subj "${P_GIVEN[$i]}" "${P_SURNAME[$i]}" "${P_NRN[$i]}" Authentication)" \
        "$NOW_M1D" "$EE_END" "$dir/auth.pem"
    issue "$CA/$ca" ext_sign "$dir/sign.key" \
        "$(person_subj "${P_GIVEN[$i]}" "${P_SURNAME[$i]}" "${P_NRN[$i]}" Signature)" \
        "$NOW_M1D" "$EE_END" "$dir/sign.pem"
    cp "$OUT/intermediates/$ca.pem" "$dir/ca.pem"
    cat "$dir/auth.pem" "$dir/ca.pem" >"$dir/chain.pem"
    printf '%s' "${P_NRN[$i]}" >"$dir/nrn"
done

# ---------------------------------------------------------------- special certificates
S=$OUT/special
special() { # NAME CA GIVEN SURNAME NRN START END
    local name=$1 ca=$2
    issue "$CA/$ca" ext_auth "$S/$name.key" "$(person_subj "$3" "$4" "$5" Authentication)" \
        "$6" "$7" "$S/$name.pem"
    cat "$S/$name.pem" "$(ca_cert "$ca")" >"$S/$name-chain.pem"
}
special expired   citizen-ca4 Verlopen  Test     78031402154 "$EXP_START" "$EXP_END"
special notyet    citizen-ca4 Nognietgeldig Test 78031402154 "$NY_START" "$NY_END"
special badcheck  citizen-ca4 Foutcontrole Test  78031402199 "$NOW_M1D" "$EE_END"
special noserial  citizen-ca4 Zondernummer Test  ""          "$NOW_M1D" "$EE_END"
special badserial citizen-ca4 Foutnummer Test    7803140215A "$NOW_M1D" "$EE_END"
special revoked   citizen-ca4 Pieter    Janssens 81060203301 "$NOW_M1D" "$EE_END"

# A rogue hierarchy that copies the real names but has its own keys, and an unknown one.
for h in rogue unknown; do
    if [ $h = rogue ]; then rsubj="/C=BE/CN=Belgium Root CA4"; csubj="/C=BE/CN=Citizen CA/serialNumber=202301"
    else rsubj="/C=XX/CN=Unknown Root"; csubj="/C=XX/CN=Unknown CA"; fi
    mkca $h-root "$S/ca/$h-root" "$S/$h-root.pem" "$S/$h-root.key" sha256 none
    mkca $h-ca "$S/ca/$h-ca" "$S/$h-ca.pem" "$S/$h-ca.key" sha256 citizen-rsa
    issue "$S/ca/$h-root" ext_root "$S/$h-root.key" "$rsubj" "$NOW_M1D" "$ROOT_END" "$S/$h-root.pem" -selfsign
    issue "$S/ca/$h-root" ext_ca "$S/$h-ca.key" "$csubj" "$NOW_M1D" "$ICA_END" "$S/$h-ca.pem"
    cat "$S/$h-ca.pem" "$S/$h-root.pem" >"$S/$h-ca-chain.pem"
    issue "$S/ca/$h-ca" ext_auth "$S/$h-user.key" "$(person_subj Lotte Vermeulen 78031402154 Authentication)" \
        "$NOW_M1D" "$EE_END" "$S/$h-user.pem"
    cat "$S/$h-user.pem" "$S/$h-ca.pem" >"$S/$h-user-chain.pem"
done

# Revoke, then publish CRLs.
run openssl ca -config "$CA/citizen-ca4/openssl.cnf" -revoke "$S/revoked.pem" -crl_reason keyCompromise
for ca in "${ALL_CAS[@]}"; do
    run openssl ca -config "$CA/$ca/openssl.cnf" -gencrl -crldays 7 -out "$OUT/crl/$ca.crl.pem"
done

# ---------------------------------------------------------------- TLS server
mkca server-ca "$CA/server-ca" "$OUT/server/server-ca.pem" "$P/server-ca.key" sha256 none
issue "$CA/server-ca" ext_server_ca "$P/server-ca.key" "/O=eidgate/CN=eidgate Test Server CA" \
    "$NOW_M1D" "$(d "-1 day +10 years")" "$OUT/server/server-ca.pem" -selfsign
issue "$CA/server-ca" ext_server "$OUT/server/server.key" "/O=eidgate/CN=localhost" \
    "$NOW_M1D" "$SRV_END" "$OUT/server/server.pem"

# ---------------------------------------------------------------- directory TLS
# The test slapd's certificate (scripts/slapd.sh start ... --tls) comes from a CA of its
# own, so trusting the web server CA does not mean trusting the directory. Its address
# is 127.0.0.1: over TLS libldap checks a "localhost" URI against the machine's host
# name. Fixtures the gateway must refuse: the same subject and address from a rogue CA
# that copies the real CA's name, a certificate of the real CA for another host, and an
# expired one.
LD=$OUT/ldap
for ca in ldap-ca ldap-rogue-ca; do
    mkca $ca "$CA/$ca" "$LD/$ca.pem" "$P/$ca.key" sha256 none
    cat >>"$CA/$ca/openssl.cnf" <<'EOF'

[ ext_ldap ]
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = IP:127.0.0.1

[ ext_ldap_elsewhere ]
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:ldap.elsewhere.example
EOF
    issue "$CA/$ca" ext_server_ca "$P/$ca.key" "/O=eidgate/CN=eidgate Test Directory CA" \
        "$NOW_M1D" "$(d "-1 day +10 years")" "$LD/$ca.pem" -selfsign
done
issue "$CA/ldap-ca" ext_ldap "$LD/slapd.key" "/O=eidgate/CN=127.0.0.1" "$NOW_M1D" "$SRV_END" "$LD/slapd.pem"
issue "$CA/ldap-ca" ext_ldap_elsewhere "$LD/wrong-name.key" "/O=eidgate/CN=ldap.elsewhere.example" \
    "$NOW_M1D" "$SRV_END" "$LD/wrong-name.pem"
issue "$CA/ldap-ca" ext_ldap "$LD/expired.key" "/O=eidgate/CN=127.0.0.1" "$EXP_START" "$EXP_END" "$LD/expired.pem"
issue "$CA/ldap-rogue-ca" ext_ldap "$LD/rogue.key" "/O=eidgate/CN=127.0.0.1" "$NOW_M1D" "$SRV_END" "$LD/rogue.pem"

# ---------------------------------------------------------------- gateway keys
K=$OUT/keys
run openssl pkey -in "$K/assertion.key" -pubout -out "$K/assertion.pub.pem"
run openssl pkey -in "$K/audit.key" -pubout -out "$K/audit.pub.pem"
(umask 077
 openssl rand -out "$K/session.key" 32
 secret=""
 while [ ${#secret} -lt 24 ]; do
     secret+=$(head -c 256 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
 done
 printf '%s' "${secret:0:24}" >"$K/ldap.secret")
[ "$(stat -c %s "$K/session.key")" -eq 32 ] || die "session.key is not 32 bytes"

# ---------------------------------------------------------------- trust store
cp "$OUT/roots/belgium-root-ca4.pem" "$OUT/roots/belgium-root-ca6.pem" "$OUT/trust/roots/"
for ca in citizen-ca4 foreigner-ca4 citizen-ca6 foreigner-ca6; do
    cp "$OUT/intermediates/$ca.pem" "$OUT/trust/intermediates/"
done
cat "$OUT"/trust/roots/belgium-root-ca4.pem "$OUT"/trust/roots/belgium-root-ca6.pem \
    "$OUT"/trust/intermediates/{citizen-ca4,foreigner-ca4,citizen-ca6,foreigner-ca6}.pem \
    >"$OUT/trust/client-ca-bundle.pem"

# ---------------------------------------------------------------- permissions + sanity
find "$OUT" -name '*.key' -type f -exec chmod 600 {} +
chmod 600 "$K/ldap.secret" "$K/session.key"
chmod 700 "$OUT/private" "$OUT/keys"

for i in "${!P_KEYS[@]}"; do
    k=${P_KEYS[$i]}
    run openssl verify -CAfile "$OUT/trust/client-ca-bundle.pem" "$OUT/people/$k/auth.pem" "$OUT/people/$k/sign.pem"
done
run openssl verify -CAfile "$OUT/server/server-ca.pem" "$OUT/server/server.pem"
run openssl verify -CAfile "$LD/ldap-ca.pem" "$LD/slapd.pem" "$LD/wrong-name.pem"
run openssl verify -CAfile "$LD/ldap-rogue-ca.pem" "$LD/rogue.pem"

echo "$STAMP" >"$OUT/.stamp"
T1=$(date +%s.%N)
printf '%s: %s: %d people, 6 eID CAs, server CA, directory CA, specials, keys (%.1f s)\n' \
    "$PROG" "$OUT" "${#P_KEYS[@]}" "$(awk -v a="$T0" -v b="$T1" 'BEGIN { print b - a }')"
