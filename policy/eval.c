/*
 * eval.c - decisions (PRODUCT.md §5 semantics). Every rule whose methods and path match
 * is considered; a matching deny whose condition holds wins (the first in file order is
 * named); otherwise the first matching allow, in file order, whose condition holds;
 * otherwise deny with no rule.
 *
 * Nothing here allocates: the request's segments and the candidates live on the stack,
 * and the policy is read-only, so any number of threads may decide at once.
 */
#include <string.h>

#include "eidgate/err.h"
#include "policy/internal.h"

#define NO_RULE UINT32_MAX

struct decide_ctx {
	const struct policy *p;
	const struct path_segs *ps;
	const struct eg_subject *s;
	unsigned method;
	uint32_t deny;
	uint32_t allow;
	uint32_t first;         /* the first rule in file order matching method and path */
};

static int
seg_eq(const char *str, const char *seg, size_t len)
{
	return str != NULL && strncmp(str, seg, len) == 0 && str[len] == '\0';
}

/* Records why a term held or not, when the caller asked (explain.c); returns 1 for a
 * code that means "held", so callers can `return why_set(...)`. */
static int
why_set(struct term_why *why, enum term_why_code code, const struct eg_grant *g,
    const char *org)
{
	if (why != NULL) {
		why->code = code;
		why->grant = g;
		why->org = org;
	}
	return code == WHY_LOGGED_IN || code == WHY_CAPACITY || code == WHY_GRANT ||
	    code == WHY_ORG_GRANT;
}

static void
why_value(struct term_why *why, const char *v, size_t len)
{
	if (why != NULL) {
		why->value = v;
		why->value_len = len;
	}
}

/* The organisation owning facility f: from any facility grant of the subject that names
 * it, else the directory's answer, else the session's own organisation when f is the
 * context facility. */
static const char *
facility_org(const struct eg_subject *s, const char *f, size_t flen)
{
	char buf[EG_MAX_ID];
	const char *org;
	size_t i;

	for (i = 0; i < s->ngrants; i++) {
		const struct eg_grant *g = &s->grants[i];
		if (g->kind == EG_SCOPE_FACILITY && g->org[0] != '\0' &&
		    seg_eq(g->scope, f, flen))
			return g->org;
	}
	if (flen >= sizeof(buf))
		return NULL;
	memcpy(buf, f, flen);
	buf[flen] = '\0';
	if (s->facility_org != NULL &&
	    (org = s->facility_org(s->facility_org_arg, buf)) != NULL)
		return org;
	if (s->context_facility != NULL && s->context_org != NULL &&
	    strcmp(s->context_facility, buf) == 0)
		return s->context_org;
	return NULL;
}

/* Does the subject hold role on scope (kind, v)? On a facility, a grant on the owning
 * organisation counts too (PRODUCT.md §4). With why, also says which grant held or, when
 * none did, which organisation owns the facility, so explain.c can say "no grant on f or
 * its organisation o"; only then is the owner looked up even without organisation grants
 * (the hot path skips that directory call). */
static int
holds_role(const struct eg_subject *s, const char *role, enum eg_scope_kind kind,
    const char *v, size_t vlen, struct term_why *why)
{
	const char *org = NULL;
	int org_done = 0;
	size_t i;

	for (i = 0; i < s->ngrants; i++) {
		const struct eg_grant *g = &s->grants[i];
		if (strcmp(g->role, role) != 0)
			continue;
		if (g->kind == kind && seg_eq(g->scope, v, vlen))
			return why_set(why, WHY_GRANT, g, NULL);
		if (kind != EG_SCOPE_FACILITY || g->kind != EG_SCOPE_ORGANISATION)
			continue;
		if (!org_done) {
			org = facility_org(s, v, vlen);
			org_done = 1;
		}
		if (org != NULL && strcmp(g->scope, org) == 0)
			return why_set(why, WHY_ORG_GRANT, g, org);
	}
	if (why != NULL && kind == EG_SCOPE_FACILITY && !org_done)
		org = facility_org(s, v, vlen);
	why_set(why, WHY_NO_GRANT, NULL, org);
	return 0;
}

static int
holds_role_anywhere(const struct eg_subject *s, const char *role, struct term_why *why)
{
	size_t i;

	for (i = 0; i < s->ngrants; i++)
		if (strcmp(s->grants[i].role, role) == 0)
			return why_set(why, WHY_GRANT, &s->grants[i], NULL);
	why_set(why, WHY_NO_GRANT, NULL, NULL);
	return 0;
}

static int
capacity_holds(const struct policy_term *t, const struct eg_subject *s,
    struct term_why *why)
{
	size_t i;

	for (i = 0; i < s->ncapacities; i++)
		if (s->capacities[i] != NULL && strcmp(s->capacities[i], t->name) == 0)
			return why_set(why, WHY_CAPACITY, NULL, s->context_org);
	why_set(why, WHY_NO_CAPACITY, NULL, s->context_org);
	return 0;
}

int
policy_term_eval(const struct policy_term *t, const struct path_segs *ps,
    const struct eg_subject *s, struct term_why *why)
{
	const char *v;

	/* Roles and capacities also require a login, so a caller that fills grants for an
	 * anonymous request cannot open anything. */
	if (!s->authenticated)
		return why_set(why, WHY_NOT_LOGGED_IN, NULL, NULL);
	if (t->kind == TERM_AUTHENTICATED)
		return why_set(why, WHY_LOGGED_IN, NULL, NULL);
	if (t->kind == TERM_CAPACITY)
		return capacity_holds(t, s, why);
	if (t->scope == SCOPE_ANY)
		return holds_role_anywhere(s, t->name, why);
	if (t->scope == SCOPE_PARAM) {
		if (t->param >= ps->stored)
			return why_set(why, WHY_NO_SEGMENT, NULL, NULL);
		why_value(why, ps->ptr[t->param], ps->len[t->param]);
		return holds_role(s, t->name, t->scope_kind, ps->ptr[t->param],
		    ps->len[t->param], why);
	}
	if (t->scope == SCOPE_LITERAL)
		v = t->literal;
	else
		v = t->scope_kind == EG_SCOPE_ORGANISATION ? s->context_org :
		    s->context_facility;
	if (v == NULL || v[0] == '\0')
		return why_set(why, WHY_NO_CONTEXT, NULL, NULL);
	why_value(why, v, strlen(v));
	return holds_role(s, t->name, t->scope_kind, v, strlen(v), why);
}

int
policy_cond_holds(const struct policy_rule *r, const struct path_segs *ps,
    const struct eg_subject *s)
{
	size_t i = 0;
	int group;

	if (r->nterms == 0)
		return 1;       /* no `when`: the rule applies to every request */
	while (i < r->nterms) {
		group = 1;
		do {
			if (group && !policy_term_eval(&r->terms[i], ps, s, NULL))
				group = 0;
			i++;
		} while (i < r->nterms && !r->terms[i].or_start);
		if (group)
			return 1;
	}
	return 0;
}

/* Called by the trie for each rule whose path matches. Rules later in the file than the
 * best candidate so far are not evaluated, nor allows once a deny holds. */
static void
consider(void *arg, uint32_t idx)
{
	struct decide_ctx *d = arg;
	const struct policy_rule *r = &d->p->rules[idx];

	if ((r->methods & d->method) == 0)
		return;
	if (d->first == NO_RULE || idx < d->first)
		d->first = idx;
	if (r->deny) {
		if ((d->deny == NO_RULE || idx < d->deny) &&
		    policy_cond_holds(r, d->ps, d->s))
			d->deny = idx;
		return;
	}
	if (d->deny == NO_RULE && (d->allow == NO_RULE || idx < d->allow) &&
	    policy_cond_holds(r, d->ps, d->s))
		d->allow = idx;
}

/* The value a scoped role term names in this request (the path segment, the context or
 * the literal): *v and *vlen; 0 when it names none. */
static int
term_value(const struct policy_term *t, const struct path_segs *ps,
    const struct eg_subject *s, const char **v, size_t *vlen)
{
	if (t->kind != TERM_ROLE || t->scope == SCOPE_ANY)
		return 0;
	if (t->scope == SCOPE_PARAM) {
		if (t->param >= ps->stored)
			return 0;
		*v = ps->ptr[t->param];
		*vlen = ps->len[t->param];
	} else {
		*v = t->scope == SCOPE_LITERAL ? t->literal :
		    t->scope_kind == EG_SCOPE_ORGANISATION ? s->context_org : s->context_facility;
		if (*v == NULL)
			return 0;
		*vlen = strlen(*v);
	}
	return *vlen > 0 && *vlen < EG_MAX_ID;
}

static void
scope_set(const struct policy_term *t, const struct eg_subject *s, const char *v,
    size_t vlen, struct policy_scope *out)
{
	const char *org = NULL;

	out->set = 1;
	out->kind = t->scope_kind;
	memcpy(out->id, v, vlen);
	out->id[vlen] = '\0';
	if (t->scope_kind == EG_SCOPE_ORGANISATION)
		org = out->id;
	else if (t->scope_kind == EG_SCOPE_FACILITY)
		org = facility_org(s, v, vlen);
	if (org != NULL && strlen(org) < sizeof(out->org))
		memcpy(out->org, org, strlen(org) + 1);
}

/* The scope of rule r: of its first scoped role term that holds (held), or of its first
 * scoped role term whatever it says (!held). 1 when found. */
static int
rule_scope(const struct policy_rule *r, const struct path_segs *ps,
    const struct eg_subject *s, int held, struct policy_scope *out)
{
	const char *v;
	size_t i, vlen;

	for (i = 0; i < r->nterms; i++) {
		const struct policy_term *t = &r->terms[i];
		if (!term_value(t, ps, s, &v, &vlen))
			continue;
		if (held && !policy_term_eval(t, ps, s, NULL))
			continue;
		scope_set(t, s, v, vlen, out);
		return 1;
	}
	return 0;
}

/* What the decision is about (struct policy_scope): only computed once the decision is
 * taken, so the hot path evaluates the deciding rule's terms a second time at most. */
static void
decision_scope(const struct decide_ctx *d, struct policy_scope *out)
{
	uint32_t idx = d->deny != NO_RULE ? d->deny : d->allow;

	if (idx != NO_RULE && rule_scope(&d->p->rules[idx], d->ps, d->s, 1, out))
		return;
	if (d->first != NO_RULE)
		(void)rule_scope(&d->p->rules[d->first], d->ps, d->s, 0, out);
}

/* "/a/b/" -> "a", "b", ""; "/" -> nothing. */
void
policy_split_path(const char *path, struct path_segs *ps)
{
	const char *p = path + 1, *e;

	ps->n = ps->stored = 0;
	if (*p == '\0')
		return;
	for (;;) {
		e = strchr(p, '/');
		if (ps->stored < EG_MAX_SEGMENTS) {
			ps->ptr[ps->stored] = p;
			ps->len[ps->stored++] = e != NULL ? (size_t)(e - p) : strlen(p);
		}
		ps->n++;
		if (e == NULL)
			return;
		p = e + 1;
	}
}

void
policy_decide(const struct policy *p, const char *method, const char *path,
    const struct eg_subject *s, struct policy_decision *out)
{
	struct path_segs ps;
	struct decide_ctx d = { p, &ps, s, 0, NO_RULE, NO_RULE, NO_RULE };

	memset(out, 0, sizeof(*out));
	out->reason = EG_ERR_NO_RULE;
	if (p == NULL || method == NULL || path == NULL || path[0] != '/' || s == NULL)
		return;
	if ((d.method = policy_method_bit(method, strlen(method))) == 0)
		return;
	policy_split_path(path, &ps);
	trie_match(p->root, &ps, consider, &d);
	if (d.deny != NO_RULE) {
		out->rule = p->rules[d.deny].id;
		out->reason = EG_ERR_DENIED;
	} else if (d.allow != NO_RULE) {
		out->allow = 1;
		out->rule = p->rules[d.allow].id;
		out->backend = &p->backends[p->rules[d.allow].backend];
		out->signed_intent = p->rules[d.allow].signed_intent;
		out->reason = EG_OK;
	}
	decision_scope(&d, &out->scope);
}
