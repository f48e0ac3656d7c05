/*
 * tamper.h - what an attacker with write access to the access log's files does, for the
 * unit tests of audit/: one stored record changed in place, behind the writer's back, or
 * one kept policy text changed, removed or added.
 * Include after check.h and eidgate/audit.h.
 */
#ifndef EIDGATE_TEST_TAMPER_H
#define EIDGATE_TEST_TAMPER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

/* XORs x into byte off of record seq's stored value (off < 0: counted from its end). */
static inline void
check_tamper(const char *dir, uint64_t seq, long off, unsigned char x)
{
	unsigned char key[8], *copy;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 8, key }, v;

	audit_be64_put(key, seq);
	CHECK(mdb_env_create(&env) == 0);
	CHECK(mdb_env_set_maxdbs(env, 16) == 0);
	CHECK(mdb_env_open(env, dir, 0, 0600) == 0);
	CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CHECK(mdb_dbi_open(txn, "log", 0, &dbi) == 0);
	CHECK(mdb_get(txn, dbi, &k, &v) == 0);
	copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[off < 0 ? v.mv_size - (size_t)-off : (size_t)off] ^= x;
	v.mv_data = copy;
	CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
	free(copy);
}

/* The kept policy text of version: with text NULL removed, else replaced by (or added
 * as) text. */
static inline void
check_tamper_policy(const char *dir, const char *version, const char *text)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { strlen(version), (void *)(uintptr_t)version }, v;

	CHECK(mdb_env_create(&env) == 0);
	CHECK(mdb_env_set_maxdbs(env, 16) == 0);
	CHECK(mdb_env_open(env, dir, 0, 0600) == 0);
	CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CHECK(mdb_dbi_open(txn, "policies", 0, &dbi) == 0);
	if (text == NULL) {
		CHECK(mdb_del(txn, dbi, &k, NULL) == 0);
	} else {
		v.mv_size = strlen(text);
		v.mv_data = (void *)(uintptr_t)text;
		CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
	}
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
}

#endif
