/* query.c - reading the log: pick the narrowest index, then filter every record. */
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

struct qctx {
	const char *dir;
	const struct audit_filter *f;
	int (*cb)(const struct audit_record *, void *);
	void *arg;
	MDB_txn *txn;
	struct audit_dbis d;
	struct audit_strbuf buf;        /* decoded strings of the current record */
	uint64_t matched;
	int cbrc;
	char *err;
	size_t errlen;
};

/* Walk results: go on, stop (limit or callback), or fail (err set). */
enum { Q_MORE = 0, Q_STOP = 1, Q_FAIL = -1 };

static int
str_match(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

/* Every filter field is checked on the record itself, whichever index found it. */
static int
rec_match(const struct audit_filter *f, const struct audit_record *r)
{
	return str_match(f->nrn, r->nrn) && str_match(f->org, r->org) &&
	    str_match(f->facility, r->facility) && str_match(f->decision, r->decision) &&
	    str_match(f->kind, r->kind) && (f->since_us == 0 || r->time_us >= f->since_us) &&
	    (f->until_us == 0 || r->time_us <= f->until_us);
}

static int
emit(struct qctx *q, const MDB_val *v, uint64_t seq)
{
	char hex[AUDIT_HEX_LEN];
	struct audit_record r;
	const char *why = NULL;

	if (audit_record_decode_buf(v->mv_data, v->mv_size, &r, &q->buf, &why) != 0 ||
	    r.seq != seq) {
		eg_errf(q->err, q->errlen, "audit log %s: record seq %llu is corrupt: %s",
		    q->dir, (unsigned long long)seq, why ? why : "sequence mismatch");
		return Q_FAIL;
	}
	if (!rec_match(q->f, &r))
		return Q_MORE;
	if (audit_chain_hex(v->mv_data, v->mv_size, hex) != EG_OK) {
		eg_errf(q->err, q->errlen, "audit log %s: hashing failed", q->dir);
		return Q_FAIL;
	}
	r.hash = hex;
	if ((q->cbrc = q->cb(&r, q->arg)) != 0)
		return Q_STOP;
	if (q->f->limit != 0 && ++q->matched >= q->f->limit)
		return Q_STOP;
	return Q_MORE;
}

/* Follows an index entry (8-byte seq) to its record. */
static int
emit_seq(struct qctx *q, const MDB_val *seqv)
{
	MDB_val v;
	int rc;

	if (seqv->mv_size != 8) {
		eg_errf(q->err, q->errlen, "audit log %s: corrupt index entry", q->dir);
		return Q_FAIL;
	}
	rc = mdb_get(q->txn, q->d.log, (MDB_val *)(uintptr_t)seqv, &v);
	if (rc != 0) {
		eg_errf(q->err, q->errlen, "audit log %s: index points to seq %llu: %s",
		    q->dir, (unsigned long long)audit_be64_get(seqv->mv_data), mdb_strerror(rc));
		return Q_FAIL;
	}
	return emit(q, &v, audit_be64_get(seqv->mv_data));
}

enum walk_mode { W_LOG, W_INDEX, W_TIME };

/* Has a by_time key left the time range in the walk's direction? */
static int
past_range(const struct audit_filter *f, const MDB_val *k)
{
	uint64_t t;

	if (k->mv_size != 8)
		return 1;
	t = audit_be64_get(k->mv_data);
	if (f->newest_first)
		return f->since_us != 0 && t < (uint64_t)f->since_us;
	return f->until_us != 0 && t > (uint64_t)f->until_us;
}

/* Emits from the cursor's position (rc: result of the positioning call) on, moving with
 * `next`, until the cursor runs out, a by_time key leaves the range, or emit says stop. */
static int
walk(struct qctx *q, MDB_cursor *c, MDB_val *k, MDB_val *v, int rc, MDB_cursor_op next,
    enum walk_mode mode)
{
	int r;

	while (rc == 0) {
		if (mode == W_TIME && past_range(q->f, k))
			break;
		if (mode != W_LOG)
			r = emit_seq(q, v);
		else if (k->mv_size == 8)
			r = emit(q, v, audit_be64_get(k->mv_data));
		else {
			eg_errf(q->err, q->errlen, "audit log %s: corrupt log key", q->dir);
			r = Q_FAIL;
		}
		if (r != Q_MORE)
			return r;
		rc = mdb_cursor_get(c, k, v, next);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		eg_errf(q->err, q->errlen, "audit log %s: read: %s", q->dir, mdb_strerror(rc));
		return Q_FAIL;
	}
	return Q_MORE;
}

struct plan {
	MDB_dbi dbi;
	const char *key;        /* NULL: no string index applies */
	size_t count;
};

/* Counts the duplicates of one index key; the smallest count is the narrowest walk. */
static int
consider(struct qctx *q, MDB_cursor *c, const char *key, struct plan *p)
{
	size_t klen = key ? strlen(key) : 0, n = 0;
	MDB_val k = { klen, (void *)(uintptr_t)key }, v;
	int rc;

	/* Same rule as the writer: empty and over-long values are not indexed. */
	if (klen == 0 || klen > (size_t)mdb_env_get_maxkeysize(mdb_txn_env(q->txn)))
		return 0;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET);
	if (rc == 0)
		rc = mdb_cursor_count(c, &n);
	else if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc == 0 && (p->key == NULL || n < p->count)) {
		p->dbi = mdb_cursor_dbi(c);
		p->key = key;
		p->count = n;
	}
	return rc;
}

static int
choose_index(struct qctx *q, struct plan *p)
{
	MDB_dbi dbis[3] = { q->d.by_nrn, q->d.by_facility, q->d.by_org };
	const char *keys[3] = { q->f->nrn, q->f->facility, q->f->org };
	MDB_cursor *c;
	int i, rc = 0;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < 3 && rc == 0; i++) {
		if (keys[i] == NULL)
			continue;
		if ((rc = mdb_cursor_open(q->txn, dbis[i], &c)) != 0)
			break;
		rc = consider(q, c, keys[i], p);
		mdb_cursor_close(c);
	}
	if (rc != 0)
		eg_errf(q->err, q->errlen, "audit log %s: index: %s", q->dir, mdb_strerror(rc));
	return rc == 0 ? Q_MORE : Q_FAIL;
}

/* Positions a by_time cursor at the first entry of the range in the walk's direction:
 * the oldest at or after since_us, or (newest first) the newest at or before until_us. */
static int
time_start(const struct audit_filter *f, MDB_cursor *c, MDB_val *k, MDB_val *v,
    unsigned char bound[8])
{
	int rc;

	k->mv_size = 8;
	k->mv_data = bound;
	if (!f->newest_first) {
		audit_be64_put(bound, (uint64_t)(f->since_us > 0 ? f->since_us : 0));
		return mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	}
	if (f->until_us <= 0)
		return mdb_cursor_get(c, k, v, MDB_LAST);
	/* The entry before the first one past until_us (its last duplicate). */
	audit_be64_put(bound, (uint64_t)f->until_us + 1);
	rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(c, k, v, MDB_LAST);
	return rc == 0 ? mdb_cursor_get(c, k, v, MDB_PREV) : rc;
}

static int
run_plan(struct qctx *q)
{
	unsigned char bound[8];
	struct plan p;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, r, back = q->f->newest_first;

	if ((r = choose_index(q, &p)) != Q_MORE)
		return r;
	if (p.key != NULL && p.count == 0)
		return Q_MORE;  /* nobody has that value: nothing to walk */
	if ((rc = mdb_cursor_open(q->txn, p.key ? p.dbi : (q->f->since_us || q->f->until_us) ?
	    q->d.by_time : q->d.log, &c)) != 0) {
		eg_errf(q->err, q->errlen, "audit log %s: cursor: %s", q->dir, mdb_strerror(rc));
		return Q_FAIL;
	}
	if (p.key != NULL) {
		k.mv_size = strlen(p.key);
		k.mv_data = (void *)(uintptr_t)p.key;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
		if (rc == 0 && back)
			rc = mdb_cursor_get(c, &k, &v, MDB_LAST_DUP);
		r = walk(q, c, &k, &v, rc, back ? MDB_PREV_DUP : MDB_NEXT_DUP, W_INDEX);
	} else if (q->f->since_us || q->f->until_us) {
		rc = time_start(q->f, c, &k, &v, bound);
		r = walk(q, c, &k, &v, rc, back ? MDB_PREV : MDB_NEXT, W_TIME);
	} else {
		rc = mdb_cursor_get(c, &k, &v, back ? MDB_LAST : MDB_FIRST);
		r = walk(q, c, &k, &v, rc, back ? MDB_PREV : MDB_NEXT, W_LOG);
	}
	mdb_cursor_close(c);
	return r;
}

/*
 * Results come oldest first (newest first with f->newest_first): by seq when walking the
 * log or a string index, by time when walking by_time. since_us and until_us are both
 * inclusive.
 */
int
audit_query_txn(MDB_txn *txn, const char *dir, const struct audit_filter *f,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen)
{
	struct qctx q;
	int rc, r;

	memset(&q, 0, sizeof(q));
	q.dir = dir;
	q.f = f;
	q.cb = cb;
	q.arg = arg;
	q.err = err;
	q.errlen = errlen;
	q.txn = txn;
	if (errlen > 0)
		err[0] = '\0';
	rc = audit_dbis_open(q.txn, 0, &q.d);
	if (rc == MDB_NOTFOUND) {
		r = Q_MORE;     /* created but never written: an empty log */
	} else if (rc != 0) {
		eg_errf(err, errlen, "audit log %s: %s", dir, mdb_strerror(rc));
		r = Q_FAIL;
	} else {
		r = run_plan(&q);
	}
	free(q.buf.p);
	if (r == Q_FAIL)
		return EG_ERR_AUDIT;
	return q.cbrc;
}

static int
query_dir(const char *dir, const struct audit_filter *f,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen)
{
	MDB_env *env;
	MDB_txn *txn;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	if (audit_env_open_ro(dir, &env, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	if (audit_txn_begin_ro(env, dir, &txn, err, errlen) != EG_OK) {
		mdb_env_close(env);
		return EG_ERR_AUDIT;
	}
	r = audit_query_txn(txn, dir, f, cb, arg, err, errlen);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return r;
}

int
audit_query(const char *dir, const struct audit_filter *f,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen)
{
	static const struct audit_filter all;
	char own[512];
	int rc;

	if (dir == NULL || cb == NULL) {
		eg_errf(err, errlen, "audit_query: no directory or callback");
		return EG_ERR_AUDIT;
	}
	/* Callers without a buffer get the reason in the operational log. */
	rc = query_dir(dir, f != NULL ? f : &all, cb, arg, err != NULL ? err : own,
	    err != NULL ? errlen : sizeof(own));
	if (rc == EG_ERR_AUDIT && err == NULL && own[0] != '\0')
		log_warnx("%s", own);
	return rc;
}
