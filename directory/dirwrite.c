/*
 * dirwrite.c - changes to the directory (PRODUCT.md §4): person entries, role group
 * membership (a group is created with its first member and deleted with its last), and
 * the entries the platform operator bootstraps. Reads live in dirquery.c; connection and
 * escaping in dirwconn.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "directory/internal.h"

#define MODS_MAX 8
#define VALS_MAX 8

/* The attributes of one add or modify, values as plain strings (never parsed). */
struct modset {
	LDAPMod m[MODS_MAX];
	LDAPMod *p[MODS_MAX + 1];
	char *v[MODS_MAX][VALS_MAX + 1];
	size_t n;
};

static void
mods_add(struct modset *ms, int op, const char *type, const char *const *vals, size_t nvals)
{
	size_t i;

	if (ms->n >= MODS_MAX || nvals > VALS_MAX)
		return;         /* callers stay far below both; the server then refuses */
	for (i = 0; i < nvals; i++)
		ms->v[ms->n][i] = (char *)(uintptr_t)vals[i];
	/* no value: with LDAP_MOD_REPLACE, the attribute is removed */
	ms->v[ms->n][nvals] = NULL;
	ms->m[ms->n].mod_op = op;
	ms->m[ms->n].mod_type = (char *)(uintptr_t)type;
	ms->m[ms->n].mod_values = ms->v[ms->n];
	ms->p[ms->n] = &ms->m[ms->n];
	ms->p[++ms->n] = NULL;
}

static void
mods_add1(struct modset *ms, int op, const char *type, const char *val)
{
	mods_add(ms, op, type, &val, 1);
}

struct add_op {
	const char *dn;
	struct modset *ms;
};

static int
op_add(struct dir_writer *w, LDAP *ld, void *arg)
{
	struct add_op *a = arg;

	(void)w;
	return ldap_add_ext_s(ld, a->dn, a->ms->p, NULL, NULL);
}

/* Adds an entry; *created = 0 when it already existed. */
static int
add_entry(struct dir_writer *w, const char *dn, struct modset *ms, int *created,
    const char *what)
{
	struct add_op a = { dn, ms };
	int rc = dirw_run(w, op_add, &a);

	*created = rc == LDAP_SUCCESS;
	if (rc == LDAP_SUCCESS || rc == LDAP_ALREADY_EXISTS)
		return EG_OK;
	return dirw_fail(w, rc, what);
}

int
dir_person_create(struct dir_writer *w, const char *nrn, const char *name, int *created)
{
	static const char *const oc[] = { "inetOrgPerson" };
	char dn[1024], given[EG_MAX_NAME], surname[EG_MAX_NAME];
	struct modset ms;

	*created = 0;
	if (!dir_valid_name(name) || dirw_person_dn(w, nrn, dn, sizeof(dn)) != 0)
		return EG_ERR_PARSE;
	dir_split_name(name, given, sizeof(given), surname, sizeof(surname));
	memset(&ms, 0, sizeof(ms));
	mods_add(&ms, LDAP_MOD_ADD, "objectClass", oc, 1);
	mods_add1(&ms, LDAP_MOD_ADD, "uid", nrn);
	mods_add1(&ms, LDAP_MOD_ADD, "cn", name);
	mods_add1(&ms, LDAP_MOD_ADD, "sn", surname);
	if (given[0] != '\0')
		mods_add1(&ms, LDAP_MOD_ADD, "givenName", given);
	return add_entry(w, dn, &ms, created, "create person");
}

struct member_op {
	const char *group_dn, *person_dn;
	LDAPControl *assert_ctrl;       /* remove: delete the group only if still a member */
};

static int
op_member_add(struct dir_writer *w, LDAP *ld, void *arg)
{
	struct member_op *m = arg;
	struct modset ms;

	(void)w;
	memset(&ms, 0, sizeof(ms));
	mods_add1(&ms, LDAP_MOD_ADD, "member", m->person_dn);
	return ldap_modify_ext_s(ld, m->group_dn, ms.p, NULL, NULL);
}

int
dir_add_member(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, const struct dir_provenance *pv, int *added)
{
	static const char *const oc[] = { "groupOfNames" };
	char gdn[1400], pdn[1024];
	struct member_op m = { gdn, pdn, NULL };
	struct modset ms;
	int rc, attempt, created;

	*added = 0;
	if (dirw_group_dn(w, s, role, gdn, sizeof(gdn)) != 0 ||
	    dirw_person_dn(w, nrn, pdn, sizeof(pdn)) != 0)
		return EG_ERR_PARSE;
	/* Where the role comes from, before the role: a crash between the two leaves an
	 * entry that dates nothing, never a dated grant held without its end. */
	if (pv != NULL && (rc = dir_grant_write(w, s, role, nrn, pv)) != EG_OK)
		return rc;
	/* Modify first (the common case); a missing group is created with the member in
	 * it; if another writer created it meanwhile, the modify is tried once more. */
	for (attempt = 0; attempt < 2; attempt++) {
		rc = dirw_run(w, op_member_add, &m);
		if (rc == LDAP_SUCCESS || rc == LDAP_TYPE_OR_VALUE_EXISTS) {
			*added = rc == LDAP_SUCCESS;
			return EG_OK;
		}
		if (rc != LDAP_NO_SUCH_OBJECT)
			return dirw_fail(w, rc, "add role member");
		memset(&ms, 0, sizeof(ms));
		mods_add(&ms, LDAP_MOD_ADD, "objectClass", oc, 1);
		mods_add1(&ms, LDAP_MOD_ADD, "cn", role);
		mods_add1(&ms, LDAP_MOD_ADD, "member", pdn);
		if (add_entry(w, gdn, &ms, &created, "create role group") != EG_OK)
			return EG_ERR_DIRECTORY;
		if (created) {
			*added = 1;
			return EG_OK;
		}
	}
	return dirw_fail(w, rc, "add role member");
}

static int
op_member_del(struct dir_writer *w, LDAP *ld, void *arg)
{
	struct member_op *m = arg;
	LDAPControl *ctrls[2] = { m->assert_ctrl, NULL };
	struct modset ms;

	(void)w;
	memset(&ms, 0, sizeof(ms));
	mods_add1(&ms, LDAP_MOD_DELETE, "member", m->person_dn);
	return ldap_modify_ext_s(ld, m->group_dn, ms.p, m->assert_ctrl != NULL ? ctrls : NULL,
	    NULL);
}

/* An assertion control (RFC 4528): the operation it goes with is made only while filter
 * holds of its target entry, decided by the directory itself. */
static int
assertion(struct dir_writer *w, const char *filter, LDAPControl **out)
{
	int rc;

	*out = NULL;
	if ((rc = dirw_connect(w)) != LDAP_SUCCESS ||
	    (rc = ldap_create_assertion_control(w->ld, (char *)(uintptr_t)filter, 1, out)) !=
	    LDAP_SUCCESS)
		return dirw_fail(w, rc, "role change");
	return EG_OK;
}

/* An assertion that dn is a member of the target group. */
static int
member_assertion(struct dir_writer *w, const char *dn, LDAPControl **out)
{
	char filter[1600], esc[1500];

	*out = NULL;
	if (ldapc_filter_value(dn, esc, sizeof(esc)) != 0)
		return EG_ERR_PARSE;
	snprintf(filter, sizeof(filter), "(member=%s)", esc);
	return assertion(w, filter, out);
}

struct delete_while {
	const char *dn;
	LDAPControl *assert_ctrl;
};

static int
op_delete_while(struct dir_writer *w, LDAP *ld, void *arg)
{
	struct delete_while *d = arg;
	LDAPControl *ctrls[2] = { d->assert_ctrl, NULL };

	(void)w;
	return ldap_delete_ext_s(ld, d->dn, ctrls, NULL);
}

/* Deletes dn only while filter holds of it: the LDAP result code (LDAP_ASSERTION_FAILED
 * when it no longer did), or -1 after dirw_fail when the control could not be made. */
static int
delete_while(struct dir_writer *w, const char *dn, const char *filter)
{
	struct delete_while d = { dn, NULL };
	int rc;

	if (assertion(w, filter, &d.assert_ctrl) != EG_OK)
		return -1;
	rc = dirw_run(w, op_delete_while, &d);
	ldap_control_free(d.assert_ctrl);
	return rc;
}

/*
 * Deletes a group whose only member is person_dn. The assertion control (RFC 4528)
 * makes the server delete it only while that person is still a member, so a revocation
 * racing with another never deletes a group it did not empty. A member added by another
 * gateway in the same instant could still be lost with the group; inside one gateway
 * the admin API serialises writes, and the operator's CLI is not run concurrently.
 */
static int
delete_last(struct dir_writer *w, struct member_op *m, int *removed)
{
	char filter[1600], esc[1500];
	int rc;

	if (ldapc_filter_value(m->person_dn, esc, sizeof(esc)) != 0)
		return EG_ERR_PARSE;
	snprintf(filter, sizeof(filter), "(member=%s)", esc);
	if ((rc = delete_while(w, m->group_dn, filter)) < 0)
		return EG_ERR_DIRECTORY;
	*removed = rc == LDAP_SUCCESS;
	if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_ASSERTION_FAILED)
		return EG_OK;
	return dirw_fail(w, rc, "delete role group");
}

/*
 * The grant entry goes AFTER the membership, and only in the version read before the
 * removal (csn, its entryCSN): a grant made again meanwhile, by another administrator or
 * instance, rewrote it for the membership it adds and keeps it. csn "" (none was there):
 * nothing to do. A failure leaves an entry that dates nothing.
 */
static void
grant_gone(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, const char *csn)
{
	char dn[1400], filter[128], esc[96];
	int rc;

	if (csn[0] == '\0' || dirw_grant_dn(w, s, role, nrn, dn, sizeof(dn)) != 0 ||
	    ldapc_filter_value(csn, esc, sizeof(esc)) != 0)
		return;
	snprintf(filter, sizeof(filter), "(entryCSN=%s)", esc);
	rc = delete_while(w, dn, filter);
	if (rc > 0 && rc != LDAP_NO_SUCH_OBJECT && rc != LDAP_ASSERTION_FAILED)
		(void)dirw_fail(w, rc, "delete grant");
}

int
dir_remove_member(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, int *removed)
{
	char gdn[1400], pdn[1024], csn[DIR_CSN_MAX];
	struct member_op m = { gdn, pdn, NULL };
	struct dir_provenance had;
	int rc;

	*removed = 0;
	if (dirw_group_dn(w, s, role, gdn, sizeof(gdn)) != 0 ||
	    dirw_person_dn(w, nrn, pdn, sizeof(pdn)) != 0)
		return EG_ERR_PARSE;
	if ((rc = dir_grant_read(w, s, role, nrn, &had, csn)) != EG_OK)
		return rc;
	rc = dirw_run(w, op_member_del, &m);
	if (rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_NO_SUCH_ATTRIBUTE)
		return EG_OK;   /* no group, or not a member: the role was not held */
	if (rc == LDAP_SUCCESS)
		*removed = 1;
	/* groupOfNames must have a member: the server refuses to remove the last one. */
	else if (rc != LDAP_OBJECT_CLASS_VIOLATION)
		return dirw_fail(w, rc, "remove role member");
	else if ((rc = delete_last(w, &m, removed)) != EG_OK)
		return rc;
	if (*removed)
		grant_gone(w, s, role, nrn, csn);
	return EG_OK;
}

int
dir_remove_member_while(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, const char *keep, int *removed, int *keep_gone)
{
	char gdn[1400], pdn[1024], kdn[1024], csn[DIR_CSN_MAX];
	struct member_op m = { gdn, pdn, NULL };
	struct dir_provenance had;
	int rc;

	*removed = *keep_gone = 0;
	if (dirw_group_dn(w, s, role, gdn, sizeof(gdn)) != 0 ||
	    dirw_person_dn(w, nrn, pdn, sizeof(pdn)) != 0 ||
	    dirw_person_dn(w, keep, kdn, sizeof(kdn)) != 0)
		return EG_ERR_PARSE;
	if ((rc = dir_grant_read(w, s, role, nrn, &had, csn)) != EG_OK ||
	    (rc = member_assertion(w, kdn, &m.assert_ctrl)) != EG_OK)
		return rc;
	rc = dirw_run(w, op_member_del, &m);
	ldap_control_free(m.assert_ctrl);
	if (rc == LDAP_SUCCESS) {
		*removed = 1;
		grant_gone(w, s, role, nrn, csn);
	} else if (rc == LDAP_ASSERTION_FAILED)
		*keep_gone = 1;
	else if (rc != LDAP_NO_SUCH_OBJECT && rc != LDAP_NO_SUCH_ATTRIBUTE)
		return dirw_fail(w, rc, "remove role member");
	return EG_OK;
}

/* The grant entry's attributes: a new entry's (op LDAP_MOD_ADD, with objectClass, cn
 * and uid) or the replacement of an existing one's (LDAP_MOD_REPLACE: an attribute
 * given no value is removed). */
static void
grant_mods(struct modset *ms, int op, const char *name, const char *nrn,
    const struct dir_provenance *p, char at[16], char until[16])
{
	static const char *const oc[] = { "eidgateGrant" };
	int add = op == LDAP_MOD_ADD;

	memset(ms, 0, sizeof(*ms));
	ldapc_gentime(p->at, at);
	if (add) {
		mods_add(ms, op, "objectClass", oc, 1);
		mods_add1(ms, op, "cn", name);
	}
	mods_add1(ms, op, "uid", nrn);
	mods_add1(ms, op, "eidgateGrantedBy", p->by);
	mods_add1(ms, op, "eidgateGrantedAt", at);
	if (p->by_name[0] != '\0')
		mods_add1(ms, op, "eidgateGrantedByName", p->by_name);
	else if (!add)
		mods_add(ms, op, "eidgateGrantedByName", NULL, 0);
	if (p->as[0] != '\0')
		mods_add1(ms, op, "eidgateGrantedAs", p->as);
	else if (!add)
		mods_add(ms, op, "eidgateGrantedAs", NULL, 0);
	if (p->until != 0) {
		ldapc_gentime(p->until, until);
		mods_add1(ms, op, "eidgateValidUntil", until);
	} else if (!add) {
		mods_add(ms, op, "eidgateValidUntil", NULL, 0);
	}
}

struct modify_op {
	const char *dn;
	struct modset *ms;
};

static int
op_modify(struct dir_writer *w, LDAP *ld, void *arg)
{
	struct modify_op *m = arg;

	(void)w;
	return ldap_modify_ext_s(ld, m->dn, m->ms->p, NULL, NULL);
}

/* The grant entry's DN and name; 0, or -1 when a value does not fit or p lacks one. */
static int
grant_target(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, const struct dir_provenance *p, char dn[1400], char name[DIR_AS_MAX])
{
	if (p->by[0] == '\0' || p->at <= 0 ||
	    dir_grant_name(role, s->kind, s->id, name, DIR_AS_MAX) != 0 ||
	    dirw_grant_dn(w, s, role, nrn, dn, 1400) != 0)
		return -1;
	return 0;
}

int
dir_grant_add(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, const struct dir_provenance *p, int *added)
{
	char dn[1400], name[DIR_AS_MAX], at[16], until[16];
	struct modset ms;

	*added = 0;
	if (grant_target(w, s, role, nrn, p, dn, name) != 0)
		return EG_ERR_PARSE;
	grant_mods(&ms, LDAP_MOD_ADD, name, nrn, p, at, until);
	return add_entry(w, dn, &ms, added, "write grant");
}

int
dir_grant_write(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, const struct dir_provenance *p)
{
	char dn[1400], name[DIR_AS_MAX], at[16], until[16];
	struct modset ms;
	struct modify_op m = { dn, &ms };
	int created, rc;

	if ((rc = dir_grant_add(w, s, role, nrn, p, &created)) != EG_OK || created)
		return rc;
	/* There already: a grant given again (another end, another granter) replaces it,
	 * uid included (a hand-made entry with another one would date nothing). */
	if (grant_target(w, s, role, nrn, p, dn, name) != 0)
		return EG_ERR_PARSE;
	grant_mods(&ms, LDAP_MOD_REPLACE, name, nrn, p, at, until);
	if ((rc = dirw_run(w, op_modify, &m)) != LDAP_SUCCESS)
		return dirw_fail(w, rc, "write grant");
	return EG_OK;
}

int
dirw_op_delete(struct dir_writer *w, LDAP *ld, void *arg)
{
	(void)w;
	return ldap_delete_ext_s(ld, arg, NULL, NULL);
}

int
dir_base_ou(struct dir_writer *w, const char *ou, int in_regions, const char *description,
    int *created)
{
	static const char *const oc[] = { "organizationalUnit" };
	char dn[1024], v[3 * EG_MAX_ID];
	struct modset ms;
	int n;

	*created = 0;
	if (dirw_dn_value(ou, v, sizeof(v)) != 0)
		return EG_ERR_PARSE;
	n = snprintf(dn, sizeof(dn), "ou=%s,%s%s", v, in_regions ? "ou=regions," : "", w->lc.base);
	if (n < 0 || (size_t)n >= sizeof(dn))
		return EG_ERR_PARSE;
	/* Look before adding: the service account may not create these entries, and an
	 * existing one must read as "already there", not as "access denied". */
	if (dirw_dn_exists(w, dn, &n) != EG_OK)
		return EG_ERR_DIRECTORY;
	if (n)
		return EG_OK;
	memset(&ms, 0, sizeof(ms));
	mods_add(&ms, LDAP_MOD_ADD, "objectClass", oc, 1);
	mods_add1(&ms, LDAP_MOD_ADD, "ou", ou);
	if (description != NULL)
		mods_add1(&ms, LDAP_MOD_ADD, "description", description);
	return add_entry(w, dn, &ms, created, "create base entry");
}

int
dir_org_create(struct dir_writer *w, const char *number, const char *name,
    const char *const *capacities, size_t ncap, int *created)
{
	static const char *const oc[] = { "organization", "eidgateOrganisation" };
	char dn[1024];
	struct modset ms;

	*created = 0;
	if (!dir_valid_org_number(number) || dirw_org_dn(w, number, dn, sizeof(dn)) != 0 ||
	    ncap > VALS_MAX)
		return EG_ERR_PARSE;
	memset(&ms, 0, sizeof(ms));
	mods_add(&ms, LDAP_MOD_ADD, "objectClass", oc, 2);
	mods_add1(&ms, LDAP_MOD_ADD, "o", number);
	mods_add1(&ms, LDAP_MOD_ADD, "description", name);
	if (ncap > 0)
		mods_add(&ms, LDAP_MOD_ADD, "eidgateCapacity", capacities, ncap);
	return add_entry(w, dn, &ms, created, "create organisation");
}

int
dir_facility_create(struct dir_writer *w, const char *org, const char *id, const char *name,
    const char *sector, const char *region, int *created)
{
	static const char *const oc[] = { "organizationalUnit", "eidgateFacility" };
	struct dir_scope s;
	char dn[1200];
	struct modset ms;

	*created = 0;
	memset(&s, 0, sizeof(s));
	s.kind = EG_SCOPE_FACILITY;
	eg_strlcpy(s.id, id, sizeof(s.id));
	eg_strlcpy(s.org, org, sizeof(s.org));
	if (!dir_valid_facility_id(id) || dirw_scope_dn(w, &s, dn, sizeof(dn)) != 0)
		return EG_ERR_PARSE;
	memset(&ms, 0, sizeof(ms));
	mods_add(&ms, LDAP_MOD_ADD, "objectClass", oc, 2);
	mods_add1(&ms, LDAP_MOD_ADD, "ou", id);
	mods_add1(&ms, LDAP_MOD_ADD, "description", name);
	mods_add1(&ms, LDAP_MOD_ADD, "eidgateSector", sector);
	mods_add1(&ms, LDAP_MOD_ADD, "eidgateRegion", region);
	return add_entry(w, dn, &ms, created, "create facility");
}
