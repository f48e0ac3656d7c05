/*
 * record.h - the recording stage (record/): what goes into the access log about a
 * request, a login or a change of rights (PRODUCT.md §7).
 *
 * Every access-log record the gateway writes is built here, and only here: the request
 * pipeline and the stages it drives (pages/, api/, forward/) say what happened, with a
 * record kind from enum rec_kind, and this stage fills in who (national number,
 * certificate, session), from where, what (method, path), the acting organisation,
 * facility and capacity, the rule and the policy version, then hands the record to the
 * log (audit.h). A record that cannot be written is reported as EG_ERR_AUDIT, and the
 * caller must then refuse (pages.h respond_audit_unavailable): nothing is served
 * unlogged.
 *
 * What it owns: the mapping from a request to a record and the decision counters of
 * /eidgate/metrics. What it may call: audit/ (the log), directory/ (to place a rights
 * change in its organisation). It answers nobody: the caller decides what to send.
 *
 * Durability is the log's ([audit] sync, audit.h): EG_OK means queued (group, none) or
 * committed (full).
 *
 * Threads: any thread, for the request it owns.
 */
#ifndef EIDGATE_RECORD_H
#define EIDGATE_RECORD_H

#include <stdint.h>

struct request;
struct audit_log;
struct dir_resolver;

/* The kinds of record; record_kind_name() gives the word stored in the log. */
enum rec_kind {
	REC_REQUEST,            /* a decision on a request ("request") */
	REC_LOGIN,              /* a session made ("login") */
	REC_LOGIN_REFUSED,      /* a certificate or session refused ("login-refused") */
	REC_LOGOUT,             /* "logout" */
	REC_RIGHTS,             /* a change, refusal or listing of rights ("rights") */
	REC_SESSION_REVOKED,    /* a session ended because its card is revoked
	                         * ("session-revoked") */
	REC_OUTCOME,            /* how a forwarded request ended ("outcome"), after its
	                         * decision */
	REC_CONNECTION_REFUSED, /* a connection closed before any request: a limit, a PROXY
	                         * header out of place ("connection-refused") */
};

/* "request", "login", "login-refused", "logout", "rights", "session-revoked",
 * "outcome" or "connection-refused". */
const char *record_kind_name(enum rec_kind kind);

/*
 * Records a decision of kind `kind` about r: allow or deny, with reason_err as its
 * reason code (eg_err_code) unless reason_text is given. upstream_status and bytes are
 * the backend's status and the body bytes sent (0 when none). A REC_REQUEST record marks
 * r as decided. A REC_LOGIN record (like record_session_end's) that names no
 * organisation is written once for each organisation where the person holds a role (at
 * most EG_MAX_LOGIN_ORGS), with the same request id, so that every one's security
 * officers see it. EG_OK or EG_ERR_AUDIT (logged; the caller answers 503).
 */
int record_decision(struct request *r, enum rec_kind kind, int allow, int reason_err,
    const char *reason_text, int upstream_status, uint64_t bytes);

/* A record of kind REC_LOGOUT (allowed) or REC_SESSION_REVOKED (a deny with reason
 * reason_err) that also ends r's session until `until` (seconds since the epoch), in the
 * same transaction (audit.h ends_session_until). EG_OK or EG_ERR_AUDIT. */
int record_session_end(struct request *r, enum rec_kind kind, int reason_err, int64_t until);

/* An answered built-in read (who am I, the access log) under reason `what`: an allowed
 * REC_REQUEST. EG_OK or EG_ERR_AUDIT. */
int record_read(struct request *r, const char *what);

/*
 * A REC_RIGHTS record with the user as actor: allow (the change was made, or the
 * listing given) or deny with reason; action "grant", "revoke" or "list"; target the
 * national number whose rights change (or NULL), role and scope ("organisation:<n>",
 * "facility:<id>", "region:<r>"; NULL when not known or not valid). The record names the
 * scope's organisation and facility, so that its security officers see it. EG_OK or
 * EG_ERR_AUDIT.
 */
int record_rights(struct request *r, int allow, const char *reason, const char *action,
    const char *target, const char *role, const char *scope);

/*
 * The outcome of a request whose decision was recorded (REC_OUTCOME, linked to it by the
 * request id; PRODUCT.md §7): how it ended (reason: complete, client-gone,
 * backend-broken, timeout, ...), the status the client got, the body bytes it was given,
 * and the latency. Queued even while the log cannot be written, to follow its decision
 * when it can (audit_append_followup). EG_OK or EG_ERR_AUDIT.
 */
int record_outcome(struct request *r, const char *reason, int status, uint64_t bytes);
/* The outcome of a rights change (reason: granted, already-held, revoked, not-held,
 * last-vte, directory-unavailable; status: the HTTP status answered). */
int record_rights_outcome(struct request *r, const char *reason, int status,
    const char *action, const char *target, const char *role, const char *scope);

/*
 * A change of rights by the platform operator (eidgate directory add-vte, remove-vte),
 * which no request carries: its decision before the directory is written (outcome 0,
 * kind "rights") and its result after (outcome 1, kind "outcome"), linked by request_id.
 * actor is "operator:<user>"; scope "organisation:<n>". The running gateway writes them
 * into its own chain (server/control.c); without one, the command opens the log itself.
 */
struct rec_operator {
	const char *request_id, *actor, *action, *target, *role, *scope, *reason;
	int allow, outcome;
};
/* Builds and appends the record (the scope placed with dir, which may be NULL). EG_OK or
 * EG_ERR_AUDIT; the decision is committed when sync is full. */
int record_operator(struct audit_log *log, struct dir_resolver *dir,
    const struct rec_operator *op);

/*
 * A connection refused before it carried a request (REC_CONNECTION_REFUSED, a deny):
 * client is its address (the one its PROXY header gave, when it had one), reason one of
 * "connection-limit", "address-limit", "proxy-header"; request_id names it ("c-..."),
 * detail (may be NULL) says more, e.g. what was wrong with a PROXY header. Also counted
 * in metrics (m may be NULL). Queued without waiting for a commit
 * (audit_append_followup): the event loop that refuses must not stall on the disk, and
 * nothing is served on the strength of this record. EG_OK or EG_ERR_AUDIT.
 */
struct metrics;
int record_connection_refused(struct audit_log *log, struct metrics *m, const char *request_id,
    const char *client, const char *reason, const char *detail);

#endif
