/* audit_verify.c - `eidgate audit verify` and `eidgate audit checkpoint`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

#define MAX_ARCHIVES 64

static const char usage_verify[] =
    "usage: eidgate audit verify --db DIR... [--key PUBKEY.pem]... [--head FILE]\n"
    "           [--archive FILE]... [--allow-truncated-start] [--progress]\n"
    "           [--witness-key PUBKEY.pem]...\n"
    "Recomputes the hash chain of every record, checks that no sequence number is\n"
    "missing, and with --key checks every signed checkpoint: its signature and that its\n"
    "hash is the chain's at its seq, and that no checkpoint lies beyond the last record.\n"
    "The checkpoint key may have changed (SIGHUP): the first key is enough, the log's\n"
    "key-change records, each signed by the key before, name the next one. A key that\n"
    "changed while no gateway ran has no such proof: give it as a second --key.\n"
    "--head FILE checks the log against a head exported earlier with `eidgate audit\n"
    "checkpoint --export` (the log must contain that seq with that hash): only this\n"
    "detects a tail cut back to an earlier checkpoint with the later checkpoints removed.\n"
    "A log whose first records were archived starts after seq 1: give the archives,\n"
    "oldest first, with --archive (needs --key), or accept an unchecked start with\n"
    "--allow-truncated-start; otherwise verify fails.\n"
    "The policy texts the log keeps are checked too: each \"policy\" record's text must\n"
    "be kept and hash to the SHA-256 the record names, and no text may be kept that no\n"
    "record names (not checked when the walk starts after seq 1).\n"
    "Several instances: give each instance's log with --db (and every instance's\n"
    "checkpoint key with --key). Each log is verified, then checked against the latest\n"
    "checkpoint of it that each other instance cosigned as a witness (kept in that\n"
    "instance's DIR/peers/NAME): a log that ends before that seq was ROLLED BACK, one with\n"
    "another hash there was FORKED, even when its own key signed it. --witness-key: the\n"
    "witnesses' public keys ([audit] witness_key); cosignatures by other keys do not count.\n"
    "Prints \"ok: N records, head HASH\" and details, or the first problem, and exits 1.\n"
    "Progress goes to stderr every 1,000,000 records when stderr is a terminal or with\n"
    "--progress.\n";

static const char usage_checkpoint[] =
    "usage: eidgate audit checkpoint --db DIR [--export]\n"
    "Shows the latest signed checkpoint; with --export prints it as one line of JSON\n"
    "{\"seq\",\"hash\",\"time\",\"time_us\",\"signature\",\"key_id\"} to keep outside the\n"
    "gateway (and give to `eidgate audit verify --head FILE` later).\n";

struct vargs {
	const char *db, *key, *head;
	const char *dbs[CMD_MAX_DBS];
	size_t ndbs;
	const char *wkeys[AUDIT_MAX_KEYS];
	size_t nwkeys;
	const char *keys[AUDIT_MAX_KEYS];
	size_t nkeys;
	const char *archives[MAX_ARCHIVES];
	size_t narchives;
	int allow, progress;
};

static int
load_head(const struct vargs *a, struct audit_ckpt *h)
{
	char *text = NULL, why[256];
	size_t len;
	int rc;

	if (eg_read_file(a->head, 1 << 16, &text, &len) != EG_OK) {
		fprintf(stderr, "eidgate: audit verify: --head %s: cannot read it\n", a->head);
		return EXIT_FAILED;
	}
	rc = audit_ckpt_from_json(text, h, why, sizeof(why));
	free(text);
	if (rc != EG_OK) {
		fprintf(stderr, "eidgate: audit verify: --head %s: %s\n", a->head, why);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/*
 * The exported head's signature. Signed by a given key: checked before the walk. Signed
 * by another key: either a key the log's key changes led to, or a forgery; the log is
 * walked once without the head to learn its final key, which must be the head's.
 * EXIT_OK, or EXIT_FAILED after a message.
 */
static int
head_is_signed(const struct vargs *a, struct audit_verify_opts *o,
    const struct audit_ckpt *h)
{
	struct audit_verify_result r;
	struct audit_key *k = NULL;
	char err[512];
	size_t i;
	int ok;

	for (i = 0; i <= o->nmore; i++) {
		const struct audit_key *given = i == 0 ? o->key : o->more_keys[i - 1];
		int c = audit_ckpt_check(given, h);

		if (c != 1) {
			ok = c == 0;
			goto done;
		}
	}
	o->head = NULL;
	ok = audit_verify(a->db, o, &r, err, sizeof(err)) == EG_OK && r.final_key_len > 0 &&
	    audit_key_from_der(r.final_key, r.final_key_len, &k) == EG_OK &&
	    audit_ckpt_check(k, h) == 0;
	audit_key_free(k);
	o->head = h;
done:
	if (!ok)
		fprintf(stderr, "eidgate: audit verify: --head %s: its signature does not "
		    "verify with the log's key: forged or altered head\n", a->head);
	return ok ? EXIT_OK : EXIT_FAILED;
}

static const char *
fail_label(enum audit_vfail f)
{
	static const char *const l[] = {
		"ok", "read error", "chain broken", "chain broken", "forged checkpoint",
		"bad checkpoint signature", "checkpoint mismatch", "tail cut",
		"exported head mismatch", "unchecked start", "archive mismatch",
		"policy text mismatch",
	};

	return (size_t)f < sizeof(l) / sizeof(l[0]) ? l[f] : "failed";
}

static void
print_details(const struct vargs *a, const struct audit_verify_result *r)
{
	char t[40], kid[2 * AUDIT_KEYID_LEN + 1];
	double s = (double)r->elapsed_us / 1e6;

	if (r->records > 0)
		printf("  seq %" PRIu64 "..%" PRIu64 "\n", r->first_seq, r->last_seq);
	if (r->archived > 0)
		printf("  continues %" PRIu64 " archived records from %zu archive%s\n",
		    r->archived, a->narchives, a->narchives > 1 ? "s" : "");
	if (a->key != NULL && r->last_ckpt.seq != 0) {
		eg_format_time(r->last_ckpt.time_us, t, sizeof(t));
		eg_hex(r->last_ckpt.key_id, AUDIT_KEYID_LEN, kid);
		printf("  %" PRIu64 " checkpoints verified (key id %s), latest at seq %" PRIu64
		    " (%s)\n", r->checkpoints, kid, r->last_ckpt.seq, t);
	}
	if (r->key_changes > 0)
		printf("  %" PRIu64 " checkpoint key change%s followed, each signed by the key "
		    "before\n", r->key_changes, r->key_changes > 1 ? "s" : "");
	if (r->unproven_key_changes > 0)
		printf("  %" PRIu64 " checkpoint key change%s accepted on a second --key (no "
		    "checkpoint of the old key proves it)\n", r->unproven_key_changes,
		    r->unproven_key_changes > 1 ? "s" : "");
	if (a->head != NULL)
		printf("  the exported head matches the log\n");
	printf("  verified in %.2f s (%.0f records/s)\n", s,
	    s > 0 ? (double)(r->records + r->archived) / s : 0.0);
}

static void
print_warnings(const struct vargs *a, const struct audit_verify_result *r)
{
	if (a->key == NULL)
		fprintf(stderr, "eidgate: audit verify: warning: no --key: signed checkpoints "
		    "were not checked; a recomputed chain or a cut tail would pass\n");
	else if (r->records > 0 && r->last_ckpt.seq == 0)
		fprintf(stderr, "eidgate: audit verify: warning: no signed checkpoint in the "
		    "log: nothing proves its records or its length\n");
	else if (r->records > 0 && r->last_ckpt.seq < r->last_seq)
		fprintf(stderr, "eidgate: audit verify: warning: the last %" PRIu64 " records "
		    "(after seq %" PRIu64 ") are not covered by a signed checkpoint yet (written "
		    "under a second ago, or the gateway stopped uncleanly)\n",
		    r->last_seq - r->last_ckpt.seq, r->last_ckpt.seq);
	if (r->truncated_start)
		fprintf(stderr, "eidgate: audit verify: warning: the log starts at seq %" PRIu64
		    "; how it links to the records before it was not checked\n", r->first_seq);
	if (a->key != NULL && a->head == NULL && r->last_ckpt.seq != 0 &&
	    r->last_ckpt.seq == r->last_seq)
		fprintf(stderr, "eidgate: audit verify: note: the log ends at its latest "
		    "checkpoint (seq %" PRIu64 "); without an exported head (--head) records "
		    "removed after it together with their checkpoints cannot be detected\n",
		    r->last_seq);
}

static void
free_keys(struct audit_key **keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		audit_key_free(keys[i]);
}

static int
run_verify(const struct vargs *a)
{
	struct audit_verify_opts o;
	struct audit_verify_result r;
	struct audit_key *keys[AUDIT_MAX_KEYS] = { NULL };
	struct audit_ckpt head;
	char err[512];
	size_t i;
	int rc;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < a->nkeys; i++)
		if (audit_key_load(a->keys[i], 0, &keys[i], err, sizeof(err)) != EG_OK) {
			fprintf(stderr, "eidgate: audit verify: --key %s\n", err);
			free_keys(keys, i);
			return EXIT_FAILED;
		}
	if (a->head != NULL && load_head(a, &head) != EXIT_OK) {
		free_keys(keys, a->nkeys);
		return EXIT_FAILED;
	}
	o.key = keys[0];
	for (i = 1; i < a->nkeys; i++)
		o.more_keys[o.nmore++] = keys[i];
	o.head = a->head ? &head : NULL;
	o.archives = a->archives;
	o.narchives = a->narchives;
	o.allow_truncated_start = a->allow;
	o.progress = a->progress || isatty(2);
	if (a->head != NULL && head_is_signed(a, &o, &head) != EXIT_OK) {
		free_keys(keys, a->nkeys);
		return EXIT_FAILED;
	}
	rc = audit_verify(a->db, &o, &r, err, sizeof(err));
	free_keys(keys, a->nkeys);
	if (rc != EG_OK) {
		if (r.fail == AUDIT_VF_READ)
			fprintf(stderr, "eidgate: %s\n", err);
		else if (r.bad_seq == 0)
			fprintf(stderr, "eidgate: audit verify: %s: %s\n", fail_label(r.fail),
			    r.why);
		else
			fprintf(stderr, "eidgate: audit verify: %s at seq %" PRIu64 ": %s\n",
			    fail_label(r.fail), r.bad_seq, r.why);
		return EXIT_FAILED;
	}
	if (a->ndbs > 1) {
		char inst[AUDIT_INSTANCE_MAX + 1] = "";

		(void)audit_instance_of(a->db, inst, sizeof(inst), err, sizeof(err));
		printf("instance %s (%s): ", inst[0] ? inst : "?", a->db);
	}
	printf("ok: %" PRIu64 " records, head %s\n", r.records, r.head);
	print_details(a, &r);
	print_warnings(a, &r);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
}

static void
say_witnessed(int bad, const char *line, void *arg)
{
	(void)arg;
	if (bad)
		fprintf(stderr, "eidgate: audit verify: %s\n", line);
	else
		printf("  %s\n", line);
}

/* Each log on its own, then all against the checkpoints their witnesses cosigned. */
static int
run_all(struct vargs *a)
{
	struct audit_key *wk[AUDIT_MAX_KEYS] = { NULL };
	char err[512], peers[1100];
	struct stat st;
	size_t i, npeers = 0;
	int rc = EXIT_OK, bad;

	for (i = 0; i < a->ndbs; i++) {
		a->db = a->dbs[i];
		if (run_verify(a) != EXIT_OK)
			rc = EXIT_FAILED;
		snprintf(peers, sizeof(peers), "%s/peers", a->dbs[i]);
		npeers += stat(peers, &st) == 0;
	}
	if (npeers == 0 && a->nwkeys == 0)
		return rc;
	for (i = 0; i < a->nwkeys; i++)
		if (audit_key_load(a->wkeys[i], 0, &wk[i], err, sizeof(err)) != EG_OK) {
			fprintf(stderr, "eidgate: audit verify: --witness-key %s\n", err);
			free_keys(wk, i);
			return EXIT_FAILED;
		}
	printf("witnessed checkpoints:\n");
	if (a->nwkeys == 0)
		fprintf(stderr, "eidgate: audit verify: warning: no --witness-key: the "
		    "cosignatures' signatures were not checked\n");
	bad = audit_verify_witnessed(a->dbs, a->ndbs, (const struct audit_key *const *)wk,
	    a->nwkeys, say_witnessed, NULL);
	free_keys(wk, a->nwkeys);
	return bad > 0 ? EXIT_FAILED : rc;
}

int
cmd_audit_verify(int argc, char **argv)
{
	struct vargs a;
	const struct opt opts[] = {
		{ "db", NULL, NULL, 0, a.dbs, &a.ndbs, CMD_MAX_DBS },
		{ "key", NULL, NULL, 0, a.keys, &a.nkeys, AUDIT_MAX_KEYS },
		{ "witness-key", NULL, NULL, 0, a.wkeys, &a.nwkeys, AUDIT_MAX_KEYS },
		{ "head", &a.head, NULL, 0, NULL, NULL, 0 },
		{ "archive", NULL, NULL, 0, a.archives, &a.narchives, MAX_ARCHIVES },
		{ "allow-truncated-start", NULL, &a.allow, 0, NULL, NULL, 0 },
		{ "progress", NULL, &a.progress, 0, NULL, NULL, 0 },
	};
	int rc;

	memset(&a, 0, sizeof(a));
	rc = cmd_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), "verify");
	if (rc < 0) {
		fputs(usage_verify, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK)
		return rc;
	a.key = a.nkeys > 0 ? a.keys[0] : NULL;
	a.db = a.ndbs > 0 ? a.dbs[0] : NULL;
	if (a.db == NULL || (a.key == NULL && (a.head != NULL || a.narchives > 0)) ||
	    (a.ndbs > 1 && (a.head != NULL || a.narchives > 0))) {
		fprintf(stderr, "eidgate: audit verify: %s\n", a.db == NULL ?
		    "--db is required" : a.ndbs > 1 ? "--head and --archive take one --db" :
		    "--head and --archive need --key");
		return EXIT_USAGE;
	}
	return run_all(&a);
}

int
cmd_audit_checkpoint(int argc, char **argv)
{
	const char *db = NULL;
	int exp = 0, rc;
	const struct opt opts[] = {
		{ "db", &db, NULL, 0, NULL, NULL, 0 },
		{ "export", NULL, &exp, 0, NULL, NULL, 0 },
	};
	struct audit_ckpt c;
	char err[512], *line, t[40];

	rc = cmd_opts(argc, argv, opts, 2, "checkpoint");
	if (rc < 0) {
		fputs(usage_checkpoint, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK)
		return rc;
	if (db == NULL) {
		fprintf(stderr, "eidgate: audit checkpoint: --db is required\n");
		return EXIT_USAGE;
	}
	if ((rc = audit_ckpt_latest(db, &c, err, sizeof(err))) != EG_OK) {
		if (rc == EG_ERR_NOT_FOUND)
			fprintf(stderr, "eidgate: audit log %s: no signed checkpoint (is "
			    "[audit] signing_key set?)\n", db);
		else
			fprintf(stderr, "eidgate: %s\n", err);
		return EXIT_FAILED;
	}
	if ((line = audit_ckpt_to_json(&c)) == NULL) {
		fprintf(stderr, "eidgate: audit checkpoint: out of memory\n");
		return EXIT_FAILED;
	}
	eg_format_time(c.time_us, t, sizeof(t));
	if (exp)
		printf("%s\n", line);
	else
		printf("latest checkpoint: seq %" PRIu64 " at %s\n%s\n", c.seq, t, line);
	free(line);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
}
