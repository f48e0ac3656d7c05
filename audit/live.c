/*
 * live.c - reading the live log inside the gateway process (audit.h, "Reading the live
 * log"): through the writer's own environment, under resize_lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

int
audit_live_begin(struct audit_log *log, MDB_txn **txn)
{
	int rc;

	pthread_rwlock_rdlock(&log->resize_lock);
	if ((rc = mdb_txn_begin(log->env, NULL, MDB_RDONLY, txn)) != 0) {
		pthread_rwlock_unlock(&log->resize_lock);
		log_warnx("audit log %s: read transaction: %s", log->dir, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

void
audit_live_end(struct audit_log *log, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&log->resize_lock);
}

int
audit_query_live(struct audit_log *log, const struct audit_filter *f,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg)
{
	MDB_txn *txn;
	char err[512] = "";
	int rc;

	if (log == NULL || f == NULL || cb == NULL || audit_live_begin(log, &txn) != EG_OK)
		return EG_ERR_AUDIT;
	rc = audit_query_txn(txn, log->dir, f, cb, arg, err, sizeof(err));
	audit_live_end(log, txn);
	if (rc == EG_ERR_AUDIT && err[0] != '\0')
		log_warnx("%s", err);
	return rc;
}

int
audit_export_live(struct audit_log *log, const struct audit_filter *f,
    enum audit_export_fmt fmt, FILE *out)
{
	struct audit_out *po;
	MDB_txn *txn;
	char err[512];
	int rc;

	if (log == NULL || f == NULL || out == NULL)
		return EG_ERR_AUDIT;
	po = audit_out_new(fmt == AUDIT_EXPORT_CSV ? AUDIT_FMT_CSV : AUDIT_FMT_JSON, out);
	if (po == NULL)
		return EG_ERR_AUDIT;
	if ((rc = audit_live_begin(log, &txn)) != EG_OK) {
		audit_out_free(po);
		return rc;
	}
	rc = audit_query_txn(txn, log->dir, f, audit_out_record, po, err, sizeof(err));
	audit_live_end(log, txn);
	if (audit_out_finish(po) != 0 && rc == EG_OK)
		rc = EG_ERR_AUDIT;
	audit_out_free(po);
	if (rc != EG_OK && err[0] != '\0')
		log_warnx("%s", err);
	return rc == EG_OK ? EG_OK : EG_ERR_AUDIT;
}

int
audit_verify_live(struct audit_log *log, struct audit_live_status *st)
{
	struct audit_verify_opts o;
	struct audit_verify_result res;
	unsigned char named[AUDIT_KEYID_LEN];
	MDB_txn *txn;
	char err[512] = "";
	int rc, have_named;

	memset(st, 0, sizeof(*st));
	memset(&o, 0, sizeof(o));
	if (log == NULL || audit_live_begin(log, &txn) != EG_OK) {
		eg_strlcpy(st->error, "the access log cannot be read", sizeof(st->error));
		return EG_ERR_AUDIT;
	}
	/* The log's own key history: from the key its first key-change record names (or
	 * the key in use, for a log from before such records), following every change. It
	 * must end at the key this gateway holds, or someone else signed its end. */
	pthread_mutex_lock(&log->mu);
	o.key = log->ckpt_key;
	memcpy(named, log->named_key, sizeof(named));
	have_named = log->has_named_key;
	pthread_mutex_unlock(&log->mu);
	o.trust_named_keys = 1;
	rc = audit_verify_txn(txn, log->dir, &o, &res, err, sizeof(err));
	audit_live_end(log, txn);
	if (rc == EG_OK && have_named && res.checkpoints > 0 &&
	    memcmp(res.final_key_id, named, AUDIT_KEYID_LEN) != 0) {
		rc = EG_ERR_AUDIT;
		eg_strlcpy(res.why, "the last checkpoints are signed by a key this gateway does "
		    "not hold", sizeof(res.why));
	}
	st->records = res.records;
	st->checkpoint_seq = res.last_ckpt.seq;
	eg_strlcpy(st->head, res.head, sizeof(st->head));
	if (rc != EG_OK)
		eg_strlcpy(st->error, res.why[0] ? res.why : err[0] ? err : "verification failed",
		    sizeof(st->error));
	return rc == EG_OK ? EG_OK : EG_ERR_AUDIT;
}

int
audit_ended_sessions(struct audit_log *log, int64_t now_s,
    void (*cb)(void *arg, const char *session, int64_t until), void *arg)
{
	char id[AUDIT_SESSION_MAX];
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if (log == NULL || audit_live_begin(log, &txn) != EG_OK)
		return EG_ERR_AUDIT;
	rc = log->dbi.has_ended ? mdb_cursor_open(txn, log->dbi.ended, &c) : MDB_NOTFOUND;
	for (rc = rc == 0 ? mdb_cursor_get(c, &k, &v, MDB_FIRST) : rc; rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		int64_t until = v.mv_size == 8 ? (int64_t)audit_be64_get(v.mv_data) : 0;
		if (k.mv_size == 0 || k.mv_size >= sizeof(id) || until <= now_s)
			continue;
		memcpy(id, k.mv_data, k.mv_size);
		id[k.mv_size] = '\0';
		cb(arg, id, until);
	}
	if (c != NULL)
		mdb_cursor_close(c);
	audit_live_end(log, txn);
	return rc == MDB_NOTFOUND ? EG_OK : EG_ERR_AUDIT;
}

int
audit_count_org_live(struct audit_log *log, const char *org, uint64_t *n)
{
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	MDB_val k = { org != NULL ? strlen(org) : 0, (void *)(uintptr_t)org }, v;
	size_t count = 0;
	int rc;

	*n = 0;
	if (log == NULL || k.mv_size == 0 || audit_live_begin(log, &txn) != EG_OK)
		return EG_ERR_AUDIT;
	rc = mdb_cursor_open(txn, log->dbi.by_org, &c);
	if (rc == 0 && (rc = mdb_cursor_get(c, &k, &v, MDB_SET)) == 0)
		rc = mdb_cursor_count(c, &count);
	if (c != NULL)
		mdb_cursor_close(c);
	audit_live_end(log, txn);
	*n = count;
	return rc == 0 || rc == MDB_NOTFOUND ? EG_OK : EG_ERR_AUDIT;
}
