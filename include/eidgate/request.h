/*
 * internal.h - shared between the files of proxy/ only.
 */
#ifndef EIDGATE_PROXY_INTERNAL_H
#define EIDGATE_PROXY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/policy.h"
#include "eidgate/session.h"

struct audit_log;
struct signer;
struct upstream_pool;
struct session_key;

/* Everything decided by one configuration: swapped whole on reload, freed by the last
 * request that still uses it. */
struct gw_snapshot {
	atomic_int refs;
	struct eg_config cfg;
	struct auth_ctx *auth;
	struct policy *policy;
	struct signer *signer;
	struct session_key *session;
	uint64_t gen;                   /* 1 for the first, +1 per reload: what per-connection
	                                 * caches compare to notice a new configuration */
};

/* The directory writer of the rights API (admin.c): one connection, one change at a
 * time, so "count the VTEs, then remove one" cannot race within a gateway. */
struct admin_writer {
	pthread_mutex_t mu;
	struct dir_writer *w;           /* guarded by mu */
	char key[4096];                 /* the [ldap] settings w was made from */
};
void admin_writer_close(struct admin_writer *aw);

struct gateway {
	_Atomic(struct gw_snapshot *) snap;
	pthread_mutex_t snap_mu;        /* serialises acquire against swap */
	struct dir_resolver *dir;
	struct audit_log *audit;
	struct upstream_pool *upstream;
	struct challenge_store *challenges;
	struct verdict_cache *verdicts;
	struct admin_writer admin;
	struct assertion_cache *assertions;
	void *ticket_key;               /* gnutls_datum_t: TLS session ticket key */
	struct gw_loop **loops;         /* one libmicrohttpd daemon and event loop each */
	int nloops;
	char origin[512];               /* https://host:port users see */
	atomic_ulong request_counter;
	char id_prefix[9];              /* random, per start: request ids are prefix + counter */
	atomic_ulong stat_allowed, stat_denied, stat_upstream_errors;
};

struct gw_snapshot *gw_snapshot_get(struct gateway *gw);
void gw_snapshot_put(struct gw_snapshot *s);

/* Per TLS connection (libmicrohttpd socket context): the verdict on the client's
 * certificate chain, so that keep-alive requests are not re-verified each time. */
struct conn_ctx {
	unsigned char chain_hash[32];   /* SHA-256 over the DER chain the verdict is for */
	int have_verdict;
	int err;
	char detail[160];
	struct eg_identity id;
	int64_t verified_ms;
	uint64_t verdict_gen;           /* configuration the verdict was made under */
	uint64_t sess_gen;              /* configuration the cached session was opened under */
	/* The last session token opened on this connection and what it held: keep-alive
	 * requests with the same token skip AES-GCM and JSON (timeouts are still checked). */
	char *sess_token;
	struct eg_session sess;
	char sess_public[24];           /* session_public_id() of sess: a hash per request
	                                 * showed in perf */
};

/* What the request pipeline knows about the user of one request. */
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
	struct eg_session sess;         /* the session (wiped with the request) */
	char *set_cookie;               /* Set-Cookie value to send, or NULL */
	char context_facility[EG_MAX_ID];
	char context_org[EG_MAX_ID];
	const struct dir_org *org;        /* reference: org acted for */
};

/* REQ_HEADERS: a request without a body whose start waits for libmicrohttpd's second
 * call (request.c says why). */
enum req_phase { REQ_NEW, REQ_HEADERS, REQ_STARTED, REQ_FORWARDING, REQ_RESPONDED };

struct upstream_xfer;

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
	int path_err;
	char facility_org[EG_MAX_ID];   /* the policy's facility_org answer (decide()) */
	struct upstream_xfer *xfer;
	int has_body, framing_err;      /* request.c read_framing() */
	int64_t body_len;               /* -1: chunked */
	int decided;                    /* its kind=request record was written */
	void *builtin;                  /* state of a built-in endpoint (body buffer) */
};

/* request.c */
enum MHD_Result req_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls);
void req_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe);
void *req_uri_log(void *cls, const char *uri, struct MHD_Connection *conn);
/* Writes the access-log record of r. EG_OK or EG_ERR_AUDIT: then the caller must refuse
 * with 503, whatever it was about to send. */
int req_audit(struct request *r, const char *kind, int allow, int reason_err,
    const char *reason_text, int upstream_status, uint64_t bytes);

/* Records an answered built-in read (who am I, the access log) under reason `what`;
 * on failure the caller answers 503. EG_OK or EG_ERR_AUDIT. */
int req_audit_builtin(struct request *r, const char *what);

/* Records a refusal of kind `kind` with reason err and answers it with status (or 503
 * when the record cannot be written): the record comes first. */
enum MHD_Result req_refuse(struct request *r, const char *kind, unsigned status, int err,
    const char *message);

/* Writes a kind=rights access-log record with the user as actor. EG_OK or EG_ERR_AUDIT. */
int req_audit_rights(struct request *r, int allow, const char *reason, const char *action,
    const char *target, const char *role, const char *scope);

/* session_web.c: browser sessions on top of the certificate login. */
/* Issues a new session for the authenticated user (cookie). tls_bound: made by a TLS
 * certificate login, so only good on connections with that certificate. */
int websession_issue(struct request *r, int tls_bound);
/* Re-seals the session after a change (facility) or when it is due for an idle refresh;
 * sets r->user.set_cookie for cookie sessions. With token_out, returns the token. */
int websession_reseal(struct request *r, char **token_out);
/* Re-seals a cookie session that was last refreshed a minute or more ago. */
int websession_touch(struct request *r);
/* Adds the Set-Cookie header of this request, if any, to resp. */
void websession_add_cookie(struct request *r, struct MHD_Response *resp);
/* Constant-time check of X-Eidgate-CSRF for state-changing built-in requests. 1 = ok. */
int websession_csrf_ok(struct request *r);

/* admin.c: the rights-management JSON API (PRODUCT.md §8), called once the body is
 * complete, for an authenticated user whose CSRF token was checked. */
enum MHD_Result admin_api(struct request *r, const char *body, size_t len);

/* respond.c */
/* 503: the access log cannot be written, so nothing is served (every caller's answer
 * when its record was refused). */
enum MHD_Result respond_audit_unavailable(struct request *r);
enum MHD_Result respond_error(struct request *r, unsigned status, const char *code,
    const char *message);
enum MHD_Result respond_json(struct request *r, unsigned status, const char *json);
/* Serialises and queues j (which it takes over; NULL answers 500). */
enum MHD_Result respond_json_obj(struct request *r, unsigned status, json_t *j);
/* Queues body (copied) with the gateway's security headers and the session cookie. */
enum MHD_Result respond_buffer(struct request *r, unsigned status, const char *ctype,
    const char *body, size_t len);
int client_wants_html(struct MHD_Connection *conn);
void respond_add_security_headers(struct MHD_Response *resp);

/* audit_api.c: the security officers' JSON API under /eidgate/audit/api/. */
enum MHD_Result audit_api(struct request *r);

/* static.c: files under [listen] web_root; rel is relative to it. */
enum MHD_Result static_serve(struct request *r, const char *rel);

/* builtin.c */
/* Handles /eidgate/... and the JWK set. Called again for each piece of the body until
 * it answers. */
enum MHD_Result builtin_handle(struct request *r, const char *upload, size_t *upload_size);
void builtin_request_done(struct request *r);

/* assertion.c: builds the claims and signs them (cached per session/backend/facility). */
int assertion_make(struct request *r, const struct policy_backend *b, char **jws);
/* Assertions reused from the cache / signed, since start (for /eidgate/metrics). */
/* The cache of recently signed assertions (one per gateway). */
struct assertion_cache;
struct assertion_cache *assertion_cache_new(void);
void assertion_cache_free(struct assertion_cache *c);
void assertion_cache_stats(struct assertion_cache *c, unsigned long *hits,
    unsigned long *misses);

/* verdict.c: verdicts on client chains, shared by all connections, so that a resumed TLS
 * session or a new connection of the same card is not re-checked (over the network, once
 * OCSP is on) each time. Entries live at most ttl_ms, so a revocation is honoured within
 * [eid] ocsp_cache. */
struct verdict_cache;
struct verdict_cache *verdict_cache_new(int64_t ttl_ms);
void verdict_cache_free(struct verdict_cache *vc);
/* 1 and *err, *id filled when a fresh verdict for chain_hash is cached. */
int verdict_get(struct verdict_cache *vc, const unsigned char chain_hash[32], int *err,
    struct eg_identity *id, char *detail, size_t detaillen);
/* Forgets every verdict (a reload may change trust anchors or revocation settings). */
void verdict_cache_clear(struct verdict_cache *vc);
void verdict_put(struct verdict_cache *vc, const unsigned char chain_hash[32], int err,
    const struct eg_identity *id, const char *detail);

/* identify.c */
void identify_user(struct request *r);
/* How long a certificate verdict may be reused, per connection and in the shared cache:
 * as long as an OCSP answer may be, at most a minute (so that a certificate revoked, or
 * a new CRL, takes effect soon even over a kept-alive connection). */
int64_t verdict_ttl_ms(const struct eg_config *cfg);
/* The capacity the user acts in: the acting organisation's first, NULL when none. */
const char *req_capacity(const struct req_user *u);

/* upstream.c */
int upstream_pool_new(int nworkers, struct upstream_pool **out);
struct up_worker *upstream_worker(struct upstream_pool *p, int i);

/* loop.c: an event-loop thread running daemon and worker w. loop_new takes the daemon
 * (stopped by loop_free, or at once when loop_new fails). */
struct gw_loop;
struct gw_loop *loop_new(struct MHD_Daemon *daemon, struct up_worker *w);
int loop_start(struct gw_loop *l);
void loop_stop(struct gw_loop *l);
void loop_free(struct gw_loop *l);
/* Refuses new transfers from now on; each loop ends its running ones when it stops. */
void upstream_pool_shutdown(struct upstream_pool *p);
void upstream_pool_free(struct upstream_pool *p);
/* For /eidgate/metrics: transfers running now (gauge), transfers started and upstream
 * connections opened since start (counters; their ratio shows connection reuse). */
void upstream_stats(struct upstream_pool *p, long *active, unsigned long *requests,
    unsigned long *connects);
/* Starts forwarding r to backend b; the request is answered from the upstream callbacks.
 * Returns MHD_YES/MHD_NO for the access handler. */
enum MHD_Result upstream_start(struct request *r, const struct policy_backend *b);
enum MHD_Result upstream_continue(struct request *r, const char *upload, size_t *upload_size);
void upstream_request_done(struct request *r, int client_gone);

#endif
