/* store.c - the writer's LMDB side: opening, recovering the chain head, batches. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

/*
 * Logs open for writing in this process, so that audit_query can refuse to open a second
 * environment on the same files (see env.c for why that would break LMDB's locks).
 */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct audit_log *reg_head;

int
audit_dir_is_writing(dev_t dev, ino_t ino)
{
	struct audit_log *l;
	int found = 0;

	pthread_mutex_lock(&reg_mu);
	for (l = reg_head; l != NULL; l = l->reg_next)
		if (l->dev == dev && l->ino == ino && l->pid == getpid())
			found = 1;
	pthread_mutex_unlock(&reg_mu);
	return found;
}

static void
reg_add(struct audit_log *log)
{
	pthread_mutex_lock(&reg_mu);
	log->reg_next = reg_head;
	reg_head = log;
	pthread_mutex_unlock(&reg_mu);
}

static void
reg_remove(struct audit_log *log)
{
	struct audit_log **pp;

	pthread_mutex_lock(&reg_mu);
	for (pp = &reg_head; *pp != NULL; pp = &(*pp)->reg_next)
		if (*pp == log) {
			*pp = log->reg_next;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
}

/* Creates dir (0700) when missing and takes writer.lock so two gateways never fork the
 * chain: LMDB would serialise their transactions, but each would number records alone. */
static int
lock_dir(struct audit_log *log)
{
	char path[4096];
	struct stat st;

	if (mkdir(log->dir, 0700) != 0 && errno != EEXIST) {
		log_warn("audit log %s: mkdir", log->dir);
		return EG_ERR_AUDIT;
	}
	if (stat(log->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_warnx("audit log %s: not a directory", log->dir);
		return EG_ERR_AUDIT;
	}
	log->dev = st.st_dev;
	log->ino = st.st_ino;
	log->pid = getpid();
	if ((size_t)snprintf(path, sizeof(path), "%s/writer.lock", log->dir) >= sizeof(path)) {
		log_warnx("audit log %s: path too long", log->dir);
		return EG_ERR_AUDIT;
	}
	log->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (log->lockfd < 0) {
		log_warn("audit log %s: open writer.lock", log->dir);
		return EG_ERR_AUDIT;
	}
	if (flock(log->lockfd, LOCK_EX | LOCK_NB) != 0) {
		log_warn("audit log %s: already open for writing", log->dir);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

static int
grow_map(struct audit_log *log)
{
	MDB_envinfo info;
	int rc;

	if ((rc = mdb_env_info(log->env, &info)) != 0) {
		log_warnx("audit log %s: env info: %s", log->dir, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	if ((uint64_t)info.me_mapsize >= AUDIT_MAX_MAP / 2) {
		log_warnx("audit log %s: map full at %zu bytes, limit reached", log->dir,
		    info.me_mapsize);
		return EG_ERR_AUDIT;
	}
	/* Legal only with no transaction open in this process on this env: the writer
	 * thread owns every write transaction, and live readers are held off by
	 * resize_lock (audit_query in another process opens its own env). */
	pthread_rwlock_wrlock(&log->resize_lock);
	rc = mdb_env_set_mapsize(log->env, info.me_mapsize * 2);
	pthread_rwlock_unlock(&log->resize_lock);
	if (rc != 0) {
		log_warnx("audit log %s: grow map to %zu bytes: %s", log->dir,
		    info.me_mapsize * 2, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	log_info("audit log %s: map grown to %zu bytes", log->dir, info.me_mapsize * 2);
	return EG_OK;
}

/*
 * Runs fn in a write transaction and commits; on MDB_MAP_FULL (from a put or from the
 * commit itself) the whole transaction is redone after doubling the map. fn returns an
 * LMDB code.
 */
static int
run_txn(struct audit_log *log, const char *what,
    int (*fn)(struct audit_log *, MDB_txn *, void *), void *arg)
{
	MDB_txn *txn;
	int rc;

	for (;;) {
		if ((rc = mdb_txn_begin(log->env, NULL, 0, &txn)) != 0)
			break;
		if ((rc = fn(log, txn, arg)) != 0) {
			mdb_txn_abort(txn);
		} else {
			/* mdb_txn_commit frees txn even when it fails. */
			rc = mdb_txn_commit(txn);
		}
		if (rc != MDB_MAP_FULL)
			break;
		if (grow_map(log) != EG_OK)
			return EG_ERR_AUDIT;
	}
	if (rc != 0) {
		log_warnx("audit log %s: %s: %s", log->dir, what, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

int
audit_meta_put(struct audit_log *log, MDB_txn *txn, const char *name, const void *v,
    size_t len)
{
	MDB_val k = { strlen(name), (void *)(uintptr_t)name };
	MDB_val d = { len, (void *)(uintptr_t)v };

	return mdb_put(txn, log->dbi.meta, &k, &d, 0);
}

int
audit_meta_get(MDB_dbi meta, MDB_txn *txn, const char *name, MDB_val *d)
{
	MDB_val k = { strlen(name), (void *)(uintptr_t)name };

	return mdb_get(txn, meta, &k, d);
}

/* Format check on open; a log written by a newer eidgate is not ours to append to. */
static int
check_format(struct audit_log *log, MDB_txn *txn)
{
	unsigned char fmt = AUDIT_FORMAT;
	MDB_val d;
	int rc;

	rc = audit_meta_get(log->dbi.meta, txn, "format", &d);
	if (rc == MDB_NOTFOUND)
		return audit_meta_put(log, txn, "format", &fmt, 1);
	if (rc != 0)
		return rc;
	if (d.mv_size != 1 || *(unsigned char *)d.mv_data != AUDIT_FORMAT) {
		log_warnx("audit log %s: unsupported format", log->dir);
		return MDB_INCOMPATIBLE;
	}
	return 0;
}

/* Compares meta with the last record; the log itself is the truth (meta is a cache). */
static void
check_meta(struct audit_log *log, MDB_txn *txn)
{
	unsigned char want[8];
	MDB_val seq, head;

	audit_be64_put(want, log->last_seq_written);
	if (audit_meta_get(log->dbi.meta, txn, "last_seq", &seq) != 0 || seq.mv_size != 8 ||
	    memcmp(seq.mv_data, want, 8) != 0 ||
	    audit_meta_get(log->dbi.meta, txn, "head", &head) != 0 || head.mv_size != AUDIT_HASH_LEN ||
	    memcmp(head.mv_data, log->head, AUDIT_HASH_LEN) != 0) {
		if (log->last_seq_written != 0)
			log_warnx("audit log %s: meta disagrees with the last record (seq %llu);"
			    " using the record", log->dir,
			    (unsigned long long)log->last_seq_written);
	}
}

/* After `audit archive` emptied the log, the chain continues from the archived head. */
static int
archived_head(struct audit_log *log, MDB_txn *txn)
{
	MDB_val s, h;
	int rc;

	rc = audit_meta_get(log->dbi.meta, txn, "archived_seq", &s);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0 || (rc = audit_meta_get(log->dbi.meta, txn, "archived_hash", &h)) != 0)
		return rc;
	if (s.mv_size != 8 || h.mv_size != AUDIT_HASH_LEN)
		return MDB_CORRUPTED;
	log->last_seq_written = audit_be64_get(s.mv_data);
	memcpy(log->head, h.mv_data, AUDIT_HASH_LEN);
	return 0;
}

/* Numbering of checkpoints continues too: one is due only for records after it. */
static int
last_checkpoint(struct audit_log *log, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	log->ckpt_seq = 0;
	if ((rc = mdb_cursor_open(txn, log->dbi.ckpt, &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == 0 && k.mv_size == 8)
		log->ckpt_seq = audit_be64_get(k.mv_data);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Reads the chain head from the last record so numbering and hashing continue. */
static int
recover_head(struct audit_log *log, MDB_txn *txn, void *arg)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	(void)arg;
	if ((rc = audit_dbis_open(txn, MDB_CREATE, &log->dbi)) != 0 ||
	    (rc = check_format(log, txn)) != 0 || (rc = last_checkpoint(log, txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, log->dbi.log, &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	memset(log->head, 0, sizeof(log->head));
	log->last_seq_written = 0;
	if (rc == MDB_NOTFOUND)
		return archived_head(log, txn);
	if (rc != 0)
		return rc;
	if (k.mv_size != 8 || v.mv_size < AUDIT_VALUE_MIN ||
	    audit_be64_get((unsigned char *)v.mv_data + AUDIT_OFF_SEQ) !=
	    audit_be64_get(k.mv_data)) {
		log_warnx("audit log %s: last record is corrupt; run eidgate audit verify",
		    log->dir);
		return MDB_CORRUPTED;
	}
	log->last_seq_written = audit_be64_get(k.mv_data);
	if (audit_chain_hash(v.mv_data, v.mv_size, log->head) != EG_OK)
		return MDB_PANIC;
	check_meta(log, txn);
	/* Rewrite meta so it agrees again with the log. */
	rc = audit_meta_put(log, txn, "head", log->head, AUDIT_HASH_LEN);
	if (rc == 0)
		rc = audit_meta_put(log, txn, "last_seq", (unsigned char *)k.mv_data, 8);
	return rc;
}

/*
 * The checkpoint key the log last named (meta "ckpt_key"). A log from before key-change
 * records existed, with records but no such meta, is taken to be signed by the key it
 * is opened with: meta names it, no record does. Runs in the opening transaction.
 */
static int
read_named_key(struct audit_log *log, MDB_txn *txn)
{
	MDB_val d;
	int rc = audit_meta_get(log->dbi.meta, txn, "ckpt_key", &d);

	if (rc == 0 && d.mv_size == AUDIT_KEYID_LEN) {
		memcpy(log->named_key, d.mv_data, AUDIT_KEYID_LEN);
		log->has_named_key = 1;
		return 0;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (log->ckpt_key == NULL || log->last_seq_written == 0)
		return 0;
	memcpy(log->named_key, audit_key_id(log->ckpt_key), AUDIT_KEYID_LEN);
	log->has_named_key = 1;
	return audit_meta_put(log, txn, "ckpt_key", log->named_key, AUDIT_KEYID_LEN);
}

static int
open_txn(struct audit_log *log, MDB_txn *txn, void *arg)
{
	int rc = recover_head(log, txn, arg);

	if (rc == 0)
		rc = read_named_key(log, txn);
	/* Readers (the merged view, verify) name a log by it without reading a record. */
	return rc != 0 ? rc : audit_meta_put(log, txn, "instance", log->instance,
	    strlen(log->instance));
}

/* [audit] instance, else the host name's first label, else "gw". */
static int
set_instance(struct audit_log *log, const char *name)
{
	char host[256] = "";

	if (name != NULL && name[0] != '\0') {
		if (!audit_instance_valid(name)) {
			log_warnx("audit log %s: instance name \"%.64s\" is not 1 to %d of "
			    "A-Z a-z 0-9 . _ -", log->dir, name, AUDIT_INSTANCE_MAX);
			return EG_ERR_AUDIT;
		}
		snprintf(log->instance, sizeof(log->instance), "%s", name);
		return EG_OK;
	}
	if (gethostname(host, sizeof(host) - 1) == 0)
		host[strcspn(host, ".")] = '\0';
	snprintf(log->instance, sizeof(log->instance), "%s",
	    audit_instance_valid(host) ? host : "gw");
	return EG_OK;
}

static int
open_env(struct audit_log *log, const struct audit_options *opt)
{
	unsigned int flags = opt->sync == AUDIT_SYNC_NONE ? MDB_NOSYNC : 0;
	uint64_t map = opt->map_size ? opt->map_size : AUDIT_DEFAULT_MAP;
	int dead = 0, rc;

	if ((rc = mdb_env_create(&log->env)) != 0) {
		log_warnx("audit log %s: env create: %s", log->dir, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	if ((rc = mdb_env_set_maxdbs(log->env, AUDIT_MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(log->env, (size_t)map)) != 0 ||
	    (rc = mdb_env_open(log->env, log->dir, flags, 0600)) != 0 ||
	    (rc = mdb_reader_check(log->env, &dead)) != 0) {
		log_warnx("audit log %s: open: %s", log->dir, mdb_strerror(rc));
		return EG_ERR_AUDIT;
	}
	log->max_key = (size_t)mdb_env_get_maxkeysize(log->env);
	return run_txn(log, "open", open_txn, NULL);
}

/* The checkpoint key: held by the gateway's keys (opt->keys), or read here from
 * opt->signing_key (the command-line tools). */
static int
load_key(struct audit_log *log, const struct audit_options *opt)
{
	char err[512];

	if (opt->keys != NULL) {
		if (audit_key_from_keys(opt->keys, &log->ckpt_key) != EG_OK) {
			log_warnx("audit log %s: the checkpoint key cannot be had", log->dir);
			return EG_ERR_AUDIT;
		}
	} else if (opt->signing_key != NULL && opt->signing_key[0] != '\0' &&
	    audit_key_load(opt->signing_key, 1, &log->ckpt_key, err, sizeof(err)) != EG_OK) {
		log_warnx("audit log %s: signing key %s", log->dir, err);
		return EG_ERR_AUDIT;
	}
	if (log->ckpt_key == NULL)
		log_warnx("audit log %s: no signing key: no signed checkpoints, so a rewritten "
		    "chain or a cut tail cannot be proven", log->dir);
	return EG_OK;
}

static int
init_sync(struct audit_log *log)
{
	if (pthread_mutex_init(&log->mu, NULL) != 0 ||
	    pthread_rwlock_init(&log->resize_lock, NULL) != 0)
		return EG_ERR_AUDIT;
	if (audit_cond_init(&log->wake) != 0 || audit_cond_init(&log->done) != 0 ||
	    audit_cond_init(&log->space) != 0)
		return EG_ERR_AUDIT;
	return EG_OK;
}

/* A log opened with another key than the one it named last (changed while no gateway
 * ran: nothing can sign the change with the old key; verify says so), or a new log:
 * there the first record names the key, with that record's time (audit_append), so the
 * log's first record is as old as its first event. */
static int
name_key_at_open(struct audit_log *log, struct audit_key *k)
{
	if (log->last_seq_written == 0 && !log->has_named_key) {
		pthread_mutex_lock(&log->mu);
		log->name_first = k;
		pthread_mutex_unlock(&log->mu);
		return EG_OK;
	}
	log_warnx("audit log %s: opened with another checkpoint key than the one it named "
	    "last; the change is recorded but cannot be signed by the old key (rotate with "
	    "SIGHUP to have it signed)", log->dir);
	return audit_name_key(log, k, "checkpoint-key-replaced", 0);
}

int
audit_open(const struct audit_options *opt, struct audit_log **out)
{
	struct audit_key *unnamed = NULL;
	struct audit_log *log;
	int rc;

	*out = NULL;
	if (opt == NULL || opt->dir == NULL || opt->batch_records < 0 || opt->batch_ms < 0) {
		log_warnx("audit_open: bad options");
		return EG_ERR_AUDIT;
	}
	if ((log = calloc(1, sizeof(*log))) == NULL || (log->dir = strdup(opt->dir)) == NULL) {
		log_warn("audit log %s: allocation", opt->dir);
		free(log);
		return EG_ERR_AUDIT;
	}
	log->lockfd = -1;
	log->sync = opt->sync;
	log->batch_records = opt->batch_records ? opt->batch_records : 1000;
	log->batch_ms = opt->batch_ms ? opt->batch_ms : 5;
	log->linger_us = AUDIT_FULL_LINGER_US;
	log->reader_check_ms = AUDIT_READER_CHECK_MS;
	log->ckpt_every_ms = AUDIT_CKPT_MS;
	log->ckpt_every = AUDIT_CKPT_RECORDS;
	log->full_peak = 1;
	if ((rc = set_instance(log, opt->instance)) != EG_OK ||
	    (rc = load_key(log, opt)) != EG_OK || (rc = lock_dir(log)) != EG_OK ||
	    (rc = open_env(log, opt)) != EG_OK || (rc = init_sync(log)) != EG_OK)
		goto fail;
	/* A key the log has not named yet signs only after the record that names it. */
	if (log->ckpt_key != NULL && (!log->has_named_key || memcmp(log->named_key,
	    audit_key_id(log->ckpt_key), AUDIT_KEYID_LEN) != 0)) {
		unnamed = log->ckpt_key;
		log->ckpt_key = NULL;
	}
	/* A crash can leave records after the last checkpoint: cover them now. */
	if (audit_store_checkpoint(log) != EG_OK) {
		rc = EG_ERR_AUDIT;
		goto fail;
	}
	log->ckpt_ms = eg_mono_ms();
	log->reader_check_at = log->ckpt_ms + log->reader_check_ms;
	log->next_seq = log->last_seq_written + 1;
	log->committed_seq = log->last_seq_written;
	if (pthread_create(&log->thread, NULL, audit_writer_main, log) != 0) {
		log_warnx("audit log %s: cannot start the writer thread", log->dir);
		rc = EG_ERR_AUDIT;
		goto fail;
	}
	log->thread_started = 1;
	reg_add(log);
	if (unnamed != NULL && (rc = name_key_at_open(log, unnamed)) != EG_OK) {
		unnamed = NULL;
		goto fail;
	}
	*out = log;
	return EG_OK;
fail:
	audit_key_free(unnamed);
	audit_close(log);
	return rc;
}

void
audit_close(struct audit_log *log)
{
	int rc;

	if (log == NULL)
		return;
	if (log->thread_started) {
		(void)audit_flush(log);
		pthread_mutex_lock(&log->mu);
		log->stop = 1;
		pthread_cond_signal(&log->wake);
		pthread_mutex_unlock(&log->mu);
		pthread_join(log->thread, NULL);
		/* Clean shutdown: the final head is signed, so a later cut shows. */
		if (!log->failed)
			(void)audit_store_checkpoint(log);
		reg_remove(log);
		pthread_mutex_destroy(&log->mu);
		pthread_rwlock_destroy(&log->resize_lock);
		pthread_cond_destroy(&log->wake);
		pthread_cond_destroy(&log->done);
		pthread_cond_destroy(&log->space);
	}
	if (log->env != NULL) {
		/* With MDB_NOSYNC the last batches are only in the page cache: closing makes
		 * them durable so that "none" loses data only on a crash. */
		if (log->sync == AUDIT_SYNC_NONE && (rc = mdb_env_sync(log->env, 1)) != 0)
			log_warnx("audit log %s: sync on close: %s", log->dir, mdb_strerror(rc));
		mdb_env_close(log->env);
	}
	if (log->lockfd >= 0)
		close(log->lockfd);
	audit_key_free(log->ckpt_key);
	audit_key_free(log->retired);
	audit_key_free(log->name_first);
	free(log->dir);
	free(log);
}

/* Secondary index entry: key -> seq, appended at the end of that key's duplicates since
 * seqs only grow (MDB_APPENDDUP). Empty or over-long keys are not indexed; query.c falls
 * back to a scan for them by the same rule. */
static int
index_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const unsigned char *seq)
{
	MDB_val k = { klen, (void *)(uintptr_t)key };
	MDB_val d = { 8, (void *)(uintptr_t)seq };

	if (klen == 0)
		return 0;
	return mdb_put(txn, dbi, &k, &d, MDB_APPENDDUP);
}

/* A record that ends a session also enters it in "ended", in the same transaction: the
 * logout is in the log exactly when the session is ended for every later start. */
static int
put_ended(struct audit_log *log, MDB_txn *txn, const struct audit_item *it)
{
	unsigned char until[8];
	MDB_val k = { strlen(it->ends_session), (void *)(uintptr_t)it->ends_session };
	MDB_val d = { 8, until };

	if (it->ends_until <= 0 || k.mv_size == 0)
		return 0;
	audit_be64_put(until, (uint64_t)it->ends_until);
	return mdb_put(txn, log->dbi.ended, &k, &d, 0);
}

/* A policy record's text, under its version, once: a version kept already stays as it
 * was first written (the record names the text's hash, so a reload of the same file
 * proves the same text). */
static int
put_policy(struct audit_log *log, MDB_txn *txn, const struct audit_item *it)
{
	MDB_val k, d = { it->policy_len, (void *)(uintptr_t)it->policy_text };
	size_t off, len;
	int rc;

	if (it->policy_text == NULL)
		return 0;
	if (audit_record_find(it->data, it->len, AUDIT_ID_POLICY_VERSION, &off, &len) != 0 ||
	    len == 0 || len > log->max_key)
		return 0;
	k.mv_size = len;
	k.mv_data = (void *)(uintptr_t)(it->data + off);
	rc = mdb_put(txn, log->dbi.policies, &k, &d, MDB_NOOVERWRITE);
	return rc == MDB_KEYEXIST ? 0 : rc;
}

static int
put_item(struct audit_log *log, MDB_txn *txn, struct audit_item *it, unsigned char *prev)
{
	unsigned char seq[8], tkey[8];
	MDB_val k = { 8, seq }, d = { it->len, it->data };
	int rc;

	audit_be64_put(seq, it->seq);
	audit_be64_put(tkey, (uint64_t)it->time_us);
	memcpy(it->data, prev, AUDIT_HASH_LEN);
	if ((rc = mdb_put(txn, log->dbi.log, &k, &d, MDB_APPEND)) != 0 ||
	    (rc = index_put(txn, log->dbi.by_nrn, it->data + it->nrn_off, it->nrn_len, seq)) ||
	    (rc = index_put(txn, log->dbi.by_org, it->data + it->org_off, it->org_len, seq)) ||
	    (rc = index_put(txn, log->dbi.by_facility, it->data + it->fac_off, it->fac_len,
	    seq)) ||
	    (rc = index_put(txn, log->dbi.by_time, tkey, 8, seq)) != 0 ||
	    (rc = put_ended(log, txn, it)) != 0 || (rc = put_policy(log, txn, it)) != 0)
		return rc;
	return audit_chain_hash(it->data, it->len, prev) == EG_OK ? 0 : MDB_PANIC;
}

/* Signs the head at seq and stores it; the caller's transaction makes it atomic with
 * the records it covers. 0, CKPT_SKIPPED when it could not be signed (the key process is
 * gone: the records are still written, the next checkpoint covers them), or an LMDB
 * error. */
#define CKPT_SKIPPED 1
static int
put_checkpoint(struct audit_log *log, const struct audit_key *signer, MDB_txn *txn,
    uint64_t seq, const unsigned char *head)
{
	unsigned char key[8], val[AUDIT_CKPT_VAL_MAX];
	struct audit_ckpt c;
	MDB_val k = { 8, key }, d;

	memset(&c, 0, sizeof(c));
	c.seq = seq;
	c.time_us = eg_now_us();
	memcpy(c.hash, head, AUDIT_HASH_LEN);
	if (audit_ckpt_sign(signer, &c) != EG_OK) {
		log_warnx("audit log %s: signing the checkpoint at seq %llu failed; the records "
		    "are written, the next checkpoint will cover them", log->dir,
		    (unsigned long long)seq);
		return CKPT_SKIPPED;
	}
	audit_be64_put(key, seq);
	d.mv_size = audit_ckpt_encode(&c, val);
	d.mv_data = val;
	return mdb_put(txn, log->dbi.ckpt, &k, &d, MDB_APPEND);
}

struct batch_arg {
	struct audit_item *items;
	const struct audit_key *key;    /* signs now: the log's, then a key change's */
	uint64_t ckpt_seq;      /* set when this transaction wrote a checkpoint */
	uint64_t nckpt;         /* how many */
	unsigned char head[AUDIT_HASH_LEN];     /* the chain head and last seq the */
	uint64_t last_seq;                      /* transaction wrote */
};

/* At the end of a batch: due when ckpt_every_ms passed since the last one. */
static int
ckpt_due(const struct audit_log *log, const struct batch_arg *ba, uint64_t seq)
{
	return ba->key != NULL && seq > log->ckpt_seq &&
	    eg_mono_ms() - log->ckpt_ms >= log->ckpt_every_ms;
}

/* After a key-change record: the key it replaces signs a checkpoint at it, in the same
 * transaction, and the new key signs from then on ("Key changes", audit.h). */
static int
change_key(struct audit_log *log, MDB_txn *txn, struct batch_arg *ba,
    const struct audit_item *it, const unsigned char *head)
{
	int rc;

	if (ba->key != NULL) {
		if ((rc = put_checkpoint(log, ba->key, txn, it->seq, head)) == CKPT_SKIPPED)
			log_warnx("audit log %s: the key change at seq %llu is not signed by the old "
			    "key; verify will need both keys", log->dir,
			    (unsigned long long)it->seq);
		else if (rc != 0)
			return rc;
		else {
			ba->ckpt_seq = it->seq;
			ba->nckpt++;
		}
	}
	ba->key = it->new_key;
	return audit_meta_put(log, txn, "ckpt_key", audit_key_id(it->new_key),
	    AUDIT_KEYID_LEN);
}

/* One batch, one transaction. head/last_seq advance only after the commit, so a retry
 * after MDB_MAP_FULL starts again from the committed head. */
static int
batch_txn(struct audit_log *log, MDB_txn *txn, void *arg)
{
	unsigned char head[AUDIT_HASH_LEN], seq[8];
	struct batch_arg *ba = arg;
	struct audit_item *it, *last = NULL;
	int rc;

	memcpy(head, log->head, sizeof(head));
	ba->ckpt_seq = 0;
	ba->nckpt = 0;
	ba->key = log->ckpt_key;
	for (it = ba->items; it != NULL; it = it->next) {
		if ((rc = put_item(log, txn, it, head)) != 0) {
			if (rc == MDB_MAP_FULL)
				return rc;      /* run_txn grows the map and retries */
			log_warnx("audit log %s: write seq %llu: %s", log->dir,
			    (unsigned long long)it->seq, mdb_strerror(rc));
			return rc;
		}
		if (it->new_key != NULL) {
			if ((rc = change_key(log, txn, ba, it, head)) != 0)
				return rc;
			last = it;
			continue;
		}
		/* Every ckpt_every records exactly, even inside a large batch. */
		if (ba->key != NULL && it->seq - (ba->ckpt_seq ? ba->ckpt_seq :
		    log->ckpt_seq) >= log->ckpt_every) {
			if ((rc = put_checkpoint(log, ba->key, txn, it->seq, head)) != 0 &&
			    rc != CKPT_SKIPPED)
				return rc;
			if (rc == 0) {
				ba->ckpt_seq = it->seq;
				ba->nckpt++;
			}
		}
		last = it;
	}
	if (last == NULL)
		return 0;
	audit_be64_put(seq, last->seq);
	if ((rc = audit_meta_put(log, txn, "last_seq", seq, 8)) != 0 ||
	    (rc = audit_meta_put(log, txn, "head", head, AUDIT_HASH_LEN)) != 0)
		return rc;
	if (ba->ckpt_seq != last->seq && ckpt_due(log, ba, last->seq)) {
		if ((rc = put_checkpoint(log, ba->key, txn, last->seq, head)) != 0 &&
		    rc != CKPT_SKIPPED)
			return rc;
		if (rc == 0) {
			ba->ckpt_seq = last->seq;
			ba->nckpt++;
		}
	}
	memcpy(ba->head, head, sizeof(ba->head));
	ba->last_seq = last->seq;
	return 0;
}

static void
ckpt_done(struct audit_log *log, uint64_t seq, uint64_t n)
{
	log->ckpt_seq = seq;
	log->ckpt_ms = eg_mono_ms();
	pthread_mutex_lock(&log->mu);
	log->n_ckpts += n;
	pthread_mutex_unlock(&log->mu);
}

/* The replaced keys stay allocated until close: a live verification may hold one. */
static void
take_new_keys(struct audit_log *log, struct audit_item *batch)
{
	struct audit_item *it;

	for (it = batch; it != NULL; it = it->next) {
		if (it->new_key == NULL)
			continue;
		pthread_mutex_lock(&log->mu);
		audit_key_retire(log, log->ckpt_key);
		log->ckpt_key = it->new_key;
		pthread_mutex_unlock(&log->mu);
		it->new_key = NULL;
	}
}

int
audit_store_write_batch(struct audit_log *log, struct audit_item *batch)
{
	struct batch_arg ba;

	if (batch == NULL)
		return EG_OK;
	memset(&ba, 0, sizeof(ba));
	ba.items = batch;
	if (run_txn(log, "commit", batch_txn, &ba) != EG_OK)
		return EG_ERR_AUDIT;
	/* Committed: the head the transaction computed becomes the log's, and a key
	 * change's key the one that signs. */
	memcpy(log->head, ba.head, sizeof(log->head));
	log->last_seq_written = ba.last_seq;
	take_new_keys(log, batch);
	if (ba.ckpt_seq != 0)
		ckpt_done(log, ba.ckpt_seq, ba.nckpt);
	return EG_OK;
}

static int
ckpt_txn(struct audit_log *log, MDB_txn *txn, void *arg)
{
	int rc = put_checkpoint(log, log->ckpt_key, txn, log->last_seq_written, log->head);

	(void)arg;
	return rc == CKPT_SKIPPED ? MDB_PANIC : rc;    /* a checkpoint alone: nothing to keep */
}

/* Writer thread (or audit_open/audit_close with no writer running). */
int
audit_store_checkpoint(struct audit_log *log)
{
	if (log->ckpt_key == NULL || log->last_seq_written <= log->ckpt_seq)
		return EG_OK;
	if (run_txn(log, "checkpoint", ckpt_txn, NULL) != EG_OK)
		return EG_ERR_AUDIT;
	ckpt_done(log, log->last_seq_written, 1);
	return EG_OK;
}
