/*
 * cli_tail.c - `eidgate audit tail [-n N] [-f]`: the last records, then (with -f) each
 * new one as the gateway commits it.
 *
 * Following polls every 200 ms with a fresh read transaction: LMDB readers see a
 * snapshot, so a long-lived transaction would never see new records and would pin the
 * pages the writer wants to reuse. One environment is kept open across polls (one reader
 * slot, no re-open cost).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "audit/internal.h"
#include "cmd/internal.h"

#define TAIL_POLL_MS 200
#define TAIL_DEFAULT 10

static const char usage_tail[] =
    "usage: eidgate audit tail --db DIR [-n N] [-f] [--format table|json|csv]\n"
    "Prints the last N records (default 10), oldest first. With -f (--follow) keeps\n"
    "printing new records as the gateway writes them, until SIGINT or SIGTERM.\n";

static volatile sig_atomic_t tail_stop;

static void
on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

struct tail {
	const char *db;
	MDB_env *env;
	struct audit_out *out;
	uint64_t last;          /* last seq printed */
	uint64_t n;
	char *buf;
	size_t cap;
	char err[512];
};

static int
emit(struct tail *t, const MDB_val *k, const MDB_val *v)
{
	unsigned char hash[AUDIT_HASH_LEN];
	char hex[AUDIT_HEX_LEN];
	struct audit_record r;
	const char *why = "malformed key";

	if (v->mv_size > t->cap) {
		char *nb = realloc(t->buf, v->mv_size);

		if (nb == NULL) {
			eg_errf(t->err, sizeof(t->err), "audit tail: out of memory");
			return -1;
		}
		t->buf = nb;
		t->cap = v->mv_size;
	}
	if (k->mv_size != 8 || audit_record_decode(v->mv_data, v->mv_size, &r, t->buf,
	    t->cap, &why) != 0 || audit_chain_hash(v->mv_data, v->mv_size, hash) != EG_OK) {
		eg_errf(t->err, sizeof(t->err), "audit log %s: record after seq %" PRIu64
		    " is corrupt: %s", t->db, t->last, why);
		return -1;
	}
	eg_hex(hash, sizeof(hash), hex);
	r.hash = hex;
	t->last = audit_be64_get(k->mv_data);
	if (audit_out_record(&r, t->out) != 0) {
		eg_errf(t->err, sizeof(t->err), "audit tail: write error on standard output");
		return -1;
	}
	return 0;
}

/* First poll: position n records before the end; later polls: just after t->last. */
static int
position(struct tail *t, MDB_cursor *c, MDB_val *k, MDB_val *v, int first)
{
	unsigned char key[8];
	uint64_t i;
	int rc;

	if (!first) {
		audit_be64_put(key, t->last + 1);
		k->mv_size = 8;
		k->mv_data = key;
		return mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	}
	if (t->n == 0 || (rc = mdb_cursor_get(c, k, v, MDB_LAST)) != 0) {
		/* -n 0: start after the current end. */
		if (t->n == 0 && mdb_cursor_get(c, k, v, MDB_LAST) == 0 && k->mv_size == 8)
			t->last = audit_be64_get(k->mv_data);
		return MDB_NOTFOUND;
	}
	for (i = 1; i < t->n && rc == 0; i++)
		if ((rc = mdb_cursor_get(c, k, v, MDB_PREV)) == MDB_NOTFOUND)
			return mdb_cursor_get(c, k, v, MDB_FIRST);
	return rc;
}

/* One read transaction: prints what is new. */
static int
poll_once(struct tail *t, int first)
{
	struct audit_dbis d;
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	MDB_val k, v;
	int rc, r = 0;

	if (audit_txn_begin_ro(t->env, t->db, &txn, t->err, sizeof(t->err)) != EG_OK)
		return -1;
	rc = audit_dbis_open(txn, 0, &d);
	if (rc == 0 && (rc = mdb_cursor_open(txn, d.log, &c)) == 0) {
		for (rc = position(t, c, &k, &v, first); rc == 0 && r == 0;
		    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
			r = emit(t, &k, &v);
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	if (r == 0 && rc != 0 && rc != MDB_NOTFOUND) {
		eg_errf(t->err, sizeof(t->err), "audit log %s: read: %s", t->db,
		    mdb_strerror(rc));
		r = -1;
	}
	if (r == 0 && audit_out_finish(t->out) != 0) {
		eg_errf(t->err, sizeof(t->err), "audit tail: write error on standard output");
		r = -1;
	}
	return r;
}

static int
follow(struct tail *t, int f)
{
	struct sigaction sa, old_int, old_term;
	struct timespec ts = { 0, TAIL_POLL_MS * 1000000L };
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;      /* no SA_RESTART: the sleep ends at once */
	sigemptyset(&sa.sa_mask);
	tail_stop = 0;
	if (f && (sigaction(SIGINT, &sa, &old_int) != 0 ||
	    sigaction(SIGTERM, &sa, &old_term) != 0)) {
		eg_errf(t->err, sizeof(t->err), "audit tail: cannot handle signals");
		return -1;
	}
	r = poll_once(t, 1);
	while (f && r == 0 && !tail_stop) {
		nanosleep(&ts, NULL);
		if (!tail_stop)
			r = poll_once(t, 0);
	}
	if (f) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	return r;
}

int
audit_cli_tail(int argc, char **argv)
{
	const char *n = NULL, *format = NULL;
	int f = 0, rc;
	long long nn = TAIL_DEFAULT;
	struct tail t;
	const struct opt opts[] = {
		{ "db", &t.db, NULL, 0, NULL, NULL, 0 },
		{ "lines", &n, NULL, 'n', NULL, NULL, 0 },
		{ "follow", NULL, &f, 'f', NULL, NULL, 0 },
		{ "format", &format, NULL, 0, NULL, NULL, 0 },
	};
	enum audit_fmt fmt;

	memset(&t, 0, sizeof(t));
	rc = audit_cli_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), "tail");
	if (rc < 0) {
		fputs(usage_tail, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK || (rc = audit_cli_format(format, "table, json, csv",
	    AUDIT_FMT_TABLE, &fmt, "tail")) != EXIT_OK)
		return rc;
	if (t.db == NULL || (n != NULL && eg_strtonum(n, 0, 100000000, &nn) != EG_OK)) {
		fprintf(stderr, "eidgate: audit tail: %s\n", t.db == NULL ?
		    "--db is required" : "-n must be a number of records");
		return EXIT_USAGE;
	}
	t.n = (uint64_t)nn;
	if ((t.out = malloc(sizeof(*t.out))) == NULL) {
		fprintf(stderr, "eidgate: audit tail: out of memory\n");
		return EXIT_FAILED;
	}
	audit_out_init(t.out, fmt, stdout);
	rc = audit_env_open_ro(t.db, &t.env, t.err, sizeof(t.err)) == EG_OK ?
	    follow(&t, f) : -1;
	if (t.env != NULL)
		mdb_env_close(t.env);
	if (rc != 0)
		fprintf(stderr, "eidgate: %s\n", t.err);
	free(t.buf);
	free(t.out);
	return rc == 0 ? EXIT_OK : EXIT_FAILED;
}
