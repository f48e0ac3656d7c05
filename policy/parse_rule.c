/*
 * parse_rule.c - `allow|deny <rule-id> <methods> <path> [-> <backend> [signed]]
 *     [when <cond>]`
 * (PRODUCT.md §5): rule ids, method lists and path patterns. Conditions are in
 * parse_cond.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "policy/internal.h"

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
	{ "GET", PM_GET }, { "HEAD", PM_HEAD }, { "POST", PM_POST }, { "PUT", PM_PUT },
	{ "PATCH", PM_PATCH }, { "DELETE", PM_DELETE }, { "OPTIONS", PM_OPTIONS },
};

unsigned
policy_method_bit(const char *m, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == len && memcmp(methods[i].name, m, len) == 0)
			return methods[i].bit;
	return 0;
}

int
policy_method_known(const char *method)
{
	return policy_method_bit(method, strlen(method)) != 0;
}

const char *
policy_method_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].bit == bit)
			return methods[i].name;
	return NULL;
}

void
policy_methods_text(unsigned m, char *out, size_t len)
{
	size_t i, used = 0;
	int w;

	if (len == 0)
		return;
	out[0] = '\0';
	if (m == PM_ALL) {
		eg_strlcpy(out, "*", len);
		return;
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]) && used < len; i++)
		if (m & methods[i].bit) {
			w = snprintf(out + used, len - used, "%s%s", used ? "," : "",
			    methods[i].name);
			if (w < 0)
				return;
			used += (size_t)w;
		}
}

/* "GET,HEAD" or "*". Method names are case-sensitive (RFC 9110 §9.1), so "get" is an
 * error rather than a rule that silently never matches. */
static int
parse_methods(struct pctx *c, const char *s, unsigned *mask)
{
	const char *p = s, *e;
	unsigned bit;

	*mask = 0;
	if (strcmp(s, "*") == 0) {
		*mask = PM_ALL;
		return 0;
	}
	for (;;) {
		e = p + strcspn(p, ",");
		if (e == p)
			return pctx_error(c, "empty method in '%.60s'", s);
		if (strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < (size_t)(e - p))
			return pctx_error(c, "bad method '%.*s' (methods are upper-case, "
			    "e.g. GET,HEAD, or *)", (int)(e - p > 40 ? 40 : e - p), p);
		if ((bit = policy_method_bit(p, (size_t)(e - p))) == 0)
			return pctx_error(c, "unknown method '%.*s' (known: GET HEAD POST PUT "
			    "PATCH DELETE OPTIONS)", (int)(e - p > 40 ? 40 : e - p), p);
		*mask |= bit;
		if (*e == '\0')
			return 0;
		p = e + 1;
	}
}

static int
is_escaped_unreserved(const char *hex)
{
	int v = (hex[0] <= '9' ? hex[0] - '0' : hex[0] - 'A' + 10) * 16 +
	    (hex[1] <= '9' ? hex[1] - '0' : hex[1] - 'A' + 10);

	return (v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') || (v >= '0' && v <= '9') ||
	    v == '-' || v == '.' || v == '_' || v == '~';
}

/* A literal segment must be what policy_normalise_path() can produce, or the rule would
 * never match: unreserved and raw pchar characters, and upper-case %XX for the rest. */
static int
check_literal(struct pctx *c, const char *s)
{
	size_t i;

	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return pctx_error(c, "dot segment '%s' in path pattern", s);
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '%') {
			if (strspn(s + i + 1, "0123456789ABCDEF") < 2)
				return pctx_error(c, "bad escape in path pattern segment '%.60s' "
				    "(use upper-case %%XX)", s);
			/* The normaliser decodes these, so the escaped form never matches. */
			if (is_escaped_unreserved(s + i + 1))
				return pctx_error(c, "write '%%%.2s' in segment '%.60s' as the "
				    "character itself", s + i + 1, s);
			i += 2;
			continue;
		}
		if (strchr("*{}", ch) != NULL)
			return pctx_error(c, "'%c' in segment '%.60s': '*', '**' and '{name}' "
			    "must be whole segments", ch, s);
		if (ch <= 0x20 || ch >= 0x7f || strchr("\"<>[]\\^`|;", ch) != NULL)
			return pctx_error(c, "character '%c' cannot appear in a normalised path "
			    "(segment '%.60s')", ch >= 0x21 && ch < 0x7f ? ch : '?', s);
	}
	return 0;
}

static int
parse_segment(struct pctx *c, const char *s, size_t len, struct policy_seg *seg)
{
	char buf[EG_MAX_LINE];

	memcpy(buf, s, len);
	buf[len] = '\0';
	seg->text = NULL;
	if (len == 0)
		return pctx_error(c, "empty segment in path pattern (no '//' and no "
		    "trailing '/'; use /** to match what is below)");
	if (strcmp(buf, "**") == 0) {
		seg->kind = SEG_GLOB;
		return 0;
	}
	if (strcmp(buf, "*") == 0) {
		seg->kind = SEG_STAR;
		return 0;
	}
	if (buf[0] == '{') {
		if (len < 3 || buf[len - 1] != '}')
			return pctx_error(c, "bad parameter '%.60s' (expected {name})", buf);
		buf[len - 1] = '\0';
		if (!policy_valid_name(buf + 1))
			return pctx_error(c, "bad parameter name '%.60s'", buf + 1);
		seg->kind = SEG_PARAM;
		return (seg->text = strdup(buf + 1)) == NULL ?
		    pctx_error(c, "out of memory") : 0;
	}
	if (check_literal(c, buf) != 0)
		return -1;
	seg->kind = SEG_LITERAL;
	return (seg->text = strdup(buf)) == NULL ? pctx_error(c, "out of memory") : 0;
}

/* Checks what needs the whole pattern: `**` last, unique parameter names, /eidgate. */
static int
check_pattern(struct pctx *c, const struct policy_rule *r)
{
	size_t i, j;

	for (i = 0; i < r->nsegs; i++) {
		if (r->segs[i].kind == SEG_GLOB && i + 1 != r->nsegs)
			return pctx_error(c, "'**' must be the last segment of a path pattern");
		if (r->segs[i].kind != SEG_PARAM)
			continue;
		for (j = 0; j < i; j++)
			if (r->segs[j].kind == SEG_PARAM &&
			    strcmp(r->segs[j].text, r->segs[i].text) == 0)
				return pctx_error(c, "parameter {%s} captured twice",
				    r->segs[i].text);
	}
	/* Case-insensitive: a backend on a case-insensitive file system would serve
	 * /EIDGATE/ as /eidgate/, and such a rule is a mistake either way. */
	if (r->nsegs > 0 && r->segs[0].kind == SEG_LITERAL &&
	    strcasecmp(r->segs[0].text, "eidgate") == 0)
		return pctx_error(c, "paths under /eidgate/ belong to the gateway; no rule "
		    "may route them");
	return 0;
}

static int
parse_pattern(struct pctx *c, const char *s, struct policy_rule *r)
{
	const char *p, *e;
	struct policy_seg *segs;
	int bad = 0;

	if (s[0] != '/')
		return pctx_error(c, "path pattern must start with '/': '%.60s'", s);
	if (strcmp(s, "/") == 0)
		return 0;
	r->segs = calloc(EG_MAX_SEGMENTS, sizeof(*r->segs));
	if (r->segs == NULL)
		return pctx_error(c, "out of memory");
	for (p = s + 1;; p = e + 1) {
		e = p + strcspn(p, "/");
		if (r->nsegs == EG_MAX_SEGMENTS)
			return pctx_error(c, "path pattern has more than %d segments",
			    EG_MAX_SEGMENTS);
		if (parse_segment(c, p, (size_t)(e - p), &r->segs[r->nsegs]) != 0)
			bad = -1;
		r->nsegs++;
		if (*e == '\0')
			break;
	}
	if (bad != 0)
		return bad;
	/* Give back the unused slots: a large generated policy holds many patterns. */
	if ((segs = realloc(r->segs, r->nsegs * sizeof(*segs))) != NULL)
		r->segs = segs;
	return check_pattern(c, r);
}

static uint64_t
hash_str(const char *s)
{
	return eg_fnv1a(EG_FNV1A_INIT, s, strlen(s));
}

static int
idset_grow(struct pctx *c)
{
	size_t ncap = c->idcap ? c->idcap * 2 : 256, i, k;
	uint32_t *n = calloc(ncap, sizeof(*n));

	if (n == NULL)
		return -1;
	for (i = 0; i < c->idcap; i++) {
		if (c->idset[i] == 0)
			continue;
		k = hash_str(c->p->rules[c->idset[i] - 1].id) & (ncap - 1);
		while (n[k] != 0)
			k = (k + 1) & (ncap - 1);
		n[k] = c->idset[i];
	}
	free(c->idset);
	c->idset = n;
	c->idcap = ncap;
	return 0;
}

/* Rule ids are looked up in a hash set: a linear scan would make loading a large
 * generated policy quadratic. Returns the slot for id, occupied or free. */
static size_t
idset_slot(const struct pctx *c, const char *id)
{
	size_t k = hash_str(id) & (c->idcap - 1);

	while (c->idset[k] != 0 && strcmp(c->p->rules[c->idset[k] - 1].id, id) != 0)
		k = (k + 1) & (c->idcap - 1);
	return k;
}

static int
add_rule(struct pctx *c, struct policy_rule *r)
{
	struct policy *p = c->p;
	struct policy_rule *nr;

	if (p->nrules == EG_MAX_RULES)
		return pctx_error(c, "more than %d rules", EG_MAX_RULES);
	if (p->nrules == p->caprules) {
		size_t ncap = p->caprules ? p->caprules * 2 : 64;
		if ((nr = realloc(p->rules, ncap * sizeof(*nr))) == NULL)
			return pctx_error(c, "out of memory");
		p->rules = nr;
		p->caprules = ncap;
	}
	if ((p->nrules + 1) * 2 > c->idcap && idset_grow(c) != 0)
		return pctx_error(c, "out of memory");
	p->rules[p->nrules] = *r;
	c->idset[idset_slot(c, r->id)] = (uint32_t)(p->nrules + 1);
	p->nrules++;
	return 0;
}

static int
check_id(struct pctx *c, const char *id)
{
	if (!policy_valid_name(id))
		return pctx_error(c, "bad rule id '%.40s' (use [A-Za-z0-9_.-], at most %d "
		    "characters)", id, EG_MAX_ID - 1);
	if (c->idcap > 0 && c->idset[idset_slot(c, id)] != 0)
		return pctx_error(c, "duplicate rule id '%s' (first on line %d)", id,
		    c->p->rules[c->idset[idset_slot(c, id)] - 1].line);
	return 0;
}

/* `-> backend`: required on allow, refused on deny. Returns the index after it. */
static size_t
parse_target(struct pctx *c, const struct words *ws, struct policy_rule *r, int *bad)
{
	size_t i = 4;

	if (i < ws->n && strcmp(ws->w[i], "->") == 0) {
		if (i + 1 >= ws->n || strcmp(ws->w[i + 1], "when") == 0) {
			*bad = pctx_error(c, "'->' needs a backend name");
			return i + 1;
		}
		if (r->deny)
			*bad = pctx_error(c, "a deny rule sends nothing to a backend; drop "
			    "'-> %.40s'", ws->w[i + 1]);
		else if (!policy_valid_name(ws->w[i + 1]))
			*bad = pctx_error(c, "bad backend name '%.40s'", ws->w[i + 1]);
		else
			eg_strlcpy(r->backend_name, ws->w[i + 1], sizeof(r->backend_name));
		return i + 2;
	}
	if (!r->deny)
		*bad = pctx_error(c, "allow rule '%s' needs '-> <backend>' after the path",
		    r->id);
	return i;
}

int
parse_rule(struct pctx *c, const struct words *ws)
{
	struct policy_rule r;
	int bad = 0, pat_ok;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.deny = strcmp(ws->w[0], "deny") == 0;
	r.line = c->line;
	if (ws->n < 4)
		return pctx_error(c, "usage: %s <rule-id> <methods> <path>%s [when <cond>]",
		    ws->w[0], r.deny ? "" : " -> <backend>");
	if (check_id(c, ws->w[1]) != 0)
		bad = -1;
	eg_strlcpy(r.id, ws->w[1], sizeof(r.id));
	if (parse_methods(c, ws->w[2], &r.methods) != 0)
		bad = -1;
	pat_ok = parse_pattern(c, ws->w[3], &r) == 0;
	if (!pat_ok)
		bad = -1;
	i = parse_target(c, ws, &r, &bad);
	if (i < ws->n && strcmp(ws->w[i], "signed") == 0) {
		if (r.deny)
			bad = pctx_error(c, "'signed' marks allow rules only: a denied request "
			    "is never forwarded");
		r.signed_intent = 1;
		i++;
	}
	if (i < ws->n && strcmp(ws->w[i], "when") != 0)
		bad = pctx_error(c, "unexpected '%.40s' (expected %s'when')", ws->w[i],
		    r.deny ? "" : "'->', 'signed' or ");
	else if (i < ws->n && parse_cond(c, ws->w + i + 1, ws->n - i - 1, &r, pat_ok) != 0)
		bad = -1;
	if (bad != 0 || add_rule(c, &r) != 0) {
		policy_rule_clear(&r);
		return -1;
	}
	return 0;
}
