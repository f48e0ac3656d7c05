/*
 * mirror.c - a witness's copy of one peer's log, and the checks that make its
 * cosignatures mean something (audit.h, "Several instances").
 *
 * The mirror has the layout of a log (internal.h), so query.c and verify.c read it as
 * one, plus the DBI "cosigs" (cosig.c) and in meta: "instance", "fault" (why this peer's
 * log was found to contradict what was witnessed; nothing is applied after it),
 * "key_cur" and "key_prev" (the DER keys the peer's key-change records named last).
 *
 * A record is applied only when its prev hash is the mirror's head, so the mirror is
 * always a prefix of every log the peer ever showed it; a checkpoint is cosigned only when
 * its hash is the mirror's hash at its seq. Together: each cosigned checkpoint extends the
 * one cosigned before it (the replay is the proof, see audit.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

/* Sparse: costs nothing until used; fixed, so readers never see a resize. */
#define MIRROR_MAP (16ULL << 30)

struct audit_mirror {
	char *dir;
	char instance[AUDIT_INSTANCE_MAX + 1];
	MDB_env *env;
	struct audit_dbis d;
	MDB_dbi cosigs;
	size_t max_key;
	uint64_t last;
	unsigned char head[AUDIT_HASH_LEN];
	uint64_t cosigned_seq;
	unsigned char cosigned_hash[AUDIT_HASH_LEN];
	struct audit_key *key_cur, *key_prev;   /* the peer's checkpoint keys */
	char fault[400];
};

static int
meta_put(MDB_txn *txn, MDB_dbi meta, const char *name, const void *v, size_t len)
{
	MDB_val k = { strlen(name), (void *)(uintptr_t)name };
	MDB_val d = { len, (void *)(uintptr_t)v };

	return mdb_put(txn, meta, &k, &d, 0);
}

static void
load_key(MDB_txn *txn, MDB_dbi meta, const char *name, struct audit_key **k)
{
	MDB_val d;

	if (audit_meta_get(meta, txn, name, &d) == 0)
		(void)audit_key_from_der(d.mv_data, d.mv_size, k);
}

static int
load_state(struct audit_mirror *m, MDB_txn *txn)
{
	MDB_val d, k, v;
	MDB_cursor *cur;
	int rc;

	if (audit_meta_get(m->d.meta, txn, "last_seq", &d) == 0 && d.mv_size == 8 &&
	    audit_meta_get(m->d.meta, txn, "head", &k) == 0 && k.mv_size == AUDIT_HASH_LEN) {
		m->last = audit_be64_get(d.mv_data);
		memcpy(m->head, k.mv_data, AUDIT_HASH_LEN);
	}
	if (audit_meta_get(m->d.meta, txn, "fault", &d) == 0)
		snprintf(m->fault, sizeof(m->fault), "%.*s", (int)d.mv_size, (char *)d.mv_data);
	load_key(txn, m->d.meta, "key_cur", &m->key_cur);
	load_key(txn, m->d.meta, "key_prev", &m->key_prev);
	if ((rc = mdb_cursor_open(txn, m->cosigs, &cur)) != 0)
		return rc;
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0) {
		struct audit_cosig c;

		if (audit_cosig_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &c) == 0) {
			m->cosigned_seq = c.seq;
			memcpy(m->cosigned_hash, c.hash, AUDIT_HASH_LEN);
		}
	}
	mdb_cursor_close(cur);
	return 0;
}

static int
open_dbis(struct audit_mirror *m)
{
	unsigned char fmt = AUDIT_FORMAT;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(m->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = audit_dbis_open(txn, MDB_CREATE, &m->d)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cosigs", MDB_CREATE, &m->cosigs)) != 0 ||
	    (rc = meta_put(txn, m->d.meta, "format", &fmt, 1)) != 0 ||
	    (rc = meta_put(txn, m->d.meta, "instance", m->instance, strlen(m->instance))) != 0 ||
	    (rc = load_state(m, txn)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

int
audit_mirror_open(const char *dir, const char *instance, struct audit_mirror **out,
    char *err, size_t errlen)
{
	struct audit_mirror *m;
	int rc;

	*out = NULL;
	if (!audit_instance_valid(instance) || (m = calloc(1, sizeof(*m))) == NULL) {
		eg_errf(err, errlen, "mirror %s: bad instance name or out of memory", dir);
		return EG_ERR_AUDIT;
	}
	snprintf(m->instance, sizeof(m->instance), "%s", instance);
	if ((m->dir = strdup(dir)) == NULL || (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
		eg_errf(err, errlen, "mirror %s: cannot create it", dir);
		audit_mirror_close(m);
		return EG_ERR_AUDIT;
	}
	if ((rc = mdb_env_create(&m->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(m->env, AUDIT_MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(m->env, MIRROR_MAP)) != 0 ||
	    (rc = mdb_env_open(m->env, dir, 0, 0600)) != 0 || (rc = open_dbis(m)) != 0) {
		eg_errf(err, errlen, "mirror %s: %s", dir, mdb_strerror(rc));
		audit_mirror_close(m);
		return EG_ERR_AUDIT;
	}
	m->max_key = (size_t)mdb_env_get_maxkeysize(m->env);
	*out = m;
	return EG_OK;
}

void
audit_mirror_close(struct audit_mirror *m)
{
	if (m == NULL)
		return;
	if (m->env != NULL)
		mdb_env_close(m->env);
	audit_key_free(m->key_cur);
	audit_key_free(m->key_prev);
	free(m->dir);
	free(m);
}

int
audit_each_mirror(const char *dir, int (*cb)(const char *mdir, const char *name, void *),
    void *arg)
{
	char pdir[1100], mdir[1400];
	struct dirent *de;
	DIR *dp;
	int r = 0;

	snprintf(pdir, sizeof(pdir), "%s/peers", dir);
	if ((dp = opendir(pdir)) == NULL)
		return 0;
	while (r == 0 && (de = readdir(dp)) != NULL) {
		/* Only names a peer can have: no ".", "..", hidden or stray entries. */
		if (de->d_name[0] == '.' || !audit_instance_valid(de->d_name))
			continue;
		snprintf(mdir, sizeof(mdir), "%s/%s", pdir, de->d_name);
		r = cb(mdir, de->d_name, arg);
	}
	closedir(dp);
	return r;
}

const char *
audit_mirror_instance(const struct audit_mirror *m)
{
	return m->instance;
}

uint64_t
audit_mirror_last(const struct audit_mirror *m)
{
	return m->last;
}

/* ---- applying a feed ---- */

struct apply {
	struct audit_mirror *m;
	const struct audit_feed *f;
	const struct audit_key *witness;
	struct audit_apply_result *res;
	MDB_txn *txn;
	uint64_t last;
	unsigned char head[AUDIT_HASH_LEN];
	struct audit_key *key_cur, *key_prev;   /* owned until committed */
	int keys_changed;
	unsigned char cos_hash[AUDIT_HASH_LEN];         /* of the last cosigned */
};

static int
fault(struct apply *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fault(struct apply *a, const char *fmt, ...)
{
	char hex[AUDIT_HEX_LEN], what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	eg_hex(a->m->cosigned_hash, AUDIT_HASH_LEN, hex);
	if (a->m->cosigned_seq > 0)
		snprintf(a->res->why, sizeof(a->res->why), "instance %s: %s; it contradicts the "
		    "checkpoint this witness cosigned at seq %llu hash %s", a->m->instance, what,
		    (unsigned long long)a->m->cosigned_seq, hex);
	else
		snprintf(a->res->why, sizeof(a->res->why), "instance %s: %s", a->m->instance,
		    what);
	a->res->fault = 1;
	return -1;
}

static int
index_put(MDB_txn *txn, MDB_dbi dbi, const unsigned char *val, size_t len, unsigned id,
    size_t max_key, const unsigned char *seq)
{
	size_t off, n;
	MDB_val k, d = { 8, (void *)(uintptr_t)seq };

	if (audit_record_find(val, len, id, &off, &n) != 0 || n == 0 || n > max_key)
		return 0;
	k.mv_size = n;
	k.mv_data = (void *)(uintptr_t)(val + off);
	return mdb_put(txn, dbi, &k, &d, MDB_APPENDDUP);
}

static int
store_record(struct apply *a, const unsigned char *val, size_t len, uint64_t seq,
    int64_t time_us)
{
	const struct audit_mirror *m = a->m;
	unsigned char sk[8], tk[8];
	MDB_val k = { 8, sk }, d = { len, (void *)(uintptr_t)val }, t = { 8, tk };
	MDB_val ds = { 8, sk };

	audit_be64_put(sk, seq);
	audit_be64_put(tk, (uint64_t)time_us);
	if (mdb_put(a->txn, m->d.log, &k, &d, MDB_APPEND) != 0 ||
	    index_put(a->txn, m->d.by_nrn, val, len, AUDIT_ID_NRN, m->max_key, sk) != 0 ||
	    index_put(a->txn, m->d.by_org, val, len, AUDIT_ID_ORG, m->max_key, sk) != 0 ||
	    index_put(a->txn, m->d.by_facility, val, len, AUDIT_ID_FACILITY, m->max_key,
	    sk) != 0 || mdb_put(a->txn, m->d.by_time, &t, &ds, MDB_APPENDDUP) != 0) {
		snprintf(a->res->why, sizeof(a->res->why), "mirror %s: write failed", m->dir);
		return -1;
	}
	return 0;
}

/* A key-change record names the peer's next checkpoint key: the old one still signs the
 * checkpoint at that record (audit.h, "Key changes"), so both are kept. */
static void
follow_key(struct apply *a, const char *spki_b64)
{
	struct audit_key *k = audit_key_from_spki_b64(spki_b64);

	if (k == NULL)
		return;
	audit_key_free(a->key_prev);
	a->key_prev = a->key_cur;
	a->key_cur = k;
	a->keys_changed = 1;
}

static int
replay_one(struct apply *a, const unsigned char *val, size_t len)
{
	struct audit_strbuf b = { NULL, 0 };
	struct audit_record r;
	const char *why = NULL;
	int rc = -1;

	if (memcmp(val, a->head, AUDIT_HASH_LEN) != 0)
		return fault(a, "record seq %llu does not link to record seq %llu as witnessed: "
		    "the log was forked", (unsigned long long)(a->last + 1),
		    (unsigned long long)a->last);
	if (audit_record_decode_buf(val, len, &r, &b, &why) != 0) {
		snprintf(a->res->why, sizeof(a->res->why), "instance %s: record seq %llu: %s",
		    a->m->instance, (unsigned long long)(a->last + 1), why);
	} else if (r.instance != NULL && strcmp(r.instance, a->m->instance) != 0) {
		fault(a, "record seq %llu names instance %s", (unsigned long long)r.seq,
		    r.instance);
	} else if (store_record(a, val, len, r.seq, r.time_us) == 0) {
		if (r.kind != NULL && strcmp(r.kind, "key-change") == 0)
			follow_key(a, r.key);
		a->last = r.seq;
		rc = audit_chain_hash(val, len, a->head) == EG_OK ? 0 : -1;
	}
	free(b.p);
	return rc;
}

/* 1: signed by a key the log named; 0: by a key it never named (not cosigned, not a
 * fault: a key changed while no gateway ran has no record the witness saw); -1: fault. */
static int
ckpt_signed(struct apply *a, const struct audit_ckpt *c)
{
	const struct audit_key *ks[2] = { a->key_cur, a->key_prev };
	size_t i;

	for (i = 0; i < 2; i++) {
		int r = ks[i] != NULL ? audit_ckpt_check(ks[i], c) : 1;

		if (r == 0)
			return 1;
		if (r == 2)
			return fault(a, "its checkpoint at seq %llu has a bad signature",
			    (unsigned long long)c->seq);
	}
	log_warnx("witness: instance %s: checkpoint at seq %llu is signed by a key its log "
	    "never named; not cosigned", a->m->instance, (unsigned long long)c->seq);
	return 0;
}

static int
cosign(struct apply *a, const struct audit_ckpt *c)
{
	unsigned char sk[8], val[AUDIT_COSIG_VAL_MAX];
	struct audit_cosig cs;
	MDB_val k = { 8, sk }, d;

	memset(&cs, 0, sizeof(cs));
	snprintf(cs.instance, sizeof(cs.instance), "%s", a->m->instance);
	cs.seq = c->seq;
	cs.time_us = c->time_us;
	memcpy(cs.hash, c->hash, AUDIT_HASH_LEN);
	memcpy(cs.origin_key_id, c->key_id, AUDIT_KEYID_LEN);
	if (audit_cosig_sign(a->witness, &cs) != EG_OK) {
		log_warnx("witness: cosigning instance %s seq %llu failed (witness key)",
		    a->m->instance, (unsigned long long)c->seq);
		return 0;       /* the next checkpoint is cosigned when the key is back */
	}
	audit_be64_put(sk, cs.seq);
	d.mv_size = audit_cosig_encode(&cs, val);
	d.mv_data = val;
	if (mdb_put(a->txn, a->m->cosigs, &k, &d, MDB_APPEND) != 0)
		return -1;
	a->res->cosigned++;
	memcpy(a->cos_hash, cs.hash, AUDIT_HASH_LEN);
	a->res->cosigned_seq = cs.seq;
	return 0;
}

static int
check_checkpoints(struct apply *a)
{
	size_t i;

	for (i = 0; i < a->f->nckpt; i++) {
		const struct audit_ckpt *c = &a->f->ckpt[i];
		unsigned char h[AUDIT_HASH_LEN];
		char hex[AUDIT_HEX_LEN];
		int s;

		if (c->seq > a->last || c->seq <= a->m->cosigned_seq)
			continue;
		if (audit_hash_at(a->txn, a->m->d.log, c->seq, h) != EG_OK)
			return -1;
		if (memcmp(h, c->hash, AUDIT_HASH_LEN) != 0) {
			eg_hex(h, AUDIT_HASH_LEN, hex);
			return fault(a, "its checkpoint at seq %llu does not match its records "
			    "(replayed hash %s)", (unsigned long long)c->seq, hex);
		}
		if ((s = ckpt_signed(a, c)) < 0)
			return -1;
		if (s == 1 && a->witness != NULL && cosign(a, c) != 0)
			return -1;
	}
	return 0;
}

/* The peer's head and the record the request started after must be what was seen. */
static int
check_continuity(struct apply *a)
{
	const struct audit_feed *f = a->f;
	char hex[AUDIT_HEX_LEN];

	if (f->head_seq < a->m->last)
		return fault(a, "its log now ends at seq %llu, but this witness holds its records "
		    "up to seq %llu: the log was rolled back", (unsigned long long)f->head_seq,
		    (unsigned long long)a->m->last);
	if (f->after != a->m->last) {
		snprintf(a->res->why, sizeof(a->res->why), "instance %s: the feed starts after "
		    "seq %llu, not %llu", a->m->instance, (unsigned long long)f->after,
		    (unsigned long long)a->m->last);
		return -1;
	}
	if (a->m->last > 0 && (!f->has_after_hash ||
	    memcmp(f->after_hash, a->m->head, AUDIT_HASH_LEN) != 0)) {
		eg_hex(f->after_hash, AUDIT_HASH_LEN, hex);
		return fault(a, "its record seq %llu now has hash %s, not the one witnessed: "
		    "the log was forked or rolled back and rewritten",
		    (unsigned long long)a->m->last, f->has_after_hash ? hex : "(none)");
	}
	return 0;
}

static int
save_state(struct apply *a)
{
	struct audit_mirror *m = a->m;
	unsigned char seq[8], der[200];
	size_t n;
	int rc;

	audit_be64_put(seq, a->last);
	if ((rc = meta_put(a->txn, m->d.meta, "last_seq", seq, 8)) != 0 ||
	    (rc = meta_put(a->txn, m->d.meta, "head", a->head, AUDIT_HASH_LEN)) != 0)
		return rc;
	if (a->keys_changed && a->key_cur != NULL && (n = audit_key_spki(a->key_cur, der,
	    sizeof(der))) > 0 && (rc = meta_put(a->txn, m->d.meta, "key_cur", der, n)) != 0)
		return rc;
	if (a->keys_changed && a->key_prev != NULL && (n = audit_key_spki(a->key_prev, der,
	    sizeof(der))) > 0 && (rc = meta_put(a->txn, m->d.meta, "key_prev", der, n)) != 0)
		return rc;
	return 0;
}

static void
keep_fault(struct audit_mirror *m, const char *why)
{
	MDB_txn *txn;

	snprintf(m->fault, sizeof(m->fault), "%s", why);
	if (mdb_txn_begin(m->env, NULL, 0, &txn) != 0)
		return;
	if (meta_put(txn, m->d.meta, "fault", why, strlen(why)) != 0 || mdb_txn_commit(txn) != 0)
		log_warnx("mirror %s: the fault could not be kept", m->dir);
	else
		return;
	mdb_txn_abort(txn);
}

static int
run_apply(struct apply *a)
{
	size_t i;

	if (check_continuity(a) != 0)
		return -1;
	for (i = 0; i < a->f->nrec; i++)
		if (replay_one(a, a->f->rec[i], a->f->rec_len[i]) != 0)
			return -1;
	if (check_checkpoints(a) != 0)
		return -1;
	return save_state(a) == 0 ? 0 : -1;
}

/* Dup of a key through its DER form (the apply works on copies until it commits). */
static struct audit_key *
key_dup(const struct audit_key *k)
{
	unsigned char der[200];
	struct audit_key *c = NULL;
	size_t n;

	if (k != NULL && (n = audit_key_spki(k, der, sizeof(der))) > 0)
		(void)audit_key_from_der(der, n, &c);
	return c;
}

int
audit_mirror_apply(struct audit_mirror *m, const struct audit_feed *f,
    const struct audit_key *witness, struct audit_apply_result *res)
{
	struct apply a = { m, f, witness, res, NULL, m->last, { 0 }, key_dup(m->key_cur),
	    key_dup(m->key_prev), 0, { 0 } };
	int rc = -1;

	memset(res, 0, sizeof(*res));
	memcpy(a.head, m->head, AUDIT_HASH_LEN);
	if (m->fault[0] != '\0') {
		snprintf(res->why, sizeof(res->why), "%s", m->fault);
		res->fault = 1;
	} else if (strcmp(f->instance, m->instance) != 0) {
		snprintf(res->why, sizeof(res->why), "mirror of %s: the peer now calls itself %s",
		    m->instance, f->instance);
	} else if (mdb_txn_begin(m->env, NULL, 0, &a.txn) == 0) {
		rc = run_apply(&a);
		if (rc == 0 && mdb_txn_commit(a.txn) != 0) {
			snprintf(res->why, sizeof(res->why), "mirror %s: commit failed", m->dir);
			rc = -1;
		} else if (rc != 0) {
			mdb_txn_abort(a.txn);
		}
	}
	if (rc == 0) {
		res->applied = a.last - m->last;
		m->last = a.last;
		memcpy(m->head, a.head, AUDIT_HASH_LEN);
		if (res->cosigned_seq > 0) {
			m->cosigned_seq = res->cosigned_seq;
			memcpy(m->cosigned_hash, a.cos_hash, AUDIT_HASH_LEN);
		}
		if (a.keys_changed) {
			audit_key_free(m->key_cur);
			audit_key_free(m->key_prev);
			m->key_cur = a.key_cur;
			m->key_prev = a.key_prev;
			a.key_cur = a.key_prev = NULL;
		}
	} else if (res->fault && m->fault[0] == '\0') {
		keep_fault(m, res->why);
	}
	audit_key_free(a.key_cur);
	audit_key_free(a.key_prev);
	res->last_seq = m->last;
	if (res->cosigned_seq == 0)
		res->cosigned_seq = m->cosigned_seq;
	return rc == 0 ? EG_OK : EG_ERR_AUDIT;
}

int
audit_mirror_query(struct audit_mirror *m, const struct audit_filter *f,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg)
{
	char err[512] = "";
	MDB_txn *txn;
	int rc;

	if (mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn) != 0)
		return EG_ERR_AUDIT;
	rc = audit_query_txn(txn, m->dir, f, cb, arg, err, sizeof(err));
	mdb_txn_abort(txn);
	if (rc == EG_ERR_AUDIT && err[0] != '\0')
		log_warnx("%s", err);
	return rc;
}
