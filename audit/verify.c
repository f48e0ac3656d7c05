/* verify.c - walks the whole chain: seq continuity, record structure, every hash. */
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "audit_int.h"

struct vctx {
	struct audit_verify_result *res;
	unsigned char prev[AUDIT_HASH_LEN];     /* hash of the last good record */
	uint64_t expect;                        /* next seq we must see */
	char *buf;
	size_t cap;
};

static int
broken(struct vctx *v, uint64_t seq, const char *why)
{
	v->res->bad_seq = seq;
	eg_strlcpy(v->res->why, why, sizeof(v->res->why));
	return EG_ERR_AUDIT;
}

/* Checks one log entry against the chain so far. */
static int
check_one(struct vctx *v, const MDB_val *k, const MDB_val *d)
{
	struct audit_record r;
	const char *why = NULL;
	char *nb;

	if (k->mv_size != 8 || audit_be64_get(k->mv_data) != v->expect)
		return broken(v, v->expect, k->mv_size != 8 ? "malformed key" :
		    "sequence gap or reordering: this record is missing");
	if (d->mv_size > v->cap) {
		if ((nb = realloc(v->buf, d->mv_size)) == NULL)
			return broken(v, v->expect, "out of memory");
		v->buf = nb;
		v->cap = d->mv_size;
	}
	if (audit_record_decode(d->mv_data, d->mv_size, &r, v->buf, v->cap, &why) != 0)
		return broken(v, v->expect, why);
	if (r.seq != v->expect)
		return broken(v, v->expect, "stored seq differs from its key");
	/* A record changed after it was written no longer hashes to what its successor
	 * recorded: the broken one is the predecessor (or this one's prev field). */
	if (memcmp(d->mv_data, v->prev, AUDIT_HASH_LEN) != 0)
		return broken(v, v->expect > 1 ? v->expect - 1 : 1, v->expect > 1 ?
		    "its hash does not match the one chained in the next record" :
		    "first record does not start the chain");
	if (audit_chain_hash(d->mv_data, d->mv_size, v->prev) != EG_OK)
		return broken(v, v->expect, "hashing failed");
	v->expect++;
	return EG_OK;
}

/* meta holds the head written with the last batch: it catches a changed last record
 * (which has no successor) and a tail cut without also rewriting meta. */
static int
check_tail(struct vctx *v, MDB_txn *txn, const struct audit_dbis *d)
{
	MDB_val k = { 4, "head" }, h, s;
	MDB_val ks = { 8, "last_seq" };
	uint64_t last = v->expect - 1;

	if (mdb_get(txn, d->meta, &ks, &s) != 0 || s.mv_size != 8 ||
	    mdb_get(txn, d->meta, &k, &h) != 0 || h.mv_size != AUDIT_HASH_LEN)
		return last == 0 ? EG_OK : broken(v, last, "meta has no head");
	if (audit_be64_get(s.mv_data) != last)
		return broken(v, last + 1, audit_be64_get(s.mv_data) > last ?
		    "records at the end of the log were removed" : "meta is behind the log");
	if (last > 0 && memcmp(h.mv_data, v->prev, AUDIT_HASH_LEN) != 0)
		return broken(v, last, "its hash does not match the head recorded in meta");
	return EG_OK;
}

/* Signed checkpoints (a later issue) will be checked here against the chain: they prove
 * the head at a point in time, so a rewritten meta or a cut tail cannot hide. */
static int
check_checkpoints(struct vctx *v, MDB_txn *txn)
{
	(void)v;
	(void)txn;
	return EG_OK;
}

static int
walk_chain(struct vctx *v, MDB_txn *txn, const struct audit_dbis *d, char *err,
    size_t errlen, const char *dir)
{
	MDB_cursor *c;
	MDB_val k, val;
	int rc, r = EG_OK;

	if ((rc = mdb_cursor_open(txn, d->log, &c)) != 0) {
		audit_errf(err, errlen, "audit log %s: cursor: %s", dir, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0 && r == EG_OK;
	    rc = mdb_cursor_get(c, &k, &val, MDB_NEXT))
		r = check_one(v, &k, &val);
	mdb_cursor_close(c);
	if (r == EG_OK && rc != MDB_NOTFOUND) {
		audit_errf(err, errlen, "audit log %s: read: %s", dir, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	if (r == EG_OK)
		r = check_tail(v, txn, d);
	if (r == EG_OK)
		r = check_checkpoints(v, txn);
	return r;
}

int
audit_verify(const char *dir, struct audit_verify_result *res, char *err, size_t errlen)
{
	struct audit_dbis d;
	struct vctx v;
	MDB_env *env;
	MDB_txn *txn;
	int rc, r = EG_OK;

	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	v.res = res;
	v.expect = 1;
	if (errlen > 0)
		err[0] = '\0';
	if (audit_env_open_ro(dir, &env, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	if (audit_txn_begin_ro(env, dir, &txn, err, errlen) != EG_OK) {
		mdb_env_close(env);
		return EG_ERR_AUDIT;
	}
	rc = audit_dbis_open(txn, 0, &d);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		audit_errf(err, errlen, "audit log %s: %s", dir, mdb_strerror(rc));
		r = EG_ERR_AUDIT;
	} else if (rc == 0) {
		r = walk_chain(&v, txn, &d, err, errlen, dir);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	free(v.buf);
	res->records = v.expect - 1;
	eg_hex(v.prev, sizeof(v.prev), res->head);
	return r;
}
