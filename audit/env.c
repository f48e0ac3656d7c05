/* env.c - opening a log read-only, shared by audit_query, verify and the readers of
 * single records, policies, receipts and mirrors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "eidgate/err.h"
#include "audit/internal.h"

/*
 * LMDB keeps its lock state in lock.mdb and detects "first user" with fcntl locks, which
 * are per process: a second environment on the same files in one process would
 * re-initialise the lock table under the writer's feet, and closing it would drop the
 * writer's locks. So a process that writes a log must not read it through this path.
 */
static int
check_dir(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;

	if (stat(dir, &st) != 0) {
		eg_errf(err, errlen, "audit log %s: %s", dir, strerror(errno));
		return EG_ERR_AUDIT;
	}
	if (audit_dir_is_writing(st.st_dev, st.st_ino)) {
		eg_errf(err, errlen, "audit log %s: open for writing in this process; "
		    "read it from another process", dir);
		return EG_ERR_AUDIT;
	}
	/* Check for the data file first: LMDB would create a stray lock.mdb otherwise. */
	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >= sizeof(path)) {
		eg_errf(err, errlen, "audit log %s: path too long", dir);
		return EG_ERR_AUDIT;
	}
	if (stat(path, &st) != 0) {
		eg_errf(err, errlen, "audit log %s: %s", dir, strerror(errno));
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

int
audit_env_open_ro(const char *dir, MDB_env **envp, char *err, size_t errlen)
{
	MDB_env *env = NULL;
	int dead = 0, rc;

	*envp = NULL;
	if (check_dir(dir, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, AUDIT_MAX_DBS)) != 0 ||
	    /* 0 before open: adopt the map size the writer recorded. */
	    (rc = mdb_env_set_mapsize(env, 0)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_RDONLY, 0600)) != 0) {
		eg_errf(err, errlen, "audit log %s: %s", dir, mdb_strerror(rc));
		if (env != NULL)
			mdb_env_close(env);
		return EG_ERR_AUDIT;
	}
	/* Free slots of readers that died, or they pin old pages and the file grows. */
	if ((rc = mdb_reader_check(env, &dead)) != 0) {
		eg_errf(err, errlen, "audit log %s: reader check: %s", dir, mdb_strerror(rc));
		mdb_env_close(env);
		return EG_ERR_AUDIT;
	}
	*envp = env;
	return EG_OK;
}

int
audit_txn_begin_ro(MDB_env *env, const char *dir, MDB_txn **txn, char *err, size_t errlen)
{
	int rc, tries;

	/* The writer may grow the map again between our resize and begin: retry a few. */
	for (tries = 0; tries < 8; tries++) {
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, txn);
		if (rc != MDB_MAP_RESIZED)
			break;
		if ((rc = mdb_env_set_mapsize(env, 0)) != 0)
			break;
		rc = MDB_MAP_RESIZED;
	}
	if (rc != 0) {
		eg_errf(err, errlen, "audit log %s: read transaction: %s", dir,
		    mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

int
audit_dbis_open(MDB_txn *txn, unsigned int flags, struct audit_dbis *d)
{
	const unsigned int dup = MDB_DUPSORT | MDB_DUPFIXED;
	int rc;

	if ((rc = mdb_dbi_open(txn, "log", flags, &d->log)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", flags, &d->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "by_nrn", flags | dup, &d->by_nrn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "by_org", flags | dup, &d->by_org)) != 0 ||
	    (rc = mdb_dbi_open(txn, "by_facility", flags | dup, &d->by_facility)) != 0 ||
	    (rc = mdb_dbi_open(txn, "by_time", flags | dup, &d->by_time)) != 0)
		return rc;
	/* Logs written before checkpoints existed, or without a key, lack this DBI. */
	rc = mdb_dbi_open(txn, "checkpoints", flags, &d->ckpt);
	d->has_ckpt = rc == 0;
	if (rc != 0 && (rc != MDB_NOTFOUND || (flags & MDB_CREATE)))
		return rc;
	/* ...and logs written before sessions could end, this one. */
	rc = mdb_dbi_open(txn, "ended", flags, &d->ended);
	d->has_ended = rc == 0;
	if (rc != 0 && (rc != MDB_NOTFOUND || (flags & MDB_CREATE)))
		return rc;
	/* ...and logs from before policy versions were kept, this one. */
	rc = mdb_dbi_open(txn, "policies", flags, &d->policies);
	d->has_policies = rc == 0;
	return rc == MDB_NOTFOUND && !(flags & MDB_CREATE) ? 0 : rc;
}

int
audit_read_open(const char *dir, int strict, struct audit_read *rd, char *err,
    size_t errlen)
{
	memset(rd, 0, sizeof(*rd));
	if (audit_env_open_ro(dir, &rd->env, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	if (audit_txn_begin_ro(rd->env, dir, &rd->txn, err, errlen) != EG_OK) {
		mdb_env_close(rd->env);
		rd->env = NULL;
		return EG_ERR_AUDIT;
	}
	rd->dbi_rc = audit_dbis_open(rd->txn, 0, &rd->d);
	if (strict && rd->dbi_rc != 0 && rd->dbi_rc != MDB_NOTFOUND) {
		eg_errf(err, errlen, "audit log %s: %s", dir, mdb_strerror(rd->dbi_rc));
		audit_read_close(rd);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

void
audit_read_close(struct audit_read *rd)
{
	if (rd->txn != NULL)
		mdb_txn_abort(rd->txn);
	if (rd->env != NULL)
		mdb_env_close(rd->env);
	rd->txn = NULL;
	rd->env = NULL;
}
