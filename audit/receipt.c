/*
 * receipt.c - decision receipts (audit.h, "Decision receipts"): a record by its seq, its
 * hash, and the first signed checkpoint at or after it, with the chain between them
 * checked, from the live log or from a directory.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

/* A checkpoint further than this from the record is not walked to (checkpoints come every
 * second or every 1,000 records: far more means the log is not what it should be). */
#define RECEIPT_MAX_WALK 1000000

static int
parse_seq(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 19 || s[0] == '0')
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
audit_receipt_ask_parse(const char *instance, const char *seq, const char *hash,
    struct audit_receipt_ask *a, const char **why)
{
	memset(a, 0, sizeof(*a));
	if (instance == NULL || !audit_instance_valid(instance)) {
		*why = "instance: 1 to 63 of A-Z a-z 0-9 . _ -";
		return EG_ERR_PARSE;
	}
	snprintf(a->instance, sizeof(a->instance), "%s", instance);
	if (parse_seq(seq, &a->seq) != 0) {
		*why = "seq: a decimal number from 1";
		return EG_ERR_PARSE;
	}
	if (hash != NULL && hash[0] != '\0') {
		if (eg_unhex(hash, a->hash, AUDIT_HASH_LEN) != EG_OK) {
			*why = "hash: 64 hexadecimal digits";
			return EG_ERR_PARSE;
		}
		a->has_hash = 1;
	}
	return EG_OK;
}

static void
copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* The record itself: its hash and what identifies it to the backend. */
static int
read_record(MDB_txn *txn, const struct audit_dbis *d, uint64_t seq, const char *instance,
    struct audit_receipt *out, char *err, size_t errlen)
{
	struct audit_strbuf b = { NULL, 0 };
	struct audit_record r;
	const char *why = NULL;
	int rc = audit_record_get(txn, d->log, seq, &r, &b, out->hash, &why);

	if (rc == MDB_NOTFOUND) {
		free(b.p);
		return EG_ERR_NOT_FOUND;
	}
	if (rc != 0) {
		if (rc == AUDIT_CORRUPT)
			eg_errf(err, errlen, "audit log: record %llu is corrupt: %s",
			    (unsigned long long)seq, why);
		else
			eg_errf(err, errlen, "audit log: record %llu: %s",
			    (unsigned long long)seq, mdb_strerror(rc));
		free(b.p);
		return EG_ERR_AUDIT;
	}
	out->seq = seq;
	out->time_us = r.time_us;
	copy_field(out->instance, sizeof(out->instance), r.instance != NULL ? r.instance :
	    instance);
	copy_field(out->kind, sizeof(out->kind), r.kind);
	copy_field(out->decision, sizeof(out->decision), r.decision);
	copy_field(out->request_id, sizeof(out->request_id), r.request_id);
	copy_field(out->backend, sizeof(out->backend), r.backend);
	free(b.p);
	return EG_OK;
}

/* Each record after the receipt's up to the checkpoint must start with the hash of the
 * one before, and the checkpoint must name the last one's: the gateway refuses to vouch
 * for a record its own log no longer links to a signed head. */
static int
walk_chain(MDB_txn *txn, const struct audit_dbis *d, struct audit_receipt *out, char *err,
    size_t errlen)
{
	unsigned char key[8], h[AUDIT_HASH_LEN];
	MDB_val k = { 8, key }, v;
	uint64_t s;
	int rc;

	memcpy(h, out->hash, AUDIT_HASH_LEN);
	for (s = out->seq + 1; s <= out->ckpt.seq; s++) {
		audit_be64_put(key, s);
		if ((rc = mdb_get(txn, d->log, &k, &v)) != 0 || v.mv_size < AUDIT_VALUE_MIN ||
		    memcmp(v.mv_data, h, AUDIT_HASH_LEN) != 0 ||
		    audit_chain_hash(v.mv_data, v.mv_size, h) != EG_OK) {
			eg_errf(err, errlen, "audit log: record %llu does not link to record %llu",
			    (unsigned long long)s, (unsigned long long)(s - 1));
			return EG_ERR_AUDIT;
		}
	}
	if (memcmp(h, out->ckpt.hash, AUDIT_HASH_LEN) != 0) {
		eg_errf(err, errlen, "audit log: checkpoint %llu does not name its record's hash",
		    (unsigned long long)out->ckpt.seq);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

/* The first checkpoint at or after the record, when there is one within reach. */
static int
find_checkpoint(MDB_txn *txn, const struct audit_dbis *d, struct audit_receipt *out,
    char *err, size_t errlen)
{
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	MDB_cursor *cur;
	int rc;

	out->covered = 0;
	if (!d->has_ckpt)
		return EG_OK;
	if ((rc = mdb_cursor_open(txn, d->ckpt, &cur)) != 0) {
		eg_errf(err, errlen, "audit log: checkpoints: %s", mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	audit_be64_put(key, out->seq);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && audit_ckpt_decode(&k, &v, &out->ckpt) != 0) {
		mdb_cursor_close(cur);
		eg_errf(err, errlen, "audit log: a checkpoint after record %llu is malformed",
		    (unsigned long long)out->seq);
		return EG_ERR_AUDIT;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return EG_OK;
	if (rc != 0) {
		eg_errf(err, errlen, "audit log: checkpoints: %s", mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	if (out->ckpt.seq - out->seq > RECEIPT_MAX_WALK) {
		eg_errf(err, errlen, "audit log: the checkpoint after record %llu is %llu records "
		    "further", (unsigned long long)out->seq,
		    (unsigned long long)(out->ckpt.seq - out->seq));
		return EG_ERR_AUDIT;
	}
	out->covered = 1;
	return walk_chain(txn, d, out, err, errlen);
}

static int
receipt_txn(MDB_txn *txn, const struct audit_dbis *d, uint64_t seq, const char *instance,
    struct audit_receipt *out, char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (seq == 0)
		return EG_ERR_NOT_FOUND;
	if ((rc = read_record(txn, d, seq, instance, out, err, errlen)) != EG_OK)
		return rc;
	return find_checkpoint(txn, d, out, err, errlen);
}

int
audit_receipt_live(struct audit_log *log, uint64_t seq, struct audit_receipt *out)
{
	MDB_txn *txn;
	char err[256] = "";
	int rc;

	if (log == NULL || out == NULL || audit_live_begin(log, &txn) != EG_OK)
		return EG_ERR_AUDIT;
	rc = receipt_txn(txn, &log->dbi, seq, log->instance, out, err, sizeof(err));
	audit_live_end(log, txn);
	if (rc == EG_ERR_AUDIT)
		log_warnx("%s: %s", log->dir, err);
	return rc;
}

int
audit_receipt_dir(const char *dir, uint64_t seq, struct audit_receipt *out, char *err,
    size_t errlen)
{
	char instance[AUDIT_INSTANCE_MAX + 1] = "";
	struct audit_read rd;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = audit_instance_of(dir, instance, sizeof(instance), err, errlen);
	if (rc == EG_ERR_AUDIT)
		return rc;
	if (audit_read_open(dir, 1, &rd, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	rc = rd.dbi_rc == MDB_NOTFOUND ? EG_ERR_NOT_FOUND :
	    receipt_txn(rd.txn, &rd.d, seq, instance, out, err, errlen);
	audit_read_close(&rd);
	return rc;
}

/* How a holder of the receipt checks it without asking the gateway again. */
#define RECEIPT_OFFLINE "keep this answer; check the checkpoint's signature with the " \
	"audit public key ([audit] signing_key's); an auditor holding the log runs " \
	"`eidgate audit receipt --db DIR SEQ HASH` and `eidgate audit verify --db DIR --key " \
	"PUB --head CHECKPOINT.json` with a checkpoint exported at or after this one " \
	"(`eidgate audit checkpoint --export`): the chain then proves the record unchanged"

static json_t *
receipt_object(const struct audit_receipt *rc)
{
	char hash[AUDIT_HEX_LEN], t[40];

	eg_hex(rc->hash, AUDIT_HASH_LEN, hash);
	eg_format_time(rc->time_us, t, sizeof(t));
	return json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "instance", rc->instance,
	    "seq", (json_int_t)rc->seq, "hash", hash, "time", t, "kind", rc->kind,
	    "decision", rc->decision, "request_id", rc->request_id, "backend", rc->backend);
}

/* The verdict on what was asked, given what the log holds (found: rc is filled). */
static const char *
verdict(const char *instance, const struct audit_receipt_ask *a, int found,
    const struct audit_receipt *rc, int *status)
{
	if (strcmp(a->instance, instance) != 0) {
		*status = 404;
		return "other-instance";
	}
	if (!found) {
		*status = 404;
		return "no-such-record";
	}
	if (strcmp(rc->instance, a->instance) != 0) {
		*status = 404;
		return "other-instance";
	}
	if (a->has_hash && memcmp(a->hash, rc->hash, AUDIT_HASH_LEN) != 0) {
		*status = 409;
		return "hash-mismatch";
	}
	if (!rc->covered) {
		*status = 202;
		return "not-yet-checkpointed";
	}
	*status = 200;
	return "confirmed";
}

static const char *
explain(const char *reason)
{
	if (strcmp(reason, "other-instance") == 0)
		return "this log is another instance's: ask the instance the record names";
	if (strcmp(reason, "no-such-record") == 0)
		return "this log has no record with that seq";
	if (strcmp(reason, "hash-mismatch") == 0)
		return "the record at that seq has another hash than the one given";
	if (strcmp(reason, "not-yet-checkpointed") == 0)
		return "the record is in the log but no signed checkpoint covers it yet: ask "
		    "again in a second";
	return RECEIPT_OFFLINE;
}

char *
audit_receipt_json(const char *instance, const struct audit_receipt_ask *a, int found,
    const struct audit_receipt *rc, int *status)
{
	const char *reason = verdict(instance, a, found, rc, status);
	json_t *o, *ck = NULL;
	char *s = NULL, *ckjson;

	o = json_pack("{s:b,s:s,s:s,s:s}", "confirmed", *status == 200, "reason", reason,
	    "explanation", explain(reason), "instance", instance);
	if (o == NULL)
		return NULL;
	if (found && strcmp(reason, "other-instance") != 0 &&
	    json_object_set_new(o, "record", receipt_object(rc)) != 0)
		goto out;
	if (*status == 200) {
		if ((ckjson = audit_ckpt_to_json(&rc->ckpt)) == NULL)
			goto out;
		ck = json_loads(ckjson, 0, NULL);
		free(ckjson);
		if (ck == NULL || json_object_set_new(o, "checkpoint", ck) != 0)
			goto out;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(o);
	return s;
}

const char *
audit_instance_name(const struct audit_log *log)
{
	return log->instance;
}
