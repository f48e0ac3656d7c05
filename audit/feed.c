/*
 * feed.c - a log's records for its peers' witnesses: the answer of
 * /eidgate/audit/peer/feed (audit_feed_live) and its parser on the witness's side.
 *
 * Records travel exactly as stored (prev hash || encoded record, base64url), so the
 * witness recomputes the chain itself and trusts nothing the sender says about hashes;
 * the head and after_hash are only hints that let it name a rollback or a fork at once.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

/* A stored record is at most its header and every field at its longest (ids < 64). */
#define FEED_MAX_B64 ((AUDIT_VALUE_MIN + 64 * (3 + EG_MAX_AUDIT_FIELD)) / 3 * 4 + 4)

/* ---- serving ---- */

static int
add_hex(json_t *o, const char *name, const unsigned char *h)
{
	char hex[AUDIT_HEX_LEN];

	eg_hex(h, AUDIT_HASH_LEN, hex);
	return json_object_set_new(o, name, json_string(hex));
}

static int
add_record(json_t *arr, const MDB_val *v)
{
	char *b = malloc((v->mv_size + 2) / 3 * 4 + 1);
	int rc;

	if (b == NULL)
		return -1;
	eg_b64url(v->mv_data, v->mv_size, b);
	rc = json_array_append_new(arr, json_string(b));
	free(b);
	return rc;
}

static int
add_ckpt(json_t *arr, const MDB_val *k, const MDB_val *v)
{
	struct audit_ckpt c;
	char *s;

	if (audit_ckpt_decode(k, v, &c) != 0 || (s = audit_ckpt_to_json(&c)) == NULL)
		return -1;
	json_array_append_new(arr, json_loads(s, 0, NULL));
	free(s);
	return 0;
}

/*
 * The checkpoints over the records sent, and first the latest one at or before `after`:
 * a checkpoint is written up to a second after the records it covers, so a witness that
 * already holds them learns it from its next request.
 */
static int
add_checkpoints(MDB_txn *txn, const struct audit_dbis *d, uint64_t after, uint64_t last,
    json_t *arr)
{
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v;
	MDB_cursor *cur;
	int rc;

	if (!d->has_ckpt)
		return 0;
	if (mdb_cursor_open(txn, d->ckpt, &cur) != 0)
		return -1;
	audit_be64_put(kb, after + 1);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) :
	    mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (after > 0 && rc == 0 && k.mv_size == 8 && audit_be64_get(k.mv_data) <= after &&
	    add_ckpt(arr, &k, &v) != 0) {
		mdb_cursor_close(cur);
		return -1;
	}
	k.mv_size = 8;
	k.mv_data = kb;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (k.mv_size != 8 || audit_be64_get(k.mv_data) > last ||
		    add_ckpt(arr, &k, &v) != 0)
			break;
	mdb_cursor_close(cur);
	return 0;
}

/* The records after `after`, and the hash of record `after` itself. */
static int
add_records(MDB_txn *txn, const struct audit_dbis *d, uint64_t after, size_t limit,
    json_t *o, json_t *arr, uint64_t *last)
{
	unsigned char kb[8], h[AUDIT_HASH_LEN];
	MDB_val k = { 8, kb }, v;
	MDB_cursor *cur;
	size_t n = 0;
	int rc;

	*last = after;
	if (mdb_cursor_open(txn, d->log, &cur) != 0)
		return -1;
	if (after > 0 && audit_hash_at(txn, d->log, after, h) == EG_OK)
		add_hex(o, "after_hash", h);
	audit_be64_put(kb, after + 1);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < limit;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
		if (add_record(arr, &v) != 0) {
			mdb_cursor_close(cur);
			return -1;
		}
		*last = audit_be64_get(k.mv_data);
	}
	mdb_cursor_close(cur);
	return 0;
}

static int
add_head(MDB_txn *txn, const struct audit_dbis *d, json_t *o)
{
	MDB_val s, h;

	if (audit_meta_get(d->meta, txn, "last_seq", &s) != 0 || s.mv_size != 8 ||
	    audit_meta_get(d->meta, txn, "head", &h) != 0 || h.mv_size != AUDIT_HASH_LEN) {
		json_object_set_new(o, "head_seq", json_integer(0));
		return 0;
	}
	json_object_set_new(o, "head_seq", json_integer((json_int_t)audit_be64_get(s.mv_data)));
	return add_hex(o, "head", h.mv_data);
}

int
audit_feed_live(struct audit_log *log, uint64_t after, size_t limit, char **out,
    size_t *len)
{
	json_t *o = json_object(), *recs = json_array(), *cks = json_array();
	struct audit_dbis d;
	uint64_t last = after;
	MDB_txn *txn;
	int rc = EG_ERR_AUDIT;

	*out = NULL;
	if (limit == 0 || limit > AUDIT_FEED_MAX_RECORDS)
		limit = AUDIT_FEED_MAX_RECORDS;
	if (o == NULL || recs == NULL || cks == NULL || audit_live_begin(log, &txn) != EG_OK)
		goto out;
	json_object_set_new(o, "v", json_integer(1));
	json_object_set_new(o, "instance", json_string(log->instance));
	json_object_set_new(o, "after", json_integer((json_int_t)after));
	if (audit_dbis_open(txn, 0, &d) == 0 && (add_head(txn, &d, o) != 0 ||
	    add_records(txn, &d, after, limit, o, recs, &last) != 0 ||
	    add_checkpoints(txn, &d, after, last, cks) != 0)) {
		audit_live_end(log, txn);
		goto out;
	}
	audit_live_end(log, txn);
	json_object_set(o, "records", recs);
	json_object_set(o, "checkpoints", cks);
	if ((*out = json_dumps(o, JSON_COMPACT)) != NULL) {
		*len = strlen(*out);
		rc = EG_OK;
	}
out:
	json_decref(o);
	json_decref(recs);
	json_decref(cks);
	return rc;
}

/* ---- parsing a peer's answer ---- */

void
audit_feed_free(struct audit_feed *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nrec; i++)
		free(f->rec[i]);
	free(f->rec);
	free(f->rec_len);
	free(f->ckpt);
	memset(f, 0, sizeof(*f));
}

static int
hex_field(json_t *o, const char *name, unsigned char *out, int *has)
{
	json_t *v = json_object_get(o, name);

	*has = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || eg_unhex(json_string_value(v), out, AUDIT_HASH_LEN) != EG_OK)
		return -1;
	*has = 1;
	return 0;
}

/* One stored record: it must decode, and its seq must be want. */
static int
parse_record(struct audit_feed *f, json_t *v, uint64_t want, char *err, size_t errlen)
{
	struct audit_strbuf b = { NULL, 0 };
	struct audit_record r;
	const char *s = json_string_value(v), *why = "not base64url";
	size_t n = 0, cap;
	unsigned char *val;
	int ok;

	if (s == NULL || (cap = strlen(s) / 4 * 3 + 3) > FEED_MAX_B64 ||
	    (val = malloc(cap)) == NULL) {
		eg_errf(err, errlen, "record %zu: not a string of a sane size", f->nrec);
		return -1;
	}
	ok = eg_b64url_decode(s, strlen(s), val, cap, &n) == EG_OK &&
	    audit_record_decode_buf(val, n, &r, &b, &why) == 0;
	if (ok && r.seq != want) {
		why = "seqs do not follow each other";
		ok = 0;
	}
	free(b.p);
	if (!ok) {
		eg_errf(err, errlen, "record %zu: %s", f->nrec, why);
		free(val);
		return -1;
	}
	f->rec[f->nrec] = val;
	f->rec_len[f->nrec++] = n;
	return 0;
}

static int
parse_records(struct audit_feed *f, json_t *arr, char *err, size_t errlen)
{
	size_t i, n = json_array_size(arr);

	if (!json_is_array(arr) || n > AUDIT_FEED_MAX_RECORDS) {
		eg_errf(err, errlen, "records: not an array of at most %d",
		    AUDIT_FEED_MAX_RECORDS);
		return -1;
	}
	if (n == 0)
		return 0;
	if ((f->rec = calloc(n, sizeof(*f->rec))) == NULL ||
	    (f->rec_len = calloc(n, sizeof(*f->rec_len))) == NULL) {
		eg_errf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (parse_record(f, json_array_get(arr, i), f->after + 1 + i, err, errlen) != 0)
			return -1;
	return 0;
}

static int
parse_checkpoints(struct audit_feed *f, json_t *arr, char *err, size_t errlen)
{
	size_t i, n = json_array_size(arr);

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || n > AUDIT_FEED_MAX_RECORDS) {
		eg_errf(err, errlen, "checkpoints: not an array of at most %d",
		    AUDIT_FEED_MAX_RECORDS);
		return -1;
	}
	if (n > 0 && (f->ckpt = calloc(n, sizeof(*f->ckpt))) == NULL) {
		eg_errf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		char *s = json_dumps(json_array_get(arr, i), JSON_COMPACT);
		char why[200];
		int rc = s != NULL ? audit_ckpt_from_json(s, &f->ckpt[i], why, sizeof(why)) :
		    EG_ERR_PARSE;

		free(s);
		/* The first may be the latest over records the witness holds (seq <= after). */
		if (rc != EG_OK || (i > 0 && f->ckpt[i].seq <= f->ckpt[i - 1].seq) ||
		    (i > 0 && f->ckpt[i].seq <= f->after) ||
		    f->ckpt[i].seq > f->after + f->nrec) {
			eg_errf(err, errlen, "checkpoint %zu: malformed or out of order", i);
			return -1;
		}
		f->nckpt++;
	}
	return 0;
}

static int
parse_header(struct audit_feed *f, json_t *o, char *err, size_t errlen)
{
	json_int_t v = 0, head_seq = -1, after = -1;
	const char *inst = NULL;
	int has_head = 0;

	if (json_unpack(o, "{s:I,s:s,s:I,s:I}", "v", &v, "instance", &inst, "head_seq",
	    &head_seq, "after", &after) != 0 || v != 1 || head_seq < 0 || after < 0) {
		eg_errf(err, errlen, "not a version 1 feed (v, instance, head_seq, after)");
		return -1;
	}
	if (!audit_instance_valid(inst)) {
		eg_errf(err, errlen, "instance name is not valid");
		return -1;
	}
	snprintf(f->instance, sizeof(f->instance), "%s", inst);
	f->head_seq = (uint64_t)head_seq;
	f->after = (uint64_t)after;
	if (hex_field(o, "head", f->head, &has_head) != 0 ||
	    hex_field(o, "after_hash", f->after_hash, &f->has_after_hash) != 0 ||
	    (f->head_seq > 0 && !has_head)) {
		eg_errf(err, errlen, "head or after_hash: not 64 hex digits");
		return -1;
	}
	return 0;
}

int
audit_feed_parse(const char *text, size_t len, struct audit_feed *f, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *o;
	int rc = EG_ERR_PARSE;

	memset(f, 0, sizeof(*f));
	if (len > AUDIT_FEED_MAX_BYTES) {
		eg_errf(err, errlen, "feed larger than %u bytes", AUDIT_FEED_MAX_BYTES);
		return EG_ERR_PARSE;
	}
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		eg_errf(err, errlen, "not JSON: %s", je.text);
		return EG_ERR_PARSE;
	}
	if (json_is_object(o) && parse_header(f, o, err, errlen) == 0 &&
	    parse_records(f, json_object_get(o, "records"), err, errlen) == 0 &&
	    parse_checkpoints(f, json_object_get(o, "checkpoints"), err, errlen) == 0)
		rc = EG_OK;
	else if (!json_is_object(o))
		eg_errf(err, errlen, "not a JSON object");
	json_decref(o);
	if (rc != EG_OK)
		audit_feed_free(f);
	return rc;
}
