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
 * If the log cannot be written (disk full, map cannot grow, writer failed) audit_append
 * returns EG_ERR_AUDIT and the caller must refuse the request: nothing is served unlogged.
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
#include <stdint.h>

enum audit_sync { AUDIT_SYNC_FULL, AUDIT_SYNC_GROUP, AUDIT_SYNC_NONE };

struct audit_options {
	const char *dir;        /* LMDB environment directory; created if missing (0700) */
	uint64_t map_size;      /* initial map size in bytes; grown on MDB_MAP_FULL */
	enum audit_sync sync;
	int batch_records;      /* commit after this many records (default 1000 when 0) */
	int batch_ms;           /* ... or after this many milliseconds (default 5 when 0) */
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
};

/* Calls cb for each record matching f, oldest first, from a read-only view of dir.
 * A non-zero return from cb stops the walk and is returned. Errors: EG_ERR_AUDIT. */
int audit_query(const char *dir, const struct audit_filter *f,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg);

/* `eidgate audit SUBCOMMAND ...`: argv[0] is "audit". Returns the process exit code
 * (0 ok, 1 failed, 2 usage) and prints errors as "eidgate: ..." on stderr. */
int audit_cli(int argc, char **argv);

#endif
