/*
 * audit_int.h - what the files of audit/ share and nobody else uses.
 *
 * Stored layout (format 1), one LMDB environment per log directory:
 *   "log"         key: 8-byte big-endian seq       value: prev_hash[32] || encoded record
 *   "meta"        "format" (1 byte), "last_seq" (8 bytes BE), "head" (32 bytes)
 *   "by_nrn", "by_org", "by_facility"   DUPSORT|DUPFIXED, key: the string, value: seq BE
 *   "by_time"     DUPSORT|DUPFIXED, key: time_us (8 bytes BE), value: seq BE
 *   (a later issue adds "checkpoints" for signed checkpoints; AUDIT_MAX_DBS leaves room)
 * A record's hash is SHA-256 over its whole stored value, i.e. SHA-256(prev_hash ||
 * encoded record); the first record's prev_hash is 32 zero bytes.
 *
 * Encoded record: version byte, time_us (i64), seq (u64), upstream_status (i32), bytes
 * (u64), latency_us (u64), all big-endian, then for each present string in increasing
 * field id order: id (1 byte), length (2 bytes BE), bytes (no NUL inside).
 */
#ifndef EIDGATE_AUDIT_INT_H
#define EIDGATE_AUDIT_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <lmdb.h>

#include "eidgate/audit.h"

/*
 * Limits of the access log. They belong in limits.h; it was frozen while this module was
 * written, so they live here until the lead moves them.
 */
/* Queued, uncommitted records: ~64k x ~300 bytes = ~20 MB, and at the measured commit rate
 * well under a second of backlog. Beyond it appenders wait, then refuse (never drop). */
#define AUDIT_QUEUE_MAX 65536
/* How long a full queue may hold up a request before it is refused. */
#define AUDIT_APPEND_WAIT_MS 1000
/* The map doubles on MDB_MAP_FULL up to this size (sparse file: cheap until used). */
#define AUDIT_MAX_MAP (1ULL << 40)
/* Map size when the caller gives none. */
#define AUDIT_DEFAULT_MAP (1ULL << 30)
/* A string field's length is stored in 2 bytes. */
#define AUDIT_FIELD_MAX 65535
/* log, meta, 4 indexes, and room for checkpoints. */
#define AUDIT_MAX_DBS 8

#define AUDIT_FORMAT 1
#define AUDIT_HASH_LEN 32
#define AUDIT_HEX_LEN (2 * AUDIT_HASH_LEN + 1)
/* version, time_us, seq, upstream_status, bytes, latency_us */
#define AUDIT_HDR_LEN (1 + 8 + 8 + 4 + 8 + 8)
#define AUDIT_VALUE_MIN (AUDIT_HASH_LEN + AUDIT_HDR_LEN)
/* Offset of seq inside a stored value. */
#define AUDIT_OFF_TIME (AUDIT_HASH_LEN + 1)
#define AUDIT_OFF_SEQ (AUDIT_OFF_TIME + 8)

static inline void
audit_be64_put(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static inline uint64_t
audit_be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* record.c: the string fields, in id order; ids are part of the format and never reused. */
struct audit_field {
	unsigned char id;
	const char *name;       /* snake_case name used by JSON and CSV (PRODUCT §7) */
	size_t off;             /* offsetof(struct audit_record, <field>) */
};
extern const struct audit_field audit_fields[];
extern const size_t audit_nfields;

const char *audit_field_get(const struct audit_record *r, const struct audit_field *f);
/* Bytes needed for the stored value of r (prev hash included), or 0 when a string is
 * longer than AUDIT_FIELD_MAX (then *bad names the field). */
size_t audit_record_size(const struct audit_record *r, const char **bad);
/* Writes r into out (exactly audit_record_size bytes), prev hash zeroed. */
void audit_record_encode(const struct audit_record *r, unsigned char *out);
/* Decodes a stored value. Strings go into buf (needs len bytes) and r points into it.
 * Returns 0 or -1 with *why set; never reads outside val[0..len). */
int audit_record_decode(const unsigned char *val, size_t len, struct audit_record *r,
    char *buf, size_t buflen, const char **why);

/* Finds string field `id` in a stored value: offset and length of its bytes, or -1. */
int audit_record_find(const unsigned char *val, size_t len, unsigned id, size_t *off,
    size_t *flen);
/* Field ids the writer indexes. */
#define AUDIT_ID_NRN 4
#define AUDIT_ID_ORG 7
#define AUDIT_ID_FACILITY 8

/* chain.c */
int audit_chain_hash(const void *value, size_t len, unsigned char out[AUDIT_HASH_LEN]);

/* env.c: the read side shared by query and verify, and the DBI names. */
struct audit_dbis {
	MDB_dbi log, meta, by_nrn, by_org, by_facility, by_time;
};
void audit_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int audit_env_open_ro(const char *dir, MDB_env **env, char *err, size_t errlen);
/* Begins a read txn, adopting a map grown by the writer (MDB_MAP_RESIZED). */
int audit_txn_begin_ro(MDB_env *env, const char *dir, MDB_txn **txn, char *err,
    size_t errlen);
/* Opens the DBIs; flags is 0 for readers, MDB_CREATE for the writer. Returns the LMDB
 * code: MDB_NOTFOUND for readers means an empty log. */
int audit_dbis_open(MDB_txn *txn, unsigned int flags, struct audit_dbis *d);
/* Is dir (by device and inode) open for writing in this process? (store.c) */
int audit_dir_is_writing(dev_t dev, ino_t ino);

/* query.c / verify.c with error text for the command line instead of the log. */
int audit_query_dir(const char *dir, const struct audit_filter *f,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen);

struct audit_verify_result {
	uint64_t records;
	uint64_t bad_seq;               /* 0 when the chain is intact */
	char head[AUDIT_HEX_LEN];       /* hex hash of the last record (zeros when empty) */
	char why[160];                  /* what is wrong at bad_seq */
};
/* EG_OK when the whole chain checks; EG_ERR_AUDIT with res->bad_seq set when it is
 * broken, or with bad_seq 0 and err set when the log cannot be read. */
int audit_verify(const char *dir, struct audit_verify_result *res, char *err,
    size_t errlen);

/* The writer side (store.c and writer.c). */
struct audit_item {
	struct audit_item *next;
	uint64_t seq;
	int64_t time_us;
	size_t len;                     /* of data */
	/* index keys inside data (len 0: not indexed) */
	size_t nrn_off, nrn_len, org_off, org_len, fac_off, fac_len;
	unsigned char data[];           /* the stored value; prev hash written by the writer */
};

struct audit_log {
	char *dir;
	MDB_env *env;
	struct audit_dbis dbi;
	int lockfd;                     /* flock'ed writer.lock: one writer per log */
	dev_t dev;
	ino_t ino;
	pid_t pid;                      /* a forked child does not hold our LMDB locks */
	struct audit_log *reg_next;     /* registry of logs open in this process */
	enum audit_sync sync;
	int batch_records;
	int batch_ms;
	size_t max_key;                 /* mdb_env_get_maxkeysize */

	/* Writer-thread state: only the writer touches these after audit_open. */
	unsigned char head[AUDIT_HASH_LEN];
	uint64_t last_seq_written;

	pthread_t thread;
	int thread_started;
	pthread_mutex_t mu;             /* protects everything below */
	pthread_cond_t wake;            /* writer: work or stop */
	pthread_cond_t done;            /* appenders/flushers: committed_seq moved or failed */
	pthread_cond_t space;           /* appenders: room in the queue */
	struct audit_item *q_head, *q_tail;
	size_t q_count;
	int64_t q_first_ms;             /* when the oldest queued record arrived */
	uint64_t next_seq;
	uint64_t committed_seq;
	int urgent;                     /* callers waiting for a commit: don't linger */
	int failed;
	int stop;
};

/* store.c */
int audit_store_write_batch(struct audit_log *log, struct audit_item *batch);
/* writer.c */
void *audit_writer_main(void *arg);
int audit_cond_init(pthread_cond_t *c);

#endif
