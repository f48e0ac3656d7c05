/*
 * verify.c - walks the whole chain (archives first, then the live log): seq continuity,
 * record structure, every hash, every signed checkpoint, an exported head.
 *
 * What each check catches:
 *   - the chain: a changed, removed, inserted or reordered record, unless the whole
 *     chain after it was recomputed;
 *   - signed checkpoints (with --key): a recomputed chain (the signed hash at a seq no
 *     longer matches), and a forged checkpoint (another key, or a bad signature);
 *   - meta and the latest checkpoint: a tail cut that left either in place;
 *   - an exported head (--head): a tail cut back to an earlier checkpoint with the
 *     later checkpoints and meta rewritten too;
 *   - the kept policy texts (policies.c): a text removed, changed or added behind the
 *     writer's back, since each "policy" record names its text's SHA-256 and the chain
 *     vouches for the record. Without a head this last case is
 *     indistinguishable from a log that simply ended there: verify then says where the
 *     last checkpoint is, so the officer can compare it with what they expect.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "audit/internal.h"

#define PROGRESS_EVERY 1000000

struct vctx {
	const struct audit_verify_opts *o;
	MDB_txn *txn;                           /* the caller's, or NULL: open dir here */
	struct audit_verify_result *res;
	unsigned char prev[AUDIT_HASH_LEN];     /* hash of the last good record */
	uint64_t expect;                        /* next seq we must see */
	int started;                            /* a record or archive was accepted */
	const char *where;                      /* "archive F" or "log D" for messages */
	struct audit_strbuf buf;
	uint64_t seen;
	int64_t t0;
	int tty;
	/* Checkpoint keys ("Key changes" in audit.h): the one that signs now (NULL: not
	 * checked), and the one a key-change record named, until a checkpoint proves it. */
	const struct audit_key *cur;
	struct audit_key *pending;
	uint64_t pending_seq;
	struct audit_key *learned;      /* keys named by the log, freed at the end */
	uint64_t ckpts_seen;
	struct audit_polseen *pol;      /* the "policy" records met, checked at the end */
	size_t npol, polcap;
};

static int
fail(struct vctx *v, enum audit_vfail kind, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct vctx *v, enum audit_vfail kind, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	v->res->fail = kind;
	v->res->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->res->why, sizeof(v->res->why), fmt, ap);
	va_end(ap);
	return EG_ERR_AUDIT;
}

static void
progress(struct vctx *v, int final)
{
	double s = (double)(eg_now_us() - v->t0) / 1e6;

	if (!v->o->progress || (!final && v->seen % PROGRESS_EVERY != 0))
		return;
	fprintf(stderr, "%seidgate: audit verify: %llu records, %.0f records/s%s",
	    v->tty ? "\r" : "", (unsigned long long)v->seen, s > 0 ? (double)v->seen / s : 0.0,
	    v->tty && !final ? "" : "\n");
}

/* The first record of the chain we see: seq 1 starts at zeros; a later seq continues
 * something we cannot see (archived), which is refused unless allowed. */
static int
start(struct vctx *v, uint64_t seq, const unsigned char *val)
{
	v->started = 1;
	if (seq == 1)
		return EG_OK;
	v->res->truncated_start = 1;
	if (!v->o->allow_truncated_start)
		return fail(v, AUDIT_VF_START, seq, "%s starts at seq %llu: the hash chained "
		    "before it cannot be checked; give the archive that ends at seq %llu "
		    "(--archive) or accept it with --allow-truncated-start", v->where,
		    (unsigned long long)seq, (unsigned long long)seq - 1);
	v->expect = seq;
	memcpy(v->prev, val, AUDIT_HASH_LEN);
	return EG_OK;
}

static int
same_key(const struct audit_key *a, const struct audit_key *b)
{
	return a != NULL && b != NULL &&
	    memcmp(audit_key_id(a), audit_key_id(b), AUDIT_KEYID_LEN) == 0;
}

/* A key-change record at seq: the key it names signs after it, once a checkpoint of the
 * key it replaces covers it (or, with trust_named_keys, when nothing was checked yet). */
static int
key_named(struct vctx *v, uint64_t seq, const char *text)
{
	struct audit_key *k;

	if (v->o->key == NULL && !v->o->trust_named_keys)
		return EG_OK;                   /* checkpoints are not checked */
	if ((k = audit_key_from_spki_b64(text)) == NULL)
		return fail(v, AUDIT_VF_CHAIN, seq, "%s: key-change record without a valid "
		    "P-256 key", v->where);
	audit_key_chain(&v->learned, k);
	if (same_key(k, v->cur) && v->pending == NULL)
		return EG_OK;                   /* named again: nothing changes */
	if (v->pending != NULL)
		return fail(v, AUDIT_VF_CKPT_KEY, seq, "key change at seq %llu follows the one "
		    "at seq %llu with no checkpoint between them", (unsigned long long)seq,
		    (unsigned long long)v->pending_seq);
	if (v->o->trust_named_keys && v->ckpts_seen == 0) {
		v->cur = k;
		return EG_OK;
	}
	v->pending = k;
	v->pending_seq = seq;
	return EG_OK;
}

/* A "policy" record: its text is checked once the walk is done (audit_policies_check). */
static int
policy_named(struct vctx *v, uint64_t seq, const struct audit_record *r)
{
	struct audit_polseen *s;

	if (r->policy_version == NULL || r->policy_sha256 == NULL ||
	    strlen(r->policy_version) >= sizeof(s->version) ||
	    strlen(r->policy_sha256) != AUDIT_HEX_LEN - 1)
		return fail(v, AUDIT_VF_POLICY, seq, "%s: policy record without a version and "
		    "SHA-256", v->where);
	if (v->npol == v->polcap) {
		size_t cap = v->polcap ? 2 * v->polcap : 8;

		if ((s = realloc(v->pol, cap * sizeof(*s))) == NULL)
			return fail(v, AUDIT_VF_READ, seq, "out of memory");
		v->pol = s;
		v->polcap = cap;
	}
	s = &v->pol[v->npol++];
	s->seq = seq;
	eg_strlcpy(s->version, r->policy_version, sizeof(s->version));
	eg_strlcpy(s->sha, r->policy_sha256, sizeof(s->sha));
	return EG_OK;
}

/* After the walk: the kept texts against the records that name them. A walk that did
 * not start at seq 1 may have missed the record naming a text: such texts pass. */
static int
check_policies(struct vctx *v, MDB_txn *txn, const struct audit_dbis *d)
{
	int r = audit_policies_check(txn, d, v->pol, v->npol, !v->res->truncated_start,
	    &v->res->bad_seq, v->res->why, sizeof(v->res->why));

	if (r != 0)
		v->res->fail = r > 0 ? AUDIT_VF_POLICY : AUDIT_VF_READ;
	return r == 0 ? EG_OK : EG_ERR_AUDIT;
}

static int
decode(struct vctx *v, uint64_t seq, const unsigned char *val, size_t len)
{
	struct audit_record r;
	const char *why = NULL;

	if (audit_record_decode_buf(val, len, &r, &v->buf, &why) != 0)
		return fail(v, strcmp(why, "out of memory") == 0 ? AUDIT_VF_READ : AUDIT_VF_CHAIN,
		    seq, "%s: record is malformed: %s", v->where, why);
	if (r.seq != seq)
		return fail(v, AUDIT_VF_CHAIN, seq, "%s: stored seq %llu differs from its key",
		    v->where, (unsigned long long)r.seq);
	if (r.kind != NULL && strcmp(r.kind, "key-change") == 0)
		return key_named(v, seq, r.key);
	if (r.kind != NULL && strcmp(r.kind, "policy") == 0)
		return policy_named(v, seq, &r);
	return EG_OK;
}

/* Checks one record against the chain so far; seq is its key. */
static int
step(struct vctx *v, uint64_t seq, const unsigned char *val, size_t len)
{
	const struct audit_ckpt *h = v->o->head;

	if (len < AUDIT_VALUE_MIN)
		return fail(v, AUDIT_VF_CHAIN, seq, "%s: record too short", v->where);
	if (!v->started && start(v, seq, val) != EG_OK)
		return EG_ERR_AUDIT;
	if (seq != v->expect)
		return fail(v, AUDIT_VF_CHAIN, v->expect, "%s: sequence gap or reordering: "
		    "seq %llu follows %llu (records removed, inserted or reordered)", v->where,
		    (unsigned long long)seq, (unsigned long long)v->expect - 1);
	if (decode(v, seq, val, len) != EG_OK)
		return EG_ERR_AUDIT;
	/* A record changed after it was written no longer hashes to what its successor
	 * recorded: the broken one is the predecessor (or this one's prev field). */
	if (memcmp(val, v->prev, AUDIT_HASH_LEN) != 0)
		return fail(v, AUDIT_VF_CHAIN, seq > 1 ? seq - 1 : 1, seq > 1 ?
		    "%s: its hash does not match the one chained in the next record "
		    "(record changed, or records removed, inserted or reordered)" :
		    "%s: first record does not start the chain", v->where);
	if (audit_chain_hash(val, len, v->prev) != EG_OK)
		return fail(v, AUDIT_VF_READ, seq, "hashing failed");
	if (h != NULL && h->seq == seq) {
		if (memcmp(h->hash, v->prev, AUDIT_HASH_LEN) != 0)
			return fail(v, AUDIT_VF_HEAD, seq, "%s: the exported head's hash differs "
			    "from the chain's at seq %llu: the log was rewritten", v->where,
			    (unsigned long long)seq);
		v->res->head_checked = 1;
	}
	v->expect++;
	v->seen++;
	progress(v, 0);
	return EG_OK;
}

/* 1 when k signed c (its id and signature), else 0. */
static int
signed_by(const struct audit_key *k, const struct audit_ckpt *c)
{
	return k != NULL && audit_ckpt_check(k, c) == 0;
}

static int
trusted_anchor(const struct vctx *v, const struct audit_key *k)
{
	size_t i;

	for (i = 0; i < v->o->nmore; i++)
		if (same_key(k, v->o->more_keys[i]))
			return 1;
	return v->o->trust_named_keys;
}

/*
 * A checkpoint after a key-change record. The old key's checkpoint at the record proves
 * the change; the new key's without it is accepted only when the new key is trusted on
 * its own (--key given for it, or trust_named_keys). 1: checked here (go on), 0: check
 * as usual, -1: failed.
 */
static int
key_change_ckpt(struct vctx *v, uint64_t seq, const struct audit_ckpt *c)
{
	if (seq == v->pending_seq && signed_by(v->cur, c)) {
		v->res->key_changes++;
	} else if (signed_by(v->pending, c) && trusted_anchor(v, v->pending)) {
		v->res->unproven_key_changes++;
	} else {
		fail(v, AUDIT_VF_CKPT_KEY, seq, "the key change at seq %llu is not proven: no "
		    "checkpoint of the previous key at that record%s",
		    (unsigned long long)v->pending_seq, v->o->trust_named_keys ? "" :
		    " (give the new key with a second --key to accept it)");
		return -1;
	}
	if (memcmp(c->hash, v->prev, AUDIT_HASH_LEN) != 0) {
		fail(v, AUDIT_VF_CKPT_HASH, seq, "checkpoint at seq %llu: the signed head differs "
		    "from the chain's hash there: records were changed and the chain recomputed",
		    (unsigned long long)seq);
		return -1;
	}
	v->cur = v->pending;
	v->pending = NULL;
	v->res->checkpoints++;
	v->res->last_ckpt = *c;
	return 1;
}

/* One checkpoint met at its seq during the walk (the chain's hash there is v->prev). */
static int
check_ckpt(struct vctx *v, const MDB_val *k, const MDB_val *d)
{
	struct audit_ckpt c;
	char kid[2 * AUDIT_KEYID_LEN + 1];
	uint64_t seq = audit_be64_get(k->mv_data);
	int r;

	if (audit_ckpt_decode(k, d, &c) != 0)
		return fail(v, AUDIT_VF_CKPT_SIG, seq, "checkpoint at seq %llu is malformed",
		    (unsigned long long)seq);
	v->ckpts_seen++;
	if (v->pending != NULL && (r = key_change_ckpt(v, seq, &c)) != 0)
		return r < 0 ? EG_ERR_AUDIT : EG_OK;
	if (v->cur != NULL && (r = audit_ckpt_check(v->cur, &c)) != 0) {
		eg_hex(c.key_id, AUDIT_KEYID_LEN, kid);
		return r == 1 ? fail(v, AUDIT_VF_CKPT_KEY, seq, "checkpoint at seq %llu is "
		    "signed by another key (key id %.16s...): forged checkpoint",
		    (unsigned long long)seq, kid) : fail(v, AUDIT_VF_CKPT_SIG, seq,
		    "checkpoint at seq %llu: the signature does not verify: forged or altered "
		    "checkpoint", (unsigned long long)seq);
	}
	if (memcmp(c.hash, v->prev, AUDIT_HASH_LEN) != 0)
		return fail(v, AUDIT_VF_CKPT_HASH, seq, "checkpoint at seq %llu: the signed head "
		    "differs from the chain's hash there: records up to seq %llu were changed, "
		    "removed, inserted or reordered and the chain recomputed",
		    (unsigned long long)seq, (unsigned long long)seq);
	v->res->checkpoints++;
	v->res->last_ckpt = c;
	return EG_OK;
}

struct walk {
	MDB_cursor *log, *ck;
	MDB_val k, d, ck_k, ck_d;
	int ck_rc;
};

/* Advances the checkpoint cursor up to the record just checked (seq). */
static int
ckpts_upto(struct vctx *v, struct walk *w, uint64_t seq)
{
	while (w->ck_rc == 0) {
		uint64_t cs;

		if (w->ck_k.mv_size != 8)
			return fail(v, AUDIT_VF_CKPT_SIG, seq, "malformed checkpoint key");
		if ((cs = audit_be64_get(w->ck_k.mv_data)) > seq)
			break;
		if (cs < v->res->first_seq)
			v->res->ckpt_skipped++; /* its records were archived */
		else if (cs == seq && check_ckpt(v, &w->ck_k, &w->ck_d) != EG_OK)
			return EG_ERR_AUDIT;
		w->ck_rc = mdb_cursor_get(w->ck, &w->ck_k, &w->ck_d, MDB_NEXT);
	}
	return w->ck_rc == 0 || w->ck_rc == MDB_NOTFOUND ? EG_OK :
	    fail(v, AUDIT_VF_READ, seq, "reading checkpoints: %s", mdb_strerror(w->ck_rc));
}

static int
walk_log(struct vctx *v, struct walk *w)
{
	int rc, r = EG_OK;

	for (rc = mdb_cursor_get(w->log, &w->k, &w->d, MDB_FIRST); rc == 0 && r == EG_OK;
	    rc = mdb_cursor_get(w->log, &w->k, &w->d, MDB_NEXT)) {
		uint64_t seq;

		if (w->k.mv_size != 8)
			return fail(v, AUDIT_VF_CHAIN, v->expect, "%s: malformed key", v->where);
		seq = audit_be64_get(w->k.mv_data);
		if (v->res->first_seq == 0) {
			v->res->first_seq = seq;
			if (v->started && seq != v->expect)
				return fail(v, AUDIT_VF_ARCHIVE, seq, "%s starts at seq %llu but "
				    "the archive ends at seq %llu", v->where,
				    (unsigned long long)seq, (unsigned long long)v->expect - 1);
		}
		if ((r = step(v, seq, w->d.mv_data, w->d.mv_size)) == EG_OK)
			r = ckpts_upto(v, w, seq);
		v->res->records += r == EG_OK;
	}
	if (r == EG_OK && rc != MDB_NOTFOUND)
		return fail(v, AUDIT_VF_READ, v->expect, "%s: read: %s", v->where,
		    mdb_strerror(rc));
	return r;
}

/* meta holds the head written with the last batch: it catches a changed last record
 * (which has no successor) and a tail cut without also rewriting meta. */
static int
check_meta(struct vctx *v, MDB_txn *txn, const struct audit_dbis *d)
{
	MDB_val h, s;
	uint64_t last = v->expect - 1;

	if (audit_meta_get(d->meta, txn, "last_seq", &s) != 0 || s.mv_size != 8 ||
	    audit_meta_get(d->meta, txn, "head", &h) != 0 || h.mv_size != AUDIT_HASH_LEN)
		return last == 0 ? EG_OK : fail(v, AUDIT_VF_META, last, "meta has no head");
	if (audit_be64_get(s.mv_data) != last)
		return fail(v, AUDIT_VF_META, last + 1, audit_be64_get(s.mv_data) > last ?
		    "records at the end of the log were removed (meta says the log ends at "
		    "seq %llu)" : "meta is behind the log (seq %llu)",
		    (unsigned long long)audit_be64_get(s.mv_data));
	if (last > 0 && memcmp(h.mv_data, v->prev, AUDIT_HASH_LEN) != 0)
		return fail(v, AUDIT_VF_META, last, "its hash does not match the head recorded "
		    "in meta (last record changed)");
	return EG_OK;
}

/* After the walk: a checkpoint or exported head past the last record means a cut. */
static int
check_end(struct vctx *v, struct walk *w)
{
	uint64_t last = v->expect - 1;
	const struct audit_ckpt *h = v->o->head;

	if (w->ck_rc == 0 && w->ck_k.mv_size == 8)
		return fail(v, AUDIT_VF_CKPT_BEYOND, last + 1, "a checkpoint at seq %llu lies "
		    "beyond the last record (seq %llu): the tail of the log was cut back",
		    (unsigned long long)audit_be64_get(w->ck_k.mv_data), (unsigned long long)last);
	if (h != NULL && !v->res->head_checked)
		return fail(v, AUDIT_VF_HEAD, h->seq > last ? last + 1 : h->seq, h->seq > last ?
		    "the exported head is at seq %llu but the log ends at seq %llu: the tail was "
		    "cut back" : "the exported head's seq %llu lies before the first record "
		    "checked (seq %llu): give the archive holding it", (unsigned long long)h->seq,
		    (unsigned long long)(h->seq > last ? last : v->res->first_seq));
	return EG_OK;
}

/* An emptied log (everything archived) continues from meta's archived head. */
static int
empty_log(struct vctx *v, MDB_txn *txn, const struct audit_dbis *d)
{
	MDB_val s, h;

	if (v->started || audit_meta_get(d->meta, txn, "archived_seq", &s) != 0 ||
	    audit_meta_get(d->meta, txn, "archived_hash", &h) != 0 || s.mv_size != 8 ||
	    h.mv_size != AUDIT_HASH_LEN)
		return EG_OK;
	v->res->truncated_start = 1;
	if (!v->o->allow_truncated_start)
		return fail(v, AUDIT_VF_START, audit_be64_get(s.mv_data), "%s is empty after "
		    "archiving up to seq %llu: give that archive (--archive) or accept it with "
		    "--allow-truncated-start", v->where,
		    (unsigned long long)audit_be64_get(s.mv_data));
	v->expect = audit_be64_get(s.mv_data) + 1;
	memcpy(v->prev, h.mv_data, AUDIT_HASH_LEN);
	return EG_OK;
}

static int
walk_all(struct vctx *v, MDB_txn *txn, const struct audit_dbis *d)
{
	struct walk w;
	int rc, r;

	memset(&w, 0, sizeof(w));
	w.ck_rc = MDB_NOTFOUND;
	if ((rc = mdb_cursor_open(txn, d->log, &w.log)) != 0)
		return fail(v, AUDIT_VF_READ, 0, "%s: cursor: %s", v->where, mdb_strerror(rc));
	if (d->has_ckpt && (rc = mdb_cursor_open(txn, d->ckpt, &w.ck)) == 0)
		w.ck_rc = mdb_cursor_get(w.ck, &w.ck_k, &w.ck_d, MDB_FIRST);
	if (rc != 0) {
		mdb_cursor_close(w.log);
		return fail(v, AUDIT_VF_READ, 0, "%s: cursor: %s", v->where, mdb_strerror(rc));
	}
	r = walk_log(v, &w);
	if (r == EG_OK && v->res->records == 0)
		r = empty_log(v, txn, d);
	if (r == EG_OK)
		r = check_meta(v, txn, d);
	if (r == EG_OK)
		r = check_end(v, &w);
	if (r == EG_OK)
		r = check_policies(v, txn, d);
	if (w.ck != NULL)
		mdb_cursor_close(w.ck);
	mdb_cursor_close(w.log);
	return r;
}

/* One archive file: its records continue the chain and its trailer signs the end. */
static int
walk_archive(struct vctx *v, const char *path)
{
	struct audit_archive_reader *ar;
	struct audit_ckpt t;
	const unsigned char *val;
	char where[600], err[400];
	size_t len;
	int rc, r = EG_OK;

	snprintf(where, sizeof(where), "archive %s", path);
	v->where = where;
	if (audit_archive_open(path, &ar, err, sizeof(err)) != EG_OK)
		return fail(v, AUDIT_VF_ARCHIVE, 0, "%s", err);
	while (r == EG_OK && (rc = audit_archive_next(ar, &val, &len, &t, err,
	    sizeof(err))) == 1) {
		r = step(v, audit_be64_get(val + AUDIT_OFF_SEQ), val, len);
		v->res->archived += r == EG_OK;
	}
	audit_archive_close(ar);
	if (r != EG_OK)
		return r;
	if (rc < 0)
		return fail(v, AUDIT_VF_ARCHIVE, v->expect, "%s", err);
	if (t.seq != v->expect - 1 || memcmp(t.hash, v->prev, AUDIT_HASH_LEN) != 0)
		return fail(v, AUDIT_VF_ARCHIVE, t.seq, "%s: the trailer (seq %llu) does not "
		    "match the records' chain (ends at seq %llu)", where,
		    (unsigned long long)t.seq, (unsigned long long)v->expect - 1);
	if (v->cur == NULL || audit_ckpt_check(v->cur, &t) != 0)
		return fail(v, AUDIT_VF_ARCHIVE, t.seq, "%s: the trailer's signature does not "
		    "verify with the given key", where);
	return EG_OK;
}

static int
verify_txn(struct vctx *v, MDB_txn *txn, const char *dir)
{
	struct audit_dbis d;
	int rc = audit_dbis_open(txn, 0, &d);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(v, AUDIT_VF_READ, 0, "audit log %s: %s", dir, mdb_strerror(rc));
	if (rc == 0)
		return walk_all(v, txn, &d);
	memset(&d, 0, sizeof(d));      /* no log at all: archives' policy texts are gone */
	return check_policies(v, txn, &d);
}

static int
verify_env(struct vctx *v, const char *dir, char *err, size_t errlen)
{
	MDB_env *env;
	MDB_txn *txn;
	int r;

	if (v->txn != NULL)
		return verify_txn(v, v->txn, dir);
	if (audit_env_open_ro(dir, &env, err, errlen) != EG_OK)
		return fail(v, AUDIT_VF_READ, 0, "%s", err);
	if (audit_txn_begin_ro(env, dir, &txn, err, errlen) != EG_OK) {
		mdb_env_close(env);
		return fail(v, AUDIT_VF_READ, 0, "%s", err);
	}
	r = verify_txn(v, txn, dir);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return r;
}

/* The key trusted at the end: the one a pending change named, else the current one. */
static void
final_key(struct vctx *v)
{
	const struct audit_key *k = v->pending != NULL ? v->pending : v->cur;

	if (k == NULL)
		return;
	memcpy(v->res->final_key_id, audit_key_id(k), AUDIT_KEYID_LEN);
	v->res->final_key_len = audit_key_spki(k, v->res->final_key, sizeof(v->res->final_key));
}

int
audit_verify_txn(MDB_txn *txn, const char *dir, const struct audit_verify_opts *o,
    struct audit_verify_result *res, char *err, size_t errlen)
{
	static const struct audit_verify_opts none;
	char where[600];
	struct vctx v;
	size_t i;
	int r = EG_OK;

	if (o == NULL)
		o = &none;
	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	v.o = o;
	v.cur = o->key;
	v.txn = txn;
	v.res = res;
	v.expect = 1;
	v.t0 = eg_now_us();
	v.tty = isatty(2);
	if (errlen > 0)
		err[0] = '\0';
	for (i = 0; i < o->narchives && r == EG_OK; i++)
		r = walk_archive(&v, o->archives[i]);
	snprintf(where, sizeof(where), "audit log %s", dir);
	v.where = where;
	if (r == EG_OK)
		r = verify_env(&v, dir, err, errlen);
	if (r != EG_OK && res->fail == AUDIT_VF_READ)
		eg_strlcpy(err, res->why, errlen);
	progress(&v, 1);
	final_key(&v);
	audit_key_free(v.learned);
	free(v.buf.p);
	free(v.pol);
	res->last_seq = res->records ? v.expect - 1 : 0;
	res->elapsed_us = eg_now_us() - v.t0;
	eg_hex(v.prev, sizeof(v.prev), res->head);
	return r;
}

int
audit_verify(const char *dir, const struct audit_verify_opts *o,
    struct audit_verify_result *res, char *err, size_t errlen)
{
	return audit_verify_txn(NULL, dir, o, res, err, errlen);
}
