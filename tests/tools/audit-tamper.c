/*
 * audit-tamper - writes test logs and edits them the way an attacker with write access
 * to the LMDB files would, for tests/audit/tamper_test.sh.
 *
 *   audit-tamper fill DIR N [--key K] [--start ISO] [--step-us U]
 *   audit-tamper change DIR SEQ [--rechain]   flip a byte of SEQ's path
 *   audit-tamper remove DIR SEQ [--rechain]   delete SEQ (rechain: renumber the rest)
 *   audit-tamper swap DIR SEQ [--rechain]     exchange SEQ and SEQ+1
 *   audit-tamper insert DIR SEQ [--rechain]   insert a copy of SEQ after it
 *   audit-tamper truncate DIR SEQ [--naive|--meta]  drop records after SEQ, fix meta
 *                                             and drop later checkpoints (--naive: only
 *                                             the records; --meta: keep checkpoints)
 *   audit-tamper forge DIR KEY [--fake-id]    re-sign every checkpoint with KEY over
 *                                             the current chain (--fake-id: keep the
 *                                             genuine key id)
 *   audit-tamper ckpts DIR                    print the checkpoint seqs
 *   audit-tamper policy DIR VERSION change|remove|add
 *                                             flip a byte of the kept policy text of
 *                                             VERSION, delete it, or keep a text under
 *                                             a VERSION no record names
 *
 * --rechain recomputes every prev hash and meta after the edit, as a careful attacker
 * would: only signed checkpoints can then tell. Without it the chain itself breaks.
 * The whole log is loaded into memory: test logs are small.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

struct val {
	unsigned char *p;
	size_t len;
};

struct db {
	MDB_env *env;
	MDB_txn *txn;
	struct audit_dbis d;
	struct val *v;
	size_t n;
};

static int
die(const char *what, int rc)
{
	fprintf(stderr, "audit-tamper: %s: %s\n", what, rc ? mdb_strerror(rc) : "failed");
	exit(1);
}

static void
db_open(struct db *db, const char *dir)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	memset(db, 0, sizeof(*db));
	if ((rc = mdb_env_create(&db->env)) || (rc = mdb_env_set_maxdbs(db->env, AUDIT_MAX_DBS)) ||
	    (rc = mdb_env_open(db->env, dir, 0, 0600)) ||
	    (rc = mdb_txn_begin(db->env, NULL, 0, &db->txn)) ||
	    (rc = audit_dbis_open(db->txn, 0, &db->d)) ||
	    (rc = mdb_cursor_open(db->txn, db->d.log, &c)))
		die(dir, rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		db->v = realloc(db->v, (db->n + 1) * sizeof(*db->v));
		if (db->v == NULL || (db->v[db->n].p = malloc(v.mv_size)) == NULL)
			die("memory", 0);
		memcpy(db->v[db->n].p, v.mv_data, v.mv_size);
		db->v[db->n++].len = v.mv_size;
	}
	mdb_cursor_close(c);
}

static uint64_t
vseq(const struct val *v)
{
	return audit_be64_get(v->p + AUDIT_OFF_SEQ);
}

/* Index of seq in the loaded log. */
static size_t
find(struct db *db, uint64_t seq)
{
	size_t i;

	for (i = 0; i < db->n; i++)
		if (vseq(&db->v[i]) == seq)
			return i;
	return die("no such seq", 0);
}

/* Rewrites seqs from index `from` on as consecutive, and with `rechain` every prev
 * hash and meta. */
static void
renumber(struct db *db, size_t from, int rechain)
{
	unsigned char h[AUDIT_HASH_LEN], seq[8];
	MDB_val k = { 4, "head" }, d = { AUDIT_HASH_LEN, h };
	size_t i;
	int rc;

	for (i = from; i < db->n && from > 0; i++)
		audit_be64_put(db->v[i].p + AUDIT_OFF_SEQ, vseq(&db->v[from - 1]) + i - from + 1);
	if (!rechain)
		return;
	memset(h, 0, sizeof(h));
	for (i = 0; i < db->n; i++) {
		memcpy(db->v[i].p, h, AUDIT_HASH_LEN);
		if (audit_chain_hash(db->v[i].p, db->v[i].len, h) != EG_OK)
			die("hash", 0);
	}
	if (db->n == 0)
		return;
	if ((rc = mdb_put(db->txn, db->d.meta, &k, &d, 0)) != 0)
		die("meta", rc);
	audit_be64_put(seq, vseq(&db->v[db->n - 1]));
	k = (MDB_val){ 8, "last_seq" };
	d = (MDB_val){ 8, seq };
	if ((rc = mdb_put(db->txn, db->d.meta, &k, &d, 0)) != 0)
		die("meta", rc);
}

static void
db_close(struct db *db)
{
	unsigned char key[8];
	size_t i;
	int rc;

	if ((rc = mdb_drop(db->txn, db->d.log, 0)) != 0)
		die("drop", rc);
	for (i = 0; i < db->n; i++) {
		MDB_val k = { 8, key }, d = { db->v[i].len, db->v[i].p };

		audit_be64_put(key, vseq(&db->v[i]));
		if ((rc = mdb_put(db->txn, db->d.log, &k, &d, 0)) != 0)
			die("put", rc);
		free(db->v[i].p);
	}
	free(db->v);
	if ((rc = mdb_txn_commit(db->txn)) != 0)
		die("commit", rc);
	mdb_env_close(db->env);
}

static void
edit(struct db *db, const char *op, uint64_t seq, int rechain)
{
	size_t i = find(db, seq);
	struct val t;
	size_t off, len;

	if (strcmp(op, "change") == 0) {
		if (audit_record_find(db->v[i].p, db->v[i].len, 11, &off, &len) != 0 || len == 0)
			die("record has no path", 0);
		db->v[i].p[off + len - 1] ^= 0x01;
		renumber(db, 0, rechain);
	} else if (strcmp(op, "remove") == 0) {
		free(db->v[i].p);
		memmove(&db->v[i], &db->v[i + 1], (db->n - i - 1) * sizeof(*db->v));
		db->n--;
		renumber(db, rechain ? i : 0, rechain);
	} else if (strcmp(op, "swap") == 0) {
		if (i + 1 >= db->n)
			die("nothing after seq", 0);
		t = db->v[i];
		db->v[i] = db->v[i + 1];
		db->v[i + 1] = t;
		renumber(db, i, rechain);       /* stored seqs follow their new keys */
	} else if (strcmp(op, "insert") == 0) {
		db->v = realloc(db->v, (db->n + 1) * sizeof(*db->v));
		if (db->v == NULL || (t.p = malloc(db->v[i].len)) == NULL)
			die("memory", 0);
		memcpy(t.p, db->v[i].p, db->v[i].len);
		t.len = db->v[i].len;
		memmove(&db->v[i + 2], &db->v[i + 1], (db->n - i - 1) * sizeof(*db->v));
		db->v[i + 1] = t;
		db->n++;
		renumber(db, i + 1, rechain);
	} else {
		die("unknown edit", 0);
	}
}

/* Drops records after seq; unless naive meta then agrees, and unless meta_only the
 * checkpoints after seq go too. */
static void
truncate_log(struct db *db, uint64_t seq, int naive, int meta_only)
{
	unsigned char key[8];
	MDB_val k = { 8, key };
	MDB_cursor *c;
	MDB_val ck, cv;
	int rc;
	size_t i, keep = find(db, seq) + 1;

	for (i = keep; i < db->n; i++)
		free(db->v[i].p);
	db->n = keep;
	renumber(db, 0, !naive);
	if (naive || meta_only)
		return;
	audit_be64_put(key, seq + 1);
	if ((rc = mdb_cursor_open(db->txn, db->d.ckpt, &c)) != 0)
		die("checkpoints", rc);
	for (ck = k; (rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE)) == 0; ck = k)
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			die("del", rc);
	mdb_cursor_close(c);
}

static void
forge(struct db *db, const char *keypath, int fake_id)
{
	struct audit_key *key;
	unsigned char val[AUDIT_CKPT_VAL_MAX], h[AUDIT_HASH_LEN];
	char err[300];
	size_t i;
	int rc;

	if (audit_key_load(keypath, 1, &key, err, sizeof(err)) != EG_OK)
		die(err, 0);
	for (i = 0; i < db->n; i++) {
		struct audit_ckpt c, old;
		unsigned char kb[8];
		MDB_val k = { 8, kb }, d;

		audit_chain_hash(db->v[i].p, db->v[i].len, h);
		audit_be64_put(kb, vseq(&db->v[i]));
		if (mdb_get(db->txn, db->d.ckpt, &k, &d) != 0 || audit_ckpt_decode(&k, &d, &old))
			continue;
		memset(&c, 0, sizeof(c));
		c.seq = old.seq;
		c.time_us = old.time_us;
		memcpy(c.hash, h, AUDIT_HASH_LEN);
		if (audit_ckpt_sign(key, &c) != EG_OK)
			die("sign", 0);
		if (fake_id)
			memcpy(c.key_id, old.key_id, AUDIT_KEYID_LEN);
		d.mv_data = val;
		d.mv_size = audit_ckpt_encode(&c, val);
		if ((rc = mdb_put(db->txn, db->d.ckpt, &k, &d, 0)) != 0)
			die("put checkpoint", rc);
	}
	audit_key_free(key);
}

static int
fill(int argc, char **argv)
{
	struct audit_options o = { argv[2], 0, AUDIT_SYNC_GROUP, 0, 0, NULL, NULL, NULL };
	long long n = 0, step = 1000, i;
	int64_t start = 0;
	struct audit_log *log;
	char nrn[16], fac[16], path[32];
	struct audit_record r;

	if (eg_strtonum(argv[3], 1, 100000000, &n) != EG_OK)
		die("N", 0);
	for (i = 4; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--key") == 0)
			o.signing_key = argv[i + 1];
		else if (strcmp(argv[i], "--start") == 0 && eg_parse_time(argv[i + 1], &start))
			die("--start", 0);
		else if (strcmp(argv[i], "--step-us") == 0 &&
		    eg_strtonum(argv[i + 1], 1, 1LL << 40, &step) != EG_OK)
			die("--step-us", 0);
	}
	if (start == 0)
		start = eg_now_us() - n * step;
	if (audit_open(&o, &log) != EG_OK)
		die("audit_open", 0);
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(nrn, sizeof(nrn), "850101%05lld", i % 17);
		snprintf(fac, sizeof(fac), "fac%lld", i % 3);
		snprintf(path, sizeof(path), "/dossiers/%lld", i);
		r.time_us = start + i * step;
		r.kind = i % 20 == 0 ? "login" : "request";
		r.nrn = nrn;
		r.org = i % 2 ? "org1" : "org2";
		r.facility = fac;
		r.method = "GET";
		r.path = path;
		r.decision = i % 4 == 0 ? "deny" : "allow";
		if (audit_append(log, &r, NULL) != EG_OK)
			die("audit_append", 0);
	}
	audit_close(log);
	return 0;
}

/* The "policies" DBI, where each "policy" record's text is kept under its version. */
static void
policy_edit(struct db *db, const char *version, const char *op)
{
	static const char added[] = "deny all GET /**\n";
	MDB_val k = { strlen(version), (void *)(uintptr_t)version }, v;
	unsigned char *copy;
	int rc;

	if (!db->d.has_policies)
		die("no policies DBI", 0);
	if (strcmp(op, "add") == 0) {
		v = (MDB_val){ sizeof(added) - 1, (void *)(uintptr_t)added };
		rc = mdb_put(db->txn, db->d.policies, &k, &v, MDB_NOOVERWRITE);
	} else if (strcmp(op, "remove") == 0) {
		rc = mdb_del(db->txn, db->d.policies, &k, NULL);
	} else if (strcmp(op, "change") == 0) {
		if ((rc = mdb_get(db->txn, db->d.policies, &k, &v)) != 0 || v.mv_size == 0)
			die(version, rc);
		if ((copy = malloc(v.mv_size)) == NULL)
			die("memory", 0);
		memcpy(copy, v.mv_data, v.mv_size);
		copy[v.mv_size - 1] ^= 0x01;
		v.mv_data = copy;
		rc = mdb_put(db->txn, db->d.policies, &k, &v, 0);
		free(copy);
	} else {
		rc = die("policy: change, remove or add", 0);
	}
	if (rc != 0)
		die(version, rc);
}

int
main(int argc, char **argv)
{
	struct db db;
	long long seq = 0;
	int flag = argc > 4 && argv[4][0] == '-';

	log_init("audit-tamper", LOG_LVL_WARN);
	if (argc < 3) {
		fprintf(stderr, "usage: see the comment at the top of tests/tools/audit-tamper.c\n");
		return 2;
	}
	if (strcmp(argv[1], "fill") == 0)
		return argc >= 4 ? fill(argc, argv) : 2;
	db_open(&db, argv[2]);
	if (strcmp(argv[1], "ckpts") == 0) {
		MDB_cursor *c;
		MDB_val k, v;

		if (mdb_cursor_open(db.txn, db.d.ckpt, &c) != 0)
			die("checkpoints", 0);
		while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0)
			printf("%llu\n", (unsigned long long)audit_be64_get(k.mv_data));
		mdb_cursor_close(c);
		db_close(&db);
		return 0;
	}
	if (argc < 4)
		return 2;
	if (strcmp(argv[1], "policy") == 0 && argc >= 5)
		policy_edit(&db, argv[3], argv[4]);
	else if (strcmp(argv[1], "forge") == 0)
		forge(&db, argv[3], flag);
	else if (eg_strtonum(argv[3], 1, 1LL << 60, &seq) != EG_OK)
		die("SEQ", 0);
	else if (strcmp(argv[1], "truncate") == 0)
		truncate_log(&db, (uint64_t)seq, flag && strcmp(argv[4], "--naive") == 0,
		    flag && strcmp(argv[4], "--meta") == 0);
	else
		edit(&db, argv[1], (uint64_t)seq, flag);
	db_close(&db);
	return 0;
}
