/*
 * dirquery.c - the uncached reads rights management needs (directory.h, dir_writer):
 * does a scope or person exist, who is in a role group, who holds roles in a scope,
 * which facilities an organisation has. Every value in a filter is escaped
 * (ldapc_filter_value), every DN built by dirwconn.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "directory/internal.h"

static int
count_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	int n = res != NULL ? ldap_count_entries(ld, res) : 0;

	*(int *)arg = n > 0 ? n : 0;
	return EG_OK;
}

int
dirw_dn_exists(struct dir_writer *w, const char *dn, int *exists)
{
	char *attrs[] = { "1.1", NULL };

	*exists = 0;
	return dirw_search(w, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, count_parse,
	    exists, "read entry");
}

int
dir_scope_exists(struct dir_writer *w, const struct dir_scope *s, int *exists)
{
	char dn[1200];

	*exists = 0;
	if (dirw_scope_dn(w, s, dn, sizeof(dn)) != 0)
		return EG_ERR_PARSE;
	return dirw_dn_exists(w, dn, exists);
}

int
dir_person_exists(struct dir_writer *w, const char *nrn, int *exists)
{
	char dn[1024];

	*exists = 0;
	if (dirw_person_dn(w, nrn, dn, sizeof(dn)) != 0)
		return EG_ERR_PARSE;
	return dirw_dn_exists(w, dn, exists);
}

struct org_of {
	char *org;
	size_t len;
};

/* The organisation above the one facility found; none when zero or several match. */
static int
facility_org_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct org_of *o = arg;
	LDAPMessage *e = res != NULL ? ldap_first_entry(ld, res) : NULL;
	LDAPDN dn = NULL;
	char *s;

	if (e == NULL || ldap_count_entries(ld, res) != 1 || (s = ldap_get_dn(ld, e)) == NULL)
		return EG_OK;
	if (ldapc_str2dn(s, &dn) == LDAP_SUCCESS && dn[0] != NULL &&
	    dn[1] != NULL && dn[1][1] == NULL && strcasecmp(dn[1][0]->la_attr.bv_val, "o") == 0 &&
	    dir_valid_org_number(dn[1][0]->la_value.bv_val))
		eg_strlcpy(o->org, dn[1][0]->la_value.bv_val, o->len);
	ldap_dnfree(dn);
	ldap_memfree(s);
	return EG_OK;
}

int
dir_facility_owner(struct dir_writer *w, const char *facility, char *org_out, size_t orglen)
{
	char base[1024], filter[256], esc[192];
	char *attrs[] = { "1.1", NULL };
	struct org_of o = { org_out, orglen };

	org_out[0] = '\0';
	if (!dir_valid_facility_id(facility) || ldapc_filter_value(facility, esc, sizeof(esc)) != 0)
		return EG_ERR_PARSE;
	snprintf(base, sizeof(base), "ou=organisations,%s", w->lc.base);
	snprintf(filter, sizeof(filter), "(&(objectClass=eidgateFacility)(ou=%s))", esc);
	return dirw_search(w, base, LDAP_SCOPE_SUBTREE, filter, attrs, 2, facility_org_parse,
	    &o, "find facility");
}

struct members {
	const char *nrn;
	size_t count;
	int holds;
	char *other;            /* a member other than nrn, "" when none; may be NULL */
};

static int
one_member(void *arg, const char *nrn)
{
	struct members *m = arg;

	m->count++;
	if (nrn == NULL)
		return EG_OK;
	if (m->nrn != NULL && strcmp(nrn, m->nrn) == 0)
		m->holds = 1;
	else if (m->other != NULL && m->other[0] == '\0')
		memcpy(m->other, nrn, EG_NRN_LEN + 1);
	return EG_OK;
}

static int
members_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	LDAPMessage *e = res != NULL ? ldap_first_entry(ld, res) : NULL;

	return e != NULL ? dirw_each_member(ld, e, one_member, arg) : EG_OK;
}

int
dir_members(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, size_t *count, int *holds, char *other)
{
	char dn[1400];
	char *attrs[] = { "member", NULL };
	struct members m = { nrn, 0, 0, other };
	int r;

	*count = 0;
	*holds = 0;
	if (other != NULL)
		other[0] = '\0';
	if (dirw_group_dn(w, s, role, dn, sizeof(dn)) != 0)
		return EG_ERR_PARSE;
	r = dirw_search(w, dn, LDAP_SCOPE_BASE, "(objectClass=groupOfNames)", attrs, 1,
	    members_parse, &m, "read role group");
	if (r != EG_OK)
		return r;
	*count = m.count;
	*holds = m.holds;
	return EG_OK;
}

int
dir_org_read(struct dir_writer *w, const char *org, struct dir_org *out)
{
	char dn[1024];
	char *attrs[] = { "description", "eidgateCapacity", NULL };

	memset(out, 0, sizeof(*out));
	if (!dir_valid_org_number(org) || dirw_org_dn(w, org, dn, sizeof(dn)) != 0)
		return EG_ERR_PARSE;
	eg_strlcpy(out->id, org, sizeof(out->id));
	return dirw_search(w, dn, LDAP_SCOPE_BASE, "(objectClass=eidgateOrganisation)", attrs, 1,
	    ldapc_org_parse, out, "read organisation");
}

struct fac_list {
	const char *org;
	struct dir_facility *f;
	size_t n;
};

static int
facilities_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct fac_list *l = arg;
	int n = res != NULL ? ldap_count_entries(ld, res) : 0;
	LDAPMessage *e;

	if (n <= 0)
		return EG_OK;
	if ((l->f = calloc((size_t)n, sizeof(*l->f))) == NULL)
		return EG_ERR_NOMEM;
	for (e = ldap_first_entry(ld, res); e != NULL && l->n < (size_t)n;
	    e = ldap_next_entry(ld, e)) {
		struct dir_facility *f = &l->f[l->n];
		ldapc_entry_value(ld, e, "ou", f->id, sizeof(f->id));
		if (!dir_valid_facility_id(f->id))
			continue;       /* not made by eidgate: do not hand it to the pages */
		f->found = 1;
		eg_strlcpy(f->org, l->org, sizeof(f->org));
		ldapc_facility_attrs(ld, e, f);
		l->n++;
	}
	return EG_OK;
}

int
dir_list_facilities(struct dir_writer *w, const char *org, struct dir_facility **out,
    size_t *n)
{
	char dn[1024];
	char *attrs[] = { "ou", "description", "eidgateSector", "eidgateRegion", NULL };
	struct fac_list l = { org, NULL, 0 };
	int r;

	*out = NULL;
	*n = 0;
	if (!dir_valid_org_number(org) || dirw_org_dn(w, org, dn, sizeof(dn)) != 0)
		return EG_ERR_PARSE;
	r = dirw_search(w, dn, LDAP_SCOPE_ONELEVEL, "(objectClass=eidgateFacility)", attrs,
	    EG_MAX_DIR_LISTED, facilities_parse, &l, "list facilities");
	if (r != EG_OK) {
		free(l.f);
		return r;
	}
	*out = l.f;
	*n = l.n;
	return EG_OK;
}

int
dir_facility_count(struct dir_writer *w, const char *facility, int *count)
{
	char base[1024], filter[256], esc[192];
	char *attrs[] = { "1.1", NULL };

	*count = 0;
	if (!dir_valid_facility_id(facility) || ldapc_filter_value(facility, esc, sizeof(esc)) != 0)
		return EG_ERR_PARSE;
	snprintf(base, sizeof(base), "ou=organisations,%s", w->lc.base);
	/* any entry named ou=<id> below the organisations, facility or not */
	snprintf(filter, sizeof(filter), "(ou=%s)", esc);
	return dirw_search(w, base, LDAP_SCOPE_SUBTREE, filter, attrs, 10, count_parse, count,
	    "find facility");
}
