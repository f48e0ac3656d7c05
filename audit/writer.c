/* writer.c - the queue between request threads and the one writer thread (group commit). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

/* Waits use CLOCK_MONOTONIC so a clock step never shortens or stretches a deadline. */
int
audit_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int rc;

	if (pthread_condattr_init(&a) != 0)
		return -1;
	rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return rc == 0 ? 0 : -1;
}

static void
mono_ts(int64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

int64_t
audit_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
mono_ts_us(int64_t us, struct timespec *ts)
{
	ts->tv_sec = (time_t)(us / 1000000);
	ts->tv_nsec = (long)(us % 1000000) * 1000L;
}

static void
index_key(struct audit_item *it, unsigned id, size_t max_key, size_t *off, size_t *len)
{
	if (audit_record_find(it->data, it->len, id, off, len) != 0 || *len > max_key)
		*len = 0;       /* not indexed: query.c scans for such values */
}

/* Encodes the record in the caller's thread, so the writer only chains and stores. */
static struct audit_item *
item_new(const struct audit_log *log, const struct audit_record *rec)
{
	struct audit_record r = *rec;
	struct audit_item *it;
	const char *bad = NULL;
	size_t len;

	if (r.time_us == 0)
		r.time_us = eg_now_us();
	if (r.instance == NULL)
		r.instance = log->instance;
	if (r.time_us < 0) {
		log_warnx("audit log %s: negative record time refused", log->dir);
		return NULL;
	}
	r.seq = 0;      /* set under the queue lock, see audit_append */
	if ((len = audit_record_size(&r, &bad)) == 0) {
		log_warnx("audit log %s: field %s longer than %d bytes refused", log->dir, bad,
		    EG_MAX_AUDIT_FIELD);
		return NULL;
	}
	if (r.policy_text_len > SIZE_MAX - sizeof(*it) - len) {
		log_warnx("audit log %s: policy text too large", log->dir);
		return NULL;
	}
	if ((it = malloc(sizeof(*it) + len + r.policy_text_len)) == NULL) {
		log_warn("audit log %s: queue allocation", log->dir);
		return NULL;
	}
	memset(it, 0, sizeof(*it));
	it->time_us = r.time_us;
	it->len = len;
	if (r.ends_session_until > 0 && r.session != NULL &&
	    strlen(r.session) < sizeof(it->ends_session)) {
		it->ends_until = r.ends_session_until;
		memcpy(it->ends_session, r.session, strlen(r.session) + 1);
	}
	audit_record_encode(&r, it->data);
	if (r.policy_text != NULL && r.policy_version != NULL) {
		/* The text travels after the record, in the same allocation. */
		memcpy(it->data + len, r.policy_text, r.policy_text_len);
		it->policy_text = it->data + len;
		it->policy_len = r.policy_text_len;
	}
	index_key(it, AUDIT_ID_NRN, log->max_key, &it->nrn_off, &it->nrn_len);
	index_key(it, AUDIT_ID_ORG, log->max_key, &it->org_off, &it->org_len);
	index_key(it, AUDIT_ID_FACILITY, log->max_key, &it->fac_off, &it->fac_len);
	return it;
}

/*
 * Called with mu held. Waits up to AUDIT_APPEND_WAIT_MS for room; never drops. While the
 * log cannot be written, new records are refused at once (the caller answers 503), but
 * a followup of a record accepted earlier (the outcome of a decision) is still queued:
 * it is written with the records it follows when the log works again.
 */
static int
wait_space(struct audit_log *log, int followup)
{
	int64_t deadline = eg_mono_ms() + AUDIT_APPEND_WAIT_MS;
	struct timespec ts;

	mono_ts(deadline, &ts);
	while ((!log->failed || followup) && !log->stop && log->q_count >= EG_MAX_AUDIT_QUEUE) {
		if (pthread_cond_timedwait(&log->space, &log->mu, &ts) == ETIMEDOUT &&
		    log->q_count >= EG_MAX_AUDIT_QUEUE) {
			log_warnx("audit log %s: queue full for %d ms, record refused", log->dir,
			    AUDIT_APPEND_WAIT_MS);
			return EG_ERR_AUDIT;
		}
	}
	if ((log->failed && !followup) || log->stop) {
		/* Once per outage: under load every request would say it again. */
		if (log->refused_warned++ == 0)
			log_warnx("audit log %s: %s, records refused", log->dir,
			    log->stop ? "log is closing" : "the log cannot be written now");
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

/* Called with mu held: waits until seq is committed or the writer failed. */
static int
wait_committed(struct audit_log *log, uint64_t seq)
{
	log->urgent++;
	pthread_cond_signal(&log->wake);
	while (log->committed_seq < seq && !log->failed)
		pthread_cond_wait(&log->done, &log->mu);
	log->urgent--;
	return log->committed_seq >= seq ? EG_OK : EG_ERR_AUDIT;
}

static int name_key(struct audit_log *log, struct audit_key *k, const char *why,
    int64_t time_us);

/* new_key: rec is a key-change record naming it; the writer signs with it after the
 * record (and owns it from here on, also on failure). */
static int
append(struct audit_log *log, const struct audit_record *rec, int followup,
    uint64_t *seq_out, struct audit_key *new_key)
{
	struct audit_key *first = NULL;
	struct audit_item *it;
	uint64_t seq;
	int rc;

	if (log == NULL || rec == NULL || (it = item_new(log, rec)) == NULL) {
		audit_key_free(new_key);
		return EG_ERR_AUDIT;
	}
	pthread_mutex_lock(&log->mu);
	if (new_key == NULL && (first = log->name_first) != NULL) {
		/* A new log's first record: the key-change record naming its key goes first,
		 * with this record's time. */
		log->name_first = NULL;
		pthread_mutex_unlock(&log->mu);
		if ((rc = name_key(log, first, "checkpoint-key", it->time_us)) != EG_OK) {
			free(it);
			return rc;
		}
		pthread_mutex_lock(&log->mu);
	}
	if ((rc = wait_space(log, followup)) != EG_OK) {
		pthread_mutex_unlock(&log->mu);
		audit_key_free(new_key);
		free(it);
		return rc;
	}
	if ((it->new_key = new_key) != NULL) {
		memcpy(log->named_key, audit_key_id(new_key), AUDIT_KEYID_LEN);
		log->has_named_key = 1;
	}
	/* Numbered under the lock in queue order, so the writer stores seqs in order. */
	seq = it->seq = log->next_seq++;
	audit_be64_put(it->data + AUDIT_OFF_SEQ, seq);
	if (log->q_tail == NULL) {
		log->q_head = it;
		log->q_first_us = audit_mono_us();
		log->q_first_ms = log->q_first_us / 1000;
	} else {
		log->q_tail->next = it;
	}
	log->q_tail = it;
	/* it belongs to the writer from here on. */
	/* Wake the writer for the first record of a batch (it sleeps without a deadline
	 * on an empty queue, so it must start the batch_ms clock) and for a full batch. */
	if (++log->q_count == 1 || log->q_count >= (size_t)log->batch_records)
		pthread_cond_signal(&log->wake);
	rc = EG_OK;
	if (log->sync == AUDIT_SYNC_FULL && (rc = wait_committed(log, seq)) != EG_OK)
		log_warnx("audit log %s: seq %llu not committed", log->dir,
		    (unsigned long long)seq);
	pthread_mutex_unlock(&log->mu);
	if (rc == EG_OK && seq_out != NULL)
		*seq_out = seq;
	return rc;
}

int
audit_append(struct audit_log *log, const struct audit_record *rec, uint64_t *seq_out)
{
	return append(log, rec, 0, seq_out, NULL);
}

int
audit_append_followup(struct audit_log *log, const struct audit_record *rec)
{
	return append(log, rec, 1, NULL, NULL);
}

/* Appends the key-change record naming k (taken) with time time_us (0: now). */
static int
name_key(struct audit_log *log, struct audit_key *k, const char *why, int64_t time_us)
{
	struct audit_record rec;
	char *spki = audit_key_spki_b64(k), id[5 + 2 * AUDIT_KEYID_LEN + 1];
	int rc;

	if (spki == NULL) {
		audit_key_free(k);
		return EG_ERR_NOMEM;
	}
	memset(&rec, 0, sizeof(rec));
	/* Every record has an id to be found by; this one names the key. */
	memcpy(id, "keys-", 5);
	eg_hex(audit_key_id(k), AUDIT_KEYID_LEN, id + 5);
	id[5 + 16] = '\0';
	rec.request_id = id;
	rec.time_us = time_us;
	rec.kind = "key-change";
	rec.client = "local";
	rec.reason = why;
	rec.key = spki;
	rc = append(log, &rec, 0, NULL, k);
	free(spki);
	return rc;
}

/* ... and waits for its commit (with the old key's checkpoint at it). */
int
audit_name_key(struct audit_log *log, struct audit_key *k, const char *why,
    int64_t time_us)
{
	int rc = name_key(log, k, why, time_us);

	return rc == EG_OK ? audit_flush(log) : rc;
}

int
audit_rekey(struct audit_log *log, struct keys *keys)
{
	struct audit_key *k = NULL;
	int same, rc;

	if (log == NULL || keys == NULL)
		return EG_OK;
	if ((rc = audit_key_from_keys(keys, &k)) != EG_OK)
		return rc;
	if (k == NULL)
		return EG_OK;   /* no checkpoint key configured now: the old one stays */
	pthread_mutex_lock(&log->mu);
	if (log->name_first != NULL) {
		/* Nothing written yet: the first record will name the key now configured. */
		audit_key_free(log->name_first);
		log->name_first = k;
		pthread_mutex_unlock(&log->mu);
		return EG_OK;
	}
	same = log->has_named_key &&
	    memcmp(log->named_key, audit_key_id(k), AUDIT_KEYID_LEN) == 0;
	pthread_mutex_unlock(&log->mu);
	if (same) {
		audit_key_free(k);
		return EG_OK;
	}
	log_info("audit log %s: the checkpoint key changes; the old key signs the change",
	    log->dir);
	return audit_name_key(log, k, "checkpoint-key-rotated", 0);
}

int
audit_writable(struct audit_log *log)
{
	int ok;

	if (log == NULL)
		return 0;
	pthread_mutex_lock(&log->mu);
	ok = !log->failed && !log->stop;
	pthread_mutex_unlock(&log->mu);
	return ok;
}

void
audit_stats(struct audit_log *log, struct audit_stats *st)
{
	pthread_mutex_lock(&log->mu);
	st->queued = log->q_count;
	st->committed_seq = log->committed_seq;
	st->commits = log->n_commits;
	st->commit_us_sum = log->commit_us_sum;
	st->writable = !log->failed && !log->stop;
	pthread_mutex_unlock(&log->mu);
}

int
audit_flush(struct audit_log *log)
{
	int rc;

	if (log == NULL)
		return EG_ERR_AUDIT;
	pthread_mutex_lock(&log->mu);
	rc = wait_committed(log, log->next_seq - 1);
	pthread_mutex_unlock(&log->mu);
	return rc;
}

/*
 * A FULL appender waits for an fsync anyway; making the commit wait a little longer
 * lets the other request threads' records into the same fsync. The target is the size
 * of the last FULL batch, i.e. how many appenders were seen together: a lone appender
 * (target 1) never waits, and when fewer than the target come the linger ends after
 * linger_us and the target drops to what came. Returns 1 to commit now, or 0 with *ts
 * set to when to look again.
 */
static int
full_ready(struct audit_log *log, struct timespec *ts)
{
	size_t target = log->full_peak;
	int64_t deadline;

	if (target > (size_t)log->batch_records)
		target = (size_t)log->batch_records;
	if (log->sync != AUDIT_SYNC_FULL || log->failed || log->q_count >= target ||
	    log->linger_us <= 0)
		return 1;
	deadline = log->q_first_us + log->linger_us;
	if (audit_mono_us() >= deadline)
		return 1;
	mono_ts_us(deadline, ts);
	return 0;
}

/*
 * Called with mu held; returns when there is a batch to write, the log stops, or
 * housekeeping is due at `due_ms` (monotonic). Callers waiting for durability (FULL
 * appends, flush) make the writer go soon: a batch is then whatever queued while the
 * previous commit ran plus the FULL linger, which is what makes group commit cheap.
 */
static void
wait_work(struct audit_log *log, int64_t due_ms)
{
	struct timespec ts;
	int64_t deadline;

	while (!log->stop) {
		if (log->failed) {
			/* Retrying at once would spin on a full disk: wait, then try again. */
			if (eg_mono_ms() >= log->retry_at)
				return;
			mono_ts(log->retry_at, &ts);
			(void)pthread_cond_timedwait(&log->wake, &log->mu, &ts);
			continue;
		}
		if (log->q_count > 0 && (log->urgent > 0 ||
		    log->q_count >= (size_t)log->batch_records)) {
			if (log->q_count >= (size_t)log->batch_records || full_ready(log, &ts))
				return;
			(void)pthread_cond_timedwait(&log->wake, &log->mu, &ts);
			continue;
		}
		deadline = log->q_count == 0 ? due_ms : log->q_first_ms + log->batch_ms;
		if (log->q_count > 0 && deadline > due_ms)
			deadline = due_ms;
		if (eg_mono_ms() >= deadline)
			return;
		mono_ts(deadline, &ts);
		(void)pthread_cond_timedwait(&log->wake, &log->mu, &ts);
	}
}

static void
free_batch(struct audit_item *it)
{
	while (it != NULL) {
		struct audit_item *next = it->next;

		audit_key_free(it->new_key);
		free(it);
		it = next;
	}
}

/* Called with mu held: puts a batch that could not be written back at the head of the
 * queue, before whatever was queued meanwhile, so that it is retried in seq order. */
static void
requeue(struct audit_log *log, struct audit_item *batch)
{
	struct audit_item *tail = batch;
	size_t n = 1;

	while (tail->next != NULL) {
		tail = tail->next;
		n++;
	}
	tail->next = log->q_head;
	if (log->q_tail == NULL)
		log->q_tail = tail;
	if (log->q_head == NULL)
		log->q_first_us = audit_mono_us();
	log->q_head = batch;
	log->q_count += n;
	log->q_first_ms = log->q_first_us / 1000;
}

/*
 * Called with mu held, after a write attempt of seqs first..last. A batch that failed is
 * kept and retried every AUDIT_RETRY_MS; meanwhile the log refuses new records (so the
 * gateway forwards nothing) and FULL appenders waiting for it are told it failed. Records
 * already accepted are never dropped while the log is open.
 */
static void
finish_batch(struct audit_log *log, struct audit_item *batch, int rc, uint64_t first,
    uint64_t last, int64_t took_us)
{
	if (rc == EG_OK) {
		log->committed_seq = last;
		log->n_commits++;
		log->commit_us_sum += (uint64_t)took_us;
		if (log->failed)
			log_info("audit log %s: written again from seq %llu; records are accepted "
			    "again", log->dir, (unsigned long long)first);
		log->failed = 0;
		log->refused_warned = 0;
		free_batch(batch);
	} else {
		if (!log->failed)
			log_warnx("audit log %s: seq %llu..%llu cannot be written; new records are "
			    "refused (the gateway answers 503) and the batch is retried every %d ms",
			    log->dir, (unsigned long long)first, (unsigned long long)last,
			    AUDIT_RETRY_MS);
		log->failed = 1;
		log->retry_at = eg_mono_ms() + AUDIT_RETRY_MS;
		requeue(log, batch);
	}
	pthread_cond_broadcast(&log->done);
}

/* Called with mu held: detaches the queue. */
static struct audit_item *
take_batch(struct audit_log *log, uint64_t *first, uint64_t *last)
{
	struct audit_item *batch = log->q_head;

	if (batch == NULL)
		return NULL;
	*first = batch->seq;
	*last = log->next_seq - 1;      /* the queue holds every seq up to it */
	if (log->sync == AUDIT_SYNC_FULL)
		log->full_peak = log->q_count;
	log->q_head = log->q_tail = NULL;
	log->q_count = 0;
	pthread_cond_broadcast(&log->space);
	return batch;
}

void *
audit_writer_main(void *arg)
{
	struct audit_log *log = arg;
	int64_t due = eg_mono_ms();

	pthread_mutex_lock(&log->mu);
	for (;;) {
		struct audit_item *batch;
		uint64_t first = 0, last = 0;
		int rc = EG_OK, stop;
		int64_t t0;

		wait_work(log, due);
		batch = take_batch(log, &first, &last);
		stop = log->stop;
		if (batch == NULL && stop)
			break;
		pthread_mutex_unlock(&log->mu);

		t0 = audit_mono_us();
		if (batch != NULL)
			rc = audit_store_write_batch(log, batch);
		/* After the batch, so a checkpoint due by time covers it too. */
		due = rc != EG_OK ? eg_mono_ms() + AUDIT_RETRY_MS : audit_housekeep(log,
		    eg_mono_ms());

		pthread_mutex_lock(&log->mu);
		if (rc != EG_OK && stop) {
			/* Closing and still failing: nothing is left to retry with. */
			log_warnx("audit log %s: closing with seq %llu..%llu unwritten", log->dir,
			    (unsigned long long)first, (unsigned long long)last);
			free_batch(batch);
			log->failed = 1;
			pthread_cond_broadcast(&log->done);
			break;
		}
		if (batch != NULL)
			finish_batch(log, batch, rc, first, last, audit_mono_us() - t0);
	}
	pthread_mutex_unlock(&log->mu);
	/* Signing gave this thread its own DRBG: free it now rather than rely on OpenSSL's
	 * thread-exit hook, which LeakSanitizer shows does not always run before exit. */
	OPENSSL_thread_stop();
	return NULL;
}

/*
 * Runs in the writer thread between batches. mdb_reader_check at open only is not
 * enough for a daemon that runs for months while report scripts get killed: their
 * stale slots pin old pages and the file grows (LIBNOTES). The time-based checkpoint
 * covers the last records of a burst that did not reach ckpt_every.
 */
int64_t
audit_housekeep(struct audit_log *log, int64_t now)
{
	int64_t next;
	int dead = 0, rc;

	if (now >= log->reader_check_at) {
		if ((rc = mdb_reader_check(log->env, &dead)) != 0)
			log_warnx("audit log %s: reader check: %s", log->dir, mdb_strerror(rc));
		else if (dead > 0)
			log_info("audit log %s: freed %d reader slots of dead processes",
			    log->dir, dead);
		pthread_mutex_lock(&log->mu);
		log->n_dead_readers += (uint64_t)dead;
		pthread_mutex_unlock(&log->mu);
		log->reader_check_at = now + log->reader_check_ms;
	}
	if (log->ckpt_key != NULL && log->last_seq_written > log->ckpt_seq &&
	    now - log->ckpt_ms >= log->ckpt_every_ms && audit_store_checkpoint(log) != EG_OK)
		log_warnx("audit log %s: time-based checkpoint failed; retrying", log->dir);
	next = log->reader_check_at;
	if (log->ckpt_key != NULL && log->last_seq_written > log->ckpt_seq &&
	    log->ckpt_ms + log->ckpt_every_ms < next)
		next = log->ckpt_ms + log->ckpt_every_ms;
	return next;
}
