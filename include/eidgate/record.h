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

#include <stddef.h>
#include <stdint.h>

#include "eidgate/limits.h"
#include "eidgate/policy.h"

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
	REC_POLICY,             /* a policy version put in force ("policy"): keeps its
	                         * text in the log (record_policy) */
	REC_PSEUDONYM,          /* an officer resolved a backend pseudonym ("pseudonym") */
	REC_CONNECTION_REFUSED, /* a connection closed before any request: a limit, a PROXY
	                         * header out of place ("connection-refused") */
	REC_REVIEW,             /* an officer's access-review verdict on one right
	                         * ("review") */
};

/* "request", "login", "login-refused", "logout", "rights", "session-revoked",
 * "outcome", "policy", "pseudonym" or "connection-refused". */
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

/* Where r's decision record is, as the backend gets it in X-Eidgate-Record:
 * "instance;seq" (audit.h, "Decision receipts"). EG_OK, or EG_ERR_INTERNAL when no
 * decision record was written or len is too small (REC_POSITION_MAX is enough). */
#define REC_POSITION_MAX (63 + 1 + 20 + 1)
int record_position(const struct request *r, char *out, size_t len);

/* A record of kind REC_LOGOUT (allowed) or REC_SESSION_REVOKED (a deny with reason
 * reason_err) that also ends r's session until `until` (seconds since the epoch), in the
 * same transaction (audit.h ends_session_until). everyone_of (a national number, or
 * NULL): a logout that ended every session of that person made until now; the record
 * then says so as an administrator's end does (action "end-sessions", target).
 * EG_OK or EG_ERR_AUDIT. */
int record_session_end(struct request *r, enum rec_kind kind, int reason_err, int64_t until,
    const char *everyone_of);

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

/* record_rights for a grant that is permitted (allow, reason "permitted", action
 * "grant"), with its end (until: ISO 8601 UTC, NULL when none) and the capacity that
 * allowed it (authority: "<role>@<kind>:<id>"): the provenance the directory keeps
 * is in the log first. EG_OK or EG_ERR_AUDIT. */
int record_grant(struct request *r, const char *target, const char *role,
    const char *scope, const char *until, const char *authority);

/*
 * A REC_REVIEW record (allow) with the user, a security officer, as actor: their verdict
 * on the right `role` on `scope` of target, in the periodic access review. verdict
 * ("confirmed" or "to-remove") is both the record's action and its reason; the record
 * names the scope's organisation and facility like record_rights, so that the overdue
 * list (api/audit_review.c) is computed from the log alone. EG_OK or EG_ERR_AUDIT.
 */
int record_review(struct request *r, const char *target, const char *role,
    const char *scope, const char *verdict);

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
 * A policy put in force (at start, at each reload), before it decides anything: a
 * record of kind "policy" naming its version and the SHA-256 of its text, with the text
 * itself kept once per version in the log (audit.h policy_text), so that every decision
 * can be replayed with the very policy that took it. why: "start" or "reload". EG_OK or
 * EG_ERR_AUDIT (the caller must not use the policy: it could not be replayed).
 */
int record_policy(struct audit_log *log, const struct policy *p, const char *why);

/*
 * A pseudonym resolved by the platform operator or an officer (eidgate access
 * pseudonym): who asked (actor), for which backend and person (target), and the key id
 * used; decision allow. EG_OK or EG_ERR_AUDIT (then nothing may be shown).
 */
struct rec_lookup {
	const char *request_id, *actor, *backend, *target, *key_id, *reason;
	int allow;
};
int record_pseudonym(struct audit_log *log, const struct rec_lookup *l);
/*
 * The same lookup made by a security officer on the officers' page (api/): the record
 * carries the request's own fields (user as actor and nrn, client, session, method,
 * path), the officer's organisation org (so that its officers see it), and action
 * l->action ("resolve": national number to pseudonym; "identify": pseudonym to person);
 * it is committed before this returns. EG_OK or EG_ERR_AUDIT (then nothing may be shown).
 */
int record_pseudonym_request(struct request *r, const struct rec_lookup *l, const char *org,
    const char *action);

/* ==== Replaying (record/replay.c) ====
 *
 * A request record whose decision the policy took holds what it depended on, so that
 * `eidgate audit replay` can take it again (fields 26-30, audit.h):
 *   grants         "-" when the user was not authenticated, else the roles held, each
 *                  "role kind:scope[@org]" (kind organisation, facility or region; org
 *                  the facility's organisation), joined by ","; "" for none
 *   context        "facility@org" acted for ("@org", or "" for none)
 *   capacities     the capacities of that organisation, joined by ","
 *   facility_orgs  "facility=org" for each facility whose organisation the decision
 *                  asked the directory ("facility=" when unknown), joined by ","
 *   revocation     the certificate's revocation evidence (auth.h eg_identity)
 * Ids holding one of ", @=%:" or a control character are written %XX.
 */
struct rec_text {
	char *buf;                      /* the caller's, cap bytes */
	size_t cap, len;
};
#define REC_TEXT(arr) { (arr), sizeof(arr), 0 }
/* Each writes t (replacing what it held); 0, or -1 when it does not fit. */
int record_text_grants(struct rec_text *t, int authenticated, const struct eg_grant *g,
    size_t n);
int record_text_context(struct rec_text *t, const char *facility, const char *org);
int record_text_list(struct rec_text *t, const char *const *items, size_t n);
/* Appends "key=value" (value NULL: unknown) to t. */
int record_text_pair(struct rec_text *t, const char *key, const char *value);

#define REC_MAX_CAPACITIES 8
#define REC_MAX_FACILITY_ORGS 32
/* The subject of a recorded decision, rebuilt (large: allocate it). */
struct rec_subject {
	struct eg_subject s;            /* what policy_decide takes */
	struct eg_grant grants[EG_MAX_GRANTS];
	size_t ngrants;
	char ctx_facility[EG_MAX_ID], ctx_org[EG_MAX_ID];
	char caps[REC_MAX_CAPACITIES][EG_MAX_ID];
	const char *cap_ptrs[REC_MAX_CAPACITIES];
	size_t ncaps;
	char facs[REC_MAX_FACILITY_ORGS][2][EG_MAX_ID];
	size_t nfacs;
};
struct audit_record;
/* Fills rs from rec: EG_OK (rs->s points into rs: valid while rs is), EG_ERR_NOT_FOUND
 * when rec holds no such facts (not a policy decision, or written before they were
 * kept), EG_ERR_PARSE when they are malformed. rec's strings are not kept. */
int record_subject_load(struct rec_subject *rs, const struct audit_record *rec);
/* What the policy decided about a recorded request: 1 allow, 0 deny. A request the
 * policy allowed may still have been refused for another reason (cross-site, a method
 * override, a body too large, keys unavailable): its record says deny with that reason,
 * and this says allow. */
int record_policy_verdict(const struct audit_record *rec);

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
