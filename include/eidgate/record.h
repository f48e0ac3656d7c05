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
};

/* "request", "login", "login-refused", "logout", "rights", "session-revoked" or
 * "outcome". */
const char *record_kind_name(enum rec_kind kind);

/*
 * Records a decision of kind `kind` about r: allow or deny, with reason_err as its
 * reason code (eg_err_code) unless reason_text is given. upstream_status and bytes are
 * the backend's status and the body bytes sent (0 when none). A REC_REQUEST record marks
 * r as decided. EG_OK or EG_ERR_AUDIT (logged; the caller answers 503).
 */
int record_decision(struct request *r, enum rec_kind kind, int allow, int reason_err,
    const char *reason_text, int upstream_status, uint64_t bytes);

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

/* For /eidgate/metrics: decisions allowed and denied since start. */
void record_stats(const struct request *r, unsigned long *allowed, unsigned long *denied);

#endif
