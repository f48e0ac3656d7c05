/*
 * rights.c - who may change which roles where (PRODUCT.md §4, DOMAIN.md "Who may do
 * what"). Pure functions over the caller's grants as the resolver reports them, so the
 * whole rules table is unit-tested without LDAP (tests/unit/rights_test.c).
 *
 * The four facility roles an lb hands out are the same on every level; what differs is
 * where the caller's own role is held, so each rule asks "does the caller hold R on the
 * organisation that owns the scope (or on the facility itself)?".
 */
#include <string.h>

#include "eidgate/directory.h"

static const char *const worker_roles[] = { "member", "moduleerder", "insisto-aanmelder",
	"insisto-raadpleger", NULL };

static int
is_worker_role(const char *role)
{
	size_t i;

	for (i = 0; worker_roles[i] != NULL; i++)
		if (strcmp(worker_roles[i], role) == 0)
			return 1;
	return 0;
}

int
dir_holds_org(const struct eg_grant *g, size_t n, const char *role, const char *org)
{
	size_t i;

	if (org == NULL || org[0] == '\0')
		return 0;
	for (i = 0; i < n; i++)
		if (g[i].kind == EG_SCOPE_ORGANISATION && strcmp(g[i].role, role) == 0 &&
		    strcmp(g[i].scope, org) == 0)
			return 1;
	return 0;
}

/* lb held on facility f of organisation org itself (not through the organisation). */
static int
holds_facility_lb(const struct eg_grant *g, size_t n, const char *f, const char *org)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (g[i].kind == EG_SCOPE_FACILITY && strcmp(g[i].role, "lb") == 0 &&
		    strcmp(g[i].scope, f) == 0 && strcmp(g[i].org, org) == 0)
			return 1;
	return 0;
}

/* "all an lb may do" on the scope: vte, co-vte and lb of the organisation, or lb of
 * the facility itself. */
static int
acts_as_lb(const struct eg_grant *g, size_t n, const struct dir_scope *s)
{
	if (dir_holds_org(g, n, "vte", s->org) || dir_holds_org(g, n, "co-vte", s->org) ||
	    dir_holds_org(g, n, "lb", s->org))
		return 1;
	return s->kind == EG_SCOPE_FACILITY && holds_facility_lb(g, n, s->id, s->org);
}

static int
org_authority(const struct eg_grant *g, size_t n, enum dir_action a, const char *role,
    const struct dir_scope *s)
{
	int vte = dir_holds_org(g, n, "vte", s->org);

	if (strcmp(role, "vte") == 0)
		return vte && a == DIR_REVOKE;
	if (strcmp(role, "co-vte") == 0 || strcmp(role, "security-officer") == 0)
		return vte;
	if (strcmp(role, "lb") == 0)
		return vte || dir_holds_org(g, n, "co-vte", s->org);
	return 0;
}

static int
facility_authority(const struct eg_grant *g, size_t n, const char *role,
    const struct dir_scope *s)
{
	if (strcmp(role, "lb") == 0)
		return dir_holds_org(g, n, "vte", s->org) ||
		    dir_holds_org(g, n, "co-vte", s->org);
	return is_worker_role(role) && acts_as_lb(g, n, s);
}

enum dir_verdict
dir_rights_check(const struct eg_grant *g, size_t n, const char *caller_nrn,
    enum dir_action a, const char *target_nrn, const char *role,
    const struct dir_scope *s)
{
	int ok;

	if (role == NULL || !dir_role_on(role, s->kind))
		return DIR_BAD_ROLE;
	if (s->kind == EG_SCOPE_REGION)
		return DIR_REGION_ROLE;
	if (s->org[0] == '\0')
		return DIR_OUTSIDE;  /* a facility whose organisation is unknown: nobody's */
	if (s->kind == EG_SCOPE_ORGANISATION)
		ok = org_authority(g, n, a, role, s);
	else
		ok = facility_authority(g, n, role, s);
	if (!ok)
		return DIR_OUTSIDE;
	if (target_nrn != NULL && caller_nrn != NULL && strcmp(target_nrn, caller_nrn) == 0)
		return DIR_SELF;
	return DIR_ALLOWED;
}

int
dir_may_administer(const struct eg_grant *g, size_t n, const struct dir_scope *s)
{
	if (s->kind == EG_SCOPE_REGION || s->org[0] == '\0')
		return 0;
	if (s->kind == EG_SCOPE_ORGANISATION)
		return dir_holds_org(g, n, "vte", s->org) ||
		    dir_holds_org(g, n, "co-vte", s->org) || dir_holds_org(g, n, "lb", s->org);
	return acts_as_lb(g, n, s);
}

size_t
dir_allowed_roles(const struct eg_grant *g, size_t n, enum dir_action a,
    const struct dir_scope *s, const char **out, size_t max)
{
	const char *const *roles = dir_roles_of(s->kind);
	size_t i, k = 0;

	for (i = 0; roles[i] != NULL && k < max; i++)
		if (dir_rights_check(g, n, NULL, a, NULL, roles[i], s) == DIR_ALLOWED)
			out[k++] = roles[i];
	return k;
}

int
dir_rights_authority(const struct eg_grant *g, size_t n, const char *role,
    const struct dir_scope *s)
{
	static const char *const rank[] = { "vte", "co-vte", "lb", NULL };
	size_t i, k;

	/* The rules are a choice between single roles, so each grant is asked alone; the
	 * strongest is named, and among equals the organisation's before a facility's. */
	for (k = 0; rank[k] != NULL; k++) {
		for (i = 0; i < n; i++)
			if (g[i].kind == EG_SCOPE_ORGANISATION && strcmp(g[i].role, rank[k]) == 0 &&
			    dir_rights_check(&g[i], 1, NULL, DIR_GRANT, NULL, role, s) == DIR_ALLOWED)
				return (int)i;
		for (i = 0; i < n; i++)
			if (g[i].kind == EG_SCOPE_FACILITY && strcmp(g[i].role, rank[k]) == 0 &&
			    dir_rights_check(&g[i], 1, NULL, DIR_GRANT, NULL, role, s) == DIR_ALLOWED)
				return (int)i;
	}
	return -1;
}
