#!/bin/bash
# tamper_test.sh - `eidgate audit verify` against logs edited as an attacker with write
# access to the LMDB files would (bin/audit-tamper), plus archive, tail -f, export and
# stats end to end. One function per scenario; prints "N passed, M failed" last.
#
# usage: tests/audit/tamper_test.sh [BINDIR]     (default: bin)
set -u
BIN=${1:-bin}
EG=$BIN/eidgate
TT=$BIN/audit-tamper
for b in "$EG" "$TT"; do
	[ -x "$b" ] || { echo "tamper_test: $b missing (make all)"; echo "0 passed, 1 failed"; exit 1; }
done
umask 077
T=$(mktemp -d /tmp/eidgate-tamper-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/     | /' "$T/out" "$T/err" | head -20; }

# run NAME EXPECTED_EXIT PATTERN_IN_OUTPUT CMD...: one named assertion.
run() {
	local name=$1 want=$2 pat=$3 rc
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ] && { [ -z "$pat" ] || grep -q -- "$pat" "$T/out" "$T/err"; }; then
		ok "$name"
	else
		echo "     exit $rc, wanted $want and /$pat/"
		bad "$name"
	fi
}

key() {   # key NAME: private key NAME.pem and public NAME.pub
	openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
		openssl pkcs8 -topk8 -nocrypt -out "$T/$1.pem" &&
		chmod 600 "$T/$1.pem" && openssl pkey -in "$T/$1.pem" -pubout -out "$T/$1.pub" 2>/dev/null
}

# A pristine log: the record naming its checkpoint key (seq 1, with the first record's
# time), then 3500 records one minute apart from 2025-01-01, checkpoints at 1000, 2000,
# 3000 and 3501 (close), and its exported head.
setup() {
	key audit && key evil || { echo "tamper_test: openssl failed"; exit 1; }
	"$TT" fill "$T/orig" 3500 --key "$T/audit.pem" --start 2025-01-01 --step-us 60000000 \
		2>"$T/err" || { cat "$T/err"; exit 1; }
	"$EG" audit checkpoint --db "$T/orig" --export >"$T/head.json"
}

fresh() { rm -rf "$T/db"; cp -a "$T/orig" "$T/db"; }
verify() { "$EG" audit verify --db "$T/db" --key "$T/audit.pub" "$@"; }

test_intact() {
	fresh
	run "intact log verifies" 0 "ok: 3501 records" verify
	run "intact log matches its exported head" 0 "exported head matches" verify --head "$T/head.json"
	run "checkpoints at 1000, 2000, 3000, 3501" 0 "4 checkpoints verified" verify
	run "without --key: warns that checkpoints were not checked" 0 "no --key" \
		"$EG" audit verify --db "$T/db"
	run "verify --help" 0 "--archive" "$EG" audit verify --help
}

test_changed_field() {
	fresh; "$TT" change "$T/db" 1500
	run "changed field: chain broken at the record" 1 "chain broken at seq 1500" verify
	fresh; "$TT" change "$T/db" 1500 --rechain
	run "changed field, chain recomputed: checkpoint 2000 disagrees" 1 \
		"checkpoint mismatch at seq 2000" verify
}

test_removed_record() {
	fresh; "$TT" remove "$T/db" 1500
	run "removed record: sequence gap" 1 "sequence gap" verify
	fresh; "$TT" remove "$T/db" 1500 --rechain
	run "removed record, renumbered and rechained: checkpoint disagrees" 1 \
		"checkpoint mismatch at seq 2000" verify
}

test_reordered() {
	fresh; "$TT" swap "$T/db" 1500
	run "reordered records: chain broken" 1 "chain broken at seq 1499" verify
	fresh; "$TT" swap "$T/db" 1500 --rechain
	run "reordered records, rechained: checkpoint disagrees" 1 \
		"checkpoint mismatch at seq 2000" verify
}

test_inserted() {
	fresh; "$TT" insert "$T/db" 1500
	run "inserted record: chain broken" 1 "chain broken at seq 1500" verify
	fresh; "$TT" insert "$T/db" 1500 --rechain
	run "inserted record, rechained: checkpoint disagrees" 1 \
		"checkpoint mismatch at seq 2000" verify
}

test_tail_cut() {
	fresh; "$TT" truncate "$T/db" 3200 --naive
	run "tail cut, meta and checkpoints left: detected" 1 "removed" verify
	fresh; "$TT" truncate "$T/db" 3200 --meta
	run "tail cut with meta fixed: checkpoint 3501 lies beyond the end" 1 \
		"tail cut at seq 3201: a checkpoint at seq 3501" verify
	fresh; "$TT" truncate "$T/db" 3200
	run "tail cut between checkpoints, later ones deleted: uncovered records reported" 0 \
		"the last 200 records (after seq 3000) are not covered" verify
	run "... and the exported head detects it" 1 "head is at seq 3501 but the log ends at seq 3200" \
		verify --head "$T/head.json"
	# Back to an earlier checkpoint, later checkpoints deleted: only a head can tell.
	fresh; "$TT" truncate "$T/db" 2000
	run "tail cut to a checkpoint: without a head, says where the log ends" 0 \
		"ends at its latest checkpoint (seq 2000)" verify
	run "tail cut to a checkpoint: the exported head detects it" 1 \
		"head is at seq 3501 but the log ends at seq 2000" verify --head "$T/head.json"
}

test_forged_checkpoint() {
	fresh; "$TT" change "$T/db" 1500 --rechain; "$TT" forge "$T/db" "$T/evil.pem"
	run "checkpoints re-signed with another key: forged" 1 "forged checkpoint" verify
	fresh; "$TT" change "$T/db" 1500 --rechain; "$TT" forge "$T/db" "$T/evil.pem" --fake-id
	run "re-signed, genuine key id kept: bad signature" 1 "bad checkpoint signature" verify
	# A head exported from a forged log does not verify with the real key.
	"$EG" audit checkpoint --db "$T/db" --export >"$T/evil-head.json"
	fresh
	run "exported head signed by another key: refused" 1 "forged or altered head" \
		verify --head "$T/evil-head.json"
}

test_archive() {
	fresh
	run "archive refuses while a gateway holds writer.lock" 1 "stop the gateway" \
		flock "$T/db/writer.lock" "$EG" audit archive --db "$T/db" --before 2025-01-02 \
		--out "$T/a1.arch" --key "$T/audit.pem"
	run "archive: first day" 0 "archived 1441 records" "$EG" audit archive --db "$T/db" \
		--before 2025-01-02 --out "$T/a1.arch" --key "$T/audit.pem"
	run "archive never overwrites a file" 1 "File exists" "$EG" audit archive \
		--db "$T/db" --before 2025-01-02 --out "$T/a1.arch" --key "$T/audit.pem"
	run "archived log without its archive: refused" 1 "unchecked start at seq 1442" verify
	run "archived log, --allow-truncated-start: warns" 0 "starts at seq 1442" \
		verify --allow-truncated-start
	run "archived log with its archive verifies" 0 "continues 1441 archived" \
		verify --archive "$T/a1.arch" --head "$T/head.json"
	run "query no longer sees archived records" 0 "1442" \
		"$EG" audit query --db "$T/db" --limit 1
	run "second archive" 0 "archived 1440 records" "$EG" audit archive --db "$T/db" \
		--before 2025-01-03 --out "$T/a2.arch" --key "$T/audit.pem"
	run "two archives in order verify" 0 "continues 2881 archived records from 2" \
		verify --archive "$T/a1.arch" --archive "$T/a2.arch"
	run "an archive alone does not prove the start" 1 "archive .* starts at seq 1442" \
		verify --archive "$T/a2.arch"
	"$TT" fill "$T/db" 100 --key "$T/audit.pem" 2>/dev/null
	run "the gateway continues the chain after archiving" 0 "ok: 720 records" \
		verify --archive "$T/a1.arch" --archive "$T/a2.arch"
	run "archive everything: the log is empty" 0 "archived 720 records" "$EG" audit \
		archive --db "$T/db" --before 2100-01-01 --out "$T/a3.arch" --key "$T/audit.pem"
	"$TT" fill "$T/db" 5 --key "$T/audit.pem" 2>/dev/null
	run "an emptied log continues from the archived head" 0 "ok: 5 records" \
		verify --archive "$T/a1.arch" --archive "$T/a2.arch" --archive "$T/a3.arch"
	cp "$T/a1.arch" "$T/bad.arch"
	printf 'X' | dd of="$T/bad.arch" bs=1 seek=5000 conv=notrunc 2>/dev/null
	run "a changed archive is detected" 1 "archive" verify --archive "$T/bad.arch" \
		--archive "$T/a2.arch" --archive "$T/a3.arch"
	run "an archive signed by another key is refused" 1 "archive mismatch" \
		"$EG" audit verify --db "$T/db" --key "$T/evil.pub" --archive "$T/a1.arch"
}

test_tail_follow() {
	fresh
	run "tail -n 3" 0 "3500" "$EG" audit tail --db "$T/db" -n 3
	[ "$(wc -l <"$T/out")" -eq 4 ] && ok "tail -n 3 prints a header and 3 rows" || bad "tail -n 3 rows"
	"$EG" audit tail --db "$T/db" -n 2 -f --format json >"$T/follow" 2>"$T/ferr" &
	local pid=$!
	sleep 0.3
	"$TT" fill "$T/db" 50 --key "$T/audit.pem" 2>/dev/null
	sleep 0.6
	kill -INT $pid
	wait $pid
	local rc=$?
	cp "$T/follow" "$T/out"; cp "$T/ferr" "$T/err"
	if [ $rc -eq 0 ] && [ "$(wc -l <"$T/follow")" -eq 52 ] && grep -q '"seq":3551' "$T/follow"; then
		ok "tail -f follows new records and exits 0 on SIGINT"
	else
		echo "     exit $rc, $(wc -l <"$T/follow") lines"; bad "tail -f"
	fi
}

test_export_stats() {
	fresh
	run "export csv to a file" 0 "" "$EG" audit export --db "$T/db" --facility fac1 \
		--format csv --out "$T/x.csv"
	[ "$(wc -l <"$T/x.csv")" -eq 1168 ] && [ "$(stat -c %a "$T/x.csv")" = 600 ] &&
		ok "export: header + 1167 rows, mode 600" || bad "export rows/mode"
	run "export refuses to overwrite" 1 "File exists" "$EG" audit export --db "$T/db" \
		--out "$T/x.csv"
	run "export json lines by default" 0 '"seq":4,' "$EG" audit export --db "$T/db" \
		--facility fac2 --limit 1
	run "stats table" 0 "2025-01-01  [^ ]*  *fac0" "$EG" audit stats --db "$T/db"
	run "stats total" 0 "total .* 3500" "$EG" audit stats --db "$T/db"
	run "stats json with filters" 0 '{"day":"2025-01-03","instance":"[^"]*","facility":"fac1","decision":"deny","count":' \
		"$EG" audit stats --db "$T/db" --decision deny --since 2025-01-03 --format json
	run "stats rejects csv" 2 "--format" "$EG" audit stats --db "$T/db" --format csv
}

setup
test_intact
test_changed_field
test_removed_record
test_reordered
test_inserted
test_tail_cut
test_forged_checkpoint
test_archive
test_tail_follow
test_export_stats
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
