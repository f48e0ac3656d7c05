#!/usr/bin/env bash
# Runs a private OpenLDAP slapd for eidgate (development, tests, demo) as an ordinary
# process with its own configuration and data directory, listening on 127.0.0.1 only.
# The system slapd service, /etc/ldap/slapd.d and /var/lib/ldap are never used (the
# system schema files in /etc/ldap/schema are only read).  Several instances may run at
# once, each with its own DIR and PORT.
#
# Usage:
#   scripts/slapd.sh start   DIR PORT SECRET_FILE [--tls CERT KEY [--ldaps LDAPS_PORT]]
#       Writes DIR/slapd.conf, creates DIR/data (MDB) with the base entries and the
#       service account cn=eidgate,dc=jeugdhulp,dc=example on first use, sets the service
#       account's password to the content of SECRET_FILE, starts slapd on
#       ldap://127.0.0.1:PORT/ and waits (up to 10 s) until it answers.
#       DIR/admin.secret (mode 0600) holds the rootdn password (random, made once).
#       With --tls, slapd presents CERT (PEM, with its chain) and KEY, offers StartTLS on
#       PORT (TLS 1.2 or newer) and, with --ldaps, TLS from the first byte on
#       ldaps://127.0.0.1:LDAPS_PORT/. Plain binds on PORT stay possible: this script's
#       own administration binds over loopback, and so may a gateway on loopback.
#   scripts/slapd.sh load    DIR LDIF_FILE     ldapadd LDIF_FILE ("-" = stdin) as rootdn
#   scripts/slapd.sh stop    DIR               stop the instance (pidfile), wait for exit
#   scripts/slapd.sh restart DIR               stop (if running) and start again on the
#                                              port remembered in DIR/port; data kept
#   scripts/slapd.sh status  DIR               exit 0 if running (prints the URL)
#
# Files in DIR: slapd.conf, data/, admin.secret, port, ldaps_port, slapd.pid, slapd.args,
# slapd.log.
# Environment: EIDGATE_LDAP_SYS_SCHEMA (default /etc/ldap/schema),
#              EIDGATE_LDAP_MODULES (default /usr/lib/ldap),
#              EIDGATE_SLAPD_DEBUG (slapd -d level, default none; "stats" logs every
#              connection and operation to DIR/slapd.log, which tests read),
#              EIDGATE_SLAPD_TLS_PRIORITY (the GnuTLS priority string of --tls; default
#              TLS 1.3 and 1.2 only; tests use it to play an outdated directory).
set -euo pipefail
umask 077

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
EIDGATE_SCHEMA="$SCRIPT_DIR/../directory/schema/eidgate.schema"
SYS_SCHEMA=${EIDGATE_LDAP_SYS_SCHEMA:-/etc/ldap/schema}
MODULE_DIR=${EIDGATE_LDAP_MODULES:-/usr/lib/ldap}

SUFFIX="dc=jeugdhulp,dc=example"
ROOTDN="cn=admin,$SUFFIX"
SVCDN="cn=eidgate,$SUFFIX"
REGIONS=(antwerpen limburg oost-vlaanderen vlaams-brabant-brussel west-vlaanderen)
START_TIMEOUT=10      # seconds until the server must answer
STOP_TIMEOUT=20       # seconds until the server must have exited after SIGTERM

# Do not let /etc/ldap/ldap.conf or ~/.ldaprc change what the client tools do.
export LDAPNOINIT=1
PATH="$PATH:/usr/sbin:/sbin"

die() { echo "slapd.sh: $*" >&2; exit 1; }
usage() { sed -n '/^# Usage:/,/^# Files/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found (run scripts/deps.sh)"; }

# Absolute path, without requiring it to exist.
abspath() { realpath -m -- "$1"; }

# The pid of the slapd serving DIR, if it is running; prints nothing otherwise.  The pid
# is only trusted when that process really is a slapd using DIR/slapd.conf, so a stale
# pidfile whose number was reused never leads to killing an unrelated process.
running_pid() {
  local dir=$1 pid cmd
  [ -r "$dir/slapd.pid" ] || return 0
  pid=$(tr -dc '0-9' < "$dir/slapd.pid")
  [ -n "$pid" ] || return 0
  [ -r "/proc/$pid/cmdline" ] || return 0
  cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 0
  case "$cmd" in
    *slapd*"-f $dir/slapd.conf "*) printf '%s\n' "$pid" ;;
  esac
}

url_of() { printf 'ldap://127.0.0.1:%s/' "$1"; }

# Hashes a password file's exact content with slappasswd (SSHA).
hash_file() { slappasswd -h '{SSHA}' -T "$1" 2>/dev/null; }

# slapd.conf lines for --tls CERT KEY ("" when no TLS). Debian's slapd uses GnuTLS,
# which ignores TLSProtocolMin: the priority string is what keeps TLS 1.0 and 1.1 out.
tls_config() {
  local cert=$1 key=$2
  [ -n "$cert" ] || return 0
  cat <<EOF
TLSCertificateFile $cert
TLSCertificateKeyFile $key
TLSCipherSuite ${EIDGATE_SLAPD_TLS_PRIORITY:-NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2}
TLSProtocolMin 3.3
EOF
}

# slapd.conf lines of one half of a pair (DIR/mirror holds "SERVER_ID PEER_PORT"): the
# global serverID, or the database's syncrepl from the peer, mirror mode and the
# syncprov overlay (which also serves the gateways' change feed). The peer is reached
# on loopback with the shared rootdn password; between machines this would be
# starttls=critical with tls_cacert and a replication account of its own.
mirror_config() {
  local dir=$1 part=$2 id peer cred
  if [ "$part" = overlay ]; then
    # On every instance, paired or not: the gateways follow the directory with the
    # Content Synchronization operation (RFC 4533), which syncprov serves.
    printf 'overlay syncprov\nsyncprov-checkpoint 100 1\nsyncprov-sessionlog 10000\n'
    return 0
  fi
  [ -s "$dir/mirror" ] || return 0
  read -r id peer < "$dir/mirror"
  if [ "$part" = global ]; then
    printf 'serverID %s\n' "$id"
    return 0
  fi
  cred=$(cat "$dir/admin.secret")
  cat <<EOC
index entryCSN eq
index entryUUID eq
syncrepl rid=00$id
	provider=ldap://127.0.0.1:$peer/
	bindmethod=simple
	binddn="$ROOTDN"
	credentials=$cred
	searchbase="$SUFFIX"
	type=refreshAndPersist
	retry="1 +"
	timeout=2
	network-timeout=2
mirrormode on
EOC
}

write_config() {
  local dir=$1 cert=${2:-} key=${3:-} schema rootpw modload=""
  schema=$(cd "$(dirname "$EIDGATE_SCHEMA")" && pwd)/$(basename "$EIDGATE_SCHEMA")
  [ -r "$schema" ] || die "schema not found: $schema"
  for s in core cosine inetorgperson; do
    [ -r "$SYS_SCHEMA/$s.schema" ] || die "missing $SYS_SCHEMA/$s.schema (is slapd installed?)"
  done
  # Debian builds the backends as modules; other builds may have mdb built in.
  if [ -e "$MODULE_DIR/back_mdb.so" ] || [ -e "$MODULE_DIR/back_mdb.la" ]; then
    modload="modulepath $MODULE_DIR
moduleload back_mdb"
  fi
  if [ -e "$MODULE_DIR/syncprov.so" ] || [ -e "$MODULE_DIR/syncprov.la" ]; then
    modload="${modload:-modulepath $MODULE_DIR}
moduleload syncprov"
  fi
  rootpw=$(hash_file "$dir/admin.secret") || die "slappasswd failed"
  [ -n "$rootpw" ] || die "slappasswd gave no hash"

  cat > "$dir/slapd.conf.new" <<EOF
# Generated by scripts/slapd.sh on every start -- do not edit (changes are lost).
include $SYS_SCHEMA/core.schema
include $SYS_SCHEMA/cosine.schema
include $SYS_SCHEMA/inetorgperson.schema
include $schema

pidfile $dir/slapd.pid
argsfile $dir/slapd.args
$modload
$(mirror_config "$dir" global)
$(tls_config "$cert" "$key")

# Frontend: the root DSE (naming contexts, supported features; no directory data) may
# be read by anyone, so "ldapsearch -x -b '' -s base" works as a liveness probe; the
# schema only by authenticated clients; nothing else.
access to dn.base=""
	by * read
access to dn.base="cn=Subschema"
	by users read
	by * none

database mdb
maxsize 1073741824
suffix "$SUFFIX"
rootdn "$ROOTDN"
rootpw $rootpw
directory $dir/data

index objectClass eq
index uid eq
index member eq
index cn eq
index ou eq
index o eq
index eidgateValidUntil pres

limits dn.exact="$SVCDN" size=unlimited time=unlimited
$(mirror_config "$dir" database)

# Nothing in this database is served to an anonymous client: searches fail with
# "authentication required" instead of returning an empty result.
require authc

# Passwords (only the service account has one) are used for binding, never read.
access to attrs=userPassword
	by anonymous auth
	by * none

# The service account writes people, organisations (with facilities and role groups)
# and regional role groups: below these three entries, not the entries themselves.
access to dn.children="ou=people,$SUFFIX"
	by dn.exact="$SVCDN" write
	by * none
access to dn.base="ou=people,$SUFFIX" attrs=children
	by dn.exact="$SVCDN" write
	by * none
access to dn.children="ou=organisations,$SUFFIX"
	by dn.exact="$SVCDN" write
	by * none
access to dn.base="ou=organisations,$SUFFIX" attrs=children
	by dn.exact="$SVCDN" write
	by * none
access to dn.children="ou=regions,$SUFFIX"
	by dn.exact="$SVCDN" write
	by * none
access to dn.base="ou=regions,$SUFFIX" attrs=children
	by dn.exact="$SVCDN" write
	by * none

# Sessions ended by a logout (eidgate writes them, every instance follows them).
access to dn.children="ou=ended-sessions,$SUFFIX"
	by dn.exact="$SVCDN" write
	by * none
access to dn.base="ou=ended-sessions,$SUFFIX" attrs=children
	by dn.exact="$SVCDN" write
	by * none

# Everything else: the service account reads; anonymous may only bind.
access to *
	by dn.exact="$SVCDN" read
	by anonymous auth
	by * none
$(mirror_config "$dir" overlay)
EOF
  mv -f "$dir/slapd.conf.new" "$dir/slapd.conf"
  mkdir -p "$dir/data"
  slaptest -u -f "$dir/slapd.conf" >/dev/null 2>"$dir/slaptest.err" \
    || { cat "$dir/slaptest.err" >&2; die "slaptest rejected $dir/slapd.conf"; }
  rm -f "$dir/slaptest.err"
}

# userPassword values for the service account: the hash of SECRET_FILE's exact content
# (what "ldapsearch -y SECRET_FILE" sends), plus, when the file ends in a newline, the
# hash of the content without it (what a program that strips the line end sends).
svc_password_values() {
  local secret=$1 dir=$2 h
  h=$(hash_file "$secret") || die "slappasswd failed on $secret"
  printf 'userPassword: %s\n' "$h"
  if [ "$(tail -c1 "$secret" | od -An -tx1 | tr -d ' ')" = "0a" ]; then
    local tmp="$dir/.secret.tmp"
    python3 -c 'import sys
d=open(sys.argv[1],"rb").read()
d=d[:-2] if d.endswith(b"\r\n") else d[:-1]
open(sys.argv[2],"wb").write(d)' "$secret" "$tmp"
    if [ -s "$tmp" ]; then
      h=$(hash_file "$tmp") || { rm -f "$tmp"; die "slappasswd failed"; }
      printf 'userPassword: %s\n' "$h"
    fi
    rm -f "$tmp"
  fi
}

# Offline (slapd stopped): adds whichever base entries are missing and sets the service
# account's password from SECRET_FILE.
init_data() {
  local dir=$1 secret=$2
  local conf=$dir/slapd.conf existing ldif r
  mkdir -p "$dir/data"
  existing=""
  if [ -e "$dir/data/data.mdb" ]; then
    existing=$(slapcat -f "$conf" -b "$SUFFIX" -o ldif_wrap=no 2>"$dir/slapcat.err" \
                 | sed -n 's/^dn: //p' | tr 'A-Z' 'a-z') \
      || { cat "$dir/slapcat.err" >&2; die "slapcat failed on $dir/data"; }
    rm -f "$dir/slapcat.err"
  fi
  existing=$'\n'"$existing"$'\n'
  # (a string match, not "printf | grep -q": that can die of SIGPIPE under pipefail)
  has() { [[ "$existing" == *$'\n'"$(printf '%s' "$1" | tr 'A-Z' 'a-z')"$'\n'* ]]; }

  ldif=""
  if ! has "$SUFFIX"; then
    ldif+="dn: $SUFFIX
objectClass: top
objectClass: dcObject
objectClass: organization
dc: jeugdhulp
o: jeugdhulp
description: eidgate directory

"
  fi
  for ou in people organisations regions ended-sessions; do
    has "ou=$ou,$SUFFIX" && continue
    ldif+="dn: ou=$ou,$SUFFIX
objectClass: organizationalUnit
ou: $ou

"
  done
  for r in "${REGIONS[@]}"; do
    has "ou=$r,ou=regions,$SUFFIX" && continue
    ldif+="dn: ou=$r,ou=regions,$SUFFIX
objectClass: organizationalUnit
ou: $r
description: ITP region $r

"
  done
  local pw
  pw=$(svc_password_values "$secret" "$dir")
  if ! has "$SVCDN"; then
    ldif+="dn: $SVCDN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: eidgate
description: eidgate gateway service account
$pw

"
  fi
  if [ -n "$ldif" ]; then
    printf '%s' "$ldif" | slapadd -f "$conf" -b "$SUFFIX" >/dev/null 2>"$dir/slapadd.err" \
      || { cat "$dir/slapadd.err" >&2; die "slapadd of the base entries failed"; }
    rm -f "$dir/slapadd.err"
  fi
  if has "$SVCDN"; then
    printf 'dn: %s\nchangetype: modify\nreplace: userPassword\n%s\n-\n\n' "$SVCDN" "$pw" \
      | slapmodify -f "$conf" -b "$SUFFIX" >/dev/null 2>"$dir/slapmodify.err" \
      || { cat "$dir/slapmodify.err" >&2; die "could not set the service account password"; }
    rm -f "$dir/slapmodify.err"
  fi
}

# Starts slapd on DIR's config and the given port (and DIR/ldaps_port, when there is
# one); waits until it answers.
launch() {
  local dir=$1 port=$2 url urls pid i
  url=$(url_of "$port")
  urls=$url
  if [ -s "$dir/ldaps_port" ]; then
    urls+=" ldaps://127.0.0.1:$(tr -dc '0-9' < "$dir/ldaps_port")/"
  fi
  rm -f "$dir/slapd.pid"
  : > "$dir/slapd.log"
  # -d none: stay in the foreground and print only errors (to DIR/slapd.log); setsid puts
  # it in its own session so it outlives this script and its caller's process group.
  setsid slapd -d "${EIDGATE_SLAPD_DEBUG:-none}" -f "$dir/slapd.conf" -h "$urls" \
    </dev/null >>"$dir/slapd.log" 2>&1 &
  pid=$!
  for ((i = 0; i < START_TIMEOUT * 5; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      sed 's/^/  slapd: /' "$dir/slapd.log" >&2
      die "slapd exited during start (port $port in use? see $dir/slapd.log)"
    fi
    # Bind as our own rootdn so that another server on the same port never counts.
    if ldapsearch -x -H "$url" -D "$ROOTDN" -y "$dir/admin.secret" -o nettimeout=1 -l 2 \
         -b "" -s base 1.1 >/dev/null 2>&1; then
      echo "$port" > "$dir/port"
      echo "slapd.sh: slapd (pid $pid) answers on $urls (data in $dir/data)" >&2
      return 0
    fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 25; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  sed 's/^/  slapd: /' "$dir/slapd.log" >&2
  die "slapd did not answer on $url within ${START_TIMEOUT}s (see $dir/slapd.log)"
}

check_port() {
  [[ "$1" =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "bad port: $1"
}

cmd_start() {
  [ $# -ge 3 ] || usage
  local dir port secret cert="" key="" ldaps=""
  dir=$(abspath "$1"); port=$2; secret=$3; shift 3
  while [ $# -gt 0 ]; do
    case $1 in
      --tls) [ $# -ge 3 ] || usage; cert=$(abspath "$2"); key=$(abspath "$3"); shift 3 ;;
      --ldaps) [ $# -ge 2 ] || usage; ldaps=$2; shift 2 ;;
      *) usage ;;
    esac
  done
  check_port "$port"
  if [ -n "$ldaps" ]; then
    [ -n "$cert" ] || die "--ldaps needs --tls CERT KEY"
    check_port "$ldaps"
  fi
  if [ -n "$cert" ]; then
    [ -r "$cert" ] && [ -r "$key" ] || die "cannot read TLS certificate or key: $cert $key"
    case "$cert$key" in *[[:space:]\"]*) die "TLS paths must not contain spaces or quotes" ;; esac
  fi
  [ -r "$secret" ] || die "cannot read secret file: $secret"
  [ -s "$secret" ] || die "secret file is empty: $secret"
  for t in slapd slaptest slapadd slapcat slapmodify slappasswd ldapsearch python3 setsid; do
    need "$t"
  done
  case "$dir" in *[[:space:]\"]*) die "DIR must not contain spaces or quotes: $dir" ;; esac
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ -z "$(running_pid "$dir")" ] || die "slapd already running for $dir (pid $(running_pid "$dir"))"

  if [ ! -s "$dir/admin.secret" ]; then
    # Random rootdn password, no trailing newline ("ldapadd -y" sends the file as is).
    head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 > "$dir/admin.secret"
  fi
  chmod 600 "$dir/admin.secret"

  write_config "$dir" "$cert" "$key"
  init_data "$dir" "$secret"
  if [ -n "$ldaps" ]; then echo "$ldaps" > "$dir/ldaps_port"; else rm -f "$dir/ldaps_port"; fi
  launch "$dir" "$port"
}

# Copies the data of A (stopped or not) into the fresh database of B, entryUUID and
# entryCSN included, so the two start as one replica set instead of two directories
# with the same names.
copy_data() {
  local a=$1 b=$2
  [ ! -e "$b/data/data.mdb" ] || return 0
  mkdir -p "$b/data"
  slapcat -f "$a/slapd.conf" -b "$SUFFIX" 2>"$b/slapcat.err" \
    | slapadd -w -f "$b/slapd.conf" -b "$SUFFIX" >/dev/null 2>"$b/slapadd.err" \
    || { cat "$b/slapcat.err" "$b/slapadd.err" >&2; die "copying $a into $b failed"; }
  rm -f "$b/slapcat.err" "$b/slapadd.err"
}

cmd_start_pair() {
  [ $# -ge 4 ] || usage
  local dir pa pb secret cert="" key=""
  dir=$(abspath "$1"); pa=$2; pb=$3; secret=$4; shift 4
  case "${1:-}" in
    --tls) [ $# -eq 3 ] || usage; cert=$(abspath "$2"); key=$(abspath "$3") ;;
    "") ;;
    *) usage ;;
  esac
  check_port "$pa"; check_port "$pb"
  [ "$pa" != "$pb" ] || die "the two providers need two ports"
  case "$dir" in *[[:space:]\"]*) die "DIR must not contain spaces or quotes: $dir" ;; esac
  mkdir -p "$dir/a" "$dir/b"
  chmod 700 "$dir" "$dir/a" "$dir/b"
  echo "1 $pb" > "$dir/a/mirror"
  echo "2 $pa" > "$dir/b/mirror"
  if [ ! -s "$dir/a/admin.secret" ]; then
    head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 > "$dir/a/admin.secret"
  fi
  cp "$dir/a/admin.secret" "$dir/b/admin.secret"
  chmod 600 "$dir/a/admin.secret" "$dir/b/admin.secret"
  # A writes its base entries first; B gets a copy of them before either starts.
  write_config "$dir/a" "$cert" "$key"
  init_data "$dir/a" "$secret"
  write_config "$dir/b" "$cert" "$key"
  copy_data "$dir/a" "$dir/b"
  cmd_start "$dir/a" "$pa" "$secret" "$@"
  cmd_start "$dir/b" "$pb" "$secret" "$@"
  echo "ldap://127.0.0.1:$pa/ ldap://127.0.0.1:$pb/"
}

cmd_stop_pair() {
  [ $# -eq 1 ] || usage
  local dir
  dir=$(abspath "$1")
  cmd_stop "$dir/b"
  cmd_stop "$dir/a"
}

cmd_stop() {
  [ $# -eq 1 ] || usage
  local dir pid i
  dir=$(abspath "$1")
  pid=$(running_pid "$dir")
  if [ -z "$pid" ]; then
    echo "slapd.sh: no slapd running for $dir" >&2
    return 0
  fi
  kill -TERM "$pid"
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    [ -d "/proc/$pid" ] || { echo "slapd.sh: slapd (pid $pid) stopped" >&2; return 0; }
    # a zombie of our own would never vanish, but slapd is never our child here
    sleep 0.1
  done
  die "slapd (pid $pid) did not exit within ${STOP_TIMEOUT}s after SIGTERM"
}

cmd_restart() {
  [ $# -eq 1 ] || usage
  local dir port
  dir=$(abspath "$1")
  [ -r "$dir/slapd.conf" ] && [ -r "$dir/port" ] && [ -s "$dir/admin.secret" ] \
    || die "$dir was never started (no slapd.conf/port/admin.secret)"
  port=$(tr -dc '0-9' < "$dir/port")
  [ -n "$port" ] || die "no port in $dir/port"
  cmd_stop "$dir"
  launch "$dir" "$port"
}

cmd_load() {
  [ $# -eq 2 ] || usage
  local dir ldif port
  dir=$(abspath "$1"); ldif=$2
  need ldapadd
  [ -n "$(running_pid "$dir")" ] || die "no slapd running for $dir (start it first)"
  port=$(tr -dc '0-9' < "$dir/port")
  if [ "$ldif" = "-" ]; then
    ldapadd -x -H "$(url_of "$port")" -D "$ROOTDN" -y "$dir/admin.secret" >/dev/null
  else
    [ -r "$ldif" ] || die "cannot read $ldif"
    ldapadd -x -H "$(url_of "$port")" -D "$ROOTDN" -y "$dir/admin.secret" -f "$ldif" >/dev/null
  fi
}

cmd_status() {
  [ $# -eq 1 ] || usage
  local dir pid
  dir=$(abspath "$1")
  pid=$(running_pid "$dir")
  [ -n "$pid" ] || { echo "not running"; return 1; }
  echo "running pid $pid $(url_of "$(tr -dc '0-9' < "$dir/port")")"
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
  start)   cmd_start "$@" ;;
  stop)    cmd_stop "$@" ;;
  restart) cmd_restart "$@" ;;
  load)    cmd_load "$@" ;;
  status)  cmd_status "$@" ;;
  start-pair) cmd_start_pair "$@" ;;
  stop-pair)  cmd_stop_pair "$@" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
