/*
 * dirall.c - the whole directory at once, for access reviews (directory.h dir_read_all:
 * `eidgate access who-can` and `what-can`): organisations with their capacities,
 * facilities with their organisation, every role group with its members, the grant
 * entries that date those memberships, and the people's names. Five searches, each in pages of DIRALL_PAGE entries (RFC 2696), so a
 * directory of 50,000 people is read whatever size limit the server sets per search.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "directory/internal.h"

#define DIRALL_PAGE 1000

typedef int (*entry_fn)(LDAP *ld, LDAPMessage *e, struct dir_all *a);

struct paged_op {
	const char *base, *filter;
	char **attrs;
	entry_fn fn;
	struct dir_all *a;
	int ret;
};

/* One page: the entries, then the cookie for the next (empty at the end). */
static int
one_page(LDAP *ld, struct paged_op *po, const struct timeval *tv, struct berval *cookie,
    int *more)
{
	LDAPControl *page = NULL, *ctrls[2] = { NULL, NULL }, **rctrls = NULL, *resp;
	LDAPMessage *res = NULL, *e;
	ber_int_t count = 0;
	int rc, err = LDAP_SUCCESS;

	*more = 0;
	if ((rc = ldap_create_page_control(ld, DIRALL_PAGE, cookie, 1, &page)) != LDAP_SUCCESS)
		return rc;
	ctrls[0] = page;
	rc = ldap_search_ext_s(ld, po->base, LDAP_SCOPE_SUBTREE, po->filter, po->attrs, 0, ctrls,
	    NULL, (struct timeval *)(uintptr_t)tv, 0, &res);
	ldap_control_free(page);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return LDAP_SUCCESS;
	}
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return rc;
	}
	for (e = ldap_first_entry(ld, res); e != NULL && po->ret == EG_OK;
	    e = ldap_next_entry(ld, e))
		po->ret = po->fn(ld, e, po->a);
	rc = ldap_parse_result(ld, res, &err, NULL, NULL, NULL, &rctrls, 0);
	if (rc == LDAP_SUCCESS && rctrls != NULL &&
	    (resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL)) != NULL) {
		ber_memfree(cookie->bv_val);
		cookie->bv_val = NULL;
		cookie->bv_len = 0;
		rc = ldap_parse_pageresponse_control(ld, resp, &count, cookie);
		*more = rc == LDAP_SUCCESS && cookie->bv_len > 0;
	}
	ldap_controls_free(rctrls);
	ldap_msgfree(res);
	return rc != LDAP_SUCCESS ? rc : err;
}

static int
op_paged(struct dir_writer *w, LDAP *ld, void *arg)
{
	struct paged_op *po = arg;
	struct berval cookie = { 0, NULL };
	struct timeval tv;
	int rc, more = 1;

	ldapc_timeout(&w->lc, &tv);
	while (more && po->ret == EG_OK)
		if ((rc = one_page(ld, po, &tv, &cookie, &more)) != LDAP_SUCCESS)
			break;
	ber_memfree(cookie.bv_val);
	return more && po->ret == EG_OK ? rc : LDAP_SUCCESS;
}

static int
paged(struct dir_writer *w, const char *base, const char *filter, char **attrs, entry_fn fn,
    struct dir_all *a, const char *what)
{
	struct paged_op po = { base, filter, attrs, fn, a, EG_OK };
	int rc = dirw_run(w, op_paged, &po);

	if (rc != LDAP_SUCCESS)
		return dirw_fail(w, rc, what);
	return po.ret;
}

/* Grows an array of elements of size sz to hold n + 1. */
static int
grow(void *pp, size_t *cap, size_t n, size_t sz)
{
	void **p = pp, *np;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 256;
	if ((np = realloc(*p, nc * sz)) == NULL)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

/* The RDN values of a DN below the base, innermost first: at most 4. */
static int
dn_parts(const char *dn, char types[4][8], char vals[4][EG_MAX_ID])
{
	LDAPDN p = NULL;
	int i, n = 0;

	if (ldapc_str2dn(dn, &p) != LDAP_SUCCESS)
		return -1;
	for (i = 0; i < 4 && p[i] != NULL; i++) {
		if (p[i][1] != NULL || p[i][0]->la_value.bv_len >= EG_MAX_ID ||
		    p[i][0]->la_attr.bv_len >= 8)
			break;
		eg_strlcpy(types[i], p[i][0]->la_attr.bv_val, 8);
		eg_strlcpy(vals[i], p[i][0]->la_value.bv_val, EG_MAX_ID);
		n++;
	}
	ldap_dnfree(p);
	return n;
}

static int
org_entry(LDAP *ld, LDAPMessage *e, struct dir_all *a)
{
	struct berval **caps = ldap_get_values_len(ld, e, "eidgateCapacity");
	struct dir_org *o;
	size_t i;

	if (grow(&a->orgs, &a->cap_orgs, a->norgs, sizeof(*a->orgs)) != 0) {
		ldap_value_free_len(caps);
		return EG_ERR_NOMEM;
	}
	o = &a->orgs[a->norgs];
	memset(o, 0, sizeof(*o));
	ldapc_entry_value(ld, e, "o", o->id, sizeof(o->id));
	ldapc_entry_value(ld, e, "description", o->name, sizeof(o->name));
	for (i = 0; caps != NULL && caps[i] != NULL && o->ncapacities < 8; i++) {
		if (caps[i]->bv_len >= EG_MAX_ID)
			continue;
		memcpy(o->capacities[o->ncapacities], caps[i]->bv_val, caps[i]->bv_len);
		o->capacities[o->ncapacities][caps[i]->bv_len] = '\0';
		o->ncapacities++;
	}
	ldap_value_free_len(caps);
	o->found = dir_valid_org_number(o->id);
	if (o->found)
		a->norgs++;
	return EG_OK;
}

static int
facility_entry(LDAP *ld, LDAPMessage *e, struct dir_all *a)
{
	char *dn = ldap_get_dn(ld, e), t[4][8], v[4][EG_MAX_ID];
	struct dir_facility *f;
	int n = dn != NULL ? dn_parts(dn, t, v) : -1;

	ldap_memfree(dn);
	/* ou=<facility>,o=<org>,ou=organisations,<base> */
	if (n < 2 || strcasecmp(t[0], "ou") != 0 || strcasecmp(t[1], "o") != 0 ||
	    !dir_valid_facility_id(v[0]))
		return EG_OK;
	if (grow(&a->facilities, &a->cap_fac, a->nfacilities, sizeof(*a->facilities)) != 0)
		return EG_ERR_NOMEM;
	f = &a->facilities[a->nfacilities++];
	memset(f, 0, sizeof(*f));
	eg_strlcpy(f->id, v[0], sizeof(f->id));
	eg_strlcpy(f->org, v[1], sizeof(f->org));
	ldapc_facility_attrs(ld, e, f);
	f->found = 1;
	return EG_OK;
}

/* One membership of the group being read (dirw_each_member). */
struct membership {
	struct dir_all *a;
	const struct eg_grant *g;
};

static int
add_membership(void *arg, const char *nrn)
{
	struct membership *m = arg;
	struct dir_all *a = m->a;

	if (nrn == NULL)
		return EG_OK;
	if (grow(&a->holdings, &a->cap_hold, a->nholdings, sizeof(*a->holdings)) != 0)
		return EG_ERR_NOMEM;
	memset(&a->holdings[a->nholdings], 0, sizeof(a->holdings[0]));
	memcpy(a->holdings[a->nholdings].nrn, nrn, EG_NRN_LEN + 1);
	a->holdings[a->nholdings].grant = *m->g;
	a->nholdings++;
	return EG_OK;
}

static int
group_entry(LDAP *ld, LDAPMessage *e, struct dir_all *a)
{
	char *dn = ldap_get_dn(ld, e);
	struct eg_grant g;
	struct membership m = { a, &g };
	int ok = dn != NULL && dirw_group_grant(dn, &g) == 0;

	ldap_memfree(dn);
	return ok ? dirw_each_member(ld, e, add_membership, &m) : EG_OK;
}

/* A grant entry, kept to date the memberships (dated below). */
static int
grant_entry(LDAP *ld, LDAPMessage *e, struct dir_all *a)
{
	char *dn = ldap_get_dn(ld, e);
	struct dir_holding *h;
	int r;

	if (grow(&a->dated, &a->cap_dated, a->ndated, sizeof(*a->dated)) != 0) {
		ldap_memfree(dn);
		return EG_ERR_NOMEM;
	}
	h = &a->dated[a->ndated];
	r = dn != NULL ? ldapc_grant_entry(ld, e, dn, a->lc, h->nrn, &h->grant, &h->prov) : -1;
	ldap_memfree(dn);
	if (r == 0)
		a->ndated++;
	return EG_OK;
}

static int
person_entry(LDAP *ld, LDAPMessage *e, struct dir_all *a)
{
	char *dn = ldap_get_dn(ld, e), nrn[EG_NRN_LEN + 1];
	int ok = dn != NULL && ldapc_person_dn(dn, a->lc, nrn) == 0;
	struct dir_all_name *p;

	ldap_memfree(dn);
	if (!ok)
		return EG_OK;   /* a person entry where none belongs names nobody */
	if (grow(&a->names, &a->cap_names, a->nnames, sizeof(*a->names)) != 0)
		return EG_ERR_NOMEM;
	p = &a->names[a->nnames];
	ldapc_entry_value(ld, e, "uid", p->nrn, sizeof(p->nrn));
	ldapc_entry_value(ld, e, "cn", p->name, sizeof(p->name));
	if (strcmp(p->nrn, nrn) == 0)
		a->nnames++;
	return EG_OK;
}

static int
cmp_holding(const void *x, const void *y)
{
	const struct dir_holding *a = x, *b = y;

	return strcmp(a->nrn, b->nrn);
}

/* qsort, but an empty array may be NULL (nothing of that kind in the directory), which
 * qsort's contract does not allow even for zero elements. */
static void
sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* Person, then what is held where: the order to find a membership's grant entry in. */
static int
cmp_dated(const void *x, const void *y)
{
	const struct dir_holding *a = x, *b = y;
	int c;

	if ((c = strcmp(a->nrn, b->nrn)) != 0)
		return c;
	if (a->grant.kind != b->grant.kind)
		return a->grant.kind < b->grant.kind ? -1 : 1;
	if ((c = strcmp(a->grant.scope, b->grant.scope)) != 0)
		return c;
	return strcmp(a->grant.role, b->grant.role);
}

/* Each membership's provenance from its grant entry; those whose end has passed are
 * left out, as the resolver leaves them out of a request's decision. */
static void
date_holdings(struct dir_all *a, int64_t now)
{
	size_t i, k = 0;

	sort(a->dated, a->ndated, sizeof(*a->dated), cmp_dated);
	for (i = 0; i < a->nholdings; i++) {
		struct dir_holding *h = &a->holdings[i];
		const struct dir_holding *d = a->ndated == 0 ? NULL :
		    bsearch(h, a->dated, a->ndated, sizeof(*a->dated), cmp_dated);
		if (d != NULL)
			h->prov = d->prov;
		if (!dir_prov_holds(&h->prov, now)) {
			a->nexpired++;
			continue;
		}
		a->holdings[k++] = *h;
	}
	a->nholdings = k;
}

static int
cmp_name(const void *x, const void *y)
{
	return strcmp(((const struct dir_all_name *)x)->nrn, ((const struct dir_all_name *)y)->nrn);
}

static int
cmp_facility(const void *x, const void *y)
{
	return strcmp(((const struct dir_facility *)x)->id, ((const struct dir_facility *)y)->id);
}

static int
cmp_org(const void *x, const void *y)
{
	return strcmp(((const struct dir_org *)x)->id, ((const struct dir_org *)y)->id);
}

/* Names onto holdings, and the people as ranges of holdings (sorted by nrn). */
static int
index_people(struct dir_all *a)
{
	size_t i, j;

	date_holdings(a, eg_now_us() / 1000000);
	sort(a->holdings, a->nholdings, sizeof(*a->holdings), cmp_holding);
	sort(a->names, a->nnames, sizeof(*a->names), cmp_name);
	sort(a->facilities, a->nfacilities, sizeof(*a->facilities), cmp_facility);
	sort(a->orgs, a->norgs, sizeof(*a->orgs), cmp_org);
	for (i = 0; i < a->norgs; i++)
		for (j = 0; j < a->orgs[i].ncapacities; j++)
			a->orgs[i].capacity_ptrs[j] = a->orgs[i].capacities[j];
	if (a->nholdings > 0 &&
	    (a->grants = malloc(a->nholdings * sizeof(*a->grants))) == NULL)
		return EG_ERR_NOMEM;
	for (i = 0; i < a->nholdings; i++)
		a->grants[i] = a->holdings[i].grant;
	for (i = 0; i < a->nholdings; i = j) {
		struct dir_all_name key;
		const struct dir_all_name *n;
		struct dir_all_person *p;
		for (j = i; j < a->nholdings && strcmp(a->holdings[j].nrn, a->holdings[i].nrn) == 0;
		    j++)
			;
		if (grow(&a->people, &a->cap_people, a->npeople, sizeof(*a->people)) != 0)
			return EG_ERR_NOMEM;
		p = &a->people[a->npeople++];
		memcpy(p->nrn, a->holdings[i].nrn, sizeof(p->nrn));
		p->first = i;
		p->n = j - i;
		memset(&key, 0, sizeof(key));
		memcpy(key.nrn, a->holdings[i].nrn, sizeof(key.nrn));
		n = bsearch(&key, a->names, a->nnames, sizeof(*a->names), cmp_name);
		eg_strlcpy(p->name, n != NULL ? n->name : "", sizeof(p->name));
	}
	return EG_OK;
}

/* all = 0: only the grant entries with an end (the reviews need to know which roles
 * have ended, not who granted them: most grants have no end, and reading every entry
 * doubled the time on 50,000 people, bench/whocan.py); 1: every entry, all of it. */
static int
read_all(struct dir_writer *w, int all, struct dir_all *a)
{
	char base[700];
	char *org_attrs[] = { "o", "description", "eidgateCapacity", NULL };
	char *fac_attrs[] = { "ou", "description", "eidgateSector", "eidgateRegion", NULL };
	char *grp_attrs[] = { "member", NULL };
	char *ppl_attrs[] = { "uid", "cn", NULL };
	char *end_attrs[] = { "eidgateValidUntil", NULL };
	int r;

	memset(a, 0, sizeof(*a));
	a->lc = &w->lc;
	snprintf(base, sizeof(base), "ou=organisations,%s", w->lc.base);
	if ((r = paged(w, base, "(objectClass=eidgateOrganisation)", org_attrs, org_entry, a,
	    "read organisations")) != EG_OK ||
	    (r = paged(w, base, "(objectClass=eidgateFacility)", fac_attrs, facility_entry, a,
	    "read facilities")) != EG_OK ||
	    (r = paged(w, w->lc.base, "(objectClass=groupOfNames)", grp_attrs, group_entry, a,
	    "read role groups")) != EG_OK)
		goto fail;
	snprintf(base, sizeof(base), "ou=people,%s", w->lc.base);
	if ((r = paged(w, base, "(objectClass=inetOrgPerson)", ppl_attrs, person_entry, a,
	    "read people")) != EG_OK ||
	    (r = paged(w, base, all ? "(objectClass=eidgateGrant)" :
	    "(&(objectClass=eidgateGrant)(eidgateValidUntil=*))",
	    all ? (char **)(uintptr_t)ldapc_grant_attrs : end_attrs, grant_entry, a,
	    "read grants")) != EG_OK || (r = index_people(a)) != EG_OK)
		goto fail;
	return EG_OK;
fail:
	dir_all_free(a);
	return r;
}

int
dir_read_all(struct dir_writer *w, struct dir_all *a)
{
	return read_all(w, 0, a);
}

int
dir_read_all_dated(struct dir_writer *w, struct dir_all *a)
{
	return read_all(w, 1, a);
}

void
dir_all_free(struct dir_all *a)
{
	free(a->orgs);
	free(a->facilities);
	free(a->holdings);
	free(a->names);
	free(a->people);
	free(a->grants);
	free(a->dated);
	memset(a, 0, sizeof(*a));
}

const struct dir_facility *
dir_all_facility(const struct dir_all *a, const char *id)
{
	struct dir_facility key;

	memset(&key, 0, sizeof(key));
	eg_strlcpy(key.id, id, sizeof(key.id));
	return bsearch(&key, a->facilities, a->nfacilities, sizeof(*a->facilities), cmp_facility);
}

const struct dir_org *
dir_all_org(const struct dir_all *a, const char *id)
{
	struct dir_org key;

	memset(&key, 0, sizeof(key));
	eg_strlcpy(key.id, id, sizeof(key.id));
	return bsearch(&key, a->orgs, a->norgs, sizeof(*a->orgs), cmp_org);
}

const struct dir_all_person *
dir_all_person(const struct dir_all *a, const char *nrn)
{
	size_t lo = 0, hi = a->npeople;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(a->people[mid].nrn, nrn);
		if (c == 0)
			return &a->people[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
