#!/bin/bash
# manpages_test.sh - the manual pages of man/: `mandoc -T lint` finds nothing, `man -l`
# renders each, eidgate.conf(5) lists exactly the keys of the option table with the type
# and the default/range line `eidgate check-config --keys` prints (core/config.c is the
# one source; the page follows it), and the options and commands the programs' --help
# names are in their pages.
#
# usage: tests/man/manpages_test.sh [BINDIR]     (default: bin)
set -u
BIN=${1:-bin}
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/eidgate-man-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
PAGES="man/eidgate.8 man/eidgate.conf.5 man/eidgate.policy.5 man/eidgate-login.1"

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/     | /' "$T/out" | head -40; }

# The pages refer to each other: lint them as one manual tree (makewhatis), so that
# their cross-references resolve as they do once installed.
for p in $PAGES; do
	s=${p##*.}
	mkdir -p "$T/tree/man$s"
	cp "$p" "$T/tree/man$s/"
done
makewhatis "$T/tree"
# "outdated mandoc.db" notes are about the system's own index, not about these pages.
mandoc -T lint -W style -m "$T/tree" $PAGES 2>&1 | grep -v 'outdated mandoc.db' >"$T/out"
if [ -s "$T/out" ]; then bad "mandoc -T lint"; else ok "mandoc -T lint"; fi

for p in $PAGES; do
	if MANPAGER=cat MANWIDTH=80 man -l "$p" >"$T/out" 2>"$T/err" && [ ! -s "$T/err" ] &&
		grep -q '^NAME' "$T/out"; then
		ok "man -l $p"
	else
		cat "$T/err" >"$T/out"
		bad "man -l $p"
	fi
done

# eidgate.conf(5): "[section] key<TAB>type<TAB>default line" for every ".It Cm key No = Ar
# type" under ".Ss [section]", the line after it being the default line.
awk '
	/^\.Ss \[[a-z_]+\]/ { s = $2; sub(/\\&$/, "", s); next }
	/^\.It Cm [a-z_]+ No = Ar / { k = $3; t = $7; want = 1; next }
	want { printf "%s %s\t%s\t%s\n", s, k, t, $0; want = 0 }
' man/eidgate.conf.5 | sort >"$T/page"
"$BIN/eidgate" check-config --keys | sort >"$T/table"
if diff -u "$T/table" "$T/page" >"$T/out" && [ -s "$T/table" ]; then
	ok "eidgate.conf(5) has every key of the option table, with its type and default"
else
	echo "(- the option table, as eidgate check-config --keys prints it; + the page)" >>"$T/out"
	bad "eidgate.conf(5) and the option table differ"
fi

# Every long option of eidgate-login --help is in eidgate-login(1).
missing=""
for o in $("$BIN/eidgate-login" --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	grep -q -- "^\.[A-Z].*Fl -${o#--}\b" man/eidgate-login.1 || missing="$missing $o"
done
echo "missing:$missing" >"$T/out"
if [ -z "$missing" ]; then ok "eidgate-login(1) has every option"; else bad "eidgate-login(1) options"; fi

# Every command of eidgate --help is in eidgate(8).
missing=""
for c in $("$BIN/eidgate" --help | awk '/^  [a-z]/ { print $1 }' | sort -u); do
	grep -q "^\.\(It \)\?Cm $c\b" man/eidgate.8 || missing="$missing $c"
done
echo "missing:$missing" >"$T/out"
if [ -z "$missing" ]; then ok "eidgate(8) has every command"; else bad "eidgate(8) commands"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
