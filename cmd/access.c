/*
 * access.c - `eidgate access ...`: access reviews over the live directory and the
 * policy (issue 16 item 2), and the resolution of backend pseudonyms (item 5,
 * access_pseudonym.c).
 *
 *   who-can -c FILE METHOD PATH   every person who could make that request now: name,
 *                                 masked national number, the role and scope that lets
 *                                 them, the rule, and the facility they would act for
 *   what-can -c FILE --nrn N      per backend and route, what that person can reach,
 *                                 naming each facility by its id
 *
 * "Could" means: with any facility the person may choose to act for (those of their
 * facility grants, and every facility of an organisation where they hold a role), or
 * none. The directory is read whole (directory.h dir_read_all), then every person is
 * decided by the same policy_decide() the gateway runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

static const char usage_access[] =
    "usage: eidgate access who-can -c CONFIG METHOD PATH\n"
    "       eidgate access what-can -c CONFIG --nrn N\n"
    "       eidgate access pseudonym -c CONFIG --backend B --nrn N [--key-id K]\n"
    "who-can: every person who could make the request now, with the role and scope\n"
    "that lets them and the rule (the live directory and the policy of CONFIG).\n"
    "what-can: per backend and route, what the person can reach, each facility by id.\n"
    "pseudonym: the subject a backend with subject=pseudonym receives for a person;\n"
    "the lookup is recorded in the access log. National numbers are shown masked,\n"
    "except the one the operator typed.\n";

struct review {
	struct eg_config cfg;
	struct policy *policy;
	struct dir_writer *w;
	struct dir_all all;
	int have_all;
};

static void
review_done(struct review *rv)
{
	if (rv->have_all)
		dir_all_free(&rv->all);
	dir_writer_close(rv->w);
	policy_free(rv->policy);
}

static int
review_open(struct review *rv, const char *config, const char *cmd)
{
	int r;

	memset(rv, 0, sizeof(*rv));
	if (config_load(config, &rv->cfg, NULL) != EG_OK)
		return EXIT_FAILED;     /* config_load printed file:line: problem */
	if ((r = policy_load(rv->cfg.policy_file, &rv->policy, NULL)) != EG_OK) {
		fprintf(stderr, "eidgate: access %s: %s: %s\n", cmd, rv->cfg.policy_file, eg_err(r));
		return EXIT_FAILED;
	}
	if (dir_writer_open(&rv->cfg, &rv->w) != EG_OK ||
	    (r = dir_read_all(rv->w, &rv->all)) != EG_OK) {
		fprintf(stderr, "eidgate: access %s: the directory cannot be read: %s\n", cmd,
		    rv->w != NULL ? dir_writer_error(rv->w) : "no connection");
		return EXIT_FAILED;
	}
	rv->have_all = 1;
	return EXIT_OK;
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

/* The grant that lets the person make the request: the first that, held alone in the
 * same context, still has the same rule allow it. NULL when no single grant does
 * (the rule asks no role, or several together). */
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

/* ---- who-can ---------------------------------------------------------------------- */

static int
who_can(struct review *rv, const char *method, const char *target)
{
	char path[EG_MAX_PATH], query[EG_MAX_PATH], masked[16], scope[EG_MAX_ID + 16];
	const struct dir_all *a = &rv->all;
	struct policy_decision d;
	struct subject_run sr;
	size_t i, found = 0;
	int64_t t0 = eg_now_us();

	if (!policy_method_known(method) ||
	    policy_normalise_path(target, path, sizeof(path), query, sizeof(query)) != EG_OK) {
		fprintf(stderr, "eidgate: access who-can: '%s %s' is not a request the gateway "
		    "would serve\n", method, target);
		return EXIT_USAGE;
	}
	subject_init(&sr, a, NULL, 0);
	sr.s.authenticated = 0;
	policy_decide(rv->policy, method, path, &sr.s, &d);
	if (d.allow) {
		printf("%s %s: anyone, without logging in (rule %s)\n", method, path, d.rule);
		return EXIT_OK;
	}
	subject_init(&sr, a, NULL, 0);
	if (decide_any(&sr, rv->policy, method, path, NULL, &d)) {
		printf("%s %s: everyone with an accepted eID card, roles or not (rule %s)\n",
		    method, path, d.rule);
		return EXIT_OK;
	}
	printf("%-28s %-12s %-20s %-32s %-16s %s\n", "name", "national nr", "role", "scope",
	    "rule", "acting for");
	for (i = 0; i < a->npeople; i++) {
		const struct dir_all_person *p = &a->people[i];
		const struct eg_grant *g;
		subject_init(&sr, a, &a->grants[p->first], p->n);
		if (!decide_any(&sr, rv->policy, method, path, NULL, &d))
			continue;
		found++;
		set_context(&sr, sr.fac, sr.org);
		g = deciding_grant(&sr, rv->policy, method, path, &d);
		log_mask_nrn(p->nrn, masked, sizeof(masked));
		if (g != NULL)
			snprintf(scope, sizeof(scope), "%s:%s", dir_scope_kind_name(g->kind), g->scope);
		printf("%-28s %-12s %-20s %-32s %-16s %s\n", p->name[0] ? p->name : "(no name)",
		    masked, g != NULL ? g->role : "-", g != NULL ? scope : "-", d.rule,
		    sr.fac != NULL ? sr.fac : sr.org != NULL ? sr.org : "-");
	}
	printf("%zu %s could make %s %s (directory: %zu people with roles, %zu facilities; "
	    "%.1f ms)\n", found, found == 1 ? "person" : "people", method, path, a->npeople,
	    a->nfacilities, (double)(eg_now_us() - t0) / 1000.0);
	return EXIT_OK;
}

/* ---- what-can --------------------------------------------------------------------- */

static const char *
first_method(unsigned m)
{
	static const char *const names[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
		"OPTIONS" };
	size_t i;

	for (i = 0; i < 7; i++)
		if (m & (1u << i))
			return names[i];
	return "GET";
}

static void
put_methods(unsigned m)
{
	static const char *const names[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
		"OPTIONS" };
	size_t i;
	int first = 1;

	if (m == PM_ALL) {
		fputs("*", stdout);
		return;
	}
	for (i = 0; i < 7; i++)
		if (m & (1u << i)) {
			printf("%s%s", first ? "" : ",", names[i]);
			first = 0;
		}
}

/* The values an enumerated parameter takes: facility ids, organisations or regions. */
static size_t
param_values(const struct dir_all *a, int kind, size_t k, const char **out)
{
	size_t i, j, n = 0;

	if (kind == EG_SCOPE_FACILITY)
		return k < a->nfacilities ? (*out = a->facilities[k].id, 1) : 0;
	if (kind == EG_SCOPE_ORGANISATION)
		return k < a->norgs ? (*out = a->orgs[k].id, 1) : 0;
	/* regions: each distinct eidgateRegion of the facilities */
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
what_route(struct review *rv, struct subject_run *sr, size_t ri,
    const struct policy_route *rt)
{
	const char *values[POLICY_ROUTE_PARAMS] = { NULL }, *v;
	struct policy_decision d;
	char path[EG_MAX_PATH];
	size_t k, pi, shown = 0;
	int scoped = -1;

	for (pi = 0; pi < rt->nparams; pi++)
		if (rt->params[pi].kind >= 0) {
			scoped = (int)pi;
			break;
		}
	printf("  %-16s ", rt->rule);
	put_methods(rt->methods);
	printf(" %s:", rt->pattern);
	if (scoped < 0) {
		if (policy_route_path(rv->policy, ri, values, path, sizeof(path)) == EG_OK &&
		    decide_any(sr, rv->policy, first_method(rt->methods), path, rt->rule, &d))
			shown = 1, printf(" yes");
	} else {
		for (k = 0; param_values(&rv->all, rt->params[scoped].kind, k, &v); k++) {
			values[scoped] = v;
			if (policy_route_path(rv->policy, ri, values, path, sizeof(path)) != EG_OK ||
			    !decide_any(sr, rv->policy, first_method(rt->methods), path, rt->rule,
			    &d))
				continue;
			printf("%s %s", shown ? "," : "", v);
			shown++;
		}
	}
	printf("%s\n", shown ? "" : " nothing");
}

static int
what_can(struct review *rv, const char *nrn)
{
	const struct dir_all *a = &rv->all;
	const struct dir_all_person *p;
	struct policy_route rt;
	struct subject_run sr;
	size_t b, i, k;
	char masked[16];

	if (strlen(nrn) != EG_NRN_LEN || strspn(nrn, "0123456789") != EG_NRN_LEN) {
		fprintf(stderr, "eidgate: access what-can: --nrn must be 11 digits\n");
		return EXIT_USAGE;
	}
	log_mask_nrn(nrn, masked, sizeof(masked));
	p = dir_all_person(a, nrn);
	subject_init(&sr, a, p != NULL ? &a->grants[p->first] : NULL, p != NULL ? p->n : 0);
	printf("%s (%s): ", p != NULL && p->name[0] ? p->name : "(no roles in the directory)",
	    nrn);
	for (k = 0; k < sr.s.ngrants; k++)
		printf("%s%s %s:%s", k ? ", " : "", sr.s.grants[k].role,
		    dir_scope_kind_name(sr.s.grants[k].kind), sr.s.grants[k].scope);
	printf("%s\n", sr.s.ngrants ? "" : "no roles");
	for (b = 0; b < policy_backend_count(rv->policy); b++) {
		const struct policy_backend *be = policy_backend_at(rv->policy, b);
		printf("backend %s\n", be->name);
		for (i = 0; policy_route(rv->policy, i, &rt) == EG_OK; i++)
			if (!rt.deny && strcmp(rt.backend, be->name) == 0)
				what_route(rv, &sr, i, &rt);
	}
	return EXIT_OK;
}

/* ---- the command ------------------------------------------------------------------ */

int
cmd_access(int argc, char **argv)
{
	const char *config = NULL, *nrn = NULL, *backend = NULL, *key_id = NULL;
	const char *pos[2] = { NULL, NULL };
	struct review rv;
	size_t npos = 0;
	int i, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_access, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (i = 2; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--nrn") == 0 && i + 1 < argc)
			nrn = argv[++i];
		else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
			backend = argv[++i];
		else if (strcmp(argv[i], "--key-id") == 0 && i + 1 < argc)
			key_id = argv[++i];
		else if (strcmp(argv[i], "--help") == 0) {
			fputs(usage_access, stdout);
			return EXIT_OK;
		} else if (argv[i][0] != '-' && npos < 2)
			pos[npos++] = argv[i];
		else {
			fprintf(stderr, "eidgate: access: unexpected '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (config == NULL) {
		fprintf(stderr, "eidgate: access %s: -c CONFIG is required\n", argv[1]);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "pseudonym") == 0) {
		if (backend == NULL || nrn == NULL || npos != 0) {
			fprintf(stderr, "eidgate: access pseudonym needs --backend B --nrn N\n");
			return EXIT_USAGE;
		}
		return cmd_access_pseudonym(config, backend, nrn, key_id);
	}
	if (strcmp(argv[1], "who-can") == 0 && (npos != 2 || nrn != NULL)) {
		fprintf(stderr, "eidgate: access who-can needs METHOD PATH\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "what-can") == 0 && (npos != 0 || nrn == NULL)) {
		fprintf(stderr, "eidgate: access what-can needs --nrn N\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "who-can") != 0 && strcmp(argv[1], "what-can") != 0) {
		fprintf(stderr, "eidgate: access: unknown command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	if ((rc = review_open(&rv, config, argv[1])) == EXIT_OK)
		rc = strcmp(argv[1], "who-can") == 0 ? who_can(&rv, pos[0], pos[1]) :
		    what_can(&rv, nrn);
	review_done(&rv);
	return rc;
}
