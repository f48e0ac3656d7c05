/*
 * access.c - access reviews (policy.h "Access reviews"): who could make a request, what
 * one person reaches, over the whole directory, decided by policy_decide() itself so
 * that the review and the gateway cannot disagree. Shared by `eidgate access` (cmd/)
 * and the security officers' API (api/).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"

const char *
policy_grant_org(const struct eg_grant *g)
{
	if (g->kind == EG_SCOPE_ORGANISATION)
		return g->scope;
	if (g->kind == EG_SCOPE_FACILITY && g->org[0] != '\0')
		return g->org;
	return NULL;
}

/* The method a route is probed with: its first. */
static const char *
first_method(unsigned m)
{
	unsigned bit;

	for (bit = 1; bit != 0 && bit <= m; bit <<= 1)
		if ((m & bit) && policy_method_name(bit) != NULL)
			return policy_method_name(bit);
	return "GET";
}

/* ---- one person, every context they may choose ---------------------------------- */

static const char *
all_facility_org(void *arg, const char *facility)
{
	const struct dir_facility *f = dir_all_facility(arg, facility);

	return f != NULL ? f->org : NULL;
}

struct subject_run {
	const struct dir_all *a;
	struct eg_subject s;
	const char *fac, *org;          /* the context that decided, when allowed */
};

static void
set_context(struct subject_run *sr, const char *fac, const char *org)
{
	const struct dir_org *o = org != NULL ? dir_all_org(sr->a, org) : NULL;

	sr->s.context_facility = fac;
	sr->s.context_org = org;
	sr->s.capacities = o != NULL ? o->capacity_ptrs : NULL;
	sr->s.ncapacities = o != NULL ? o->ncapacities : 0;
}

static void
subject_init(struct subject_run *sr, const struct dir_all *a, const struct eg_grant *g,
    size_t n)
{
	memset(sr, 0, sizeof(*sr));
	sr->a = a;
	sr->s.authenticated = 1;
	sr->s.grants = g;
	sr->s.ngrants = n;
	sr->s.facility_org = all_facility_org;
	sr->s.facility_org_arg = (void *)(uintptr_t)a;
}

/* Decides with no context, then with each one the person may choose; 1 when one allows
 * by rule (NULL: any rule), with *d that decision and sr->fac/org its context. */
static int
decide_any(struct subject_run *sr, const struct policy *p, const char *method,
    const char *path, const char *rule, struct policy_decision *d)
{
	const struct dir_all *a = sr->a;
	size_t i, j;

#define TRY(f, o)                                                                    \
	do {                                                                         \
		set_context(sr, (f), (o));                                           \
		policy_decide(p, method, path, &sr->s, d);                           \
		if (d->allow && (rule == NULL || strcmp(d->rule, rule) == 0)) {      \
			sr->fac = (f);                                               \
			sr->org = (o);                                               \
			return 1;                                                    \
		}                                                                    \
	} while (0)

	TRY(NULL, NULL);
	for (i = 0; i < sr->s.ngrants; i++) {
		const struct eg_grant *g = &sr->s.grants[i];
		if (g->kind == EG_SCOPE_FACILITY)
			TRY(g->scope, g->org);
		if (g->kind != EG_SCOPE_ORGANISATION)
			continue;
		TRY(NULL, g->scope);
		for (j = 0; j < a->nfacilities; j++)
			if (strcmp(a->facilities[j].org, g->scope) == 0)
				TRY(a->facilities[j].id, g->scope);
	}
#undef TRY
	return 0;
}

/* The grant that lets the person make the request: the first that, held alone in the
 * same context, still has the same rule allow it. NULL when no single grant does. */
static const struct eg_grant *
deciding_grant(const struct subject_run *sr, const struct policy *p, const char *method,
    const char *path, const struct policy_decision *d)
{
	struct eg_subject one = sr->s;
	struct policy_decision d1;
	size_t i;

	one.ngrants = 1;
	for (i = 0; i < sr->s.ngrants; i++) {
		one.grants = &sr->s.grants[i];
		policy_decide(p, method, path, &one, &d1);
		if (d1.allow && strcmp(d1.rule, d->rule) == 0)
			return &sr->s.grants[i];
	}
	return NULL;
}

/* The grants g[0 .. n) of organisation org (all when org is NULL) into buf (n entries):
 * their number. */
static size_t
grants_of(const struct eg_grant *g, size_t n, const char *org, struct eg_grant *buf)
{
	size_t i, k = 0;
	const char *go;

	for (i = 0; i < n; i++)
		if (org == NULL || ((go = policy_grant_org(&g[i])) != NULL && strcmp(go, org) == 0))
			buf[k++] = g[i];
	return k;
}

/* ---- who-can ---------------------------------------------------------------------- */

int
policy_who_can(const struct policy *p, const struct dir_all *a, const char *org,
    const char *method, const char *target, char *path, size_t pathlen,
    enum policy_who_kind *kind, const char **rule,
    void (*fn)(void *arg, const struct policy_who *w), void *arg)
{
	char query[EG_MAX_PATH];
	struct eg_grant *buf = NULL;
	struct policy_decision d;
	struct subject_run sr;
	size_t i, n;

	*rule = NULL;
	*kind = POLICY_WHO_PEOPLE;
	if (!policy_method_known(method) ||
	    policy_normalise_path(target, path, pathlen, query, sizeof(query)) != EG_OK)
		return EG_ERR_PARSE;
	subject_init(&sr, a, NULL, 0);
	sr.s.authenticated = 0;
	policy_decide(p, method, path, &sr.s, &d);
	if (d.allow) {
		*kind = POLICY_WHO_ANYONE;
		*rule = d.rule;
		return EG_OK;
	}
	subject_init(&sr, a, NULL, 0);
	if (decide_any(&sr, p, method, path, NULL, &d)) {
		*kind = POLICY_WHO_EVERYONE;
		*rule = d.rule;
		return EG_OK;
	}
	if (a->nholdings > 0 && (buf = calloc(a->nholdings, sizeof(*buf))) == NULL)
		return EG_ERR_NOMEM;
	for (i = 0; i < a->npeople; i++) {
		const struct dir_all_person *pe = &a->people[i];
		struct policy_who w;
		if ((n = grants_of(&a->grants[pe->first], pe->n, org, buf)) == 0)
			continue;
		subject_init(&sr, a, buf, n);
		if (!decide_any(&sr, p, method, path, NULL, &d))
			continue;
		set_context(&sr, sr.fac, sr.org);
		w.person = pe;
		w.grant = deciding_grant(&sr, p, method, path, &d);
		w.rule = d.rule;
		w.signed_intent = d.signed_intent;
		w.facility = sr.fac;
		w.org = sr.org;
		fn(arg, &w);
	}
	free(buf);
	return EG_OK;
}

/* ---- what-can --------------------------------------------------------------------- */

/* The k-th value an enumerated parameter takes: facility ids, organisations or regions
 * (each distinct eidgateRegion of the facilities). 0 past the last. */
static int
param_value(const struct dir_all *a, int kind, size_t k, const char **out)
{
	size_t i, j, n = 0;

	if (kind == EG_SCOPE_FACILITY)
		return k < a->nfacilities ? (*out = a->facilities[k].id, 1) : 0;
	if (kind == EG_SCOPE_ORGANISATION)
		return k < a->norgs ? (*out = a->orgs[k].id, 1) : 0;
	for (i = 0; i < a->nfacilities; i++) {
		for (j = 0; j < i && strcmp(a->facilities[j].region, a->facilities[i].region) != 0;
		    j++)
			;
		if (j < i || a->facilities[i].region[0] == '\0')
			continue;
		if (n++ == k) {
			*out = a->facilities[i].region;
			return 1;
		}
	}
	return 0;
}

/* One route: the values of its (first) scoped parameter the person reaches. */
static void
what_route(const struct policy *p, struct subject_run *sr, size_t ri,
    const struct policy_route *rt, const struct policy_what_cb *cb)
{
	const char *values[POLICY_ROUTE_PARAMS] = { NULL }, *v;
	const char *m = first_method(rt->methods);
	struct policy_decision d;
	char path[EG_MAX_PATH];
	size_t k, pi;
	int scoped = -1;

	for (pi = 0; pi < rt->nparams; pi++)
		if (rt->params[pi].kind >= 0) {
			scoped = (int)pi;
			break;
		}
	cb->route(cb->arg, rt->backend, rt, scoped < 0 ? -1 : rt->params[scoped].kind);
	if (scoped < 0) {
		if (policy_route_path(p, ri, values, path, sizeof(path)) == EG_OK &&
		    decide_any(sr, p, m, path, rt->rule, &d))
			cb->reach(cb->arg, NULL);
		return;
	}
	for (k = 0; param_value(sr->a, rt->params[scoped].kind, k, &v); k++) {
		if (cb->want != NULL && !cb->want(cb->arg, rt->params[scoped].kind, v))
			continue;
		values[scoped] = v;
		if (policy_route_path(p, ri, values, path, sizeof(path)) == EG_OK &&
		    decide_any(sr, p, m, path, rt->rule, &d))
			cb->reach(cb->arg, v);
	}
}

int
policy_what_can(const struct policy *p, const struct dir_all *a, const char *org,
    const struct eg_grant *g, size_t n, const struct policy_what_cb *cb)
{
	struct eg_grant *buf = NULL;
	struct policy_route rt;
	struct subject_run sr;
	size_t b, i;

	if (n > 0 && (buf = calloc(n, sizeof(*buf))) == NULL)
		return EG_ERR_NOMEM;
	subject_init(&sr, a, buf, grants_of(g, n, org, buf));
	for (b = 0; b < policy_backend_count(p); b++) {
		const struct policy_backend *be = policy_backend_at(p, b);
		for (i = 0; policy_route(p, i, &rt) == EG_OK; i++)
			if (!rt.deny && strcmp(rt.backend, be->name) == 0)
				what_route(p, &sr, i, &rt, cb);
	}
	free(buf);
	return EG_OK;
}
