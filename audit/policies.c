/*
 * policies.c - reading back the policy versions a log keeps ("policies" DBI, written by
 * store.c with each "policy" record) and single records by seq, for `eidgate audit
 * replay`.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "audit/internal.h"

/* A read transaction and the DBIs of dir; *empty when the log has no records yet. */
static int
open_read(const char *dir, MDB_env **env, MDB_txn **txn, struct audit_dbis *d, int *empty,
    char *err, size_t errlen)
{
	int rc;

	*env = NULL;
	*txn = NULL;
	*empty = 0;
	if (audit_env_open_ro(dir, env, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	if (audit_txn_begin_ro(*env, dir, txn, err, errlen) != EG_OK) {
		mdb_env_close(*env);
		return EG_ERR_AUDIT;
	}
	memset(d, 0, sizeof(*d));
	rc = audit_dbis_open(*txn, 0, d);
	if (rc == MDB_NOTFOUND) {
		*empty = 1;
		return EG_OK;
	}
	if (rc != 0) {
		eg_errf(err, errlen, "audit log %s: %s", dir, mdb_strerror(rc));
		mdb_txn_abort(*txn);
		mdb_env_close(*env);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

static void
close_read(MDB_env *env, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

static int
walk_policies(MDB_txn *txn, const struct audit_dbis *d,
    int (*cb)(const char *, const char *, size_t, void *), void *arg)
{
	char version[EG_MAX_ID];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, r = EG_OK;

	if ((rc = mdb_cursor_open(txn, d->policies, &cur)) != 0)
		return EG_ERR_AUDIT;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && r == EG_OK;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		/* Keys are what the writer took from records: short, NUL-free. */
		if (k.mv_size == 0 || k.mv_size >= sizeof(version) ||
		    memchr(k.mv_data, '\0', k.mv_size) != NULL)
			continue;
		memcpy(version, k.mv_data, k.mv_size);
		version[k.mv_size] = '\0';
		r = cb(version, v.mv_data, v.mv_size, arg);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return EG_ERR_AUDIT;
	return r;
}

int
audit_policies(const char *dir, int (*cb)(const char *, const char *, size_t, void *),
    void *arg, char *err, size_t errlen)
{
	struct audit_dbis d;
	MDB_env *env;
	MDB_txn *txn;
	int empty, r;

	if (open_read(dir, &env, &txn, &d, &empty, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	r = empty || !d.has_policies ? EG_OK : walk_policies(txn, &d, cb, arg);
	if (r == EG_ERR_AUDIT)
		eg_errf(err, errlen, "audit log %s: reading the policy versions failed", dir);
	close_read(env, txn);
	return r;
}

static int
emit_record(const char *dir, const MDB_val *v, uint64_t seq,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen)
{
	struct audit_strbuf b = { NULL, 0 };
	char hex[AUDIT_HEX_LEN];
	struct audit_record r;
	const char *why = "sequence mismatch";
	int rc;

	if (audit_record_decode_buf(v->mv_data, v->mv_size, &r, &b, &why) != 0 ||
	    r.seq != seq || audit_chain_hex(v->mv_data, v->mv_size, hex) != EG_OK) {
		eg_errf(err, errlen, "audit log %s: record seq %llu is corrupt: %s", dir,
		    (unsigned long long)seq, why);
		free(b.p);
		return EG_ERR_AUDIT;
	}
	r.hash = hex;
	rc = cb(&r, arg);
	free(b.p);
	return rc;
}

int
audit_record_at(const char *dir, uint64_t seq,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen)
{
	unsigned char key[8];
	struct audit_dbis d;
	MDB_val k = { 8, key }, v;
	MDB_env *env;
	MDB_txn *txn;
	int empty, rc, r;

	if (open_read(dir, &env, &txn, &d, &empty, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	audit_be64_put(key, seq);
	rc = empty ? MDB_NOTFOUND : mdb_get(txn, d.log, &k, &v);
	if (rc == MDB_NOTFOUND) {
		eg_errf(err, errlen, "audit log %s: no record %llu", dir,
		    (unsigned long long)seq);
		r = EG_ERR_NOT_FOUND;
	} else if (rc != 0) {
		eg_errf(err, errlen, "audit log %s: %s", dir, mdb_strerror(rc));
		r = EG_ERR_AUDIT;
	} else {
		r = emit_record(dir, &v, seq, cb, arg, err, errlen);
	}
	close_read(env, txn);
	return r;
}
