/*
 * access_test.c - the access reviews of policy/access.c (policy_who_can,
 * policy_what_can) over a small directory built in memory: who could make a request,
 * with which grant and rule; what one person reaches per route; and the organisation
 * filter of the officers' pages, which must let nothing of another organisation through
 * (not even a person's rights there when they also work here).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"

#define ORG_A "0412345614"
#define ORG_B "0423456765"

static const char review_policy[] =
    "backend modules  http://127.0.0.1:9101\n"
    "backend dossiers http://127.0.0.1:9102\n"
    "allow catalog      GET,HEAD  /modules/catalog/**  -> modules  when authenticated\n"
    "allow module-read  GET,HEAD  /modules/facilities/{f}/** -> modules when role member "
    "on facility {f} or role moduleerder on facility {f}\n"
    "allow module-write POST,PUT,PATCH,DELETE /modules/facilities/{f}/** -> modules when "
    "role moduleerder on facility {f}\n"
    "allow itp * /dossiers/regions/{r}/** -> dossiers when role indicatiesteller on "
    "region {r}\n";

static struct dir_org orgs[2];
static struct dir_facility facs[3];
static struct eg_grant grants[6];
static struct dir_all_person people[5];
static struct dir_all all;

static void
grant(size_t i, const char *role, enum eg_scope_kind kind, const char *scope,
    const char *org)
{
	eg_strlcpy(grants[i].role, role, sizeof(grants[i].role));
	grants[i].kind = kind;
	eg_strlcpy(grants[i].scope, scope, sizeof(grants[i].scope));
	eg_strlcpy(grants[i].org, org, sizeof(grants[i].org));
}

static void
facility(size_t i, const char *id, const char *org, const char *region)
{
	eg_strlcpy(facs[i].id, id, sizeof(facs[i].id));
	eg_strlcpy(facs[i].org, org, sizeof(facs[i].org));
	eg_strlcpy(facs[i].region, region, sizeof(facs[i].region));
	facs[i].found = 1;
}

static void
person(size_t i, const char *nrn, const char *name, size_t first, size_t n)
{
	eg_strlcpy(people[i].nrn, nrn, sizeof(people[i].nrn));
	eg_strlcpy(people[i].name, name, sizeof(people[i].name));
	people[i].first = first;
	people[i].n = n;
}

/* Two organisations; Rudi edits modules at fa1 (A); Wout is member at fa1 (A) and
 * edits at fb1 (B); Tina is member at fb1 (B); Lotte is VTE of A; Tim works in the
 * region limburg. */
static void
build(void)
{
	eg_strlcpy(orgs[0].id, ORG_A, sizeof(orgs[0].id));
	eg_strlcpy(orgs[1].id, ORG_B, sizeof(orgs[1].id));
	orgs[0].found = orgs[1].found = 1;
	facility(0, "fa1", ORG_A, "limburg");
	facility(1, "fa2", ORG_A, "antwerpen");
	facility(2, "fb1", ORG_B, "limburg");
	grant(0, "moduleerder", EG_SCOPE_FACILITY, "fa1", ORG_A);
	grant(1, "member", EG_SCOPE_FACILITY, "fa1", ORG_A);
	grant(2, "moduleerder", EG_SCOPE_FACILITY, "fb1", ORG_B);
	grant(3, "member", EG_SCOPE_FACILITY, "fb1", ORG_B);
	grant(4, "vte", EG_SCOPE_ORGANISATION, ORG_A, "");
	grant(5, "indicatiesteller", EG_SCOPE_REGION, "limburg", "");
	person(0, "11111111111", "Rudi", 0, 1);
	person(1, "22222222222", "Wout", 1, 2);
	person(2, "33333333333", "Tina", 3, 1);
	person(3, "44444444444", "Lotte", 4, 1);
	person(4, "55555555555", "Tim", 5, 1);
	all.orgs = orgs;
	all.norgs = 2;
	all.facilities = facs;
	all.nfacilities = 3;
	all.grants = grants;
	all.nholdings = 6;
	all.people = people;
	all.npeople = 5;
}

/* ---- who-can ---------------------------------------------------------------------- */

struct seen {
	size_t n;
	char line[8][128];
};

static void
saw(void *arg, const struct policy_who *w)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->line[s->n], sizeof(s->line[0]), "%s %s %s %s", w->person->name,
		    w->grant != NULL ? w->grant->role : "-", w->rule,
		    w->facility != NULL ? w->facility : "-");     /* "-": no context needed */
	if (s->n < 8 && w->signed_intent) {
		size_t n = strlen(s->line[s->n]);

		snprintf(s->line[s->n] + n, sizeof(s->line[0]) - n, " signed");
	}
	s->n++;
}

static int
who(const struct policy *p, const char *org, const char *method, const char *target,
    struct seen *s, enum policy_who_kind *kind, const char **rule)
{
	char path[EG_MAX_PATH];

	memset(s, 0, sizeof(*s));
	return policy_who_can(p, &all, org, method, target, path, sizeof(path), kind, rule,
	    saw, s);
}

static void
test_who_can(const struct policy *p)
{
	enum policy_who_kind kind;
	const char *rule;
	struct seen s;

	CHECK(who(p, NULL, "GET", "/modules/facilities/fa1/x", &s, &kind, &rule) == EG_OK);
	CHECK(kind == POLICY_WHO_PEOPLE && s.n == 2);
	CHECK(strcmp(s.line[0], "Rudi moduleerder module-read -") == 0);
	CHECK(strcmp(s.line[1], "Wout member module-read -") == 0);
	/* the officer of A sees the same; the officer of B nobody */
	CHECK(who(p, ORG_A, "GET", "/modules/facilities/fa1/x", &s, &kind, &rule) == EG_OK);
	CHECK(s.n == 2);
	CHECK(who(p, ORG_B, "GET", "/modules/facilities/fa1/x", &s, &kind, &rule) == EG_OK);
	CHECK(s.n == 0);
	/* a facility of B: Wout and Tina; for A's officer nobody (Wout's right there is B's) */
	CHECK(who(p, NULL, "POST", "/modules/facilities/fb1/x", &s, &kind, &rule) == EG_OK);
	CHECK(s.n == 1 && strcmp(s.line[0], "Wout moduleerder module-write -") == 0);
	CHECK(who(p, ORG_A, "GET", "/modules/facilities/fb1/x", &s, &kind, &rule) == EG_OK);
	CHECK(s.n == 0);
	CHECK(who(p, ORG_B, "GET", "/modules/facilities/fb1/x", &s, &kind, &rule) == EG_OK);
	CHECK(s.n == 2);
	/* region grants belong to no organisation: the officers do not review them */
	CHECK(who(p, NULL, "GET", "/dossiers/regions/limburg/x", &s, &kind, &rule) == EG_OK);
	CHECK(s.n == 1 && strncmp(s.line[0], "Tim indicatiesteller itp", 24) == 0);
	CHECK(who(p, ORG_A, "GET", "/dossiers/regions/limburg/x", &s, &kind, &rule) == EG_OK);
	CHECK(s.n == 0);
	/* everyone logged in; nothing the gateway would serve */
	CHECK(who(p, ORG_A, "GET", "/modules/catalog/x", &s, &kind, &rule) == EG_OK);
	CHECK(kind == POLICY_WHO_EVERYONE && rule != NULL && strcmp(rule, "catalog") == 0);
	CHECK(s.n == 0);
	CHECK(who(p, NULL, "BREW", "/modules/catalog/x", &s, &kind, &rule) == EG_ERR_PARSE);
	CHECK(who(p, NULL, "GET", "/modules/../etc", &s, &kind, &rule) == EG_ERR_PARSE ||
	    s.n == 0);
}

/* ---- what-can --------------------------------------------------------------------- */

struct reach {
	char text[512];
	const char *org;                /* want(): keep only this organisation's facilities */
};

static void
r_route(void *arg, const char *backend, const struct policy_route *rt, int kind)
{
	struct reach *r = arg;
	size_t n = strlen(r->text);

	(void)kind;
	snprintf(r->text + n, sizeof(r->text) - n, "%s%s/%s%s:", n ? " " : "", backend, rt->rule,
	    rt->signed_intent ? "(signed)" : "");
}

static void
r_value(void *arg, const char *v)
{
	struct reach *r = arg;
	size_t n = strlen(r->text);

	snprintf(r->text + n, sizeof(r->text) - n, "%s,", v != NULL ? v : "yes");
}

static int
r_want(void *arg, int kind, const char *v)
{
	struct reach *r = arg;
	const struct dir_facility *f = dir_all_facility(&all, v);

	return r->org == NULL || kind != EG_SCOPE_FACILITY ||
	    (f != NULL && strcmp(f->org, r->org) == 0);
}

static void
what(const struct policy *p, const char *org, size_t pi, struct reach *r)
{
	const struct policy_what_cb cb = { r_route, r_value, r_want, r };

	memset(r, 0, sizeof(*r));
	r->org = org;
	CHECK(policy_what_can(p, &all, org, &grants[people[pi].first], people[pi].n, &cb) ==
	    EG_OK);
}

static void
test_what_can(const struct policy *p)
{
	struct reach r = { "", NULL };

	what(p, NULL, 1, &r);           /* Wout, everything */
	CHECK(strcmp(r.text, "modules/catalog:yes, modules/module-read:fa1,fb1, "
	    "modules/module-write:fb1, dossiers/itp:") == 0);
	what(p, ORG_A, 1, &r);          /* Wout as A's officer sees him */
	CHECK(strcmp(r.text, "modules/catalog:yes, modules/module-read:fa1, "
	    "modules/module-write: dossiers/itp:") == 0);
	what(p, ORG_B, 0, &r);          /* Rudi has nothing in B */
	CHECK(strstr(r.text, "fa1") == NULL);
}

/* `signed` rules: their routes and the people they let in say so. */
static const char signed_policy[] =
    "backend modules  http://127.0.0.1:9101\n"
    "allow catalog      GET  /modules/catalog/**  -> modules signed when authenticated\n"
    "allow module-read  GET  /modules/facilities/{f}/** -> modules when role member "
    "on facility {f} or role moduleerder on facility {f}\n"
    "allow module-write POST /modules/facilities/{f}/** -> modules signed when "
    "role moduleerder on facility {f}\n";

static void
test_signed(void)
{
	struct policy *p = NULL;
	struct policy_route rt;
	enum policy_who_kind kind;
	const char *rule;
	struct reach r = { "", NULL };
	struct seen s;

	CHECK(policy_load_text("signed-test", signed_policy, strlen(signed_policy), &p, NULL) ==
	    EG_OK);
	if (p == NULL)
		return;
	CHECK(policy_rule_signed(p, "module-write") == 1);
	CHECK(policy_rule_signed(p, "module-read") == 0);
	CHECK(policy_rule_signed(p, "catalog") == 1);
	CHECK(policy_rule_signed(p, "no-such-rule") == 0 && policy_rule_signed(p, NULL) == 0);
	CHECK(policy_route(p, 2, &rt) == EG_OK && rt.signed_intent == 1);
	CHECK(policy_route(p, 1, &rt) == EG_OK && rt.signed_intent == 0);
	CHECK(who(p, NULL, "POST", "/modules/facilities/fb1/x", &s, &kind, &rule) == EG_OK);
	CHECK(s.n == 1 && strcmp(s.line[0], "Wout moduleerder module-write - signed") == 0);
	CHECK(who(p, NULL, "GET", "/modules/facilities/fa1/x", &s, &kind, &rule) == EG_OK);
	CHECK(s.n == 2 && strcmp(s.line[0], "Rudi moduleerder module-read -") == 0);
	CHECK(who(p, ORG_A, "GET", "/modules/catalog/x", &s, &kind, &rule) == EG_OK);
	CHECK(kind == POLICY_WHO_EVERYONE && policy_rule_signed(p, rule) == 1);
	what(p, NULL, 1, &r);           /* Wout */
	CHECK(strcmp(r.text, "modules/catalog(signed):yes, modules/module-read:fa1,fb1, "
	    "modules/module-write(signed):fb1,") == 0);
	policy_free(p);
}

static void
test_small(void)
{
	char m[64];

	CHECK(policy_grant_org(&grants[0]) != NULL && strcmp(policy_grant_org(&grants[0]),
	    ORG_A) == 0);
	CHECK(strcmp(policy_grant_org(&grants[4]), ORG_A) == 0);
	CHECK(policy_grant_org(&grants[5]) == NULL);
	policy_methods_text(PM_GET | PM_HEAD, m, sizeof(m));
	CHECK(strcmp(m, "GET,HEAD") == 0);
	policy_methods_text(PM_ALL, m, sizeof(m));
	CHECK(strcmp(m, "*") == 0);
	policy_methods_text(PM_POST | PM_DELETE, m, 6);
	CHECK(strlen(m) < 6);
}

int
main(void)
{
	struct policy *p = NULL;

	build();
	CHECK(policy_load_text("access-test", review_policy, strlen(review_policy), &p, NULL) ==
	    EG_OK);
	if (p != NULL) {
		test_who_can(p);
		test_what_can(p);
	}
	test_signed();
	test_small();
	policy_free(p);
	return check_report();
}
