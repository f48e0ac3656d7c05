/*
 * context.c - the default facility to act for (policy.h, policy_default_context).
 */
#include <string.h>

#include "eidgate/policy.h"
#include "eidgate/util.h"

int
policy_default_context(const struct eg_grant *grants, size_t n, char *fac, char *org)
{
	const char *f = NULL, *o = NULL;
	int many_fac = 0, many_org = 0;
	size_t i;

	fac[0] = org[0] = '\0';
	for (i = 0; i < n; i++) {
		const struct eg_grant *g = &grants[i];
		if (g->kind == EG_SCOPE_REGION)
			continue;
		if (o != NULL && strcmp(o, g->org) != 0)
			many_org = 1;
		o = g->org;
		if (g->kind == EG_SCOPE_FACILITY) {
			if (f != NULL && strcmp(f, g->scope) != 0)
				many_fac = 1;
			f = g->scope;
		}
	}
	if (o == NULL || many_org)
		return 0;
	eg_strlcpy(org, o, EG_MAX_ID);
	if (f == NULL || many_fac)
		return 0;
	eg_strlcpy(fac, f, EG_MAX_ID);
	return 1;
}
