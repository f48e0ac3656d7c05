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
 * If the log cannot be written (disk full, file size limit, map cannot grow) the batch is
 * kept and retried every 200 ms; meanwhile audit_append returns EG_ERR_AUDIT and the
 * caller must refuse the request: nothing is served unlogged. Records accepted before
 * are never dropped while the log is open (only a close that still fails loses them,
 * with a warning naming their seqs).
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
	/* Or the gateway's keys (keys.h): checkpoints are signed by the key process with
	 * its [audit] signing_key, which this process never reads. Used when set. */
	struct keys *keys;
	/* [audit] instance: the name written in every record's `instance` field (unless
	 * the record names one) and in meta "instance". NULL or "": "gw". At most
	 * AUDIT_INSTANCE_MAX bytes of [A-Za-z0-9._-]. */
	const char *instance;
};

/* An instance name: 1..AUDIT_INSTANCE_MAX bytes of [A-Za-z0-9._-], not "." or "..". */
#define AUDIT_INSTANCE_MAX 63
int audit_instance_valid(const char *name);

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
	const char *org;        /* the organisation the request is about (see below) */
	const char *facility;   /* the facility it is about */
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
	/* The facility the user acts for and its organisation (the session's choice), when
	 * it differs from what the request is about or nothing else is known. */
	const char *acting_org;
	const char *acting_facility;
	/* key-change records: the checkpoint key that signs from here on (base64url of its DER
	 * SubjectPublicKeyInfo); see "Key changes" below. */
	const char *key;
	/* The gateway instance that wrote the record ([audit] instance; field id 25). Every
	 * record carries it, so a row merged from several logs, an export, an archive or a
	 * syslog message says where it was written without a lookup, and the chain hash
	 * covers it: a record cannot be moved into another instance's log unnoticed. */
	const char *instance;
	/*
	 * What a decision depended on (request records), so that `eidgate audit replay`
	 * can take it again with the policy version named in policy_version (record.h
	 * says how each is written): the roles and scopes the person held, the facility
	 * acted for and its organisation, that organisation's capacities, the owning
	 * organisation of each facility the decision looked up, and the revocation
	 * evidence of the certificate (auth.h eg_identity revocation).
	 */
	const char *grants;
	const char *context;
	const char *capacities;
	const char *facility_orgs;
	const char *revocation;
	/* "policy" records: hex SHA-256 of the policy text they keep (see policy_text). */
	const char *policy_sha256;
	/*
	 * The evidence of a card-signed intent (policy `signed` rules; auth.h "Signed
	 * intent"), on the decision record of such a request, accepted or refused:
	 * intent (id 32) is "v1;t=<time>;alg=<alg>;body=<hex SHA-256 of the body>;sig=
	 * <base64url>", from which, with method, path, the query and the gateway's origin,
	 * the signed text is rebuilt; intent_cert (id 33) the certificate that checked it,
	 * as "sha256:<hex>" when it is the session's or the connection's (cert_sha256 then
	 * names it too), or the base64url DER sent in the header.
	 */
	const char *intent;
	const char *intent_cert;
	/* A grant's end and the capacity that allowed it (rights records of a grant;
	 * directory.h "Delegation provenance"): until (id 34) as ISO 8601 UTC, absent when
	 * the grant holds until revoked; authority (id 35) "<role>@<kind>:<id>" of the
	 * granter's role that allowed the grant (add-vte records carry neither: the
	 * platform operator acts outside the roles). */
	const char *until;
	const char *authority;
	/* filled by audit on read: hex SHA-256 of this record's chained hash */
	const char *hash;
	/* Not a field: when > 0, the record (a logout, a revoked card) also ends the
	 * session named in `session` until this time (seconds since the epoch), in the same
	 * transaction; audit_ended_sessions() lists them for a gateway that starts. */
	int64_t ends_session_until;
	/* Not a field: with a "policy" record, the policy file's text (policy_text_len
	 * bytes), stored in the same transaction in the DBI "policies" under the record's
	 * policy_version, unless that version is kept already (written once). The record
	 * names its SHA-256 (policy_sha256), so the chain vouches for the text. */
	const char *policy_text;
	size_t policy_text_len;
};

struct audit_log;

/* Opens (creating if needed) the log and starts the writer thread. On success *out is
 * set and EG_OK returned. Errors: EG_ERR_AUDIT (with a message on stderr via log.h). */
int audit_open(const struct audit_options *opt, struct audit_log **out);

/* Queues a copy of *rec (see durability above). Returns EG_OK or EG_ERR_AUDIT. On
 * success and when seq_out is not NULL, *seq_out is the record's sequence number. */
int audit_append(struct audit_log *log, const struct audit_record *rec, uint64_t *seq_out);

/* Queues a record that follows one accepted earlier (the outcome of a decision): unlike
 * audit_append it is accepted while the log cannot be written (up to the queue's
 * capacity) and written, in order, when it can again. Never waits for a commit.
 * EG_OK or EG_ERR_AUDIT. */
int audit_append_followup(struct audit_log *log, const struct audit_record *rec);

/* 1 when the log takes new records now, 0 while a write failed and is being retried. */
int audit_writable(struct audit_log *log);

/* For /eidgate/metrics: records waiting for the writer, the last committed seq, the
 * transactions committed since open and the time they took (µs), and audit_writable. */
struct audit_stats {
	size_t queued;
	uint64_t committed_seq, commits, commit_us_sum;
	int writable;
};
void audit_stats(struct audit_log *log, struct audit_stats *st);

/* Blocks until every record queued before the call is committed. EG_OK or EG_ERR_AUDIT. */
int audit_flush(struct audit_log *log);

/* Flushes, stops the writer and closes the environment. NULL is allowed. */
void audit_close(struct audit_log *log);

struct audit_filter {
	const char *nrn, *org, *facility, *decision, *kind;   /* NULL = any */
	int64_t since_us, until_us;                            /* 0 = unbounded */
	uint64_t limit;                                        /* 0 = all */
	int newest_first;       /* walk from the newest: with limit, the newest `limit` */
};

/* ==== Reading the live log inside the gateway (audit/live.c) ====
 *
 * The gateway cannot open its own log a second time (LMDB locks are per process), so its
 * security officers' pages read through the writer's environment with these. They run
 * read transactions on the calling thread and never block the writer; while one runs,
 * growing the map waits. Thread safety: any thread, concurrently.
 */
enum audit_export_fmt { AUDIT_EXPORT_JSON, AUDIT_EXPORT_CSV };

/* Calls cb for each record matching f, oldest first (or newest first), as audit_query()
 * does. */
int audit_query_live(struct audit_log *log, const struct audit_filter *f,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg);

/* Writes the records matching f to out: JSON lines (fields as `eidgate audit query`) or
 * CSV with a header line. With f->newest_first the newest f->limit come first.
 * EG_OK or EG_ERR_AUDIT. */
int audit_export_live(struct audit_log *log, const struct audit_filter *f,
    enum audit_export_fmt fmt, FILE *out);

/* Calls cb for each session ended by a record (ends_session_until) whose end is after
 * now_s, from the live log: a starting gateway refuses them again. EG_OK or
 * EG_ERR_AUDIT. */
int audit_ended_sessions(struct audit_log *log, int64_t now_s,
    void (*cb)(void *arg, const char *session, int64_t until), void *arg);

/* *n = records of organisation org in the live log (its index, not a walk). EG_OK or
 * EG_ERR_AUDIT. */
int audit_count_org_live(struct audit_log *log, const char *org, uint64_t *n);

struct audit_live_status {
	uint64_t records;               /* in the live log */
	uint64_t checkpoint_seq;        /* latest verified checkpoint, 0 if none */
	char head[65];                  /* hex hash of the last record */
	char error[256];                /* what is wrong, when not EG_OK */
};

/* Verifies the hash chain and (with a signing key) every checkpoint of the live log.
 * EG_OK when intact; EG_ERR_AUDIT with st->error set otherwise. */
int audit_verify_live(struct audit_log *log, struct audit_live_status *st);

/* ==== Reading a log from another process (eidgate audit ..., tools) ====
 *
 * Every function here opens dir read-only (MDB_RDONLY) and never blocks a writer. err
 * (errlen bytes; may be NULL with errlen 0, then the reason is logged) receives one line
 * saying what went wrong when the result is not EG_OK.
 */

#define AUDIT_HASH_LEN 32
#define AUDIT_HEX_LEN (2 * AUDIT_HASH_LEN + 1)
#define AUDIT_KEYID_LEN 32
#define AUDIT_SIG_MAX 80                /* DER ECDSA P-256: at most 72 */

/* Calls cb for each record matching f (NULL: all), oldest first (f->newest_first: newest
 * first). A non-zero return from cb stops the walk and is returned. Errors:
 * EG_ERR_AUDIT. */
int audit_query(const char *dir, const struct audit_filter *f,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg, char *err,
    size_t errlen);

/* Following a log as it grows (eidgate audit tail). */
struct audit_reader;
int audit_reader_open(const char *dir, struct audit_reader **out, char *err, size_t errlen);
void audit_reader_close(struct audit_reader *rd);
/* Calls cb (with rec->hash set) for each record not yet passed by this reader, oldest
 * first: on the first call the last `first` records of the log (0: none, the reader then
 * starts at the current end), afterwards each record committed since. One short read
 * transaction per call, so a following caller sees new records and pins no pages. EG_OK,
 * cb's non-zero result, or EG_ERR_AUDIT (read error, corrupt record). */
int audit_reader_next(struct audit_reader *rd, uint64_t first,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg, char *err,
    size_t errlen);

/* The next audit_reader_next starts just after seq `after` (0: at the first record). */
void audit_reader_seek(struct audit_reader *rd, uint64_t after);
/* ==== Policy versions and single records (audit/policies.c) ==== */

/* Calls cb for each policy version kept in dir (the "policies" DBI), with its text
 * (len bytes, owned by the call, valid during cb). A log without any: EG_OK, no call.
 * A non-zero return from cb stops and is returned. EG_ERR_AUDIT with err set. */
int audit_policies(const char *dir,
    int (*cb)(const char *version, const char *text, size_t len, void *arg), void *arg,
    char *err, size_t errlen);

/* Calls cb for record seq of dir (rec->hash set). EG_OK (cb's result when non-zero),
 * EG_ERR_NOT_FOUND when there is no such record, EG_ERR_AUDIT with err set. */
int audit_record_at(const char *dir, uint64_t seq,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg, char *err,
    size_t errlen);

/* Record formats: a table for people, JSON lines and CSV (fields as PRODUCT.md §7) for
 * programs. Log content is attacker-influenced: the table replaces control characters,
 * JSON holds valid UTF-8 only, and CSV cells cannot start a spreadsheet formula. */
enum audit_fmt { AUDIT_FMT_TABLE, AUDIT_FMT_JSON, AUDIT_FMT_CSV };
struct audit_out;
/* NULL when out of memory. */
struct audit_out *audit_out_new(enum audit_fmt fmt, FILE *fp);
/* A query callback: prints one record; non-zero (stop the query) on a write error. */
int audit_out_record(const struct audit_record *r, void *arg);
/* Prints what is held (a table aligns a page of rows at a time). 0, or -1 when writing
 * failed. The printer may be used again. */
int audit_out_finish(struct audit_out *o);
void audit_out_free(struct audit_out *o);
/* One record as the JSON format prints it, without the newline: malloc'd (the caller
 * frees it), NULL when out of memory. */
char *audit_record_json(const struct audit_record *r);

/* Signed checkpoints (see "Checkpoints" above). */
struct audit_ckpt {
	uint64_t seq;
	int64_t time_us;
	unsigned char hash[AUDIT_HASH_LEN];
	unsigned char key_id[AUDIT_KEYID_LEN];  /* SHA-256 of the DER SubjectPublicKeyInfo */
	unsigned char sig[AUDIT_SIG_MAX];
	size_t sig_len;
};

struct audit_key;
struct keys;
/* Loads an EC P-256 key from PEM. need_private: a private key whose file group and
 * others cannot read (as signer.c); otherwise a public key, or a private key of which
 * only the public half is used. EG_OK or EG_ERR_CONFIG with err set. */
int audit_key_load(const char *path, int need_private, struct audit_key **out, char *err,
    size_t errlen);
void audit_key_free(struct audit_key *k);
/* A public key from its DER SubjectPublicKeyInfo (a verify result's final_key). EG_OK or
 * EG_ERR_PARSE. */
int audit_key_from_der(const unsigned char *der, size_t len, struct audit_key **out);
/* The checkpoint key of keys (keys.h), signing through them. EG_OK with *out NULL when
 * keys hold no checkpoint key. */
int audit_key_from_keys(struct keys *keys, struct audit_key **out);

/*
 * Key changes. The checkpoint key can change while the log runs (SIGHUP: audit_rekey)
 * without breaking the proof: the writer appends a record of kind "key-change" naming the
 * new key (field `key`), signs a checkpoint at that record with the OLD key, and signs
 * with the new key only after it. A verifier that trusts the old key thus learns the
 * new one from a record the old key vouches for, and refuses the old key after it (a
 * key is usually changed because it may be known to someone else).
 * A log opened with another key than the one it last named (the key changed while no
 * gateway ran) gets a key-change record too, but no checkpoint of the old key can cover
 * it: `audit verify` then needs both keys (--key twice), and says so.
 */
int audit_rekey(struct audit_log *log, struct keys *keys);
/* 0: valid; 1: signed by another key (key id differs); 2: the signature is invalid. */
int audit_ckpt_check(const struct audit_key *k, const struct audit_ckpt *c);
/* One line of JSON (no newline), malloc'd; NULL when out of memory. */
char *audit_ckpt_to_json(const struct audit_ckpt *c);
/* EG_OK, or EG_ERR_PARSE with err set. */
int audit_ckpt_from_json(const char *text, struct audit_ckpt *c, char *err, size_t errlen);
/* The latest checkpoint of dir. EG_OK, EG_ERR_NOT_FOUND, or EG_ERR_AUDIT. */
int audit_ckpt_latest(const char *dir, struct audit_ckpt *c, char *err, size_t errlen);

/* Verification: what was found wrong. */
enum audit_vfail {
	AUDIT_VF_NONE, AUDIT_VF_READ, AUDIT_VF_CHAIN, AUDIT_VF_META, AUDIT_VF_CKPT_KEY,
	AUDIT_VF_CKPT_SIG, AUDIT_VF_CKPT_HASH, AUDIT_VF_CKPT_BEYOND, AUDIT_VF_HEAD,
	AUDIT_VF_START, AUDIT_VF_ARCHIVE,
	/* A kept policy text is missing, differs from the SHA-256 its "policy" record names
	 * (bad_seq: that record), or no record names it (bad_seq 0). */
	AUDIT_VF_POLICY,
};

#define AUDIT_MAX_KEYS 8
struct audit_verify_opts {
	const struct audit_key *key;    /* NULL: checkpoints are not checked */
	/* More keys trusted from the start (`--key` given again): for a key change no
	 * checkpoint of the old key covers (see "Key changes"). */
	const struct audit_key *more_keys[AUDIT_MAX_KEYS - 1];
	size_t nmore;
	/* The gateway's own check: the key the log names in its first key-change record
	 * is trusted (and key changes no old checkpoint covers are accepted) when no
	 * checkpoint came before it; the caller compares final_key_id with its own key. */
	int trust_named_keys;
	const struct audit_ckpt *head;  /* an exported head, or NULL */
	const char *const *archives;    /* oldest first; each continues the one before */
	size_t narchives;
	int allow_truncated_start;
	int progress;                   /* progress lines on stderr */
};

struct audit_verify_result {
	uint64_t records;               /* in the live log */
	uint64_t first_seq, last_seq;   /* of the live log (0 when empty) */
	uint64_t archived;              /* records checked in --archive files */
	uint64_t bad_seq;               /* 0 when the chain is intact */
	enum audit_vfail fail;
	uint64_t checkpoints;           /* verified */
	uint64_t ckpt_skipped;          /* below first_seq: their records were archived */
	struct audit_ckpt last_ckpt;    /* seq 0 when none */
	int head_checked;
	int truncated_start;            /* starts after seq 1 with nothing to check it */
	int64_t elapsed_us;
	char head[AUDIT_HEX_LEN];       /* hex hash of the last record (zeros when empty) */
	char why[240];                  /* what is wrong at bad_seq */
	/* The key trusted at the end (after every key change), for an exported head. */
	unsigned char final_key_id[AUDIT_KEYID_LEN];
	unsigned char final_key[160];   /* its DER SubjectPublicKeyInfo; length 0: none */
	size_t final_key_len;
	uint64_t key_changes;           /* followed, proven by the old key's checkpoint */
	uint64_t unproven_key_changes;  /* accepted without one (trust_named_keys, --key) */
};
/* EG_OK when the whole chain checks (o NULL: the chain alone); EG_ERR_AUDIT with
 * res->fail set when it is broken, or with fail AUDIT_VF_READ and err set when the log
 * cannot be read. */
int audit_verify(const char *dir, const struct audit_verify_opts *o,
    struct audit_verify_result *res, char *err, size_t errlen);

/* Moves the records older than before_us into the archive file out_path (signed with
 * key's trailer checkpoint) and removes them from the log, keeping the chain's link in
 * the log's meta. *archived: how many. EG_OK or EG_ERR_AUDIT with err set. */
int audit_archive_run(const char *dir, int64_t before_us, const char *out_path,
    const struct audit_key *key, uint64_t *archived, char *err, size_t errlen);

/* ==== Decision receipts (audit/receipt.c) ====
 *
 * Each forwarded request tells its backend where its decision record is (forward.h,
 * X-Eidgate-Record: instance;seq). A receipt answers, for an instance and seq (and
 * optionally the hash the asker holds): the record is in this log at that seq, with that
 * hash, and the first signed checkpoint at or after it, after checking that every record
 * in between links to the one before and that the checkpoint names the last one's hash.
 * The records in between hold other people's data, so the asker cannot recompute the
 * chain itself: it keeps the receipt (record hash, checkpoint and its signature), and an
 * auditor holding the log proves the link offline (`eidgate audit verify --head`).
 */
struct audit_receipt_ask {
	char instance[AUDIT_INSTANCE_MAX + 1];
	uint64_t seq;
	int has_hash;
	unsigned char hash[AUDIT_HASH_LEN];
};
/* Checks what an asker sent (outside input): instance as audit_instance_valid, seq a
 * decimal number from 1 without leading zero, hash NULL/"" or 64 hex digits. EG_OK, or
 * EG_ERR_PARSE with *why naming the parameter. */
int audit_receipt_ask_parse(const char *instance, const char *seq, const char *hash,
    struct audit_receipt_ask *a, const char **why);

struct audit_receipt {
	char instance[AUDIT_INSTANCE_MAX + 1];  /* the record's instance field */
	uint64_t seq;
	int64_t time_us;
	unsigned char hash[AUDIT_HASH_LEN];
	char kind[32], decision[16], request_id[64], backend[128];     /* cut when longer */
	int covered;                    /* ckpt holds the first checkpoint at or after seq */
	struct audit_ckpt ckpt;
};
/* The receipt of record seq from the live log / from dir read-only. EG_OK;
 * EG_ERR_NOT_FOUND when there is no such record; EG_ERR_AUDIT when the log cannot be
 * read or does not link the record to its checkpoint (logged / err set). */
int audit_receipt_live(struct audit_log *log, uint64_t seq, struct audit_receipt *out);
int audit_receipt_dir(const char *dir, uint64_t seq, struct audit_receipt *out, char *err,
    size_t errlen);
/* The answer to a, by the log of instance `instance`: JSON (malloc'd, NULL when out of
 * memory) {"confirmed":bool,"reason","explanation","instance","record":{...},
 * "checkpoint":{as audit_ckpt_to_json}} and *status: 200 confirmed, 202
 * not-yet-checkpointed, 404 no-such-record or other-instance, 409 hash-mismatch.
 * found: the log has the record and rc holds it. */
char *audit_receipt_json(const char *instance, const struct audit_receipt_ask *a, int found,
    const struct audit_receipt *rc, int *status);
/* The instance name the live log stamps on its records. */
const char *audit_instance_name(const struct audit_log *log);

/* ==== Several instances: feeds, mirrors, witness cosignatures, one merged view ====
 *
 * Each instance keeps its own log. Each also runs a witness (audit/witness.c, a thread of
 * the gateway) that fetches its peers' new records from their feeds (audit_feed_live,
 * served under /eidgate/audit/peer/feed to requests signed with a key of [audit]
 * peer_keys), replays them onto its mirror of that peer's log (<db>/peers/<instance>/,
 * the same layout as a log, so query and verify read it as one), and cosigns each new
 * checkpoint of the peer whose hash the replay reached (audit/mirror.c). The officers'
 * view and `eidgate audit query` merge the own log and the mirrors by time; `eidgate
 * audit verify` with several logs checks each against the checkpoints its peers
 * cosigned, so a rolled-back or forked log is caught even when its own key signed it.
 *
 * Why replaying is the consistency proof of a chain: the head after record n is
 * h_n = SHA-256(h_{n-1} || r_n). A witness that cosigned (s0, h0) and holds r_{s0+1..s1}
 * computes h_{s1} from h0 alone; when that equals the new checkpoint's h1, the log that h1
 * commits to has h0's log as its prefix (else SHA-256 would have a collision). RFC 9162's
 * consistency proof gives the same guarantee for a Merkle tree in O(log n) hashes; the
 * chain needs the s1 - s0 records, which the witness fetches anyway for its mirror.
 */
struct audit_cosig {
	char instance[AUDIT_INSTANCE_MAX + 1];  /* whose checkpoint */
	uint64_t seq;
	int64_t time_us;
	unsigned char hash[AUDIT_HASH_LEN];
	unsigned char origin_key_id[AUDIT_KEYID_LEN];   /* the checkpoint's signer */
	unsigned char witness_key_id[AUDIT_KEYID_LEN];
	unsigned char sig[AUDIT_SIG_MAX];
	size_t sig_len;
};
#define AUDIT_COSIG_MSG_MAX (24 + 1 + AUDIT_INSTANCE_MAX + 8 + AUDIT_HASH_LEN + 8 + \
	AUDIT_KEYID_LEN)
#define AUDIT_COSIG_VAL_MAX (1 + 8 + AUDIT_HASH_LEN + 2 * AUDIT_KEYID_LEN + 1 + \
	AUDIT_INSTANCE_MAX + AUDIT_SIG_MAX)

/* A key of keys (keys.h) for purpose (enum keys_sign), signing through them; EG_OK with
 * *out NULL when keys hold none. */
int audit_key_from_keys_purpose(struct keys *keys, int purpose, struct audit_key **out);
/* ECDSA P-256 over msg with k (through the key process when k came from keys). */
int audit_key_sign_msg(const struct audit_key *k, const unsigned char *msg, size_t len,
    unsigned char *sig, size_t *siglen);
/* 1 when valid. */
int audit_key_verify_msg(const struct audit_key *k, const unsigned char *msg, size_t len,
    const unsigned char *sig, size_t siglen);
/* Fills c->witness_key_id and c->sig. EG_OK, EG_ERR_PARSE (bad instance), EG_ERR_CRYPTO. */
int audit_cosig_sign(const struct audit_key *witness, struct audit_cosig *c);
/* 0 valid, 1 another witness's, 2 invalid. */
int audit_cosig_check(const struct audit_key *witness, const struct audit_cosig *c);
/* Stored form (cosig.c); decode: 0, or -1 when malformed. Never reads past val[vlen). */
size_t audit_cosig_encode(const struct audit_cosig *c, unsigned char *out);
int audit_cosig_decode(const unsigned char *key, size_t klen, const unsigned char *val,
    size_t vlen, struct audit_cosig *c);

/* A feed answer: the records after `after`, as stored (prev hash || record). */
#define AUDIT_FEED_MAX_RECORDS 1000
#define AUDIT_FEED_MAX_BYTES (32u << 20)
struct audit_feed {
	char instance[AUDIT_INSTANCE_MAX + 1];
	uint64_t head_seq;                      /* the log's last record */
	unsigned char head[AUDIT_HASH_LEN];
	uint64_t after;
	int has_after_hash;                     /* the hash of record `after` */
	unsigned char after_hash[AUDIT_HASH_LEN];
	size_t nrec;
	unsigned char **rec;
	size_t *rec_len;
	size_t nckpt;
	struct audit_ckpt *ckpt;                /* the log's checkpoints among the records */
};
/* The feed of the live log as JSON (malloc'd *out, *len):
 *   {"v":1,"instance","head_seq","head","after","after_hash","records":[b64url...],
 *    "checkpoints":[exported checkpoint...]}
 * at most limit (<= AUDIT_FEED_MAX_RECORDS) records. EG_OK or EG_ERR_AUDIT. */
int audit_feed_live(struct audit_log *log, uint64_t after, size_t limit, char **out,
    size_t *len);
/* Parses a peer's feed answer (outside input: every length is checked, every record
 * decodes, seqs follow each other from after + 1). EG_OK, or EG_ERR_PARSE with err. */
int audit_feed_parse(const char *text, size_t len, struct audit_feed *f, char *err,
    size_t errlen);
void audit_feed_free(struct audit_feed *f);

/* A witness's mirror of one peer's log (audit/mirror.c). */
struct audit_mirror;
struct audit_apply_result {
	uint64_t applied;               /* records replayed onto the mirror */
	uint64_t cosigned;              /* checkpoints cosigned */
	uint64_t last_seq;              /* the mirror's last record */
	uint64_t cosigned_seq;          /* the latest cosigned checkpoint, 0 if none */
	int fault;                      /* the peer's log contradicts what was witnessed */
	char why[400];
};
/* Opens (creating) the mirror in dir for instance. EG_OK or EG_ERR_AUDIT with err. */
int audit_mirror_open(const char *dir, const char *instance, struct audit_mirror **out,
    char *err, size_t errlen);
void audit_mirror_close(struct audit_mirror *m);
/* The seq to fetch after; 0 for an empty mirror. */
uint64_t audit_mirror_last(const struct audit_mirror *m);
/* Replays f onto the mirror, checking that each record links to the one before and that
 * the peer's head does not go back, then cosigns with witness (NULL: none) each new
 * checkpoint of f whose signature holds with the key the log names and whose hash the
 * replay reached. One transaction. EG_OK; EG_ERR_AUDIT with res->fault set and res->why
 * naming the instance and the cosigned checkpoint contradicted (also kept in the
 * mirror's meta "fault": nothing more is applied until the mirror is removed), or with
 * fault 0 on a write error. */
int audit_mirror_apply(struct audit_mirror *m, const struct audit_feed *f,
    const struct audit_key *witness, struct audit_apply_result *res);
/* Queries the mirror inside the gateway (the witness holds its environment). */
int audit_mirror_query(struct audit_mirror *m, const struct audit_filter *f,
    int (*cb)(const struct audit_record *rec, void *arg), void *arg);

/* The witness thread (audit/witness.c). */
struct audit_witness;
struct audit_witness_options {
	const char *peers;              /* [audit] peers: comma/space-separated https URLs */
	const char *peer_keys;          /* [audit] peer_keys: comma-separated PEM files */
	const char *ca_file;            /* [audit] peer_ca; "" or NULL: the system's CAs */
	struct keys *keys;              /* sign with [audit] witness_key through these */
	int interval_ms;                /* between rounds (default 1000) */
};
/* Loads the peer keys and, when peers are given, starts the thread. EG_OK or
 * EG_ERR_CONFIG (logged). */
int audit_witness_start(struct audit_log *log, const struct audit_witness_options *o,
    struct audit_witness **out);
void audit_witness_stop(struct audit_witness *w);
/* The X-Eidgate-Witness header of a feed request (after, limit): "KEYID.TIME.SIG". 1 when
 * signed by a key of [audit] peer_keys within AUDIT_FEED_SKEW_S of now. */
#define AUDIT_FEED_SKEW_S 60
int audit_witness_authorized(const struct audit_witness *w, const char *header,
    uint64_t after, uint64_t limit);
/* The own live log and every mirror, merged by time (see audit_query_merged). */
int audit_query_merged_live(struct audit_log *log, struct audit_witness *w,
    const struct audit_filter *f, int (*cb)(const struct audit_record *rec, void *arg),
    void *arg);

/* Several logs merged by (time, instance, seq), from other processes (audit/merge.c):
 * dirs, and with with_mirrors each dir's peers/<instance>/ mirrors of instances no other
 * source already holds. The records are gathered first (f->limit per source, newest when
 * f->newest_first) and then handed to cb in order. EG_OK, cb's non-zero, EG_ERR_AUDIT. */
int audit_query_merged(const char *const *dirs, size_t ndirs, int with_mirrors,
    const struct audit_filter *f, int (*cb)(const struct audit_record *rec, void *arg),
    void *arg, char *err, size_t errlen);
/* The instance a log directory names (meta "instance"), into out. EG_OK,
 * EG_ERR_NOT_FOUND, EG_ERR_AUDIT. */
int audit_instance_of(const char *dir, char *out, size_t outlen, char *err, size_t errlen);

/* Checks each log of dirs against the latest checkpoint each witness cosigned for it (the
 * mirrors under every dir's peers/); wkeys: the witnesses' public keys (a cosignature by
 * another key does not count and is reported). Calls say(line, arg) for each finding
 * and each checked cosignature. Returns the number of contradictions (a log rolled
 * back or forked against a cosigned checkpoint, a cosignature that does not verify). */
int audit_verify_witnessed(const char *const *dirs, size_t ndirs,
    const struct audit_key *const *wkeys, size_t nwkeys,
    void (*say)(int bad, const char *line, void *arg), void *arg);

#endif
