/*
 * lint.c - warnings about a policy that loads but probably does not say what its author
 * meant. Warnings never fail a load.
 *
 *  - an allow rule without `when` admits everyone, anonymous requests included;
 *  - an allow rule fully shadowed by a deny that covers its methods and paths and holds
 *    for everyone (no `when`) or for every logged-in user (`when authenticated`);
 *  - two allow rules that can match the same request but send it to different backends
 *    (the first in the file wins, which may be a surprise).
 *
 * The pairwise checks are quadratic; above LINT_MAX_PAIRS comparisons (a generated policy)
 * they are skipped rather than slowing a reload. This bounds work, not input, hence it is
 * not in limits.h.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"

#define LINT_MAX_PAIRS 20000000ULL

/* Does pattern a match every path that pattern b matches? `{x}` and `*` match one
 * non-empty segment, `**` zero or more segments. */
static int
covers(const struct policy_rule *a, const struct policy_rule *b)
{
	size_t i;

	for (i = 0; i < a->nsegs; i++) {
		const struct policy_seg *sa = &a->segs[i];
		if (sa->kind == SEG_GLOB)
			return 1;
		if (i >= b->nsegs || b->segs[i].kind == SEG_GLOB)
			return 0;
		if (sa->kind == SEG_LITERAL && (b->segs[i].kind != SEG_LITERAL ||
		    strcmp(sa->text, b->segs[i].text) != 0))
			return 0;
	}
	return a->nsegs == b->nsegs;
}

/* Can some path match both a and b? */
static int
overlaps(const struct policy_rule *a, const struct policy_rule *b)
{
	size_t i;

	for (i = 0; i < a->nsegs && i < b->nsegs; i++) {
		const struct policy_seg *sa = &a->segs[i], *sb = &b->segs[i];
		if (sa->kind == SEG_GLOB || sb->kind == SEG_GLOB)
			return 1;
		if (sa->kind == SEG_LITERAL && sb->kind == SEG_LITERAL &&
		    strcmp(sa->text, sb->text) != 0)
			return 0;
	}
	if (a->nsegs == b->nsegs)
		return 1;
	/* One is longer: only a `**` right after the shorter one's end can absorb it. */
	return (i < a->nsegs && a->segs[i].kind == SEG_GLOB) ||
	    (i < b->nsegs && b->segs[i].kind == SEG_GLOB);
}

/* 1 when the deny's condition holds for every authenticated request. */
static int
holds_for_all_users(const struct policy_rule *d)
{
	size_t i;

	if (d->nterms == 0)
		return 1;
	for (i = 0; i < d->nterms; i++)
		if (d->terms[i].kind != TERM_AUTHENTICATED)
			return 0;
	return 1;
}

static void
lint_shadowed(struct pctx *c, const struct policy_rule *a, const uint32_t *denies,
    size_t ndeny)
{
	const struct policy *p = c->p;
	size_t j;

	for (j = 0; j < ndeny; j++) {
		const struct policy_rule *d = &p->rules[denies[j]];
		if ((d->methods & a->methods) != a->methods || !holds_for_all_users(d) ||
		    !covers(d, a))
			continue;
		/* Every term of an allow implies a login, so `authenticated` shadows any
		 * allow that has a `when`; only a deny without `when` shadows one without. */
		if (d->nterms > 0 && a->nterms == 0)
			continue;
		pctx_warn_at(c, a->line, "allow rule '%s' can never allow: deny rule '%s' "
		    "(line %d) covers all its requests", a->id, d->id, d->line);
		return;
	}
}

/* Compares allow number k with the allows before it. */
static void
lint_overlap(struct pctx *c, const uint32_t *allows, size_t k)
{
	const struct policy *p = c->p;
	const struct policy_rule *a = &p->rules[allows[k]];
	size_t j;

	for (j = 0; j < k; j++) {
		const struct policy_rule *b = &p->rules[allows[j]];
		if (b->backend == a->backend || (b->methods & a->methods) == 0 ||
		    !overlaps(a, b))
			continue;
		pctx_warn_at(c, a->line, "allow rules '%s' (line %d) and '%s' can match the "
		    "same request but send it to different backends (%s, %s); '%s' wins "
		    "where both hold", b->id, b->line, a->id, b->backend_name,
		    a->backend_name, b->id);
	}
}

void
policy_lint(struct pctx *c)
{
	const struct policy *p = c->p;
	uint32_t *idx = malloc((p->nrules + 1) * sizeof(*idx));
	size_t i, nallow = 0, ndeny = 0;
	uint32_t *allows, *denies;

	if (idx == NULL)
		return;         /* warnings are advice; a load does not fail for them */
	/* Allows from the front of idx, denies from the back, both in file order. */
	for (i = 0; i < p->nrules; i++)
		if (!p->rules[i].deny)
			idx[nallow++] = (uint32_t)i;
	allows = idx;
	denies = idx + nallow;
	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].deny)
			denies[ndeny++] = (uint32_t)i;
	for (i = 0; i < nallow; i++) {
		const struct policy_rule *r = &p->rules[allows[i]];
		if (r->nterms == 0)
			pctx_warn_at(c, r->line, "allow rule '%s' has no 'when': it admits "
			    "every request, including unauthenticated ones", r->id);
		if ((unsigned long long)nallow * ndeny <= LINT_MAX_PAIRS)
			lint_shadowed(c, r, denies, ndeny);
		if ((unsigned long long)nallow * nallow / 2 <= LINT_MAX_PAIRS)
			lint_overlap(c, allows, i);
	}
	free(idx);
}
