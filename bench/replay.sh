#!/bin/bash
# bench/replay.sh - records re-decided per second by `eidgate audit replay` (issue 16,
# item 1): a log of N request records (default 1,000,000) written by replay-gen with
# the example policy, then replayed whole against a changed policy (every record
# decided again and compared) and with the versions that took them.
#
# usage: bench/replay.sh [N]           (needs `make all` first; writes under run/)
set -eu
BIN=${BIN:-bin}
N=${1:-1000000}
DIR=run/bench-replay
[ -x "$BIN/replay-gen" ] || { echo "bench/replay.sh: $BIN/replay-gen missing: make all" >&2; exit 1; }
rm -rf "$DIR"; mkdir -p "$DIR"
sed 's/or role moduleerder on facility {f}$/or role moduleerder on facility {f} or role insisto-raadpleger on facility {f}/' \
    dist/jeugdhulp.policy > "$DIR/new.policy"
t0=$(date +%s.%N)
"$BIN/replay-gen" "$DIR/log" "$N" dist/jeugdhulp.policy 5000 500 >/dev/null 2>&1
t1=$(date +%s.%N)
echo "log of $N records written in $(echo "$t1 - $t0" | bc) s ($(du -sh "$DIR/log" | cut -f1))"
for mode in new own; do
	if [ $mode = new ]; then args=(--policy "$DIR/new.policy"); else args=(); fi
	t0=$(date +%s.%N)
	"$BIN/eidgate" audit replay --db "$DIR/log" "${args[@]}" --since 2000-01-01 > "$DIR/out.$mode"
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc)
	echo "replay ($mode policy): $(head -1 "$DIR/out.$mode")"
	echo "  $secs s: $(echo "$N / $secs" | bc) records re-decided per second"
done
rm -rf "$DIR/log"
