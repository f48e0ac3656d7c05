/*
 * routes.c - a policy's rules as routes, for access reviews (`eidgate access what-can`,
 * policy.h policy_route): each rule's pattern, its parameters and the kind of scope a
 * role term asks of each, and concrete paths made from the pattern.
 */
#include <stdio.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "policy/internal.h"

void
policy_pattern_text(const struct policy_rule *r, char *out, size_t len)
{
	size_t i, o = 0;

	out[0] = '\0';
	if (r->nsegs == 0)
		eg_strlcpy(out, "/", len);
	for (i = 0; i < r->nsegs && o < len; i++) {
		const struct policy_seg *g = &r->segs[i];
		int n = g->kind == SEG_LITERAL ? snprintf(out + o, len - o, "/%s", g->text) :
		    g->kind == SEG_PARAM ? snprintf(out + o, len - o, "/{%s}", g->text) :
		    snprintf(out + o, len - o, "%s", g->kind == SEG_STAR ? "/*" : "/**");
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* The scope kind the first role term naming segment seg asks of it, or -1. */
static int
param_kind(const struct policy_rule *r, size_t seg)
{
	size_t i;

	for (i = 0; i < r->nterms; i++)
		if (r->terms[i].kind == TERM_ROLE && r->terms[i].scope == SCOPE_PARAM &&
		    r->terms[i].param == seg)
			return (int)r->terms[i].scope_kind;
	return -1;
}

int
policy_route(const struct policy *p, size_t i, struct policy_route *out)
{
	const struct policy_rule *r;
	size_t s;

	if (i >= p->nrules)
		return EG_ERR_NOT_FOUND;
	r = &p->rules[i];
	memset(out, 0, sizeof(*out));
	out->rule = r->id;
	out->deny = r->deny;
	out->backend = r->deny ? NULL : p->backends[r->backend].name;
	out->methods = r->methods;
	out->signed_intent = r->signed_intent;
	policy_pattern_text(r, out->pattern, sizeof(out->pattern));
	for (s = 0; s < r->nsegs && out->nparams < POLICY_ROUTE_PARAMS; s++) {
		if (r->segs[s].kind != SEG_PARAM)
			continue;
		eg_strlcpy(out->params[out->nparams].name, r->segs[s].text, EG_MAX_ID);
		out->params[out->nparams].kind = param_kind(r, s);
		out->nparams++;
	}
	return EG_OK;
}

int
policy_rule_signed(const struct policy *p, const char *rule)
{
	size_t i;

	for (i = 0; rule != NULL && i < p->nrules; i++)
		if (strcmp(p->rules[i].id, rule) == 0)
			return p->rules[i].signed_intent != 0;
	return 0;
}

int
policy_route_path(const struct policy *p, size_t i, const char *const *values, char *out,
    size_t len)
{
	const struct policy_rule *r;
	size_t s, k = 0, o = 0;

	if (i >= p->nrules || len < 2)
		return EG_ERR_NOT_FOUND;
	r = &p->rules[i];
	eg_strlcpy(out, "/", len);
	for (s = 0; s < r->nsegs; s++) {
		const struct policy_seg *g = &r->segs[s];
		const char *v = g->kind == SEG_LITERAL ? g->text : "x";
		int n;
		if (g->kind == SEG_PARAM && k < POLICY_ROUTE_PARAMS && values != NULL &&
		    values[k] != NULL)
			v = values[k];
		if (g->kind == SEG_PARAM)
			k++;
		n = snprintf(out + o, len - o, "/%s", v);
		if (n < 0 || (size_t)n >= len - o)
			return EG_ERR_TOO_LONG;
		o += (size_t)n;
	}
	return EG_OK;
}
