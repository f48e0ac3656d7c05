/*
 * record.c - the recording stage: every access-log record of the gateway is built here
 * from what the pipeline knows about a request (record.h says why it is one place).
 */
#include <string.h>

#include <openssl/sha.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/metrics.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/util.h"

static const char *const kind_names[] = {
	[REC_REQUEST] = "request",
	[REC_LOGIN] = "login",
	[REC_LOGIN_REFUSED] = "login-refused",
	[REC_LOGOUT] = "logout",
	[REC_RIGHTS] = "rights",
	[REC_SESSION_REVOKED] = "session-revoked",
	[REC_OUTCOME] = "outcome",
	[REC_POLICY] = "policy",
	[REC_PSEUDONYM] = "pseudonym",
	[REC_CONNECTION_REFUSED] = "connection-refused",
	[REC_REVIEW] = "review",
};

const char *
record_kind_name(enum rec_kind kind)
{
	if ((size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "?";
	return kind_names[kind];
}

/* The fields every record of this request shares: who, from where, what, when. */
static void
record_base(const struct request *r, struct audit_record *rec, enum rec_kind kind,
    int allow, const char *reason)
{
	const struct req_user *u = &r->user;

	memset(rec, 0, sizeof(*rec));
	rec->kind = record_kind_name(kind);
	rec->request_id = r->id;
	rec->client = r->client;
	rec->nrn = u->id.nrn[0] ? u->id.nrn : NULL;
	rec->cert_sha256 = u->id.fingerprint[0] ? u->id.fingerprint : NULL;
	rec->session = u->session_id[0] ? u->session_id : NULL;
	rec->method = r->method;
	rec->path = r->path;
	rec->decision = allow ? "allow" : "deny";
	rec->reason = reason;
	rec->latency_us = (uint64_t)(eg_now_us() - r->start_us);
}

/* A record in the log is also a sample for /eidgate/metrics: a refusal ends its request
 * (its latency is the gateway's), an outcome ends a forwarded one. */
static void
count(const struct request *r, const struct audit_record *rec, int allow, int ends)
{
	metrics_decision(r->gw->metrics, rec->kind, allow, rec->reason);
	if (ends)
		metrics_observe(r->gw->metrics, MH_REQUEST, rec->latency_us);
}

static int
record_append_seq(const struct request *r, const struct audit_record *rec, uint64_t *seq)
{
	if (audit_append(r->gw->audit, rec, seq) != EG_OK) {
		log_warnx("request %s: access log cannot be written: refusing", r->id);
		return EG_ERR_AUDIT;
	}
	count(r, rec, strcmp(rec->decision, "allow") == 0, strcmp(rec->decision, "deny") == 0);
	return EG_OK;
}

static int
record_append(const struct request *r, const struct audit_record *rec)
{
	return record_append_seq(r, rec, NULL);
}

/*
 * Where the request belongs: the organisation and facility it is about (the decision's
 * scope), so that their security officers see it whoever made it; the facility the user
 * acts for is its own field. A request about nothing in particular (a catalog read, a
 * login) belongs to the organisation the user acts for.
 */
static void
place(const struct request *r, struct audit_record *rec)
{
	const struct policy_scope *sc = &r->decision.scope;
	const struct req_user *u = &r->user;
	const char *org = u->context_org[0] ? u->context_org : NULL;
	const char *fac = u->context_facility[0] ? u->context_facility : NULL;

	if (!sc->set) {
		rec->org = org;
		rec->facility = fac;
		return;
	}
	rec->org = sc->org[0] ? sc->org : NULL;
	rec->facility = sc->kind == EG_SCOPE_FACILITY ? sc->id : NULL;
	if ((org != NULL && (rec->org == NULL || strcmp(org, rec->org) != 0)) ||
	    (fac != NULL && (rec->facility == NULL || strcmp(fac, rec->facility) != 0))) {
		rec->acting_org = org;
		rec->acting_facility = fac;
	}
}

/* The texts of what a decision depended on (record.h, "Replaying"), held while the
 * record is built. */
struct deps {
	char grants[16384], context[2 * EG_MAX_ID + 8], caps[1024];
};

/* A decision the policy took keeps what it depended on; one whose facts do not fit
 * keeps none (a replay reports it as not replayable rather than guess). */
static void
dependencies(const struct request *r, struct audit_record *rec, struct deps *d)
{
	const struct req_user *u = &r->user;
	const struct dir_person *p = u->person;
	struct rec_text g = REC_TEXT(d->grants), c = REC_TEXT(d->context),
	    k = REC_TEXT(d->caps);

	if (!r->policy_decided)
		return;
	if (record_text_grants(&g, u->authenticated, p != NULL ? p->grants : NULL,
	    p != NULL ? p->ngrants : 0) != 0 ||
	    record_text_context(&c, u->context_facility, u->context_org) != 0 ||
	    record_text_list(&k, u->org != NULL ? u->org->capacity_ptrs : NULL,
	    u->org != NULL ? u->org->ncapacities : 0) != 0)
		return;
	rec->grants = d->grants;
	rec->context = d->context;
	rec->capacities = d->caps;
	rec->facility_orgs = r->consulted;
	rec->revocation = u->id.revocation[0] ? u->id.revocation : NULL;
}

/* A decision record of r, filled but not appended. */
static void
decision_record(struct request *r, struct audit_record *rec, enum rec_kind kind, int allow,
    int reason_err, const char *reason_text)
{
	record_base(r, rec, kind, allow, reason_text != NULL ? reason_text :
	    eg_err_code(reason_err));
	place(r, rec);
	rec->capacity = req_scope_capacity(r);
	rec->rule = r->decision.rule;
	rec->backend = r->decision.backend != NULL ? r->decision.backend->name : NULL;
	rec->policy_version = r->snap != NULL && r->snap->policy != NULL ?
	    policy_version(r->snap->policy) : NULL;
	rec->intent = r->intent_ev;
	rec->intent_cert = r->intent_cert;
}

/* The organisations where p holds a role (directly, or on one of their facilities),
 * each once, at most max. */
static size_t
orgs_of(const struct dir_person *p, char (*orgs)[EG_MAX_ID], size_t max)
{
	size_t i, k, n = 0;

	for (i = 0; p != NULL && i < p->ngrants && n < max; i++) {
		const struct eg_grant *g = &p->grants[i];
		const char *org = g->kind == EG_SCOPE_ORGANISATION ? g->scope : g->org;
		for (k = 0; k < n && strcmp(orgs[k], org) != 0; k++)
			;
		if (org[0] != '\0' && k == n)
			eg_strlcpy(orgs[n++], org, EG_MAX_ID);
	}
	return n;
}

/*
 * A login, logout or revoked session that names no organisation (eidgate-login chooses
 * no facility; nor does someone working for several organisations before choosing)
 * belongs to every organisation where the person holds a role, so that each one's
 * security officers see it: one record per organisation, all with the request's id.
 * The first is the decision (and the metrics' sample); the others are its copies.
 */
static int
append_session_record(struct request *r, struct audit_record *rec)
{
	const struct dir_person *p = r->user.person;
	char orgs[EG_MAX_LOGIN_ORGS][EG_MAX_ID];
	size_t i, n;
	int rc, own = 0;

	if (rec->org != NULL || rec->nrn == NULL)
		return record_append(r, rec);
	if (p == NULL)
		own = dir_person(r->gw->dir, rec->nrn, &p) == EG_OK;
	n = orgs_of(p, orgs, EG_MAX_LOGIN_ORGS);
	if (own)
		dir_release(p);
	rec->org = n > 0 ? orgs[0] : NULL;
	rc = record_append(r, rec);
	for (i = 1; rc == EG_OK && i < n; i++) {
		rec->org = orgs[i];
		if (audit_append(r->gw->audit, rec, NULL) != EG_OK) {
			log_warnx("request %s: access log cannot be written: refusing", r->id);
			rc = EG_ERR_AUDIT;
		}
	}
	rec->org = NULL;        /* it pointed into this frame */
	return rc;
}

int
record_session_end(struct request *r, enum rec_kind kind, int reason_err, int64_t until,
    const char *everyone_of)
{
	struct audit_record rec;

	decision_record(r, &rec, kind, kind == REC_LOGOUT, reason_err, NULL);
	rec.ends_session_until = until;
	/* "log out everywhere": whose sessions, as an administrator's end says it, so that
	 * a restart ends them again (server.c load_person_ends) */
	if (everyone_of != NULL) {
		rec.action = "end-sessions";
		rec.target = everyone_of;
	}
	return append_session_record(r, &rec);
}

/* An outcome follows an accepted decision: it is queued even while the log retries. */
static int
followup(const struct request *r, const struct audit_record *rec)
{
	if (audit_append_followup(r->gw->audit, rec) != EG_OK) {
		log_warnx("request %s: the outcome of the request cannot be recorded", r->id);
		return EG_ERR_AUDIT;
	}
	count(r, rec, strcmp(rec->decision, "allow") == 0, 1);
	return EG_OK;
}

int
record_decision(struct request *r, enum rec_kind kind, int allow, int reason_err,
    const char *reason_text, int upstream_status, uint64_t bytes)
{
	struct audit_record rec;
	struct deps d;

	decision_record(r, &rec, kind, allow, reason_err, reason_text);
	if (kind == REC_REQUEST)
		dependencies(r, &rec, &d);
	rec.upstream_status = upstream_status;
	rec.bytes = bytes;
	if (kind == REC_LOGIN)
		return append_session_record(r, &rec);
	if (kind != REC_REQUEST)
		return record_append(r, &rec);
	r->decided = 1;
	return record_append_seq(r, &rec, &r->record_seq);
}

int
record_position(const struct request *r, char *out, size_t len)
{
	int n;

	if (!r->decided || r->record_seq == 0)
		return EG_ERR_INTERNAL;
	n = snprintf(out, len, "%s;%llu", audit_instance_name(r->gw->audit),
	    (unsigned long long)r->record_seq);
	return n > 0 && (size_t)n < len ? EG_OK : EG_ERR_INTERNAL;
}

int
record_read(struct request *r, const char *what)
{
	return record_decision(r, REC_REQUEST, 1, EG_OK, what, 0, 0);
}

/* The organisation (and facility) a rights change belongs to, so that the
 * organisation's security officers see it. */
static void
place_scope(struct dir_resolver *dir, const char *scope, char *org, char *fac)
{
	struct dir_scope s;
	const struct dir_facility *f = NULL;

	org[0] = fac[0] = '\0';
	if (scope == NULL || dir_scope_parse(scope, &s) != EG_OK)
		return;
	if (s.kind == EG_SCOPE_ORGANISATION) {
		eg_strlcpy(org, s.id, EG_MAX_ID);
	} else if (s.kind == EG_SCOPE_FACILITY && dir != NULL &&
	    dir_facility(dir, s.id, &f) == EG_OK && f->found) {
		eg_strlcpy(org, f->org, EG_MAX_ID);
		eg_strlcpy(fac, f->id, EG_MAX_ID);
	}
	dir_release(f);
}

/* What a change of rights is about, and where it belongs (org and fac hold the place's
 * text, EG_MAX_ID bytes each, for as long as rec is used). */
struct change_of_rights {
	const char *action, *target, *role, *scope;
};

static void
rights_fields(struct request *r, struct audit_record *rec, const struct change_of_rights *c,
    char *org, char *fac)
{
	place_scope(r->gw->dir, c->scope, org, fac);
	rec->org = org[0] ? org : NULL;
	rec->facility = fac[0] ? fac : NULL;
	rec->actor = rec->nrn;
	rec->action = c->action;
	rec->target = c->target;
	rec->role = c->role;
	rec->scope = c->scope;
}

int
record_rights(struct request *r, int allow, const char *reason, const char *action,
    const char *target, const char *role, const char *scope)
{
	const struct change_of_rights c = { action, target, role, scope };
	struct audit_record rec;
	char org[EG_MAX_ID], fac[EG_MAX_ID];

	record_base(r, &rec, REC_RIGHTS, allow, reason);
	rights_fields(r, &rec, &c, org, fac);
	return record_append(r, &rec);
}

int
record_grant(struct request *r, const char *target, const char *role, const char *scope,
    const char *until, const char *authority)
{
	const struct change_of_rights c = { "grant", target, role, scope };
	struct audit_record rec;
	char org[EG_MAX_ID], fac[EG_MAX_ID];

	record_base(r, &rec, REC_RIGHTS, 1, "permitted");
	rights_fields(r, &rec, &c, org, fac);
	rec.until = until;
	rec.authority = authority;
	return record_append(r, &rec);
}

int
record_review(struct request *r, const char *target, const char *role, const char *scope,
    const char *verdict)
{
	const struct change_of_rights c = { verdict, target, role, scope };
	struct audit_record rec;
	char org[EG_MAX_ID], fac[EG_MAX_ID];

	record_base(r, &rec, REC_REVIEW, 1, verdict);
	rights_fields(r, &rec, &c, org, fac);
	return record_append(r, &rec);
}

int
record_outcome(struct request *r, const char *reason, int status, uint64_t bytes)
{
	struct audit_record rec;

	record_base(r, &rec, REC_OUTCOME, 1, reason);
	place(r, &rec);
	rec.rule = r->decision.rule;
	rec.backend = r->decision.backend != NULL ? r->decision.backend->name : NULL;
	rec.upstream_status = status;
	rec.bytes = bytes;
	return followup(r, &rec);
}

int
record_rights_outcome(struct request *r, const char *reason, int status,
    const char *action, const char *target, const char *role, const char *scope)
{
	const struct change_of_rights c = { action, target, role, scope };
	struct audit_record rec;
	char org[EG_MAX_ID], fac[EG_MAX_ID];

	record_base(r, &rec, REC_OUTCOME, status < 400, reason);
	rights_fields(r, &rec, &c, org, fac);
	rec.upstream_status = status;
	return followup(r, &rec);
}

int
record_operator(struct audit_log *log, struct dir_resolver *dir,
    const struct rec_operator *op)
{
	struct audit_record rec;
	char org[EG_MAX_ID], fac[EG_MAX_ID];

	place_scope(dir, op->scope, org, fac);
	memset(&rec, 0, sizeof(rec));
	rec.kind = record_kind_name(op->outcome ? REC_OUTCOME : REC_RIGHTS);
	rec.request_id = op->request_id;
	rec.client = "local";
	rec.org = org[0] ? org : NULL;
	rec.facility = fac[0] ? fac : NULL;
	rec.decision = op->allow ? "allow" : "deny";
	rec.reason = op->reason;
	rec.actor = op->actor;
	rec.action = op->action;
	rec.target = op->target;
	rec.role = op->role;
	rec.scope = op->scope;
	if ((op->outcome ? audit_append_followup(log, &rec) :
	    audit_append(log, &rec, NULL)) != EG_OK) {
		log_warnx("operator change %s: access log cannot be written", op->request_id);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

int
record_policy(struct audit_log *log, const struct policy *p, const char *why)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	struct audit_record rec;
	size_t len;
	const char *text = policy_text(p, &len);

	if (SHA256((const unsigned char *)text, len, md) == NULL)
		return EG_ERR_CRYPTO;
	eg_hex(md, sizeof(md), hex);
	memset(&rec, 0, sizeof(rec));
	rec.kind = record_kind_name(REC_POLICY);
	rec.client = "local";
	rec.decision = "allow";
	rec.reason = why;
	rec.policy_version = policy_version(p);
	rec.policy_sha256 = hex;
	rec.policy_text = text;
	rec.policy_text_len = len;
	if (audit_append(log, &rec, NULL) != EG_OK) {
		log_warnx("policy %s: access log cannot be written: the policy is not used",
		    rec.policy_version);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

int
record_pseudonym(struct audit_log *log, const struct rec_lookup *l)
{
	struct audit_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.kind = record_kind_name(REC_PSEUDONYM);
	rec.request_id = l->request_id;
	rec.client = "local";
	rec.actor = l->actor;
	rec.action = "resolve";
	rec.target = l->target;
	rec.backend = l->backend;
	rec.key = l->key_id;
	rec.decision = l->allow ? "allow" : "deny";
	rec.reason = l->reason;
	if (audit_append(log, &rec, NULL) != EG_OK || audit_flush(log) != EG_OK) {
		log_warnx("pseudonym lookup %s: access log cannot be written", l->request_id);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

int
record_pseudonym_request(struct request *r, const struct rec_lookup *l, const char *org,
    const char *action)
{
	struct audit_record rec;

	record_base(r, &rec, REC_PSEUDONYM, l->allow, l->reason);
	rec.actor = rec.nrn;
	rec.action = action;
	rec.target = l->target;
	rec.backend = l->backend;
	rec.key = l->key_id;
	rec.org = org;
	if (record_append(r, &rec) != EG_OK || audit_flush(r->gw->audit) != EG_OK)
		return EG_ERR_AUDIT;
	return EG_OK;
}

int
record_connection_refused(struct audit_log *log, struct metrics *m, const char *request_id,
    const char *client, const char *reason, const char *detail)
{
	struct audit_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.kind = record_kind_name(REC_CONNECTION_REFUSED);
	rec.request_id = request_id;
	rec.client = client;
	rec.decision = "deny";
	rec.reason = reason;
	/* The record has no free-text field: what was wrong goes where a request's path
	 * would be, so that `audit query` shows it. */
	rec.path = detail;
	if (m != NULL)
		metrics_decision(m, rec.kind, 0, reason);
	if (audit_append_followup(log, &rec) != EG_OK) {
		log_warnx("connection %s from %s refused (%s): access log cannot be written",
		    request_id, client, reason);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}
