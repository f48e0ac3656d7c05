#!/usr/bin/env bash
# Builds the Debian packages (debian/) in a copy of the tree under run/deb/, so that
# dpkg-buildpackage's results, which it writes next to the source directory, stay in
# the project: run/deb/eidgate_*.deb, eidgate-login_*.deb, *.changes, *.buildinfo.
# usage: scripts/build-deb.sh [OUTDIR]     (default: run/deb; emptied first)
# The copy holds the files git knows or would add (tracked and not ignored), as they
# are in the working tree; build output, run/ and the like stay out of it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-run/deb}
version=$(dpkg-parsechangelog -S Version)
src="$out/eidgate-$version"
rm -rf "$out"
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf - | tar -xf - -C "$src"
(cd "$src" && dpkg-buildpackage -us -uc -b)
ls "$out"/*.deb
