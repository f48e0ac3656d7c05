#!/usr/bin/env bash
# Installs the Debian 12 packages eidgate builds, runs and tests with, only when missing.
# Idempotent: a machine that already has everything spends a few dpkg-query calls.
set -euo pipefail

PKGS=(
  build-essential pkg-config cppcheck
  clang libclang-rt-14-dev
  libmicrohttpd-dev libgnutls28-dev libssl-dev openssl
  libldap2-dev slapd ldap-utils
  liblmdb-dev lmdb-utils
  libcurl4-openssl-dev libjansson-dev
  softhsm2 opensc libp11-kit-dev
  curl wrk python3 iproute2 util-linux
  haproxy           # in front of the gateway in the PROXY protocol tests (issue 14)
  chromium
  # building, checking and installing the packages, the manual pages, the unit
  debhelper dpkg-dev lintian adduser mandoc man-db systemd
  libjs-chart.js    # the officers' chart; the gateway serves it from /usr/share/javascript
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "eidgate: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # slapd's postinst asks questions and tries to start the system service; neither is
  # wanted: tests run their own slapd on loopback with a private data directory.
  echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The browser tests need node and npm; a machine may already carry them from another
# source (whose nodejs conflicts with Debian's npm), so only install when absent.
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi

# promtool checks /eidgate/metrics in the tests. It comes with Debian's prometheus
# package, whose postinst would start a Prometheus server on all interfaces; the tests
# need only the one binary, so it is taken out of the package into build/tools.
PROMTOOL="$(dirname "$0")/../build/tools/promtool"
if [ ! -x "$PROMTOOL" ] && ! command -v promtool >/dev/null 2>&1; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1) ||
     { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"; $SUDO apt-get update -q >/dev/null &&
       (cd "$tmp" && apt-get download -q prometheus >/dev/null); }; then
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
    mkdir -p "$(dirname "$PROMTOOL")"
    install -m 0755 "$tmp/x/usr/bin/promtool" "$PROMTOOL"
  else
    echo "eidgate: cannot download Debian's prometheus package for promtool" >&2
    exit 1
  fi
fi
