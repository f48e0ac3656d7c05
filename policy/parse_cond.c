/*
 * parse_cond.c - the condition after `when` (PRODUCT.md §5):
 *   cond := term ("and" term)* ("or" term ("and" term)*)*       ("and" binds tighter)
 *   term := authenticated | capacity <capacity>
 *         | role <role> [on context
 *                        | on facility|organisation|region ({param}|context|<literal>)]
 * Roles and capacities are checked against the lists of PRODUCT.md §4 so that a typo is an
 * error at load time, not a rule that silently never holds.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/directory.h"
#include "eidgate/util.h"
#include "policy/internal.h"

enum { K_ORG = 1, K_FAC = 2, K_REG = 4 };

/* The scope kinds the directory grants a role on (PRODUCT.md §4): dirvocab.c's
 * vocabulary, the one the directory writer and the rights API use too. */
static unsigned
role_kinds(const char *name)
{
	return (dir_role_on(name, EG_SCOPE_ORGANISATION) ? K_ORG : 0) |
	    (dir_role_on(name, EG_SCOPE_FACILITY) ? K_FAC : 0) |
	    (dir_role_on(name, EG_SCOPE_REGION) ? K_REG : 0);
}

/* A role on a scope kind it is never granted on gives a term that never holds: legal,
 * but almost certainly not what the author meant. A role on an organisation also holds
 * on its facilities, hence K_ORG counts for `on facility`. */
static void
warn_scope(struct pctx *c, const struct policy_term *t)
{
	unsigned k = role_kinds(t->name), need;

	if (t->scope == SCOPE_ANY)
		return;
	need = t->scope_kind == EG_SCOPE_ORGANISATION ? K_ORG :
	    t->scope_kind == EG_SCOPE_FACILITY ? (K_FAC | K_ORG) : K_REG;
	if ((k & need) == 0)
		pctx_warn_at(c, c->line, "role '%s' is never granted on a%s %s; this term "
		    "never holds", t->name, t->scope_kind == EG_SCOPE_ORGANISATION ? "n" : "",
		    dir_scope_kind_name(t->scope_kind));
}

/* Finds the path segment that captures {name}: conditions refer to it by position. */
static int
find_param(struct pctx *c, const struct policy_rule *r, const char *name, unsigned *idx,
    int pattern_ok)
{
	size_t i;

	for (i = 0; i < r->nsegs; i++) {
		if (r->segs[i].kind == SEG_PARAM && strcmp(r->segs[i].text, name) == 0) {
			*idx = (unsigned)i;
			return 0;
		}
	}
	if (!pattern_ok)
		return -1;      /* the pattern's own error was reported already */
	return pctx_error(c, "parameter {%s} is not captured by the path pattern", name);
}

static int
parse_scope_value(struct pctx *c, const char *v, const struct policy_rule *r,
    struct policy_term *t, int pattern_ok)
{
	size_t len = strlen(v);

	if (strcmp(v, "context") == 0) {
		if (t->scope_kind == EG_SCOPE_REGION)
			return pctx_error(c, "a session has no region context; use "
			    "'on region {param}' or a region name");
		t->scope = SCOPE_CONTEXT;
		return 0;
	}
	if (v[0] == '{') {
		char name[EG_MAX_ID];
		if (len < 3 || v[len - 1] != '}' || len - 2 >= sizeof(name))
			return pctx_error(c, "bad parameter '%.60s' (expected {name})", v);
		memcpy(name, v + 1, len - 2);
		name[len - 2] = '\0';
		t->scope = SCOPE_PARAM;
		return find_param(c, r, name, &t->param, pattern_ok);
	}
	if (!policy_valid_name(v))
		return pctx_error(c, "bad scope '%.60s' (expected {param}, context or a "
		    "name)", v);
	t->scope = SCOPE_LITERAL;
	eg_strlcpy(t->literal, v, sizeof(t->literal));
	return 0;
}

/* "role R [on ...]" starting at w[*i] == "role". */
static int
parse_role(struct pctx *c, char **w, size_t n, size_t *i, const struct policy_rule *r,
    struct policy_term *t, int pattern_ok)
{
	const char *kind;

	t->kind = TERM_ROLE;
	if (++*i >= n)
		return pctx_error(c, "'role' needs a role name");
	if (role_kinds(w[*i]) == 0)
		return pctx_error(c, "unknown role '%.40s' (known: vte co-vte lb "
		    "security-officer member moduleerder insisto-aanmelder insisto-raadpleger "
		    "indicatiesteller jeugdhulpregisseur)", w[*i]);
	eg_strlcpy(t->name, w[(*i)++], sizeof(t->name));
	t->scope = SCOPE_ANY;
	if (*i >= n || strcmp(w[*i], "on") != 0)
		return 0;
	if (++*i >= n)
		return pctx_error(c, "'on' needs facility, organisation, region or context");
	kind = w[(*i)++];
	t->scope_kind = EG_SCOPE_FACILITY;
	if (strcmp(kind, "context") == 0) {
		t->scope = SCOPE_CONTEXT;       /* shorthand for "on facility context" */
		return 0;
	}
	if (strcmp(kind, "organisation") == 0)
		t->scope_kind = EG_SCOPE_ORGANISATION;
	else if (strcmp(kind, "region") == 0)
		t->scope_kind = EG_SCOPE_REGION;
	else if (strcmp(kind, "facility") != 0)
		return pctx_error(c, "unknown scope '%.40s' (expected facility, "
		    "organisation, region or context)", kind);
	if (*i >= n)
		return pctx_error(c, "'on %s' needs {param}, context or a name", kind);
	return parse_scope_value(c, w[(*i)++], r, t, pattern_ok);
}

static int
parse_term(struct pctx *c, char **w, size_t n, size_t *i, const struct policy_rule *r,
    struct policy_term *t, int pattern_ok)
{
	if (strcmp(w[*i], "authenticated") == 0) {
		t->kind = TERM_AUTHENTICATED;
		(*i)++;
		return 0;
	}
	if (strcmp(w[*i], "capacity") == 0) {
		t->kind = TERM_CAPACITY;
		if (++*i >= n)
			return pctx_error(c, "'capacity' needs a capacity name");
		if (!dir_valid_capacity(w[*i]))
			return pctx_error(c, "unknown capacity '%.40s' (known: jeugdhulp "
			    "gezinsondersteuning algemeen-welzijn ggz handicap)", w[*i]);
		eg_strlcpy(t->name, w[(*i)++], sizeof(t->name));
		return 0;
	}
	if (strcmp(w[*i], "role") == 0) {
		if (parse_role(c, w, n, i, r, t, pattern_ok) != 0)
			return -1;
		warn_scope(c, t);
		return 0;
	}
	return pctx_error(c, "unexpected '%.40s' in condition (expected authenticated, "
	    "role or capacity)", w[*i]);
}

/* Terms were allocated for the worst case, one per word; keep only those used. */
static int
shrink_terms(struct policy_rule *r)
{
	struct policy_term *t = realloc(r->terms, r->nterms * sizeof(*t));

	if (t != NULL)
		r->terms = t;
	return 0;
}

int
parse_cond(struct pctx *c, char **w, size_t n, struct policy_rule *r, int pattern_ok)
{
	size_t i = 0;
	int or_start = 1;

	if (n == 0)
		return pctx_error(c, "'when' needs a condition");
	/* A term takes at least one word, so n bounds the number of terms. */
	if ((r->terms = calloc(n, sizeof(*r->terms))) == NULL)
		return pctx_error(c, "out of memory");
	for (;;) {
		struct policy_term *t = &r->terms[r->nterms++];
		t->or_start = or_start;
		if (parse_term(c, w, n, &i, r, t, pattern_ok) != 0)
			return -1;
		if (i >= n)
			return shrink_terms(r);
		if (strcmp(w[i], "and") != 0 && strcmp(w[i], "or") != 0)
			return pctx_error(c, "unexpected '%.40s' (expected 'and' or 'or')",
			    w[i]);
		or_start = strcmp(w[i], "or") == 0;
		if (++i >= n)
			return pctx_error(c, "condition ends with '%s'", w[i - 1]);
	}
}
