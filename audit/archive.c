/*
 * archive.c - retention: move the oldest records into a signed file, then out of the
 * live log, in one write transaction (`eidgate audit archive`).
 *
 * File format "eidgate-audit-archive-v1":
 *   1. a header: one line of JSON ending in "\n":
 *      {"format":"eidgate-audit-archive-v1","log":DIR,"before":ISO,"created":ISO,
 *       "first_seq":N,"key_id":HEX}   (informational: nothing in it is trusted)
 *   2. the records, oldest first, each as a 4-byte big-endian length L followed by the
 *      L bytes of the stored value exactly as in the log (prev hash || encoded record;
 *      audit/internal.h), so the chain is checked on the very bytes that were hashed;
 *   3. four zero bytes (L = 0 ends the records);
 *   4. a trailer: one line of JSON: an exported checkpoint (seq, hash, time, time_us,
 *      signature, key_id, as `audit checkpoint --export`) of the last archived record,
 *      signed with the audit key, plus "first_seq", "last_seq" and "count".
 * Binary rather than base64 because the file is only read by `verify --archive`, and
 * the length prefix keeps it parseable without escaping.
 *
 * Only records with time < --before that form a prefix of the log are archived (the
 * walk stops at the first later record), so the live log stays one contiguous chain
 * whose first record's prev hash is the archive's last hash. Checkpoints at archived
 * seqs are deleted with them: the trailer is their signed replacement.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "audit/internal.h"

#define ARCHIVE_FORMAT "eidgate-audit-archive-v1"
#define ARCHIVE_LINE_MAX 8192
#define ARCHIVE_VALUE_MAX (16u << 20)

struct audit_archive_reader {
	FILE *fp;
	const char *path;
	unsigned char *buf;
	size_t cap;
};

static int
read_line(FILE *fp, char *line, size_t len)
{
	size_t n;

	if (fgets(line, (int)len, fp) == NULL)
		return -1;
	n = strlen(line);
	if (n == 0 || line[n - 1] != '\n')
		return -1;
	line[n - 1] = '\0';
	return 0;
}

int
audit_archive_open(const char *path, struct audit_archive_reader **out, char *err,
    size_t errlen)
{
	struct audit_archive_reader *r;
	char line[ARCHIVE_LINE_MAX];
	const char *fmt = NULL;
	json_t *h = NULL;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->fp = fopen(path, "rb")) == NULL) {
		eg_errf(err, errlen, "archive %s: %s", path, strerror(errno));
		free(r);
		return EG_ERR_AUDIT;
	}
	r->path = path;
	if (read_line(r->fp, line, sizeof(line)) != 0 ||
	    (h = json_loads(line, 0, NULL)) == NULL ||
	    json_unpack(h, "{s:s}", "format", &fmt) != 0 || strcmp(fmt, ARCHIVE_FORMAT) != 0) {
		eg_errf(err, errlen, "archive %s: not an %s file", path, ARCHIVE_FORMAT);
		json_decref(h);
		audit_archive_close(r);
		return EG_ERR_AUDIT;
	}
	json_decref(h);
	*out = r;
	return EG_OK;
}

static int
read_trailer(struct audit_archive_reader *r, struct audit_ckpt *t, char *err,
    size_t errlen)
{
	char line[ARCHIVE_LINE_MAX], why[200];

	if (read_line(r->fp, line, sizeof(line)) != 0) {
		eg_errf(err, errlen, "archive %s: the trailer is missing: file cut short",
		    r->path);
		return -1;
	}
	if (audit_ckpt_from_json(line, t, why, sizeof(why)) != EG_OK) {
		eg_errf(err, errlen, "archive %s: trailer: %s", r->path, why);
		return -1;
	}
	if (fgetc(r->fp) != EOF) {
		eg_errf(err, errlen, "archive %s: data after the trailer", r->path);
		return -1;
	}
	return 0;
}

int
audit_archive_next(struct audit_archive_reader *r, const unsigned char **val,
    size_t *len, struct audit_ckpt *trailer, char *err, size_t errlen)
{
	unsigned char lb[4];
	size_t n;

	if (fread(lb, 1, 4, r->fp) != 4) {
		eg_errf(err, errlen, "archive %s: file cut short", r->path);
		return -1;
	}
	n = ((size_t)lb[0] << 24) | ((size_t)lb[1] << 16) | ((size_t)lb[2] << 8) | lb[3];
	if (n == 0)
		return read_trailer(r, trailer, err, errlen) == 0 ? 0 : -1;
	if (n < AUDIT_VALUE_MIN || n > ARCHIVE_VALUE_MAX) {
		eg_errf(err, errlen, "archive %s: bad record length %zu", r->path, n);
		return -1;
	}
	if (n > r->cap) {
		unsigned char *nb = realloc(r->buf, n);

		if (nb == NULL) {
			eg_errf(err, errlen, "archive %s: out of memory", r->path);
			return -1;
		}
		r->buf = nb;
		r->cap = n;
	}
	if (fread(r->buf, 1, n, r->fp) != n) {
		eg_errf(err, errlen, "archive %s: file cut short", r->path);
		return -1;
	}
	*val = r->buf;
	*len = n;
	return 1;
}

void
audit_archive_close(struct audit_archive_reader *r)
{
	if (r == NULL)
		return;
	if (r->fp != NULL)
		fclose(r->fp);
	free(r->buf);
	free(r);
}

/* ---- writing ---- */

struct arun {
	const char *dir, *out;
	int64_t before;
	const struct audit_key *key;
	MDB_env *env;
	MDB_txn *txn;
	struct audit_dbis d;
	FILE *fp;
	uint64_t first, last, count;
	unsigned char head[AUDIT_HASH_LEN];
	char *err;
	size_t errlen;
};

static int
put_len(FILE *fp, size_t n)
{
	unsigned char b[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16),
	    (unsigned char)(n >> 8), (unsigned char)n };

	return fwrite(b, 1, 4, fp) == 4 ? 0 : -1;
}

static int
write_header(struct arun *a)
{
	char before[40], now[40], kid[2 * AUDIT_KEYID_LEN + 1];
	json_t *h;
	char *s;
	int rc;

	eg_format_time(a->before, before, sizeof(before));
	eg_format_time(eg_now_us(), now, sizeof(now));
	eg_hex(audit_key_id(a->key), AUDIT_KEYID_LEN, kid);
	h = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "format", ARCHIVE_FORMAT, "log", a->dir,
	    "before", before, "created", now, "first_seq", (json_int_t)a->first, "key_id", kid);
	if (h == NULL || (s = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(h);
		return -1;
	}
	rc = fprintf(a->fp, "%s\n", s) < 0 ? -1 : 0;
	free(s);
	json_decref(h);
	return rc;
}

/* Pass 1: the prefix with time < before goes to the file; the chain is recomputed on the
 * way so that the trailer signs what was actually written. */
static int
copy_records(struct arun *a)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(a->txn, a->d.log, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const unsigned char *p = v.mv_data;

		if (k.mv_size != 8 || v.mv_size < AUDIT_VALUE_MIN) {
			rc = MDB_CORRUPTED;
			break;
		}
		if ((int64_t)audit_be64_get(p + AUDIT_OFF_TIME) >= a->before)
			break;
		if (a->count == 0 && (a->first = audit_be64_get(k.mv_data), write_header(a)) != 0)
			rc = EIO;
		if (rc == 0 && (put_len(a->fp, v.mv_size) != 0 ||
		    fwrite(p, 1, v.mv_size, a->fp) != v.mv_size))
			rc = EIO;
		if (rc == 0 && audit_chain_hash(p, v.mv_size, a->head) != EG_OK)
			rc = MDB_PANIC;
		if (rc != 0)
			break;
		a->last = audit_be64_get(k.mv_data);
		a->count++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
write_trailer(struct arun *a)
{
	struct audit_ckpt t;
	json_t *j = NULL;
	char *s = NULL, *line = NULL;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	t.seq = a->last;
	t.time_us = eg_now_us();
	memcpy(t.hash, a->head, AUDIT_HASH_LEN);
	if (audit_ckpt_sign(a->key, &t) != EG_OK || (s = audit_ckpt_to_json(&t)) == NULL ||
	    (j = json_loads(s, 0, NULL)) == NULL ||
	    json_object_set_new(j, "first_seq", json_integer((json_int_t)a->first)) != 0 ||
	    json_object_set_new(j, "last_seq", json_integer((json_int_t)a->last)) != 0 ||
	    json_object_set_new(j, "count", json_integer((json_int_t)a->count)) != 0 ||
	    (line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	if (put_len(a->fp, 0) == 0 && fprintf(a->fp, "%s\n", line) > 0)
		rc = 0;
out:
	free(s);
	free(line);
	json_decref(j);
	return rc;
}

/* Removes one index entry; over-long or empty keys were never indexed. */
static int
index_del(struct arun *a, MDB_dbi dbi, const void *key, size_t klen, MDB_val *seq)
{
	MDB_val k = { klen, (void *)(uintptr_t)key };
	int rc;

	if (klen == 0 || klen > (size_t)mdb_env_get_maxkeysize(a->env))
		return 0;
	rc = mdb_del(a->txn, dbi, &k, seq);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
del_indexes(struct arun *a, const MDB_val *k, const MDB_val *v)
{
	static const unsigned ids[3] = { AUDIT_ID_NRN, AUDIT_ID_ORG, AUDIT_ID_FACILITY };
	const MDB_dbi dbis[3] = { a->d.by_nrn, a->d.by_org, a->d.by_facility };
	const unsigned char *p = v->mv_data;
	MDB_val seq = { 8, k->mv_data };
	size_t off, len;
	int i, rc;

	for (i = 0; i < 3; i++)
		if (audit_record_find(p, v->mv_size, ids[i], &off, &len) == 0 &&
		    (rc = index_del(a, dbis[i], p + off, len, &seq)) != 0)
			return rc;
	return index_del(a, a->d.by_time, p + AUDIT_OFF_TIME, 8, &seq);
}

/* Pass 2: the same prefix leaves the log, its indexes and its checkpoints. */
static int
delete_records(struct arun *a)
{
	unsigned char seq[8];
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(a->txn, a->d.log, &c)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0 &&
	    audit_be64_get(k.mv_data) <= a->last) {
		if ((rc = del_indexes(a, &k, &v)) != 0 || (rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (a->d.has_ckpt && (rc = mdb_cursor_open(a->txn, a->d.ckpt, &c)) == 0) {
		while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0 && k.mv_size == 8 &&
		    audit_be64_get(k.mv_data) <= a->last)
			if ((rc = mdb_cursor_del(c, 0)) != 0)
				break;
		mdb_cursor_close(c);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	audit_be64_put(seq, a->last);
	k.mv_size = 12;
	k.mv_data = "archived_seq";
	v.mv_size = 8;
	v.mv_data = seq;
	if ((rc = mdb_put(a->txn, a->d.meta, &k, &v, 0)) != 0)
		return rc;
	k.mv_size = 13;
	k.mv_data = "archived_hash";
	v.mv_size = AUDIT_HASH_LEN;
	v.mv_data = a->head;
	return mdb_put(a->txn, a->d.meta, &k, &v, 0);
}

/* Only one writer may have the environment open, and a running gateway holds
 * writer.lock for as long as it runs: archiving is a maintenance operation. */
static int
take_lock(const char *dir, int *fd, char *err, size_t errlen)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/writer.lock", dir) >= sizeof(path)) {
		eg_errf(err, errlen, "audit log %s: path too long", dir);
		return EG_ERR_AUDIT;
	}
	if ((*fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		eg_errf(err, errlen, "audit log %s: writer.lock: %s", dir, strerror(errno));
		return EG_ERR_AUDIT;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		eg_errf(err, errlen, errno == EWOULDBLOCK ? "audit log %s is open for writing "
		    "by a running gateway (writer.lock is held): stop the gateway or archive "
		    "during maintenance" : "audit log %s: writer.lock: %s", dir, strerror(errno));
		close(*fd);
		*fd = -1;
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

static int
open_rw(struct arun *a)
{
	int rc;

	if ((rc = mdb_env_create(&a->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(a->env, AUDIT_MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(a->env, 0)) != 0 ||
	    (rc = mdb_env_open(a->env, a->dir, 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(a->env, NULL, 0, &a->txn)) != 0)
		return rc;
	rc = audit_dbis_open(a->txn, 0, &a->d);
	return rc;
}

/* The file is complete and on disk before the records leave the log. */
static int
finish_file(struct arun *a)
{
	if (write_trailer(a) != 0 || fflush(a->fp) != 0 || fsync(fileno(a->fp)) != 0) {
		eg_errf(a->err, a->errlen, "archive %s: write: %s", a->out, strerror(errno));
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

static int
run(struct arun *a)
{
	int fd, rc;

	if ((rc = open_rw(a)) != 0) {
		eg_errf(a->err, a->errlen, "audit log %s: %s", a->dir, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	/* O_EXCL: never overwrite an earlier archive, which may be the only copy. */
	if ((fd = open(a->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    (a->fp = fdopen(fd, "wb")) == NULL) {
		eg_errf(a->err, a->errlen, "archive %s: %s", a->out, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EG_ERR_AUDIT;
	}
	if ((rc = copy_records(a)) != 0) {
		eg_errf(a->err, a->errlen, "archive %s: %s", a->out, rc == EIO ?
		    strerror(errno) : mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	if (a->count == 0)
		return EG_OK;
	if (finish_file(a) != EG_OK)
		return EG_ERR_AUDIT;
	if ((rc = delete_records(a)) != 0 || (rc = mdb_txn_commit(a->txn)) != 0) {
		a->txn = NULL;  /* commit frees it even when it fails */
		eg_errf(a->err, a->errlen, "audit log %s: removing the archived records: %s "
		    "(the log is unchanged)", a->dir, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	a->txn = NULL;
	return EG_OK;
}

int
audit_archive_run(const char *dir, int64_t before_us, const char *out_path,
    const struct audit_key *key, uint64_t *archived, char *err, size_t errlen)
{
	struct arun a;
	int lockfd = -1, rc;

	memset(&a, 0, sizeof(a));
	a.dir = dir;
	a.out = out_path;
	a.before = before_us;
	a.key = key;
	a.err = err;
	a.errlen = errlen;
	*archived = 0;
	if (take_lock(dir, &lockfd, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	rc = run(&a);
	if (a.txn != NULL)
		mdb_txn_abort(a.txn);
	if (a.env != NULL)
		mdb_env_close(a.env);
	if (a.fp != NULL && fclose(a.fp) != 0 && rc == EG_OK) {
		eg_errf(err, errlen, "archive %s: %s", out_path, strerror(errno));
		rc = EG_ERR_AUDIT;
	}
	/* No file for nothing archived, nor one whose records are still in the log. */
	if ((rc != EG_OK || a.count == 0) && a.fp != NULL)
		unlink(out_path);
	close(lockfd);
	*archived = rc == EG_OK ? a.count : 0;
	return rc;
}
