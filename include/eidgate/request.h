/*
 * request.h - the request pipeline (request/): one HTTP request from its raw target to
 * its answer, and what every stage that answers a request sees of it.
 *
 * What the pipeline does, in order (request/request.c): normalise the raw target
 * (policy/path.c; 400 when unsafe), read the body's framing, identify the user (the TLS
 * client chain through auth/, or a sealed session; request/identify.c), look the person
 * up in the directory (directory/), then either answer a built-in route of the one route
 * table (request/routes.c, handlers in pages/ and api/) or let policy/ decide and hand an
 * allowed request to forward/. Every decision is recorded through record/ before its
 * answer leaves.
 *
 * What it owns: struct request (from libmicrohttpd's URI callback to the completion
 * callback), the per-connection context (verdict and session caches of one TLS
 * connection), the shared verdict cache on client chains, and the configuration
 * snapshot a request runs under.
 *
 * What it may call: auth/, directory/, policy/, record/, forward/, pages/, api/. None of
 * them calls back into the pipeline: they receive a struct request and answer it with
 * pages.h (or forward's own response), and the pipeline never learns more than the
 * answer's MHD_Result. The server (server/) creates struct gateway and drives the
 * pipeline through the three libmicrohttpd callbacks below.
 *
 * Threads: a request is handled start to end on the event-loop thread that accepted its
 * connection (server/loop.c); struct request and struct conn_ctx are that thread's
 * alone. struct gateway is shared by all threads: its members are either immutable after
 * start, atomic, or guarded as their comments say.
 */
#ifndef EIDGATE_REQUEST_H
#define EIDGATE_REQUEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>
#include <netinet/in.h>

#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/policy.h"
#include "eidgate/session.h"

struct audit_log;
struct signer;
struct upstream_pool;
struct api_writer;
struct assertion_cache;
struct verdict_cache;
struct session_ends;
struct gw_loop;
struct cache;

/* Everything decided by one configuration: swapped whole on reload (server/reload.c),
 * freed by the last request that still uses it. */
struct gw_snapshot {
	atomic_int refs;
	struct eg_config cfg;
	struct auth_ctx *auth;
	struct policy *policy;
	struct signer *signer;
	uint64_t gen;                   /* 1 for the first, +1 per reload: what per-connection
	                                 * caches compare to notice a new configuration */
};

/* The gateway's shared services, made by the server before the first connection and
 * freed after the last. */
struct keys;
struct metrics;
struct tls_key;

struct gateway {
	_Atomic(struct gw_snapshot *) snap;
	pthread_mutex_t snap_mu;        /* serialises acquire against swap */
	struct dir_resolver *dir;
	struct audit_log *audit;
	struct audit_witness *witness;  /* the peers' mirrors and feed keys (audit.h) */
	struct upstream_pool *upstream;
	struct challenge_store *challenges;
	struct verdict_cache *verdicts;
	struct verdict_cache *card_checks;  /* verdicts on the cards of Bearer sessions, kept
	                                     * for [session] recheck */
	struct session_ends *ends;      /* sessions ended by a logout or a revoked card */
	struct api_writer *writer;      /* the rights API's directory writer (api/) */
	struct dir_sessions *dsessions; /* ended sessions in the directory (dirsess.c) */
	struct dir_feed *feed;          /* the directory's change feed (dirfeed.c) */
	struct assertion_cache *assertions;
	void *ticket_key;               /* gnutls_datum_t: TLS session ticket key */
	struct gw_loop **loops;         /* one libmicrohttpd daemon and event loop each */
	int nloops;
	char origin[512];               /* https://host:port users see */
	atomic_ulong request_counter;
	atomic_int draining;            /* SIGTERM received: readyz says so (server/drain.c) */
	atomic_int review_jobs;         /* api/'s access reviews running (audit_review.c) */
	char id_prefix[9];              /* random, per start: request ids are prefix + counter */
	struct metrics *metrics;        /* the counters of /eidgate/metrics (metrics.h) */
	struct keys *keys;              /* sealing and signing: the key process (keys.h) */
	struct tls_key *tls_key;        /* the TLS key in the key process (server/tlskey.c) */
	struct admit *admit;            /* connection limits of every loop (server/admit.c) */
	struct tls_cache *tls_cache;    /* TLS 1.2 sessions by id (server/tlscache.c) */
	struct cache *intents;          /* signed intents seen in their window: each is
	                                 * good once (request/intent.c) */
};

/* The snapshot current now, with a reference the caller drops with gw_snapshot_put. */
struct gw_snapshot *gw_snapshot_get(struct gateway *gw);
/* Drops a reference; the last one frees the snapshot. NULL is allowed. */
void gw_snapshot_put(struct gw_snapshot *s);

/* Per TLS connection (libmicrohttpd socket context, made and freed by the server): the
 * client's address, known at accept, the verdict on the client's certificate chain, so
 * that keep-alive requests are not re-verified each time, and the last session token
 * opened on it. */
struct conn_ctx {
	char addr[INET6_ADDRSTRLEN];    /* the client's address, as accepted or as its
	                                 * PROXY header named it (server/clients.c) */
	unsigned char chain_hash[32];   /* SHA-256 over the DER chain the verdict is for */
	int have_verdict;
	int err;
	char detail[160];
	struct eg_identity id;
	int64_t verified_ms;
	uint64_t verdict_gen;           /* configuration the verdict was made under */
	uint64_t verdict_rev;           /* and revocation data (CRL reloads) */
	uint64_t sess_gen;              /* configuration the cached session was opened under */
	/* Keep-alive requests with the same token skip AES-GCM and JSON (timeouts are
	 * still checked). */
	char *sess_token;
	struct eg_session sess;
	char sess_public[24];           /* session_public_id() of sess: a hash per request
	                                 * showed in perf */
};

/* What the pipeline knows about the user of one request. */
struct req_user {
	int authenticated;
	int auth_err;                   /* EG_OK or why not */
	char auth_detail[160];
	struct eg_identity id;
	const struct dir_person *person;  /* reference, released with the request */
	char session_id[24];            /* hash of the session, never the token */
	char csrf[44];                  /* the session's CSRF token, when it has one */
	int has_session;
	int via_bearer;                 /* session came in Authorization: Bearer */
	int session_revoked;            /* the session's card was found revoked on use */
	struct eg_session sess;         /* the session (wiped with the request) */
	char *set_cookie;               /* Set-Cookie value to send, or NULL */
	char context_facility[EG_MAX_ID];
	char context_org[EG_MAX_ID];
	const struct dir_org *org;        /* reference: org acted for */
};

/* REQ_HEADERS: a request without a body whose start waits for libmicrohttpd's second
 * call (request.c says why). REQ_RESPONDED is set by pages.h when an answer is queued. */
/* REQ_FORM: an allowed form post whose body is read whole before it is forwarded.
 * REQ_INTENT: the same for a request to a `signed` route, whose signature covers it. */
enum req_phase { REQ_NEW, REQ_HEADERS, REQ_STARTED, REQ_FORM, REQ_INTENT, REQ_FORWARDING,
	REQ_RESPONDED };

struct upstream_xfer;
struct route;

/* One HTTP request from first header to completion. */
struct request {
	struct gateway *gw;
	struct gw_snapshot *snap;
	struct MHD_Connection *conn;
	enum req_phase phase;
	char id[40];                    /* X-Request-Id */
	char client[64];
	char method[16];
	char path[EG_MAX_PATH];         /* normalised */
	char query[EG_MAX_PATH];
	int64_t start_us;
	struct req_user user;
	struct policy_decision decision;
	const struct dir_org *scope_org;  /* reference: the organisation the request is about
	                                   * (decision.scope.org), when the directory has it */
	int path_err;
	char facility_org[EG_MAX_ID];   /* the policy's facility_org answer (decide()) */
	int policy_decided;             /* decision is policy_decide's: its record keeps what
	                                 * it depended on (record.h, "Replaying") */
	char consulted[512];            /* facility_orgs text of those answers (record.h) */
	struct upstream_xfer *xfer;     /* forward/'s transfer while forwarding */
	int has_body, framing_err;      /* request.c read_framing() */
	int64_t body_len;               /* -1: chunked */
	int decided;                    /* its kind=request record was written (record/) */
	uint64_t record_seq;            /* that record's seq (0 until written): the backend
	                                 * gets it in X-Eidgate-Record (forward.h) */
	/* A built-in route (routes.c writes these; handlers read them). */
	const struct route *route;      /* the row answering it */
	int wrong_method;               /* its path matched, not its method: 405 */
	/* A body read whole (request.c req_collect_body) for a built-in route or a form
	 * (NUL-terminated), or NULL; forward_start sends it when it is set. */
	char *body;
	size_t body_size;
	int body_too_big;
	/* The evidence of a card-signed intent for its decision record (audit.h intent,
	 * intent_cert), malloc'd, or NULL. */
	char *intent_ev;
	char *intent_cert;
	/* Slow work of api/ (a read of the whole directory) done by a thread of its own
	 * while the connection is suspended; api_job_free()d when the request ends. */
	struct api_job *job;
};

/* ---- the route table's rows (request/routes.c) --------------------------------------- */

typedef enum MHD_Result (*route_fn)(struct request *r);

/* Methods of a row: the policy's method bits (policy.h). */
enum {
	RM_GET = PM_GET, RM_HEAD = PM_HEAD, RM_POST = PM_POST,
	RM_READ = PM_GET | PM_HEAD,
	RM_ANY = PM_ALL,
};

enum {
	R_PREFIX = 1,                   /* path is a prefix of the paths it answers */
	R_LOGIN = 2,                    /* 401 without an authenticated user */
	R_CSRF = 4,                     /* unsafe methods need the session's CSRF token:
	                                 * 403, recorded, without it */
	R_BODY = 8,                     /* the body is collected (at most
	                                 * EG_MAX_BUILTIN_BODY, else 413) before the checks */
	R_MACHINE = 16,                 /* for machines (liveness, readiness, metrics): no
	                                 * browser session is made for it, so it answers
	                                 * even when sessions cannot be sealed */
};

struct route {
	unsigned methods;               /* RM_* */
	const char *path;               /* normalised path, or prefix with R_PREFIX */
	unsigned flags;                 /* R_* */
	route_fn handler;
	route_fn wrong_method;          /* the 405 answer; NULL: the generic one */
	int op;                         /* which of its operations a handler serving several
	                                 * rows runs (the rights API's) */
};

/* ---- the pipeline's entry points, for the server's libmicrohttpd daemons ------------ */

/* MHD_OPTION_URI_LOG_CALLBACK: the request starts here, with its raw target. */
void *req_uri_log(void *cls, const char *uri, struct MHD_Connection *conn);
/* The access handler (MHD_AccessHandlerCallback). */
enum MHD_Result req_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls);
/* MHD_OPTION_NOTIFY_COMPLETED: frees the request (and ends its transfer). */
void req_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe);
/* Frees a connection's context (MHD_CONNECTION_NOTIFY_CLOSED). */
void req_conn_ctx_free(struct conn_ctx *cc);

/*
 * Ends sessions before their time (request/ended.c): with nrn every session of that
 * person made until now, else the one session `session` (a public id), until `until`
 * (when the last of them would have timed out); with both, both. At this instance at
 * once, then in the directory (only the person's end when nrn is given), so that the
 * other instances refuse them within a second. EG_ERR_NOMEM when the ended set here is
 * full: nothing was ended and the caller refuses. Otherwise EG_OK, with *shared 1 when
 * the directory has the end too, 0 when only this instance has it (logged).
 */
int req_end_sessions(struct request *r, const char *nrn, const char *session, int64_t now,
    int64_t until, int *shared);

/* The replay cache of signed intents (struct gateway intents; free with cache_free). */
int intent_cache_new(struct cache **out);

/* 1 when the policy would allow r's user method + path (normalised) now, 0 otherwise:
 * what the portal offers. Nothing is recorded: nothing is requested yet. */
int req_would_allow(struct request *r, const char *method, const char *path);

/* The capacity the user acts in: the acting organisation's first, NULL when none. */
const char *req_capacity(const struct req_user *u);
/* The capacity of what a decided request is about: the first capacity of the
 * organisation of its scope, else req_capacity(). */
const char *req_scope_capacity(const struct request *r);

/* ---- verdicts on client chains (request/verdict.c), shared by all connections -------
 * A resumed TLS session or a new connection of the same card is not re-checked (over
 * the network, once OCSP is on) each time. Entries live at most ttl_ms, so a revocation
 * is honoured within [eid] ocsp_cache. Any thread. */
int verdict_cache_new(int64_t ttl_ms, struct verdict_cache **out);
void verdict_cache_free(struct verdict_cache *vc);
/* Forgets every verdict (a reload may change trust anchors or revocation settings). */
void verdict_cache_clear(struct verdict_cache *vc);
/* How long a certificate verdict may be reused, per connection and in the shared cache:
 * as long as an OCSP answer may be, at most a minute (so that a certificate revoked, or
 * a new CRL, takes effect soon even over a kept-alive connection). */
int64_t verdict_ttl_ms(const struct eg_config *cfg);

#endif
