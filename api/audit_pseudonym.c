/*
 * audit_pseudonym.c - the security officers' pseudonym lookups under /eidgate/audit/api/
 * (issue 16 item 5, the page the control socket's `eidgate access pseudonym` lacked):
 *
 *   POST pseudonym {backend, nrn[, key_id][, org]}        the pseudonym backend receives
 *                                                         as `sub` for that person
 *   POST pseudonym {backend, pseudonym[, key_id][, org]}  which person of the
 *                                                         organisation it stands for
 *
 * Who may: a security officer, about the people who hold a role in their organisation
 * only (the grants of the whole directory, read like the access review does, on a job
 * thread of audit_review.c); the backend must be `subject=pseudonym` in the policy in
 * force. A pseudonym is one-way (an HMAC), so the second direction computes the
 * pseudonym of each person of the organisation and compares: someone outside it is
 * "not found in your organisation", whether or not they exist elsewhere.
 *
 * The pseudonym key stays in the key process: each pseudonym is asked of it
 * (keys.h keys_pseudonym), as for the control socket. Every lookup and every refusal
 * is a record of kind "pseudonym" (record.h record_pseudonym_request), committed before
 * anything is answered; a lookup that cannot be recorded is not answered. The national
 * number travels in the body only, and the answer shows it masked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "eidgate/api.h"
#include "eidgate/auth.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/policy.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/util.h"
#include "api/internal.h"

/* ---- the body ---------------------------------------------------------------------- */

/* n characters all from set. */
static int
all_of(const char *s, size_t n, const char *set)
{
	return strlen(s) == n && strspn(s, set) == n;
}

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

const char *
api_pseudonym_parse(json_t *j, struct pseudonym_req *q)
{
	const char *nrn;
	int bad = 0;

	memset(q, 0, sizeof(*q));
	if (!json_is_object(j))
		return "body";
	q->org = api_json_text(j, "org", &bad);
	if (bad || (q->org != NULL && strlen(q->org) >= EG_MAX_ID))
		return "org";
	q->backend = api_json_text(j, "backend", &bad);
	if (bad || q->backend == NULL || strlen(q->backend) >= EG_MAX_ID)
		return "backend";
	q->key_id = api_json_text(j, "key_id", &bad);
	if (bad || (q->key_id != NULL && !all_of(q->key_id, KEYS_PSEUDONYM_KID,
	    "0123456789abcdef")))
		return "key_id";
	nrn = api_json_text(j, "nrn", &bad);
	if (bad || (nrn != NULL && (api_nrn_of(nrn, q->nrn) != 0 ||
	    auth_nrn_check(q->nrn) != EG_OK)))
		return "nrn";
	q->pseudonym = api_json_text(j, "pseudonym", &bad);
	if (bad || (q->pseudonym != NULL && !all_of(q->pseudonym, KEYS_PSEUDONYM_LEN, B64URL)))
		return "pseudonym";
	if ((nrn == NULL) == (q->pseudonym == NULL))
		return "nrn";           /* exactly one of the two directions */
	return NULL;
}

/* ---- the lookup, on the job's thread -------------------------------------------------- */

/* Does one of grants[0..n) belong to organisation org? */
static int
holds_in(const struct eg_grant *g, size_t n, const char *org)
{
	const char *go;
	size_t k;

	for (k = 0; k < n; k++)
		if ((go = policy_grant_org(&g[k])) != NULL && strcmp(go, org) == 0)
			return 1;
	return 0;
}

/* Does person p hold a role in organisation org? */
static int
in_org(const struct dir_all *a, const struct dir_all_person *p, const char *org)
{
	return p != NULL && holds_in(&a->grants[p->first], p->n, org);
}

static void
keys_failed(struct api_job *job, int rc)
{
	job->ps.reason = rc == EG_ERR_NOT_FOUND ? "no-such-key" : "keys-unavailable";
	api_job_fail(job, rc == EG_ERR_NOT_FOUND ? 404 : 503, job->ps.reason);
}

static void
found(struct api_job *job, const char *nrn, const char *name, const char *ps)
{
	char masked[16];

	log_mask_nrn(nrn, masked, sizeof(masked));
	eg_strlcpy(job->ps.target, nrn, sizeof(job->ps.target));
	job->ps.allow = 1;
	job->answer = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "organisation",
	    job->org, "backend", job->ps.backend, "key_id", job->ps.kid, "pseudonym", ps,
	    "person", "name", name, "nrn_masked", masked);
	if (job->answer == NULL)
		api_job_fail(job, 500, "internal");
}

int
api_pseudonym_one(const struct api_job *job)
{
	return job->op == JOB_PSEUDONYM && job->ps.pseudonym[0] == '\0';
}

/* National number -> pseudonym, for one of the organisation's people: that person's
 * roles as the resolver has them (the directory's change feed keeps them current). */
void
api_pseudonym_resolve(struct api_job *job)
{
	const struct dir_person *p = NULL;
	char ps[KEYS_PSEUDONYM_LEN + 1];
	int rc;

	eg_strlcpy(job->ps.target, job->nrn, sizeof(job->ps.target));
	if (dir_person(job->dir, job->nrn, &p) != EG_OK) {
		api_job_fail(job, 503, "directory-unavailable");
		return;
	}
	if (!holds_in(p->grants, p->ngrants, job->org)) {
		job->ps.reason = "not-in-organisation";
		api_job_fail(job, 404, "not-in-organisation");
	} else if ((rc = keys_pseudonym(job->keys, job->ps.key_id, job->ps.backend, job->nrn,
	    job->ps.kid, ps)) != EG_OK) {
		job->ps.kid[0] = '\0';
		keys_failed(job, rc);
	} else {
		job->ps.reason = "resolved";
		found(job, job->nrn, p->name, ps);
	}
	explicit_bzero(ps, sizeof(ps));
	dir_release(p);
}

/* Pseudonym -> person: the pseudonym of each of the organisation's people, compared. */
static void
identify(struct api_job *job, const struct dir_all *a)
{
	char ps[KEYS_PSEUDONYM_LEN + 1], kid[KEYS_PSEUDONYM_KID + 1];
	size_t i;
	int rc;

	for (i = 0; i < a->npeople; i++) {
		const struct dir_all_person *p = &a->people[i];
		if (!in_org(a, p, job->org))
			continue;
		rc = keys_pseudonym(job->keys, job->ps.key_id, job->ps.backend, p->nrn, kid, ps);
		if (rc != EG_OK) {
			keys_failed(job, rc);
			return;
		}
		if (CRYPTO_memcmp(ps, job->ps.pseudonym, KEYS_PSEUDONYM_LEN) == 0) {
			eg_strlcpy(job->ps.kid, kid, sizeof(job->ps.kid));
			job->ps.reason = "identified";
			found(job, p->nrn, p->name, job->ps.pseudonym);
			explicit_bzero(ps, sizeof(ps));
			return;
		}
	}
	explicit_bzero(ps, sizeof(ps));
	job->ps.reason = "pseudonym-not-found";
	api_job_fail(job, 404, "pseudonym-not-found");
}

void
api_pseudonym_run(struct api_job *job, const struct dir_all *a)
{
	identify(job, a);
}

/* ---- the request, on the event loop ---------------------------------------------------- */

/* The lookup's record; EG_OK or EG_ERR_AUDIT. */
static int
record_job(struct request *r, const struct api_job *job)
{
	const struct api_pseudonym_job *ps = &job->ps;
	const struct rec_lookup l = {
		r->id, NULL, ps->backend, ps->target[0] ? ps->target : NULL,
		ps->kid[0] ? ps->kid : ps->key_id[0] ? ps->key_id : NULL, ps->reason, ps->allow,
	};

	return record_pseudonym_request(r, &l, job->org,
	    ps->pseudonym[0] != '\0' ? "identify" : "resolve");
}

/* On the event loop, the job done: its record, then its answer. */
static enum MHD_Result
pseudonym_answer(struct request *r)
{
	struct api_job *job = r->job;
	json_t *answer;

	if (!job->done)
		return MHD_YES;         /* woken early: the job resumes it */
	if (job->ps.reason == NULL)
		job->ps.reason = job->reason != NULL ? job->reason : "internal";
	if (record_job(r, job) != EG_OK)
		return respond_audit_unavailable(r);
	if (job->status != 200)
		return respond_error(r, job->status, job->reason, NULL);
	answer = job->answer;
	job->answer = NULL;
	return respond_json_obj(r, 200, answer);
}

/* The backend asked for, against the policy in force: NULL when it takes pseudonyms,
 * else the refusal's reason. */
static const char *
backend_refused(const struct request *r, const char *name)
{
	const struct policy_backend *b = policy_backend_find(r->snap->policy, name);

	if (b == NULL)
		return "unknown-backend";
	return b->subject == POLICY_SUBJECT_PSEUDONYM ? NULL : "not-a-pseudonym-backend";
}

static enum MHD_Result
lookup_start(struct request *r, const struct pseudonym_req *q)
{
	enum MHD_Result ret;
	struct api_job *job;
	const char *why;

	if ((job = api_job_new(r, JOB_PSEUDONYM, q->org, &ret)) == NULL)
		return ret;
	eg_strlcpy(job->ps.backend, q->backend, sizeof(job->ps.backend));
	eg_strlcpy(job->ps.key_id, q->key_id != NULL ? q->key_id : "", sizeof(job->ps.key_id));
	eg_strlcpy(job->ps.pseudonym, q->pseudonym != NULL ? q->pseudonym : "",
	    sizeof(job->ps.pseudonym));
	eg_strlcpy(job->nrn, q->nrn, sizeof(job->nrn));
	eg_strlcpy(job->ps.target, q->nrn, sizeof(job->ps.target));
	if ((why = backend_refused(r, q->backend)) != NULL) {
		job->ps.reason = why;
		ret = record_job(r, job) != EG_OK ? respond_audit_unavailable(r) :
		    respond_error(r, 400, why, NULL);
		api_job_free(job);
		return ret;
	}
	job->ps.target[0] = '\0';       /* set by the lookup */
	return api_job_start(r, job);
}

enum MHD_Result
api_audit_pseudonym(struct request *r)
{
	struct pseudonym_req q;
	enum MHD_Result ret;
	const char *bad;
	json_t *body;

	if (r->job != NULL)
		return pseudonym_answer(r);
	body = json_loadb(r->body != NULL ? r->body : "", r->body_size, JSON_REJECT_DUPLICATES,
	    NULL);
	if ((bad = api_pseudonym_parse(body, &q)) != NULL)
		ret = respond_error(r, 400, "filter", json_is_object(body) ? NULL :
		    "msg.filter-not-object");
	else
		ret = lookup_start(r, &q);
	json_decref(body);
	explicit_bzero(&q, sizeof(q));
	return ret;
}
