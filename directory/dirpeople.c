/*
 * dirpeople.c - who holds which role in a scope (directory.h, dir_list_people), for the
 * people list of the administrators' pages: the role groups below the scope, then the
 * names of their members, filtered by name when asked, with the grant entries that say
 * where each role came from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "directory/internal.h"

/* uids per name lookup: keeps one filter well under slapd's limits */
#define NAME_CHUNK 40

struct people_ctx {
	const struct ldapc *lc;         /* [ldap] base */
	struct dir_people *out;
	size_t cap;
	unsigned char *matched;         /* per holding: its person passed the name lookup */
	const char *q;
};

static int
add_holding(struct people_ctx *c, const char *nrn, const struct eg_grant *g)
{
	struct dir_people *o = c->out;
	struct dir_holding *nh;

	if (o->n >= EG_MAX_DIR_LISTED) {
		o->truncated = 1;
		return EG_OK;
	}
	if (o->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		if ((nh = realloc(o->h, ncap * sizeof(*nh))) == NULL)
			return EG_ERR_NOMEM;
		o->h = nh;
		c->cap = ncap;
	}
	memset(&o->h[o->n], 0, sizeof(o->h[0]));
	eg_strlcpy(o->h[o->n].nrn, nrn, sizeof(o->h[0].nrn));
	o->h[o->n].grant = *g;
	o->n++;
	return EG_OK;
}

/* One membership of the group being read (dirw_each_member). */
struct membership {
	struct people_ctx *c;
	const struct eg_grant *g;
};

static int
add_membership(void *arg, const char *nrn)
{
	struct membership *m = arg;

	return nrn != NULL ? add_holding(m->c, nrn, m->g) : EG_OK;
}

static int
groups_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct people_ctx *c = arg;
	LDAPMessage *e;
	int r = EG_OK;

	for (e = res ? ldap_first_entry(ld, res) : NULL; e != NULL && r == EG_OK;
	    e = ldap_next_entry(ld, e)) {
		char *dn = ldap_get_dn(ld, e);
		struct eg_grant g;
		struct membership m = { c, &g };
		int ok = dn != NULL && dirw_group_grant(dn, &g) == 0;
		ldap_memfree(dn);
		if (ok)
			r = dirw_each_member(ld, e, add_membership, &m);
	}
	return r;
}

/* A grant entry: onto the holding it dates. 0 when e was one, -1 for a person entry. */
static int
grant_parse(LDAP *ld, LDAPMessage *e, struct people_ctx *c)
{
	char *dn = ldap_get_dn(ld, e), nrn[EG_NRN_LEN + 1];
	struct dir_provenance p;
	struct eg_grant g;
	size_t i;
	int r = dn != NULL ? ldapc_grant_entry(ld, e, dn, c->lc, nrn, &g, &p) : -1;

	ldap_memfree(dn);
	if (r != 0)
		return -1;
	for (i = 0; i < c->out->n; i++)
		if (strcmp(c->out->h[i].nrn, nrn) == 0 && dir_grant_same(&c->out->h[i].grant, &g))
			c->out->h[i].prov = p;
	return 0;
}

/* 1 when e is a person entry where it belongs, uid=<number>,ou=people,<base>: the
 * search goes below ou=people for the grant entries, and nothing deeper is a person. */
static int
person_dn(LDAP *ld, LDAPMessage *e, const struct people_ctx *c)
{
	char *dn = ldap_get_dn(ld, e), nrn[EG_NRN_LEN + 1];
	int ok = dn != NULL && ldapc_person_dn(dn, c->lc, nrn) == 0;

	ldap_memfree(dn);
	return ok;
}

static int
names_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct people_ctx *c = arg;
	LDAPMessage *e;
	size_t i;

	for (e = res ? ldap_first_entry(ld, res) : NULL; e != NULL; e = ldap_next_entry(ld, e)) {
		char uid[EG_MAX_ID], name[EG_MAX_NAME];
		if (grant_parse(ld, e, c) == 0 || !person_dn(ld, e, c))
			continue;
		ldapc_entry_value(ld, e, "uid", uid, sizeof(uid));
		ldapc_entry_value(ld, e, "cn", name, sizeof(name));
		for (i = 0; i < c->out->n; i++)
			if (strcmp(c->out->h[i].nrn, uid) == 0) {
				eg_strlcpy(c->out->h[i].name, name, sizeof(c->out->h[i].name));
				c->matched[i] = 1;
			}
	}
	return EG_OK;
}

/* Looks up the names of holdings [from, to) in one search. */
static int
lookup_names(struct dir_writer *w, struct people_ctx *c, size_t from, size_t to)
{
	char uids[NAME_CHUNK * 24 + 8], filter[2 * sizeof(uids) + 1200], base[700];
	char qesc[1024];
	char *attrs[] = { "uid", "cn", "eidgateGrantedBy", "eidgateGrantedByName",
	    "eidgateGrantedAs", "eidgateGrantedAt", "eidgateValidUntil", NULL };
	size_t i, o;
	int n;

	if (c->q != NULL && ldapc_filter_value(c->q, qesc, sizeof(qesc)) != 0)
		return EG_ERR_PARSE;
	uids[0] = '(';
	uids[1] = '|';
	for (o = 2, i = from; i < to && o < sizeof(uids); i++) {
		/* nrns come from dirw_member_nrn: 11 digits, nothing to escape */
		n = snprintf(uids + o, sizeof(uids) - o, "(uid=%s)", c->out->h[i].nrn);
		o += (size_t)n;
	}
	if (o + 2 > sizeof(uids))
		return EG_ERR_TOO_LONG;
	memcpy(uids + o, ")", 2);
	/* the people's names, and the grant entries below them that date their roles */
	n = snprintf(filter, sizeof(filter),
	    "(|(&(objectClass=inetOrgPerson)%s%s%s%s)(&(objectClass=eidgateGrant)%s))",
	    c->q ? "(cn=*" : "", c->q ? qesc : "", c->q ? "*)" : "", uids, uids);
	if (n < 0 || (size_t)n >= sizeof(filter))
		return EG_ERR_TOO_LONG;
	snprintf(base, sizeof(base), "ou=people,%s", w->lc.base);
	return dirw_search(w, base, LDAP_SCOPE_SUBTREE, filter, attrs, NAME_CHUNK * 64,
	    names_parse, c, "read people");
}

static int
cmp_holding(const void *a, const void *b)
{
	const struct dir_holding *x = a, *y = b;
	int c;

	if ((c = strcasecmp(x->name, y->name)) != 0 || (c = strcmp(x->nrn, y->nrn)) != 0)
		return c;
	if (x->grant.kind != y->grant.kind)
		return x->grant.kind == EG_SCOPE_ORGANISATION ? -1 : 1;
	if ((c = strcmp(x->grant.scope, y->grant.scope)) != 0)
		return c;
	return strcmp(x->grant.role, y->grant.role);
}

/* Keeps the holdings whose person passed the name lookup (when filtering by name). */
static void
keep_matched(struct people_ctx *c)
{
	size_t i, k = 0;

	for (i = 0; i < c->out->n; i++)
		if (c->matched[i])
			c->out->h[k++] = c->out->h[i];
	c->out->n = k;
}

static int
find_groups(struct dir_writer *w, const struct dir_scope *s, const char *role,
    struct people_ctx *c)
{
	char base[1200], filter[300], esc[200];
	char *attrs[] = { "member", NULL };

	if (dirw_scope_dn(w, s, base, sizeof(base)) != 0)
		return EG_ERR_PARSE;
	if (role != NULL) {
		if (!dir_role_known(role) || ldapc_filter_value(role, esc, sizeof(esc)) != 0)
			return EG_ERR_PARSE;
		snprintf(filter, sizeof(filter), "(&(objectClass=groupOfNames)(cn=%s))", esc);
	} else {
		eg_strlcpy(filter, "(objectClass=groupOfNames)", sizeof(filter));
	}
	/* An organisation's subtree holds its own groups and its facilities' groups. */
	return dirw_search(w, base, LDAP_SCOPE_SUBTREE, filter, attrs, EG_MAX_DIR_LISTED,
	    groups_parse, c, "list role groups");
}

int
dir_list_people(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *q, struct dir_people *out)
{
	struct people_ctx c = { &w->lc, out, 0, NULL, q };
	size_t from;
	int r;

	memset(out, 0, sizeof(*out));
	if (s->kind == EG_SCOPE_REGION)
		return EG_ERR_PARSE;
	if ((r = find_groups(w, s, role, &c)) != EG_OK)
		goto fail;
	if (out->n > 0 && (c.matched = calloc(out->n, 1)) == NULL) {
		r = EG_ERR_NOMEM;
		goto fail;
	}
	for (from = 0; from < out->n; from += NAME_CHUNK) {
		size_t to = from + NAME_CHUNK < out->n ? from + NAME_CHUNK : out->n;
		if ((r = lookup_names(w, &c, from, to)) != EG_OK)
			goto fail;
	}
	if (q != NULL)
		keep_matched(&c);
	free(c.matched);
	if (out->n > 1)
		qsort(out->h, out->n, sizeof(out->h[0]), cmp_holding);
	return EG_OK;
fail:
	free(c.matched);
	dir_people_free(out);
	return r;
}

void
dir_people_free(struct dir_people *p)
{
	free(p->h);
	p->h = NULL;
	p->n = 0;
}
