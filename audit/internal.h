/*
 * internal.h - what the files of audit/ share and nobody else uses.
 *
 * Stored layout (format 1), one LMDB environment per log directory:
 *   "log"         key: 8-byte big-endian seq       value: prev_hash[32] || encoded record
 *   "meta"        "format" (1 byte), "last_seq" (8 bytes BE), "head" (32 bytes)
 *   "by_nrn", "by_org", "by_facility"   DUPSORT|DUPFIXED, key: the string, value: seq BE
 *   "by_time"     DUPSORT|DUPFIXED, key: time_us (8 bytes BE), value: seq BE
 *   "checkpoints" key: seq (8 bytes BE)  value: version (1) || time_us (8 BE) ||
 *                 hash[32] || key_id[32] || DER ECDSA signature (checkpoint.c)
 *   "ended"       key: a session's public id   value: until (8 bytes BE, seconds): the
 *                 sessions a logout or a revoked card ended (audit_ended_sessions)
 *   "policies"    key: a policy version (policy_version)   value: the policy file's
 *                 text, written once with the first "policy" record naming it
 *   meta also holds, once `eidgate audit archive` removed a prefix of the log,
 *   "archived_seq" (8 bytes BE) and "archived_hash" (32): the last archived record, so
 *   that a writer reopening an emptied log continues the chain (archive.c).
 * A record's hash is SHA-256 over its whole stored value, i.e. SHA-256(prev_hash ||
 * encoded record); the first record's prev_hash is 32 zero bytes.
 *
 * Encoded record: version byte, time_us (i64), seq (u64), upstream_status (i32), bytes
 * (u64), latency_us (u64), all big-endian, then for each present string in increasing
 * field id order: id (1 byte), length (2 bytes BE), bytes (no NUL inside).
 */
#ifndef EIDGATE_AUDIT_INTERNAL_H
#define EIDGATE_AUDIT_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <lmdb.h>

#include "eidgate/audit.h"
#include "eidgate/limits.h"
#include "eidgate/util.h"

/*
 * Tuning of the access log. Its caps on input (EG_MAX_AUDIT_QUEUE, EG_MAX_AUDIT_FIELD)
 * are in limits.h.
 */
/* How long a full queue may hold up a request before it is refused. */
#define AUDIT_APPEND_WAIT_MS 1000
/* The map doubles on MDB_MAP_FULL up to this size (sparse file: cheap until used). */
#define AUDIT_MAX_MAP (1ULL << 40)
/* Map size when the caller gives none. */
#define AUDIT_DEFAULT_MAP (1ULL << 30)
/* log, meta, 4 indexes, checkpoints, ended sessions, policies, and one spare. */
#define AUDIT_MAX_DBS 10
/* A batch that could not be written is tried again this often (a full disk, a file
 * size limit: the operator fixes it, the gateway goes on without a restart). */
#define AUDIT_RETRY_MS 200
/* How long a FULL commit may wait for more appenders to join its batch (see writer.c). */
#define AUDIT_FULL_LINGER_US 1000
/* The writer frees the reader slots of dead processes this often (LIBNOTES: a killed
 * reader pins old pages and the file grows). */
#define AUDIT_READER_CHECK_MS 5000
/* A signed checkpoint at least this often while records arrive, and every this many. */
#define AUDIT_CKPT_MS 1000
#define AUDIT_CKPT_RECORDS 1000

#define AUDIT_FORMAT 1
/* A session's public id, as the records' session field holds it (16 hex digits). */
#define AUDIT_SESSION_MAX 32
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

/* record.c: the string fields, in id order; ids are part of the format and never reused.
 * They run 1..audit_nfields without gaps: audit_fields[id - 1] has that id. */
struct audit_field {
	unsigned char id;
	const char *name;       /* snake_case name used by JSON and CSV (PRODUCT §7) */
	size_t off;             /* offsetof(struct audit_record, <field>) */
};
extern const struct audit_field audit_fields[];
extern const size_t audit_nfields;

const char *audit_field_get(const struct audit_record *r, const struct audit_field *f);
/* The field of an id, NULL when none has it. */
const struct audit_field *audit_field_by_id(unsigned id);
/* Bytes needed for the stored value of r (prev hash included), or 0 when a string is
 * longer than EG_MAX_AUDIT_FIELD (then *bad names the field). */
size_t audit_record_size(const struct audit_record *r, const char **bad);
/* Writes r into out (exactly audit_record_size bytes), prev hash zeroed. */
void audit_record_encode(const struct audit_record *r, unsigned char *out);
/* Decodes a stored value. Strings go into buf (needs len bytes) and r points into it.
 * Returns 0 or -1 with *why set; never reads outside val[0..len). */
int audit_record_decode(const unsigned char *val, size_t len, struct audit_record *r,
    char *buf, size_t buflen, const char **why);

/* A growing buffer for a decoded record's strings (its owner frees p). */
struct audit_strbuf {
	char *p;
	size_t cap;
};
/* audit_record_decode into b, grown to len first. 0, or -1 with *why set ("out of
 * memory" included). */
int audit_record_decode_buf(const unsigned char *val, size_t len, struct audit_record *r,
    struct audit_strbuf *b, const char **why);

/* Finds string field `id` in a stored value: offset and length of its bytes, or -1. */
int audit_record_find(const unsigned char *val, size_t len, unsigned id, size_t *off,
    size_t *flen);
/* Field ids the writer indexes. */
#define AUDIT_ID_NRN 4
#define AUDIT_ID_ORG 7
#define AUDIT_ID_FACILITY 8
#define AUDIT_ID_POLICY_VERSION 16

/* chain.c */
int audit_chain_hash(const void *value, size_t len, unsigned char out[AUDIT_HASH_LEN]);
/* The same as hex (AUDIT_HEX_LEN bytes), as records show it. EG_OK or EG_ERR_CRYPTO. */
int audit_chain_hex(const void *value, size_t len, char hex[AUDIT_HEX_LEN]);
/* The hash of record seq in the log DBI: EG_OK, EG_ERR_NOT_FOUND (no such record),
 * EG_ERR_AUDIT (reading failed) or EG_ERR_CRYPTO. */
int audit_hash_at(MDB_txn *txn, MDB_dbi log, uint64_t seq, unsigned char out[AUDIT_HASH_LEN]);
/* Record seq of the log DBI, decoded into r (its strings in b; the caller frees b->p)
 * with its hash. 0; an LMDB code (MDB_NOTFOUND: no such record); or AUDIT_CORRUPT when
 * the stored value does not decode, names another seq or cannot be hashed (*why). */
#define AUDIT_CORRUPT (-1)
int audit_record_get(MDB_txn *txn, MDB_dbi log, uint64_t seq, struct audit_record *r,
    struct audit_strbuf *b, unsigned char hash[AUDIT_HASH_LEN], const char **why);

/* env.c: the read side shared by query and verify, and the DBI names. */
struct audit_dbis {
	MDB_dbi log, meta, by_nrn, by_org, by_facility, by_time, ckpt, ended, policies;
	int has_ckpt;           /* readers: a log written without a key has no such DBI */
	int has_ended;          /* readers: nor has a log in which no session ended */
	int has_policies;       /* readers: nor a log from before policies were kept */
};
int audit_env_open_ro(const char *dir, MDB_env **env, char *err, size_t errlen);
/* Begins a read txn, adopting a map grown by the writer (MDB_MAP_RESIZED). */
int audit_txn_begin_ro(MDB_env *env, const char *dir, MDB_txn **txn, char *err,
    size_t errlen);
/* Opens the DBIs; flags is 0 for readers, MDB_CREATE for the writer. Returns the LMDB
 * code: MDB_NOTFOUND for readers means an empty log. A missing "checkpoints" DBI is not
 * an error for readers: d->has_ckpt says whether it exists. */
int audit_dbis_open(MDB_txn *txn, unsigned int flags, struct audit_dbis *d);
/* A log opened read-only with one read transaction (audit_read_open). */
struct audit_read {
	MDB_env *env;
	MDB_txn *txn;
	struct audit_dbis d;
	int dbi_rc;             /* audit_dbis_open's code: 0; MDB_NOTFOUND: no records yet;
	                         * another: the DBIs cannot be read (only when not strict) */
};
/* Opens dir read-only, begins a read transaction and opens the DBIs into rd->d. EG_OK
 * with the transaction open (see rd->dbi_rc), or EG_ERR_AUDIT with err set and nothing
 * left open. With strict, a DBI error other than MDB_NOTFOUND is EG_ERR_AUDIT too
 * ("audit log DIR: ..."); without, it is the caller's to judge. */
int audit_read_open(const char *dir, int strict, struct audit_read *rd, char *err,
    size_t errlen);
/* Ends what audit_read_open began; safe on a closed rd. */
void audit_read_close(struct audit_read *rd);
/* Is dir (by device and inode) open for writing in this process? (store.c) */
int audit_dir_is_writing(dev_t dev, ino_t ino);

/* policies.c, for verify.c: a "policy" record met by the walk (the version it names
 * and the SHA-256 of the text it vouches for). */
struct audit_polseen {
	uint64_t seq;
	char version[EG_MAX_ID];
	char sha[AUDIT_HEX_LEN];
};
/* Checks the "policies" DBI against the records seen: each seen version's text is kept
 * and hashes to what its record names; with complete (the walk started at seq 1) no
 * text is kept that no seen record names. 0: all agree; 1: *bad_seq (0 for a text no
 * record names) and why say what is wrong; -1: the DBI cannot be read (why set). */
int audit_policies_check(MDB_txn *txn, const struct audit_dbis *d,
    const struct audit_polseen *seen, size_t n, int complete, uint64_t *bad_seq,
    char *why, size_t whylen);

/* query.c: the query of audit_query inside a read transaction the caller owns. */
int audit_query_txn(MDB_txn *txn, const char *dir, const struct audit_filter *f,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen);

/* checkpoint.c: keys and signed checkpoints. */
#define AUDIT_CKPT_DOMAIN "eidgate-audit-checkpoint-v1"
#define AUDIT_CKPT_MSG_LEN (sizeof(AUDIT_CKPT_DOMAIN) - 1 + 8 + AUDIT_HASH_LEN + 8)
#define AUDIT_CKPT_VAL_MAX (1 + 8 + AUDIT_HASH_LEN + AUDIT_KEYID_LEN + AUDIT_SIG_MAX)
#define AUDIT_CKPT_VERSION 1

const unsigned char *audit_key_id(const struct audit_key *k);
/* base64url of k's DER SubjectPublicKeyInfo, for a key-change record; malloc'd or NULL. */
char *audit_key_spki_b64(const struct audit_key *k);
/* A public key from that text; NULL when it is not an EC P-256 key. */
struct audit_key *audit_key_from_spki_b64(const char *text);
/* The DER SubjectPublicKeyInfo of k into out (room len): its length, or 0. */
size_t audit_key_spki(const struct audit_key *k, unsigned char *out, size_t len);
/* Keys replaced by a key change are chained here until the log closes. */
void audit_key_retire(struct audit_log *log, struct audit_key *k);
/* Puts k at the head of a list freed with audit_key_free(*list). */
void audit_key_chain(struct audit_key **list, struct audit_key *k);
/* The signed bytes: DOMAIN || seq BE8 || hash || time_us BE8 (out: AUDIT_CKPT_MSG_LEN). */
void audit_ckpt_message(const struct audit_ckpt *c, unsigned char *out);
/* Fills c->key_id and c->sig from seq, hash and time_us. EG_OK or EG_ERR_CRYPTO. */
int audit_ckpt_sign(const struct audit_key *k, struct audit_ckpt *c);
size_t audit_ckpt_encode(const struct audit_ckpt *c, unsigned char *out);
/* 0 or -1 (malformed) */
int audit_ckpt_decode(const MDB_val *k, const MDB_val *v, struct audit_ckpt *c);
/* verify.c: audit_verify inside a read transaction the caller owns (the gateway's own
 * log, audit_verify_live). */
int audit_verify_txn(MDB_txn *txn, const char *dir, const struct audit_verify_opts *o,
    struct audit_verify_result *res, char *err, size_t errlen);

/* archive.c: the archive file format, shared by `archive` and `verify --archive`. */
struct audit_archive_reader;
int audit_archive_open(const char *path, struct audit_archive_reader **out, char *err,
    size_t errlen);
/* Next stored value: 1 with val and len set (owned by the reader until the next call),
 * 0 at the end (then the trailer is in *trailer), -1 on a malformed file (err set). */
int audit_archive_next(struct audit_archive_reader *r, const unsigned char **val,
    size_t *len, struct audit_ckpt *trailer, char *err, size_t errlen);
void audit_archive_close(struct audit_archive_reader *r);

/* live.c: a read transaction on the live log's environment, under resize_lock. */
int audit_live_begin(struct audit_log *log, MDB_txn **txn);
void audit_live_end(struct audit_log *log, MDB_txn *txn);

/* mirror.c / merge.c: the merged view inside the gateway. */
const char *audit_mirror_instance(const struct audit_mirror *m);
/* Calls cb with the directory and name of each mirror under dir/peers whose name is a
 * valid instance name, until cb returns nonzero (then that value); 0 when all were
 * called or dir has no peers. */
int audit_each_mirror(const char *dir, int (*cb)(const char *mdir, const char *name, void *),
    void *arg);
int audit_merge_live(struct audit_log *log, struct audit_mirror *const *ms, size_t n,
    const struct audit_filter *f, int (*cb)(const struct audit_record *, void *),
    void *arg);

/* The writer side (store.c and writer.c). */
struct audit_item {
	struct audit_item *next;
	uint64_t seq;
	int64_t time_us;
	size_t len;                     /* of data */
	/* index keys inside data (len 0: not indexed) */
	size_t nrn_off, nrn_len, org_off, org_len, fac_off, fac_len;
	struct audit_key *new_key;      /* a key-change record: signs after it (owned) */
	int64_t ends_until;             /* the record ends the session named below, until */
	char ends_session[AUDIT_SESSION_MAX];
	const unsigned char *policy_text;       /* a policy record's text, after data */
	size_t policy_len;
	unsigned char data[];           /* the stored value; prev hash written by the writer */
};

struct audit_log {
	char *dir;
	char instance[AUDIT_INSTANCE_MAX + 1];  /* stamped on records that name none */
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
	struct audit_key *ckpt_key;     /* NULL: no checkpoints (no signing key given) */
	struct audit_key *retired;      /* keys replaced by a key change: freed at close,
	                                 * since live verification may still hold them */
	unsigned char named_key[AUDIT_KEYID_LEN];       /* the key the log last named in a
	                                                 * key-change record (meta) */
	int has_named_key;
	struct audit_key *name_first;   /* a new log's key, named by its first record;
	                                 * guarded by mu */
	uint64_t ckpt_seq;              /* last checkpointed seq */
	int64_t ckpt_ms;                /* monotonic ms of the last checkpoint */
	int64_t reader_check_at;        /* monotonic ms of the next mdb_reader_check */

	/* Tunables (tests and bench change them under mu); defaults from the constants. */
	int64_t linger_us;              /* AUDIT_FULL_LINGER_US */
	int64_t reader_check_ms;        /* AUDIT_READER_CHECK_MS */
	int64_t ckpt_every_ms;          /* AUDIT_CKPT_MS */
	uint64_t ckpt_every;            /* AUDIT_CKPT_RECORDS */
	/* Counters for tests and bench, under mu. */
	uint64_t n_commits, n_ckpts, n_dead_readers;
	uint64_t commit_us_sum;         /* time spent in committed batches (metrics) */
	size_t full_peak;               /* records in the last FULL batch: the linger target */

	pthread_t thread;
	int thread_started;
	/* Live readers in this process (audit_export_live, audit_verify_live) hold it
	 * shared for the length of a read transaction; growing the map holds it exclusive,
	 * because mdb_env_set_mapsize is legal only with no transaction open. */
	pthread_rwlock_t resize_lock;
	pthread_mutex_t mu;             /* protects everything below */
	pthread_cond_t wake;            /* writer: work or stop */
	pthread_cond_t done;            /* appenders/flushers: committed_seq moved or failed */
	pthread_cond_t space;           /* appenders: room in the queue */
	struct audit_item *q_head, *q_tail;
	size_t q_count;
	int64_t q_first_ms;             /* when the oldest queued record arrived */
	int64_t q_first_us;             /* the same in µs, for the FULL linger */
	uint64_t next_seq;
	uint64_t committed_seq;
	int urgent;                     /* callers waiting for a commit: don't linger */
	int failed;                     /* the last write failed: refuse, retry at retry_at */
	int64_t retry_at;               /* monotonic ms */
	unsigned long refused_warned;   /* records refused in this outage (warn once) */
	int stop;
};

/* store.c */
int audit_store_write_batch(struct audit_log *log, struct audit_item *batch);
/* Writes a checkpoint-only transaction when records are not yet covered (housekeep.c). */
int audit_store_checkpoint(struct audit_log *log);
/* Reader check and time-based checkpoint when due; returns the next monotonic ms at which
 * it wants to run again. Called by the writer without mu. */
int64_t audit_housekeep(struct audit_log *log, int64_t now_ms);
/* Meta helpers (store.c). */
int audit_meta_put(struct audit_log *log, MDB_txn *txn, const char *name, const void *v,
    size_t len);
int audit_meta_get(MDB_dbi meta, MDB_txn *txn, const char *name, MDB_val *d);
/* writer.c */
void *audit_writer_main(void *arg);
/* Appends a key-change record naming k (taken) with reason why and time time_us (0: now),
 * and waits for it. */
int audit_name_key(struct audit_log *log, struct audit_key *k, const char *why,
    int64_t time_us);
int64_t audit_mono_us(void);
int audit_cond_init(pthread_cond_t *c);

#endif
