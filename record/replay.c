/*
 * replay.c - what a decision depended on, written into its record and read back, so
 * that `eidgate audit replay` can take the decision again (record.h, "Replaying").
 *
 * The texts are small and parsed a million times in a replay of a large log: no
 * allocation per record, fixed arrays sized by limits.h.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/record.h"
#include "eidgate/util.h"

/* Characters that separate the parts of these texts; an id holding one is escaped as
 * %XX, so no directory name can shift a grant into another. */
static int
special(char c)
{
	return c == ',' || c == ' ' || c == '@' || c == '=' || c == '%' || c == ':' ||
	    (unsigned char)c < 0x20;
}

/* Appends s (escaped) to out; -1 when it does not fit. */
static int
put_id(struct rec_text *t, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		if (t->len + 4 >= t->cap)
			return -1;
		if (special(*s)) {
			t->buf[t->len++] = '%';
			t->buf[t->len++] = hex[(unsigned char)*s >> 4];
			t->buf[t->len++] = hex[(unsigned char)*s & 15];
		} else {
			t->buf[t->len++] = *s;
		}
	}
	t->buf[t->len] = '\0';
	return 0;
}

static int
put_str(struct rec_text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap)
		return -1;
	memcpy(t->buf + t->len, s, n + 1);
	t->len += n;
	return 0;
}

static const char *
kind_word(enum eg_scope_kind k)
{
	return k == EG_SCOPE_ORGANISATION ? "organisation" : k == EG_SCOPE_FACILITY ?
	    "facility" : "region";
}

int
record_text_grants(struct rec_text *t, int authenticated, const struct eg_grant *g,
    size_t n)
{
	size_t i;
	int r = 0;

	t->len = 0;
	t->buf[0] = '\0';
	if (!authenticated)
		return put_str(t, "-");
	for (i = 0; i < n && r == 0; i++) {
		r = (i > 0 ? put_str(t, ",") : 0) | put_id(t, g[i].role) | put_str(t, " ") |
		    put_str(t, kind_word(g[i].kind)) | put_str(t, ":") | put_id(t, g[i].scope);
		if (r == 0 && g[i].kind == EG_SCOPE_FACILITY && g[i].org[0] != '\0')
			r = put_str(t, "@") | put_id(t, g[i].org);
	}
	return r == 0 ? 0 : -1;
}

int
record_text_context(struct rec_text *t, const char *facility, const char *org)
{
	t->len = 0;
	t->buf[0] = '\0';
	if ((facility == NULL || facility[0] == '\0') && (org == NULL || org[0] == '\0'))
		return 0;
	if (facility != NULL && put_id(t, facility) != 0)
		return -1;
	return put_str(t, "@") | (org != NULL ? put_id(t, org) : 0);
}

int
record_text_list(struct rec_text *t, const char *const *items, size_t n)
{
	size_t i;

	t->len = 0;
	t->buf[0] = '\0';
	for (i = 0; i < n; i++)
		if ((i > 0 && put_str(t, ",") != 0) || put_id(t, items[i]) != 0)
			return -1;
	return 0;
}

int
record_text_pair(struct rec_text *t, const char *key, const char *value)
{
	if (t->len > 0 && put_str(t, ",") != 0)
		return -1;
	return put_id(t, key) | put_str(t, "=") | put_id(t, value != NULL ? value : "");
}

/* ---- reading them back ---------------------------------------------------------- */

/* Unescapes s[0..n) into out (EG_MAX_ID). -1 when malformed, empty (no id is: an
 * empty item would not survive being written again) or too long. */
static int
get_id(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			if ((h = eg_hexval((unsigned char)s[i + 1])) < 0 ||
			    (l = eg_hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (o + 1 >= EG_MAX_ID || c == 0)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* The next item of a comma-separated list: *s advances past it. */
static int
next_item(const char **s, const char **item, size_t *len)
{
	const char *c;

	if (**s == '\0')
		return 0;
	*item = *s;
	c = strchr(*s, ',');
	*len = c != NULL ? (size_t)(c - *s) : strlen(*s);
	*s = c != NULL ? c + 1 : *s + *len;
	return 1;
}

static int
parse_kind(const char *s, size_t n, enum eg_scope_kind *k)
{
	if (n == 12 && memcmp(s, "organisation", 12) == 0)
		*k = EG_SCOPE_ORGANISATION;
	else if (n == 8 && memcmp(s, "facility", 8) == 0)
		*k = EG_SCOPE_FACILITY;
	else if (n == 6 && memcmp(s, "region", 6) == 0)
		*k = EG_SCOPE_REGION;
	else
		return -1;
	return 0;
}

/* "role kind:scope[@org]" */
static int
parse_grant(const char *s, size_t n, struct eg_grant *g)
{
	const char *sp = memchr(s, ' ', n), *colon, *at, *end = s + n;

	memset(g, 0, sizeof(*g));
	if (sp == NULL || (colon = memchr(sp, ':', (size_t)(end - sp))) == NULL)
		return -1;
	at = memchr(colon, '@', (size_t)(end - colon));
	if (get_id(s, (size_t)(sp - s), g->role) != 0 ||
	    parse_kind(sp + 1, (size_t)(colon - sp - 1), &g->kind) != 0 ||
	    get_id(colon + 1, (size_t)((at != NULL ? at : end) - colon - 1), g->scope) != 0)
		return -1;
	if (at != NULL && get_id(at + 1, (size_t)(end - at - 1), g->org) != 0)
		return -1;
	if (g->kind == EG_SCOPE_ORGANISATION)
		eg_strlcpy(g->org, g->scope, sizeof(g->org));
	return g->role[0] != '\0' && g->scope[0] != '\0' ? 0 : -1;
}

static int
load_grants(struct rec_subject *rs, const char *text)
{
	const char *item;
	size_t len;

	rs->s.authenticated = strcmp(text, "-") != 0;
	if (!rs->s.authenticated)
		return 0;
	while (next_item(&text, &item, &len)) {
		if (rs->ngrants == EG_MAX_GRANTS ||
		    parse_grant(item, len, &rs->grants[rs->ngrants]) != 0)
			return -1;
		rs->ngrants++;
	}
	return 0;
}

static int
load_context(struct rec_subject *rs, const char *text)
{
	const char *at = strchr(text, '@');

	if (text[0] == '\0')
		return 0;
	/* "@org": an organisation acted for without a facility */
	if (at == NULL || (at > text && get_id(text, (size_t)(at - text), rs->ctx_facility) != 0) ||
	    (at[1] != '\0' && get_id(at + 1, strlen(at + 1), rs->ctx_org) != 0))
		return -1;
	return 0;
}

static int
load_capacities(struct rec_subject *rs, const char *text)
{
	const char *item;
	size_t len;

	while (next_item(&text, &item, &len)) {
		if (rs->ncaps == REC_MAX_CAPACITIES ||
		    get_id(item, len, rs->caps[rs->ncaps]) != 0)
			return -1;
		rs->cap_ptrs[rs->ncaps] = rs->caps[rs->ncaps];
		rs->ncaps++;
	}
	return 0;
}

static int
load_fac_orgs(struct rec_subject *rs, const char *text)
{
	const char *item, *eq;
	size_t len;

	while (next_item(&text, &item, &len)) {
		size_t vlen;
		if (rs->nfacs == REC_MAX_FACILITY_ORGS ||
		    (eq = memchr(item, '=', len)) == NULL ||
		    get_id(item, (size_t)(eq - item), rs->facs[rs->nfacs][0]) != 0)
			return -1;
		/* "facility=": the directory did not know it */
		vlen = len - (size_t)(eq - item) - 1;
		rs->facs[rs->nfacs][1][0] = '\0';
		if (vlen > 0 && get_id(eq + 1, vlen, rs->facs[rs->nfacs][1]) != 0)
			return -1;
		rs->nfacs++;
	}
	return 0;
}

/*
 * The owning organisation as the original decision learnt it: the answers it got from
 * the directory, then the facility grants (which name their organisation). A facility
 * the original decision never asked about is unknown here (NULL), as it would be to a
 * gateway whose directory does not know it.
 */
static const char *
replay_facility_org(void *arg, const char *facility)
{
	const struct rec_subject *rs = arg;
	size_t i;

	for (i = 0; i < rs->nfacs; i++)
		if (strcmp(rs->facs[i][0], facility) == 0)
			return rs->facs[i][1][0] != '\0' ? rs->facs[i][1] : NULL;
	for (i = 0; i < rs->ngrants; i++)
		if (rs->grants[i].kind == EG_SCOPE_FACILITY &&
		    strcmp(rs->grants[i].scope, facility) == 0 && rs->grants[i].org[0] != '\0')
			return rs->grants[i].org;
	return NULL;
}

int
record_subject_load(struct rec_subject *rs, const struct audit_record *rec)
{
	rs->ngrants = rs->ncaps = rs->nfacs = 0;
	rs->ctx_facility[0] = rs->ctx_org[0] = '\0';
	memset(&rs->s, 0, sizeof(rs->s));
	if (rec->grants == NULL || rec->policy_version == NULL || rec->method == NULL ||
	    rec->path == NULL)
		return EG_ERR_NOT_FOUND;
	if (load_grants(rs, rec->grants) != 0 ||
	    load_context(rs, rec->context != NULL ? rec->context : "") != 0 ||
	    load_capacities(rs, rec->capacities != NULL ? rec->capacities : "") != 0 ||
	    load_fac_orgs(rs, rec->facility_orgs != NULL ? rec->facility_orgs : "") != 0)
		return EG_ERR_PARSE;
	rs->s.grants = rs->grants;
	rs->s.ngrants = rs->ngrants;
	rs->s.context_facility = rs->ctx_facility[0] ? rs->ctx_facility : NULL;
	rs->s.context_org = rs->ctx_org[0] ? rs->ctx_org : NULL;
	rs->s.capacities = rs->cap_ptrs;
	rs->s.ncapacities = rs->ncaps;
	rs->s.facility_org = replay_facility_org;
	rs->s.facility_org_arg = rs;
	return EG_OK;
}

int
record_policy_verdict(const struct audit_record *rec)
{
	const char *reason = rec->reason != NULL ? rec->reason : "";

	if (rec->decision != NULL && strcmp(rec->decision, "allow") == 0)
		return 1;
	/* A deny for another reason came after the policy allowed: a cross-site request,
	 * a method override, a body too large, keys unavailable... */
	return !(strcmp(reason, eg_err_code(EG_ERR_DENIED)) == 0 ||
	    strcmp(reason, eg_err_code(EG_ERR_NO_RULE)) == 0 ||
	    strcmp(reason, eg_err_code(EG_ERR_NO_CERT)) == 0);
}
