/*
 * dirgrant.c - delegation provenance (directory.h "dirgrant.c"): the eidgateGrant entry
 * below a person that says who granted one of their roles, in which capacity, when and
 * until when; its name and its end as an administrator writes it; reading it back for
 * the resolver, the people list, the access reviews; and the migration that dates the
 * memberships made before eidgate wrote such entries.
 *
 * Why entries below the person and not the group: a group member cannot carry a date
 * (groupOfNames), and the group only exists once it has a member, so an entry below
 * the group could only be written after the membership. Below the person it can be
 * written first: a crash between the two writes leaves a grant entry nobody holds
 * (harmless, and overwritten by the next grant), never a dated grant without its end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "directory/internal.h"

int
dir_grant_name(const char *role, enum eg_scope_kind kind, const char *id, char *out,
    size_t outlen)
{
	int n = snprintf(out, outlen, "%s@%s:%s", role, dir_scope_kind_name(kind), id);

	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int
dir_grant_name_parse(const char *name, struct eg_grant *g)
{
	const char *at = strchr(name, '@');
	struct dir_scope s;
	size_t rlen;

	memset(g, 0, sizeof(*g));
	if (at == NULL || (rlen = (size_t)(at - name)) == 0 || rlen >= sizeof(g->role))
		return -1;
	memcpy(g->role, name, rlen);
	g->role[rlen] = '\0';
	if (dir_scope_parse(at + 1, &s) != EG_OK || !dir_role_on(g->role, s.kind))
		return -1;
	g->kind = s.kind;
	eg_strlcpy(g->scope, s.id, sizeof(g->scope));
	return 0;
}

/* ---- the end of a grant ------------------------------------------------------------- */

/* 1 when s names a real calendar day: eg_parse_time lets 31 February through. */
static int
real_day(const char *s, int64_t t)
{
	char back[11];
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	return strftime(back, sizeof(back), "%Y-%m-%d", &tm) == 10 && memcmp(back, s, 10) == 0;
}

int
dir_until_parse(const char *text, int64_t now, int64_t *until)
{
	size_t len = text != NULL ? strlen(text) : 0;
	int64_t us, t;

	*until = 0;
	if (len != 10 && !(len == 20 && text[10] == 'T' && text[19] == 'Z'))
		return EG_ERR_PARSE;
	if (eg_parse_time(text, &us) != EG_OK || !real_day(text, us / 1000000))
		return EG_ERR_PARSE;
	t = us / 1000000;
	if (len == 10) {
		/* the next midnight in Belgium: 00:00 of the next day, UTC, less the offset
		 * there at that moment (never at a change, which happens at 01:00 UTC) */
		t += 86400;
		t -= eg_brussels_offset(t - 3600);
	}
	if (t <= now || t > now + (int64_t)EG_MAX_GRANT_YEARS * 366 * 86400)
		return EG_ERR_PARSE;
	*until = t;
	return EG_OK;
}

void
dir_time_format(int64_t t, char out[DIR_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, DIR_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) != DIR_TIME_LEN - 1)
		out[0] = '\0';
}

int
dir_prov_holds(const struct dir_provenance *p, int64_t now)
{
	return p->until == 0 || p->until > now;
}

/* ---- reading grant entries ------------------------------------------------------- */

char *const ldapc_grant_attrs[] = { "eidgateGrantedBy", "eidgateGrantedByName",
	"eidgateGrantedAs", "eidgateGrantedAt", "eidgateValidUntil", NULL };

void
ldapc_prov_parse(LDAP *ld, LDAPMessage *e, struct dir_provenance *p)
{
	char t[32];

	memset(p, 0, sizeof(*p));
	p->known = 1;
	ldapc_entry_value(ld, e, "eidgateGrantedBy", p->by, sizeof(p->by));
	ldapc_entry_value(ld, e, "eidgateGrantedByName", p->by_name, sizeof(p->by_name));
	ldapc_entry_value(ld, e, "eidgateGrantedAs", p->as, sizeof(p->as));
	ldapc_entry_value(ld, e, "eidgateGrantedAt", t, sizeof(t));
	if ((p->at = ldapc_gentime_parse(t)) < 0)
		p->at = 0;
	ldapc_entry_value(ld, e, "eidgateValidUntil", t, sizeof(t));
	/* An end that cannot be read has passed: fail closed rather than hold forever
	 * (eidgate writes "YYYYMMDDHHMMSSZ"; another tool may have written another form). */
	if (t[0] != '\0' && (p->until = ldapc_gentime_parse(t)) <= 0) {
		p->until = 1;
		log_warnx("ldap: a grant's eidgateValidUntil \"%s\" is not YYYYMMDDHHMMSSZ: "
		    "taken as ended", t);
	}
}

int
ldapc_person_dn(const char *dn, const struct ldapc *c, char nrn[EG_NRN_LEN + 1])
{
	char name[DIR_AS_MAX];

	return ldapc_dn_kind(dn, c, nrn, name) == LDAPC_DN_PERSON ? 0 : -1;
}

int
ldapc_grant_entry(LDAP *ld, LDAPMessage *e, const char *dn, const struct ldapc *c,
    char nrn[EG_NRN_LEN + 1], struct eg_grant *g, struct dir_provenance *p)
{
	char name[DIR_AS_MAX];

	if (ldapc_dn_kind(dn, c, nrn, name) != LDAPC_DN_GRANT ||
	    dir_grant_name_parse(name, g) != 0)
		return -1;
	ldapc_prov_parse(ld, e, p);
	return 0;
}

int
dir_grant_same(const struct eg_grant *a, const struct eg_grant *b)
{
	/* without case, as LDAP compares the group's DN: a tool may have written
	 * ou=CKG-Molenberg, which the grant entry names in lower case */
	return a->kind == b->kind && strcasecmp(a->role, b->role) == 0 &&
	    strcasecmp(a->scope, b->scope) == 0;
}

struct one_grant {
	struct dir_provenance *out;
	char *csn;
};

static int
one_grant_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct one_grant *o = arg;
	LDAPMessage *e = res != NULL ? ldap_first_entry(ld, res) : NULL;

	if (e == NULL)
		return EG_OK;
	ldapc_prov_parse(ld, e, o->out);
	if (o->csn != NULL)
		ldapc_entry_value(ld, e, "entryCSN", o->csn, DIR_CSN_MAX);
	return EG_OK;
}

int
dir_grant_read(struct dir_writer *w, const struct dir_scope *s, const char *role,
    const char *nrn, struct dir_provenance *out, char *csn)
{
	char dn[1400];
	char *attrs[] = { "eidgateGrantedBy", "eidgateGrantedByName", "eidgateGrantedAs",
	    "eidgateGrantedAt", "eidgateValidUntil", "entryCSN", NULL };
	struct one_grant o = { out, csn };

	memset(out, 0, sizeof(*out));
	if (csn != NULL)
		csn[0] = '\0';
	if (dirw_grant_dn(w, s, role, nrn, dn, sizeof(dn)) != 0)
		return EG_ERR_PARSE;
	return dirw_search(w, dn, LDAP_SCOPE_BASE, "(objectClass=eidgateGrant)", attrs, 1,
	    one_grant_parse, &o, "read grant");
}

/* ---- migration -------------------------------------------------------------------- */

int
dir_migrate(struct dir_writer *w, int dry_run, int64_t now, struct dir_migration *m)
{
	struct dir_provenance pv;
	struct dir_all a;
	struct dir_scope s;
	size_t i;
	int r, added = 0;

	memset(m, 0, sizeof(*m));
	if ((r = dir_read_all_dated(w, &a)) != EG_OK)
		return r;
	memset(&pv, 0, sizeof(pv));
	pv.known = 1;
	eg_strlcpy(pv.by, DIR_BY_MIGRATION, sizeof(pv.by));
	pv.at = now;
	/* Ended grants were left out by dir_read_all: they have their entry already. */
	m->memberships = a.nholdings + a.nexpired;
	m->dated = a.nexpired;
	for (i = 0; i < a.nholdings && r == EG_OK; i++) {
		const struct dir_holding *h = &a.holdings[i];
		const struct dir_all_person *p = dir_all_person(&a, h->nrn);
		if (h->prov.known) {
			m->dated++;
			continue;
		}
		if (p == NULL || p->name[0] == '\0') {
			m->no_person++;         /* nowhere to put the entry; holds as before */
			continue;
		}
		memset(&s, 0, sizeof(s));
		s.kind = h->grant.kind;
		eg_strlcpy(s.id, h->grant.scope, sizeof(s.id));
		eg_strlcpy(s.org, h->grant.org, sizeof(s.org));
		/* add only: an entry an administrator wrote since the read above stays */
		if (!dry_run)
			r = dir_grant_add(w, &s, h->grant.role, h->nrn, &pv, &added);
		if (r == EG_OK && (dry_run || added))
			m->written++;
		else if (r == EG_OK)
			m->dated++;
	}
	dir_all_free(&a);
	return r;
}
