/*
 * audit.h - the access log: every decision, login, logout and rights change, one record
 * each, hash-chained, in LMDB under [audit] db (PRODUCT.md §7).
 *
 * Writing: audit_open() starts one writer thread. audit_append() copies the record into
 * the writer's queue and returns; the writer commits queued records in batches (group
 * commit). Durability:
 *   AUDIT_SYNC_FULL  - audit_append() returns only after the record's transaction is
 *                      committed and fsync'ed.
 *   AUDIT_SYNC_GROUP - audit_append() returns once the record is queued; the writer
 *                      commits at least every `batch_ms` and fsyncs each batch.
 *   AUDIT_SYNC_NONE  - as GROUP but LMDB does not fsync (MDB_NOSYNC): a crash of the
 *                      machine (not of the process) can lose the last batches.
 * In FULL mode the writer gathers concurrent appenders into one fsync: when the last
 * FULL batch held k records it waits up to 1 ms for k records (at most batch_records)
 * before committing; a single appender (k = 1) never waits. In every mode a record is
 * durable once audit_flush() (or a FULL audit_append) has returned EG_OK; in GROUP mode
 * a crash of the process or machine loses at most the last batch_ms of acknowledged
 * records (plus the commit in progress).
 * If the log cannot be written (disk full, map cannot grow, writer failed) audit_append
 * returns EG_ERR_AUDIT and the caller must refuse the request: nothing is served unlogged.
 *
 * Checkpoints: with a signing key (audit_options.signing_key) the writer signs the chain
 * head: ECDSA P-256 with SHA-256 over the bytes
 *     "eidgate-audit-checkpoint-v1" || seq (8 bytes BE) || hash (32) || time_us (8 BE)
 * and stores it, in the same transaction as the records it covers, in the DBI
 * "checkpoints" (key: seq BE). `eidgate audit verify --key` checks them;
 * `eidgate audit checkpoint --export` prints the latest to keep elsewhere.
 *
 * Housekeeping: the writer frees the reader slots of dead reader processes every 5 s
 * (mdb_reader_check), not only at open, so a killed report script does not pin pages.
 *
 * Reading: audit_query() opens the same directory read-only (MDB_RDONLY) from any
 * process, including while a gateway writes; it never blocks the writer.
 *
 * Thread safety: audit_append() may be called from any thread concurrently.
 * audit_open/audit_close from one thread only.
 */
#ifndef EIDGATE_AUDIT_H
#define EIDGATE_AUDIT_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

enum audit_sync { AUDIT_SYNC_FULL, AUDIT_SYNC_GROUP, AUDIT_SYNC_NONE };

struct audit_options {
	const char *dir;        /* LMDB environment directory; created if missing (0700) */
	uint64_t map_size;      /* initial map size in bytes; grown on MDB_MAP_FULL */
	enum audit_sync sync;
	int batch_records;      /* commit after this many records (default 1000 when 0) */
	int batch_ms;           /* ... or after this many milliseconds (default 5 when 0) */
	/*
	 * [audit] signing_key: path of an EC P-256 private key in PEM (mode 0600 or
	 * stricter, else audit_open fails). With it the writer stores a signed checkpoint
	 * of the chain head (see "Checkpoints" above) every second while records arrive,
	 * every 1,000 records, at audit_open when records are not yet covered, and at
	 * audit_close. NULL or "": no checkpoints (a warning is logged); the chain still
	 * detects a changed record, but not a rewritten chain nor a cut tail.
	 */
	const char *signing_key;
};

/*
 * One record. Every string may be NULL (stored as absent). Strings are copied by
 * audit_append(); in records handed to a query callback they are owned by the query and
 * valid only during the callback.
 *
 * kind: "request", "login", "login-refused", "logout", "rights".
 * decision: "allow" or "deny" (for rights records: "allow" when the change was made).
 */
struct audit_record {
	uint64_t seq;           /* assigned by the writer, starting at 1; ignored on append */
	int64_t time_us;        /* µs since epoch; audit_append fills it when 0 */
	const char *kind;
	const char *request_id;
	const char *client;     /* client address */
	const char *nrn;        /* national number of the user (full: this log is protected) */
	const char *cert_sha256;
	const char *session;    /* session id hash, never the token */
	const char *org;
	const char *facility;
	const char *capacity;
	const char *method;
	const char *path;       /* normalised path without query string */
	const char *rule;
	const char *decision;
	const char *reason;
	const char *backend;
	const char *policy_version;
	int upstream_status;    /* 0 when no upstream was involved */
	uint64_t bytes;         /* response body bytes sent to the client */
	uint64_t latency_us;
	/* rights changes */
	const char *actor;
	const char *action;     /* "grant" or "revoke" */
	const char *target;     /* national number of the person whose rights change */
	const char *role;
	const char *scope;      /* "organisation:<n>", "facility:<id>", "region:<r>" */
	/* filled by audit on read: hex SHA-256 of this record's chained hash */
	const char *hash;
};

struct audit_log;

/* Opens (creating if needed) the log and starts the writer thread. On success *out is
 * set and EG_OK returned. Errors: EG_ERR_AUDIT (with a message on stderr via log.h). */
int audit_open(const struct audit_options *opt, struct audit_log **out);

/* Queues a copy of *rec (see durability above). Returns EG_OK or EG_ERR_AUDIT. On
 * success and when seq_out is not NULL, *seq_out is the record's sequence number. */
int audit_append(struct audit_log *log, const struct audit_record *rec, uint64_t *seq_out);

/* Blocks until every record queued before the call is committed. EG_OK or EG_ERR_AUDIT. */
int audit_flush(struct audit_log *log);

/* Flushes, stops the writer and closes the environment. NULL is allowed. */
void audit_close(struct audit_log *log);

struct audit_filter {
	const char *nrn, *org, *facility, *decision, *kind;   /* NULL = any */
	int64_t since_us, until_us;                            /* 0 = unbounded */
	uint64_t limit;                                        /* 0 = all */
	int newest_first;       /* audit_export_live only: the newest `limit`, newest first */
};

/* Calls cb for each record matching f, oldest first, from a read-only view of dir.
 * A non-zero return from cb stops the walk and is returned. Errors: EG_ERR_AUDIT. */
int audit_query(const char *dir, const struct audit_filter *f,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg);

/* ==== Reading the live log inside the gateway (audit/live.c) ====
 *
 * The gateway cannot open its own log a second time (LMDB locks are per process), so its
 * security officers' pages read through the writer's environment with these. They run
 * read transactions on the calling thread and never block the writer; while one runs,
 * growing the map waits. Thread safety: any thread, concurrently.
 */
enum audit_export_fmt { AUDIT_EXPORT_JSON, AUDIT_EXPORT_CSV };

/* Calls cb for each record matching f, oldest first, as audit_query() does. */
int audit_query_live(struct audit_log *log, const struct audit_filter *f,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg);

/* Writes the records matching f to out: JSON lines (fields as `eidgate audit query`) or
 * CSV with a header line. With f->newest_first the newest f->limit come first.
 * EG_OK or EG_ERR_AUDIT. */
int audit_export_live(struct audit_log *log, const struct audit_filter *f,
    enum audit_export_fmt fmt, FILE *out);

struct audit_live_status {
	uint64_t records;               /* in the live log */
	uint64_t checkpoint_seq;        /* latest verified checkpoint, 0 if none */
	char head[65];                  /* hex hash of the last record */
	char error[256];                /* what is wrong, when not EG_OK */
};

/* Verifies the hash chain and (with a signing key) every checkpoint of the live log.
 * EG_OK when intact; EG_ERR_AUDIT with st->error set otherwise. */
int audit_verify_live(struct audit_log *log, struct audit_live_status *st);

/* `eidgate audit SUBCOMMAND ...`: argv[0] is "audit". Returns the process exit code
 * (0 ok, 1 failed, 2 usage) and prints errors as "eidgate: ..." on stderr. */
int audit_cli(int argc, char **argv);

#endif
