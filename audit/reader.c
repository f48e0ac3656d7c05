/*
 * reader.c - following a log from another process (eidgate audit tail -f).
 *
 * Each call is one short read transaction: LMDB readers see a snapshot, so a long-lived
 * transaction would never see new records and would pin the pages the writer wants to
 * reuse. One environment is kept open across calls (one reader slot, no re-open cost).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

struct audit_reader {
	MDB_env *env;
	int started;            /* the first call positioned the reader */
	uint64_t last;          /* last seq passed */
	struct audit_strbuf buf;
	char dir[];             /* for messages */
};

int
audit_reader_open(const char *dir, struct audit_reader **out, char *err, size_t errlen)
{
	size_t n = strlen(dir) + 1;

	if ((*out = calloc(1, sizeof(**out) + n)) == NULL) {
		eg_errf(err, errlen, "audit log %s: out of memory", dir);
		return EG_ERR_NOMEM;
	}
	memcpy((*out)->dir, dir, n);
	if (audit_env_open_ro(dir, &(*out)->env, err, errlen) == EG_OK)
		return EG_OK;
	audit_reader_close(*out);
	*out = NULL;
	return EG_ERR_AUDIT;
}

void
audit_reader_close(struct audit_reader *rd)
{
	if (rd == NULL)
		return;
	if (rd->env != NULL)
		mdb_env_close(rd->env);
	free(rd->buf.p);
	free(rd);
}

struct pass {
	int (*cb)(const struct audit_record *, void *);
	void *arg;
	char *err;
	size_t errlen;
};

/* Decodes one stored record and hands it to the callback with its chain hash. */
static int
emit(struct audit_reader *rd, const MDB_val *k, const MDB_val *v, struct pass *p)
{
	char hex[AUDIT_HEX_LEN];
	struct audit_record r;
	const char *why = "malformed key";

	if (k->mv_size != 8 ||
	    audit_record_decode_buf(v->mv_data, v->mv_size, &r, &rd->buf, &why) != 0 ||
	    audit_chain_hex(v->mv_data, v->mv_size, hex) != EG_OK) {
		eg_errf(p->err, p->errlen, "audit log %s: record after seq %" PRIu64
		    " is corrupt: %s", rd->dir, rd->last, why);
		return EG_ERR_AUDIT;
	}
	r.hash = hex;
	rd->last = audit_be64_get(k->mv_data);
	return p->cb(&r, p->arg);
}

/* First call: `first` records before the end; later calls: just after rd->last. */
static int
position(struct audit_reader *rd, MDB_cursor *c, MDB_val *k, MDB_val *v, int started,
    uint64_t first)
{
	unsigned char key[8];
	uint64_t i;
	int rc;

	if (started) {
		audit_be64_put(key, rd->last + 1);
		k->mv_size = 8;
		k->mv_data = key;
		return mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	}
	if (first == 0 || (rc = mdb_cursor_get(c, k, v, MDB_LAST)) != 0) {
		/* 0: start after the current end. */
		if (first == 0 && mdb_cursor_get(c, k, v, MDB_LAST) == 0 && k->mv_size == 8)
			rd->last = audit_be64_get(k->mv_data);
		return MDB_NOTFOUND;
	}
	for (i = 1; i < first && rc == 0; i++)
		if ((rc = mdb_cursor_get(c, k, v, MDB_PREV)) == MDB_NOTFOUND)
			return mdb_cursor_get(c, k, v, MDB_FIRST);
	return rc;
}

int
audit_reader_next(struct audit_reader *rd, uint64_t first,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg, char *err,
    size_t errlen)
{
	struct pass p = { cb, arg, err, errlen };
	struct audit_dbis d;
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	MDB_val k, v;
	int rc, r = EG_OK, started = rd->started;

	if (audit_txn_begin_ro(rd->env, rd->dir, &txn, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	/* An empty log positions the reader too: what comes later is all new. */
	rd->started = 1;
	rc = audit_dbis_open(txn, 0, &d);
	if (rc == 0 && (rc = mdb_cursor_open(txn, d.log, &c)) == 0) {
		for (rc = position(rd, c, &k, &v, started, first); rc == 0 && r == EG_OK;
		    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
			r = emit(rd, &k, &v, &p);
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	if (r == EG_OK && rc != 0 && rc != MDB_NOTFOUND) {
		eg_errf(err, errlen, "audit log %s: read: %s", rd->dir, mdb_strerror(rc));
		r = EG_ERR_AUDIT;
	}
	return r;
}

void
audit_reader_seek(struct audit_reader *rd, uint64_t after)
{
	rd->started = 1;
	rd->last = after;
}
