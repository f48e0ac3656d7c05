/*
 * explain.c - a decision in words (`eidgate policy explain`, PRODUCT.md §1): every rule
 * whose methods and path match, each term of its condition and why it held or not, and
 * which rule decides.
 *
 * Why it cannot disagree with policy_decide(): rules are found with the same trie
 * (trie_match), conditions are checked with the same policy_cond_holds(), and each term
 * is worded from policy_term_eval(), the function policy_cond_holds() itself calls; the
 * verdict is then chosen by the rule of PRODUCT.md §5 (first holding deny in file order,
 * else first holding allow). A per-term result that does not add up to the rule's result
 * is reported as EG_ERR_INTERNAL rather than printed as a plausible story.
 *
 * Memory: one byte of state per rule, so explaining against a 100,000-rule policy costs
 * 100 KB; the CLI runs once, so that is not worth a sparse set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "policy/internal.h"

/* Per-rule state of one explanation. */
enum { ST_PATH = 1, ST_METHOD = 2, ST_HOLDS = 4 };

#define NO_RULE UINT32_MAX

struct explain {
	const struct policy *p;
	const struct eg_subject *s;
	struct path_segs ps;
	unsigned method;
	unsigned char *st;          /* ST_* per rule */
	uint32_t deny, allow;       /* deciding candidates, NO_RULE when none */
	FILE *out;
};

static void
mark_path(void *arg, uint32_t rule)
{
	struct explain *x = arg;

	x->st[rule] |= ST_PATH;
}

/* Pass 1: which rules match, which hold, and the verdict of PRODUCT.md §5. */
static void
evaluate(struct explain *x)
{
	size_t i;

	x->deny = x->allow = NO_RULE;
	if (x->p->root != NULL)
		trie_match(x->p->root, &x->ps, mark_path, x);
	for (i = 0; i < x->p->nrules; i++) {
		const struct policy_rule *r = &x->p->rules[i];
		if ((x->st[i] & ST_PATH) == 0 || (r->methods & x->method) == 0)
			continue;
		x->st[i] |= ST_METHOD;
		if (!policy_cond_holds(r, &x->ps, x->s))
			continue;
		x->st[i] |= ST_HOLDS;
		if (r->deny && x->deny == NO_RULE)
			x->deny = (uint32_t)i;
		else if (!r->deny && x->allow == NO_RULE)
			x->allow = (uint32_t)i;
	}
}

static void
fill_decision(const struct explain *x, struct policy_decision *dec)
{
	const struct policy *p = x->p;

	memset(dec, 0, sizeof(*dec));
	dec->reason = EG_ERR_NO_RULE;
	if (x->deny != NO_RULE) {
		dec->rule = p->rules[x->deny].id;
		dec->reason = EG_ERR_DENIED;
	} else if (x->allow != NO_RULE) {
		dec->allow = 1;
		dec->rule = p->rules[x->allow].id;
		dec->backend = &p->backends[p->rules[x->allow].backend];
		dec->signed_intent = p->rules[x->allow].signed_intent;
		dec->reason = EG_OK;
	}
}

/* "GET,HEAD" or "*", as written in the policy. */
/* One line per rule: "  allow module-read (line 3) GET,HEAD /modules/x/{f} -> modules" */
static void
put_rule_head(FILE *f, const struct policy *p, const struct policy_rule *r)
{
	char methods[64], pattern[EG_MAX_LINE];

	fprintf(f, "  %-5s %s (line %d) ", r->deny ? "deny" : "allow", r->id, r->line);
	policy_methods_text(r->methods, methods, sizeof(methods));
	policy_pattern_text(r, pattern, sizeof(pattern));
	fprintf(f, "%s %s", methods, pattern);
	if (!r->deny)
		fprintf(f, " -> %s%s", p->backends[r->backend].name,
		    r->signed_intent ? " signed" : "");
}

/* The term as written, with the scope it was checked against filled in:
 * "role moduleerder on facility ckg-molenberg ({f})". */
static void
put_term(FILE *f, const struct policy_rule *r, const struct policy_term *t,
    const struct term_why *w)
{
	if (t->kind == TERM_AUTHENTICATED) {
		fputs("authenticated", f);
		return;
	}
	if (t->kind == TERM_CAPACITY) {
		fprintf(f, "capacity %s", t->name);
		return;
	}
	fprintf(f, "role %s", t->name);
	if (t->scope == SCOPE_ANY)
		return;
	fprintf(f, " on %s ", dir_scope_kind_name(t->scope_kind));
	if (t->scope == SCOPE_LITERAL)
		fputs(t->literal, f);
	else if (w->value == NULL)
		fputs(t->scope == SCOPE_CONTEXT ? "context" : "{?}", f);
	else
		fprintf(f, "%.*s (%s%s%s)", (int)w->value_len, w->value,
		    t->scope == SCOPE_PARAM ? "{" : "",
		    t->scope == SCOPE_PARAM ? r->segs[t->param].text : "context",
		    t->scope == SCOPE_PARAM ? "}" : "");
}

static void
put_capacities(FILE *f, const struct eg_subject *s)
{
	size_t i;

	if (s->ncapacities == 0) {
		fputs("none", f);
		return;
	}
	for (i = 0; i < s->ncapacities; i++)
		fprintf(f, "%s%s", i ? ", " : "", s->capacities[i] ? s->capacities[i] : "?");
}

/* Words for a role term that does not hold. */
static void
put_no_grant(FILE *f, const struct policy_term *t, const struct term_why *w)
{
	if (t->scope == SCOPE_ANY) {
		fprintf(f, "not held: no grant of %s on any scope", t->name);
		return;
	}
	fprintf(f, "not held: no grant of %s on %s %.*s", t->name,
	    dir_scope_kind_name(t->scope_kind),
	    (int)w->value_len, w->value != NULL ? w->value : "");
	if (t->scope_kind != EG_SCOPE_FACILITY)
		return;
	if (w->org != NULL)
		fprintf(f, " or its organisation %s", w->org);
	else
		fputs(" (its organisation is unknown to the directory)", f);
}

/* Why, in words: "held (facility grant)", "not held: ...". */
static void
put_why(FILE *f, const struct policy_term *t, const struct term_why *w,
    const struct eg_subject *s)
{
	switch (w->code) {
	case WHY_NOT_LOGGED_IN:
		fputs("not held: not logged in", f);
		break;
	case WHY_LOGGED_IN:
		fputs("held (logged in)", f);
		break;
	case WHY_CAPACITY:
		fprintf(f, "held (organisation %s has it)", w->org ? w->org : "?");
		break;
	case WHY_NO_CAPACITY:
		if (w->org == NULL) {
			fputs("not held: acting for no organisation", f);
			break;
		}
		fprintf(f, "not held: organisation %s has capacities: ", w->org);
		put_capacities(f, s);
		break;
	case WHY_GRANT:
		fprintf(f, "held (%s grant", dir_scope_kind_name(w->grant->kind));
		if (t->scope == SCOPE_ANY)
			fprintf(f, " on %s", w->grant->scope);
		fputs(")", f);
		break;
	case WHY_ORG_GRANT:
		fprintf(f, "held (organisation grant on %s, which owns this facility)",
		    w->grant->scope);
		break;
	case WHY_NO_GRANT:
		put_no_grant(f, t, w);
		break;
	case WHY_NO_CONTEXT:
		fprintf(f, "not held: acting for no %s", dir_scope_kind_name(t->scope_kind));
		break;
	case WHY_NO_SEGMENT:
		fputs("not held: the parameter's segment is beyond the matched depth", f);
		break;
	}
}

/* Prints each term of r with why it held; returns what the terms add up to under the
 * `and` before `or` grouping of policy_cond_holds(). */
static int
put_terms(const struct explain *x, const struct policy_rule *r)
{
	size_t i;
	int any = 0, group = 1;

	if (r->nterms == 0) {
		fputs("      no 'when': holds for every request\n", x->out);
		return 1;
	}
	for (i = 0; i < r->nterms; i++) {
		const struct policy_term *t = &r->terms[i];
		struct term_why w;
		int held;

		memset(&w, 0, sizeof(w));
		held = policy_term_eval(t, &x->ps, x->s, &w);
		if (i > 0 && t->or_start) {
			any |= group;
			group = 1;
		}
		group &= held;
		fprintf(x->out, "      %s ", i == 0 ? "when" : t->or_start ? "  or" : " and");
		put_term(x->out, r, t, &w);
		fputs(": ", x->out);
		put_why(x->out, t, &w, x->s);
		fputc('\n', x->out);
	}
	return any | group;
}

static int
put_matching(const struct explain *x, size_t i)
{
	const struct policy_rule *r = &x->p->rules[i];
	int holds = (x->st[i] & ST_HOLDS) != 0;

	put_rule_head(x->out, x->p, r);
	fprintf(x->out, ": condition %s", holds ? "holds" : "does not hold");
	if (i == x->deny || (x->deny == NO_RULE && i == x->allow))
		fputs("  <- decides", x->out);
	else if (holds && !r->deny && x->deny != NO_RULE)
		fprintf(x->out, "  (overridden by deny %s)", x->p->rules[x->deny].id);
	else if (holds)
		fprintf(x->out, "  (an earlier %s decides)", r->deny ? "deny" : "allow");
	fputc('\n', x->out);
	return put_terms(x, r) == holds ? EG_OK : EG_ERR_INTERNAL;
}

static void
put_verdict(const struct explain *x, const struct policy_decision *dec)
{
	if (dec->allow)
		fprintf(x->out, "decision: allow by rule %s -> %s (%s)\n", dec->rule,
		    dec->backend->name, dec->backend->url);
	else if (dec->rule != NULL)
		fprintf(x->out, "decision: deny by rule %s\n", dec->rule);
	else
		fputs("decision: deny (no allow rule holds: no-rule)\n", x->out);
}

/* With -v: rules that matched the path but not the method, then the others. */
static void
put_others(const struct explain *x)
{
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		int header = 0;
		for (i = 0; i < x->p->nrules; i++) {
			int path = (x->st[i] & ST_PATH) != 0;
			if ((x->st[i] & ST_METHOD) != 0 || path != (pass == 0))
				continue;
			if (!header)
				fprintf(x->out, "\n%s:\n", pass == 0 ? "path matches, method does "
				    "not" : "path does not match");
			header = 1;
			put_rule_head(x->out, x->p, &x->p->rules[i]);
			fputc('\n', x->out);
		}
	}
}

static int
put_explanation(const struct explain *x, unsigned flags,
    const struct policy_decision *dec)
{
	size_t i, n = 0;
	int r = EG_OK;

	put_verdict(x, dec);
	for (i = 0; i < x->p->nrules; i++)
		n += (x->st[i] & ST_METHOD) != 0;
	fprintf(x->out, "\nrules whose methods and path match (%zu), in file order:\n", n);
	if (n == 0)
		fputs("  none\n", x->out);
	for (i = 0; i < x->p->nrules; i++)
		if ((x->st[i] & ST_METHOD) != 0 && put_matching(x, i) != EG_OK)
			r = EG_ERR_INTERNAL;
	if (flags & POLICY_EXPLAIN_VERBOSE)
		put_others(x);
	return r;
}

int
policy_explain(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s, unsigned flags, FILE *out, struct policy_decision *dec)
{
	struct explain x;
	int r;

	memset(dec, 0, sizeof(*dec));
	dec->reason = EG_ERR_NO_RULE;
	if (p == NULL || method == NULL || path == NULL || s == NULL || out == NULL)
		return EG_ERR_INTERNAL;
	memset(&x, 0, sizeof(x));
	x.p = p;
	x.s = s;
	x.out = out;
	/* policy_decide() matches nothing for these; say so instead of listing nothing. */
	if (path[0] != '/') {
		fputs("decision: deny (the path is not a normalised origin-form path)\n", out);
		return ferror(out) ? EG_ERR_IO : EG_OK;
	}
	if ((x.st = calloc(p->nrules + 1, 1)) == NULL)
		return EG_ERR_NOMEM;
	x.method = policy_method_bit(method, strlen(method));
	policy_split_path(path, &x.ps);
	evaluate(&x);
	fill_decision(&x, dec);
	if (x.method == 0)
		fprintf(out, "method '%s' is not one a rule can name: no rule matches\n", method);
	r = put_explanation(&x, flags, dec);
	free(x.st);
	if (r == EG_OK && ferror(out))
		r = EG_ERR_IO;
	return r;
}

int
policy_rule_results(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s, void (*cb)(void *arg, const char *rule, int deny, int holds),
    void *arg)
{
	struct explain x;
	size_t i;

	if (p == NULL || method == NULL || path == NULL || s == NULL || path[0] != '/')
		return EG_OK;   /* nothing matches such a request (policy_explain says so) */
	memset(&x, 0, sizeof(x));
	x.p = p;
	x.s = s;
	if ((x.st = calloc(p->nrules + 1, 1)) == NULL)
		return EG_ERR_NOMEM;
	x.method = policy_method_bit(method, strlen(method));
	policy_split_path(path, &x.ps);
	evaluate(&x);
	for (i = 0; i < p->nrules; i++)
		if (x.st[i] & ST_METHOD)
			cb(arg, p->rules[i].id, p->rules[i].deny, (x.st[i] & ST_HOLDS) != 0);
	free(x.st);
	return EG_OK;
}
