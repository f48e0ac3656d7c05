/*
 * audit_review.c - the security officers' access review under /eidgate/audit/api/
 * (issue 16 item 2), for their own organisation only:
 *   POST who-can   {method, path[, org]}   who of the organisation could make it now
 *   POST what-can  {nrn[, org]}            what one of its people reaches, route by route,
 *                                          among the organisation's facilities
 *   GET  review[?org=O][&overdue=1]        every right given in the organisation (or
 *                                          the overdue ones), its last verdict and
 *                                          whether it is overdue
 *   POST review    {nrn, role, scope, verdict[, org]}   a verdict: confirmed, to-remove
 * The reviews are policy.h policy_who_can / policy_what_can, as for `eidgate access`;
 * only the grants of the officer's organisation count, so nothing of another one shows.
 * National numbers travel in bodies only, never in a URL.
 *
 * The reviews read the whole directory (seconds on 50,000 people): a thread of their
 * own does it while the connection is suspended, so the event loop serves the other
 * connections meanwhile; the thread touches the request only to fill its job, and
 * resumes the connection as its very last act. The answer, and its access-log record,
 * are then made on the event loop. Verdicts are records of kind "review" (record.h);
 * the overdue list is computed from them and [audit] review_period.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/api.h"
#include "eidgate/audit.h"
#include "eidgate/auth.h"
#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/policy.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/util.h"
#include "api/internal.h"

void
api_job_free(struct api_job *job)
{
	if (job == NULL)
		return;
	json_decref(job->answer);
	explicit_bzero(job, sizeof(*job));     /* a national number, a pseudonym */
	free(job);
}

/* ---- the request: its organisation and body --------------------------------------- */

/* The organisation asked for (org, from the body or the query), else the first the
 * user is security officer of; NULL when they are officer of none (or not of the one
 * asked). */
static const char *
officer_org(struct request *r, const char *org)
{
	const struct dir_person *p = r->user.person;
	size_t i;

	if (org != NULL && org[0] != '\0')
		return api_officer_of(r, org) ? org : NULL;
	for (i = 0; p != NULL && i < p->ngrants; i++)
		if (api_officer_of(r, p->grants[i].scope))
			return p->grants[i].scope;
	return NULL;
}

const char *
api_json_text(json_t *j, const char *name, int *bad)
{
	json_t *v = json_object_get(j, name);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = 1;               /* not text, empty, or with a NUL inside */
		return NULL;
	}
	return json_string_value(v);
}

const char *
api_review_parse(json_t *j, enum review_body b, struct review_req *q)
{
	const char *nrn;
	struct dir_scope ds;
	int bad = 0;

	memset(q, 0, sizeof(*q));
	if (!json_is_object(j))
		return "body";
	q->org = api_json_text(j, "org", &bad);
	if (bad || (q->org != NULL && strlen(q->org) >= EG_MAX_ID))
		return "org";
	if (b == REVIEW_WHO) {
		q->method = api_json_text(j, "method", &bad);
		if (bad || q->method == NULL || !policy_method_known(q->method))
			return "method";
		q->path = api_json_text(j, "path", &bad);
		if (bad || q->path == NULL || q->path[0] != '/' || strlen(q->path) >= EG_MAX_PATH)
			return "path";
		return NULL;
	}
	nrn = api_json_text(j, "nrn", &bad);
	if (bad || nrn == NULL || api_nrn_of(nrn, q->nrn) != 0 || auth_nrn_check(q->nrn) != EG_OK)
		return "nrn";
	if (b == REVIEW_WHAT)
		return NULL;
	q->role = api_json_text(j, "role", &bad);
	if (bad || q->role == NULL || !dir_role_known(q->role))
		return "role";
	q->scope = api_json_text(j, "scope", &bad);
	if (bad || q->scope == NULL || dir_scope_parse(q->scope, &ds) != EG_OK)
		return "scope";
	q->verdict = api_json_text(j, "verdict", &bad);
	if (bad || q->verdict == NULL || (strcmp(q->verdict, "confirmed") != 0 &&
	    strcmp(q->verdict, "to-remove") != 0))
		return "verdict";
	return NULL;
}

/* ---- the thread ------------------------------------------------------------------- */

void
api_job_fail(struct api_job *job, unsigned status, const char *reason)
{
	json_decref(job->answer);
	job->answer = NULL;
	job->status = status;
	job->reason = reason;
}

struct who_out {
	json_t *people;
};

static json_t *
grant_json(const struct eg_grant *g)
{
	char scope[EG_MAX_ID + 16];

	if (g == NULL)
		return json_pack("{s:n, s:n}", "role", "scope");
	snprintf(scope, sizeof(scope), "%s:%s", dir_scope_kind_name(g->kind), g->scope);
	return json_pack("{s:s, s:s}", "role", g->role, "scope", scope);
}

static void
who_json(void *arg, const struct policy_who *w)
{
	struct who_out *o = arg;
	char masked[16];
	json_t *j = grant_json(w->grant);

	log_mask_nrn(w->person->nrn, masked, sizeof(masked));
	json_object_set_new(j, "name", json_string(w->person->name));
	json_object_set_new(j, "nrn_masked", json_string(masked));
	json_object_set_new(j, "rule", json_string(w->rule));
	json_object_set_new(j, "signed", json_boolean(w->signed_intent));
	json_object_set_new(j, "acting_for", w->facility != NULL ? json_string(w->facility) :
	    w->org != NULL ? json_string(w->org) : json_null());
	json_array_append_new(o->people, j);
}

static void
job_who(struct api_job *job, const struct dir_all *a)
{
	static const char *const kinds[] = { "people", "anyone", "everyone" };
	struct who_out o = { json_array() };
	char path[EG_MAX_PATH];
	enum policy_who_kind kind;
	const char *rule;
	int rc;

	rc = policy_who_can(job->policy, a, job->org, job->method, job->target, path,
	    sizeof(path), &kind, &rule, who_json, &o);
	if (rc != EG_OK) {
		json_decref(o.people);
		api_job_fail(job, rc == EG_ERR_PARSE ? 400 : 500, rc == EG_ERR_PARSE ? "filter" :
		    "internal");
		return;
	}
	/* "signed" (anyone, everyone): the rule that lets them asks a card-signed intent;
	 * for people, each entry says it of its own rule. */
	job->answer = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:b, s:I, s:o}", "organisation",
	    job->org, "method", job->method, "path", path, "kind", kinds[kind], "rule", rule,
	    "signed", policy_rule_signed(job->policy, rule), "count",
	    (json_int_t)json_array_size(o.people), "people", o.people);
}

struct what_out {
	const struct dir_all *a;
	const char *org;
	json_t *backends, *backend, *route, *reached;
};

static void
what_route_json(void *arg, const char *backend, const struct policy_route *rt, int kind)
{
	static const char *const kinds[] = { "organisation", "facility", "region" };
	struct what_out *o = arg;
	const char *last;
	char methods[64];

	last = o->backend != NULL ? json_string_value(json_object_get(o->backend, "name")) :
	    NULL;
	if (last == NULL || strcmp(last, backend) != 0) {
		o->backend = json_pack("{s:s, s:[]}", "name", backend, "routes");
		json_array_append_new(o->backends, o->backend);
	}
	policy_methods_text(rt->methods, methods, sizeof(methods));
	o->reached = json_array();
	o->route = json_pack("{s:s, s:s, s:s, s:s?, s:b, s:b, s:o}", "rule", rt->rule,
	    "methods", methods, "pattern", rt->pattern, "kind", kind >= 0 && kind <= 2 ?
	    kinds[kind] : NULL, "signed", rt->signed_intent, "reaches", 0, "values",
	    o->reached);
	json_array_append_new(json_object_get(o->backend, "routes"), o->route);
}

static void
what_reach_json(void *arg, const char *value)
{
	struct what_out *o = arg;

	json_object_set_new(o->route, "reaches", json_true());
	if (value != NULL)
		json_array_append_new(o->reached, json_string(value));
}

/* Only the officer's organisation: its facilities, itself, the regions it has
 * facilities in. */
static int
what_want(void *arg, int kind, const char *value)
{
	struct what_out *o = arg;
	const struct dir_facility *f;
	size_t i;

	if (kind == EG_SCOPE_FACILITY)
		return (f = dir_all_facility(o->a, value)) != NULL && strcmp(f->org, o->org) == 0;
	if (kind == EG_SCOPE_ORGANISATION)
		return strcmp(value, o->org) == 0;
	for (i = 0; i < o->a->nfacilities; i++)
		if (strcmp(o->a->facilities[i].org, o->org) == 0 &&
		    strcmp(o->a->facilities[i].region, value) == 0)
			return 1;
	return 0;
}

static void
job_what(struct api_job *job, const struct dir_all *a)
{
	const struct dir_all_person *p = dir_all_person(a, job->nrn);
	struct what_out o = { a, job->org, NULL, NULL, NULL, NULL };
	const struct policy_what_cb cb = { what_route_json, what_reach_json, what_want, &o };
	json_t *grants = json_array();
	char masked[16];
	const char *go;
	size_t k;

	for (k = 0; p != NULL && k < p->n; k++)
		if ((go = policy_grant_org(&a->grants[p->first + k])) != NULL &&
		    strcmp(go, job->org) == 0)
			json_array_append_new(grants, grant_json(&a->grants[p->first + k]));
	if (json_array_size(grants) == 0) {
		/* Not one of the organisation's people: nothing of them is shown. */
		json_decref(grants);
		api_job_fail(job, 404, "not-in-organisation");
		return;
	}
	o.backends = json_array();
	if (policy_what_can(job->policy, a, job->org, &a->grants[p->first], p->n, &cb) !=
	    EG_OK) {
		json_decref(grants);
		json_decref(o.backends);
		api_job_fail(job, 500, "internal");
		return;
	}
	log_mask_nrn(p->nrn, masked, sizeof(masked));
	job->answer = json_pack("{s:s, s:{s:s, s:s, s:o}, s:o}", "organisation", job->org,
	    "person", "name", p->name, "nrn_masked", masked, "grants", grants, "backends",
	    o.backends);
}

/* ---- the periodic review: the rights of the organisation and their verdicts -------- */

struct verdicts {
	json_t *by_right;               /* "nrn role scope" -> {last, last_verdict, confirmed} */
};

static void
right_key(const char *nrn, const char *role, const char *scope, char *out, size_t len)
{
	snprintf(out, len, "%s %s %s", nrn, role, scope);
}

static int
verdict_record(const struct audit_record *rec, void *arg)
{
	struct verdicts *v = arg;
	char key[EG_NRN_LEN + 2 * EG_MAX_ID + 32];
	json_t *j;

	if (rec->target == NULL || rec->role == NULL || rec->scope == NULL ||
	    rec->action == NULL)
		return 0;
	right_key(rec->target, rec->role, rec->scope, key, sizeof(key));
	if ((j = json_object_get(v->by_right, key)) == NULL) {
		j = json_pack("{s:I, s:I}", "last", (json_int_t)0, "confirmed", (json_int_t)0);
		json_object_set_new(v->by_right, key, j);
	}
	if (rec->time_us >= json_integer_value(json_object_get(j, "last"))) {
		json_object_set_new(j, "last", json_integer(rec->time_us));
		json_object_set_new(j, "verdict", json_string(rec->action));
	}
	if (strcmp(rec->action, "confirmed") == 0 &&
	    rec->time_us > json_integer_value(json_object_get(j, "confirmed")))
		json_object_set_new(j, "confirmed", json_integer(rec->time_us));
	return 0;
}

static json_t *
time_json(int64_t us)
{
	char t[40];

	if (us <= 0)
		return json_null();
	eg_format_time(us, t, sizeof(t));
	return json_string(t);
}

static json_t *
right_json(const struct api_job *job, const struct dir_all *a, const struct dir_holding *h,
    json_t *verdicts, size_t *overdue)
{
	const struct dir_all_person *p = dir_all_person(a, h->nrn);
	char key[EG_NRN_LEN + 2 * EG_MAX_ID + 32], scope[EG_MAX_ID + 16], masked[16];
	int64_t confirmed = 0, last = 0;
	const char *verdict = NULL;
	json_t *v;
	int late;

	snprintf(scope, sizeof(scope), "%s:%s", dir_scope_kind_name(h->grant.kind),
	    h->grant.scope);
	right_key(h->nrn, h->grant.role, scope, key, sizeof(key));
	if ((v = json_object_get(verdicts, key)) != NULL) {
		confirmed = json_integer_value(json_object_get(v, "confirmed"));
		last = json_integer_value(json_object_get(v, "last"));
		verdict = json_string_value(json_object_get(v, "verdict"));
	}
	late = confirmed == 0 || job->now_us - confirmed > job->cfg->audit_review_period_ms * 1000;
	*overdue += late != 0;
	log_mask_nrn(h->nrn, masked, sizeof(masked));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s?, s:b}", "nrn", h->nrn,
	    "nrn_masked", masked, "name", p != NULL ? p->name : h->name, "role", h->grant.role, "scope", scope,
	    "last_confirmed", time_json(confirmed), "last_review", time_json(last),
	    "last_verdict", verdict, "overdue", late);
}

static void
job_list(struct api_job *job, const struct dir_all *a)
{
	struct audit_filter f = { NULL, job->org, NULL, NULL, "review", 0, 0, 0, 0 };
	struct verdicts v = { json_object() };
	json_t *rights = json_array();
	size_t i, overdue = 0;
	const char *go;

	if (audit_query_merged_live(job->audit, job->witness, &f, verdict_record, &v) !=
	    EG_OK) {
		json_decref(v.by_right);
		json_decref(rights);
		api_job_fail(job, 503, "audit-unavailable");
		return;
	}
	for (i = 0; i < a->nholdings; i++) {
		size_t before = overdue;
		json_t *j;
		if ((go = policy_grant_org(&a->holdings[i].grant)) == NULL ||
		    strcmp(go, job->org) != 0)
			continue;
		j = right_json(job, a, &a->holdings[i], v.by_right, &overdue);
		if (job->only_overdue && overdue == before)
			json_decref(j);
		else
			json_array_append_new(rights, j);
	}
	json_decref(v.by_right);
	job->answer = json_pack("{s:s, s:I, s:I, s:I, s:o}", "organisation", job->org,
	    "period_days", (json_int_t)(job->cfg->audit_review_period_ms / 86400000),
	    "period_seconds", (json_int_t)(job->cfg->audit_review_period_ms / 1000),
	    "overdue", (json_int_t)overdue, "rights", rights);
}

static void *
job_run(void *arg)
{
	struct api_job *job = arg;
	struct dir_writer *w = NULL;
	struct dir_all a;

	memset(&a, 0, sizeof(a));
	job->status = 200;
	if (api_pseudonym_one(job)) {
		api_pseudonym_resolve(job);
	} else if (dir_writer_open(job->cfg, &w) != EG_OK || dir_read_all(w, &a) != EG_OK) {
		log_warnx("access review: the directory cannot be read: %s",
		    w != NULL ? dir_writer_error(w) : "no connection");
		api_job_fail(job, 503, "directory-unavailable");
	} else if (job->op == JOB_WHO) {
		job_who(job, &a);
	} else if (job->op == JOB_WHAT) {
		job_what(job, &a);
	} else if (job->op == JOB_PSEUDONYM) {
		api_pseudonym_run(job, &a);     /* a pseudonym's person: everyone compared */
	} else {
		job_list(job, &a);
	}
	dir_all_free(&a);
	dir_writer_close(w);
	job->done = 1;
	atomic_fetch_sub(job->running, 1);
	/* The last touch: once resumed, the event loop owns the job again. */
	MHD_resume_connection(job->conn);
	return NULL;
}

enum MHD_Result
api_job_start(struct request *r, struct api_job *job)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	job->conn = r->conn;
	job->cfg = &r->snap->cfg;
	job->policy = r->snap->policy;
	job->audit = r->gw->audit;
	job->witness = r->gw->witness;
	job->now_us = eg_now_us();
	job->running = &r->gw->review_jobs;
	job->keys = r->gw->keys;
	job->dir = r->gw->dir;
	if (atomic_fetch_add(job->running, 1) >= EG_MAX_REVIEW_JOBS) {
		atomic_fetch_sub(job->running, 1);
		api_job_free(job);
		return respond_error(r, 503, "review-busy", NULL);
	}
	r->job = job;
	MHD_suspend_connection(r->conn);
	if ((rc = pthread_attr_init(&attr)) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t, &attr, job_run, job);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		/* Answered like a failed job, on the call that follows the resumption: a
		 * suspended connection takes no answer. */
		log_warnx("request %s: cannot start the access review: %s", r->id, strerror(rc));
		api_job_fail(job, 503, "internal");
		job->done = 1;
		atomic_fetch_sub(job->running, 1);
		MHD_resume_connection(r->conn);
	}
	return MHD_YES;
}

/* The job's answer, after its read is recorded. */
static enum MHD_Result
job_answer(struct request *r)
{
	struct api_job *job = r->job;
	json_t *answer;

	if (!job->done)
		return MHD_YES;         /* woken early: the job resumes it */
	/* An officer asking about someone outside their organisation is recorded too. */
	if (job->status == 404 && record_decision(r, REC_REQUEST, 0, EG_ERR_NOT_FOUND,
	    job->reason, 0, 0) != EG_OK)
		return respond_audit_unavailable(r);
	if (job->status != 200)
		return respond_error(r, job->status, job->reason, NULL);
	if (record_read(r, "access-review") != EG_OK)
		return respond_audit_unavailable(r);
	answer = job->answer;
	job->answer = NULL;
	return respond_json_obj(r, 200, answer);
}

struct api_job *
api_job_new(struct request *r, enum job_op op, const char *asked, enum MHD_Result *ret)
{
	const char *org = officer_org(r, asked);
	struct api_job *job;

	if (org == NULL) {
		*ret = api_refuse_officer(r);
		return NULL;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		*ret = respond_error(r, 503, "internal", NULL);
		return NULL;
	}
	job->op = op;
	eg_strlcpy(job->org, org, sizeof(job->org));
	return job;
}

/* who-can and what-can: the body read, the job started. */
static enum MHD_Result
review_start(struct request *r, enum review_body b)
{
	struct review_req q;
	enum MHD_Result ret;
	struct api_job *job = NULL;
	json_t *body;

	body = json_loadb(r->body != NULL ? r->body : "", r->body_size, JSON_REJECT_DUPLICATES,
	    NULL);
	if (api_review_parse(body, b, &q) != NULL)
		ret = respond_error(r, 400, "filter", json_is_object(body) ? NULL :
		    "msg.filter-not-object");
	else if ((job = api_job_new(r, b == REVIEW_WHO ? JOB_WHO : JOB_WHAT, q.org, &ret)) != NULL) {
		if (b == REVIEW_WHO) {
			eg_strlcpy(job->method, q.method, sizeof(job->method));
			eg_strlcpy(job->target, q.path, sizeof(job->target));
		}
		eg_strlcpy(job->nrn, q.nrn, sizeof(job->nrn));
		ret = api_job_start(r, job);
	}
	json_decref(body);
	return ret;
}

enum MHD_Result
api_audit_who_can(struct request *r)
{
	return r->job != NULL ? job_answer(r) : review_start(r, REVIEW_WHO);
}

enum MHD_Result
api_audit_what_can(struct request *r)
{
	return r->job != NULL ? job_answer(r) : review_start(r, REVIEW_WHAT);
}

/* ---- a verdict -------------------------------------------------------------------- */

/* The organisation a scope text belongs to, from the directory's cache: 0, or -1 when
 * it is no organisation or facility the directory knows. */
static int
scope_org(struct request *r, const char *scope, char *org, size_t len)
{
	const struct dir_facility *f = NULL;
	struct dir_scope ds;
	int rc = -1;

	memset(&ds, 0, sizeof(ds));
	if (dir_scope_parse(scope, &ds) != EG_OK)
		return -1;
	if (ds.kind == EG_SCOPE_ORGANISATION) {
		eg_strlcpy(org, ds.id, len);
		return 0;
	}
	if (ds.kind == EG_SCOPE_FACILITY && dir_facility(r->gw->dir, ds.id, &f) == EG_OK &&
	    f->found) {
		eg_strlcpy(org, f->org, len);
		rc = 0;
	}
	dir_release(f);
	return rc;
}

/* Does the person hold role on scope (the resolver's view)? 1, 0, or -1 (directory
 * down). */
static int
holds(struct request *r, const char *nrn, const char *role, const char *scope)
{
	const struct dir_person *p = NULL;
	char text[EG_MAX_ID + 16];
	size_t i;
	int found = 0;

	if (dir_person(r->gw->dir, nrn, &p) != EG_OK) {
		dir_release(p);
		return -1;
	}
	for (i = 0; p->found && i < p->ngrants && !found; i++) {
		snprintf(text, sizeof(text), "%s:%s", dir_scope_kind_name(p->grants[i].kind),
		    p->grants[i].scope);
		found = strcmp(p->grants[i].role, role) == 0 && strcmp(text, scope) == 0;
	}
	dir_release(p);
	return found;
}

static enum MHD_Result
review_verdict(struct request *r)
{
	struct review_req q;
	char org[EG_MAX_ID];
	enum MHD_Result ret;
	json_t *body;
	int h;

	body = json_loadb(r->body != NULL ? r->body : "", r->body_size, JSON_REJECT_DUPLICATES,
	    NULL);
	if (api_review_parse(body, REVIEW_VERDICT, &q) != NULL)
		ret = respond_error(r, 400, "filter", json_is_object(body) ? NULL :
		    "msg.filter-not-object");
	else if (scope_org(r, q.scope, org, sizeof(org)) != 0 || !api_officer_of(r, org))
		ret = api_refuse_officer(r);
	else if ((h = holds(r, q.nrn, q.role, q.scope)) < 0)
		ret = respond_error(r, 503, "directory-unavailable", NULL);
	else if (h == 0)
		ret = record_decision(r, REC_REQUEST, 0, EG_ERR_NOT_FOUND, "not-held", 0, 0) !=
		    EG_OK ? respond_audit_unavailable(r) : respond_error(r, 404, "not-held", NULL);
	else if (record_review(r, q.nrn, q.role, q.scope, q.verdict) != EG_OK ||
	    audit_flush(r->gw->audit) != EG_OK)
		ret = respond_audit_unavailable(r);
	else
		ret = respond_json_obj(r, 201, json_pack("{s:s, s:s, s:s, s:s}", "verdict",
		    q.verdict, "role", q.role, "scope", q.scope, "organisation", org));
	json_decref(body);
	return ret;
}

enum MHD_Result
api_audit_review(struct request *r)
{
	const char *only;
	enum MHD_Result ret;
	struct api_job *job;

	if (r->job != NULL)
		return job_answer(r);
	if (strcmp(r->method, "POST") == 0)
		return review_verdict(r);
	only = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "overdue");
	if (only != NULL && strcmp(only, "1") != 0 && strcmp(only, "0") != 0)
		return respond_error(r, 400, "filter", NULL);
	if ((job = api_job_new(r, JOB_LIST, MHD_lookup_connection_value(r->conn,
	    MHD_GET_ARGUMENT_KIND, "org"), &ret)) == NULL)
		return ret;
	job->only_overdue = only != NULL && strcmp(only, "1") == 0;
	return api_job_start(r, job);
}
