/*
 * directory.c - LDAP resolver for people, organisations and facilities (directory.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldap.h>

#include "eidgate/cache.h"
#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "directory/internal.h"

#define DIR_POOL 8

struct dir_conn {
	LDAP *ld;
	int busy;
};

struct dir_resolver {
	struct ldapc lc;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dir_conn pool[DIR_POOL];
	/* Entries (cache.h references) for [ldap] cache_ttl: people and negative entries
	 * under "p:NRN", organisations "o:ID", facilities "f:ID" and their lists "l:ORG". */
	struct cache *people, *orgs, *facilities;
	int64_t ttl_ms;
	atomic_ulong errors;            /* searches that failed (for /eidgate/metrics) */
	/* Bumped by the change feed (dirfeed.c) before it drops entries: a search that
	 * started before a drop does not cache its (maybe older) answer. */
	atomic_ulong gen;
	/* dir_probe's last answer, kept DIR_PROBE_MS so a load balancer polling readyz
	 * does not become the directory's busiest client; guarded by mu. */
	int probe_rc;
	int64_t probe_at_ms;
};

#define DIR_PROBE_MS 2000

/* Entries one key may displace when its set is full: an evicted entry costs one LDAP
 * search. */
#define DIR_CACHE_WAYS 8
/* The keys above: a letter, a colon and an id shorter than EG_MAX_ID. */
#define DIR_CACHE_KEY_MAX 96

static int
caches_new(struct dir_resolver *d)
{
	static const struct cache_conf conf = {
		.capacity = EG_MAX_DIR_CACHE, .ways = DIR_CACHE_WAYS,
		.key_max = DIR_CACHE_KEY_MAX, .flags = CACHE_REFS,
	};
	int r;

	if ((r = cache_new(&conf, &d->people)) != EG_OK ||
	    (r = cache_new(&conf, &d->orgs)) != EG_OK)
		return r;
	return cache_new(&conf, &d->facilities);
}

/* A new reference to key's cached entry, or NULL. */
static const void *
cached_get(struct cache *c, const char *key)
{
	const void *entry;

	return cache_get_ref(c, key, strlen(key), eg_mono_ms(), &entry) == EG_OK ? entry : NULL;
}

/* Caches entry under key for [ldap] cache_ttl (not at all when that is 0), unless the
 * change feed dropped entries since the search began (gen, read before it): the answer
 * may predate that change. */
static void
cached_put(struct dir_resolver *d, struct cache *c, const char *key, const void *entry,
    unsigned long gen)
{
	int64_t now = eg_mono_ms();

	if (d->ttl_ms > 0 && atomic_load(&d->gen) == gen)
		(void)cache_put_ref(c, key, strlen(key), entry, now + d->ttl_ms, now);
}

int
dir_open(const struct eg_config *cfg, struct dir_resolver **out)
{
	struct dir_resolver *d = calloc(1, sizeof(*d));
	int r;

	*out = NULL;
	if (d == NULL)
		return EG_ERR_NOMEM;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->ttl_ms = cfg->ldap_cache_ttl_ms;
	if ((r = caches_new(d)) != EG_OK || (r = ldapc_init(&d->lc, cfg)) != EG_OK) {
		dir_close(d);
		return r;
	}
	*out = d;
	return EG_OK;
}

void
dir_close(struct dir_resolver *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < DIR_POOL; i++)
		if (d->pool[i].ld != NULL)
			ldap_unbind_ext_s(d->pool[i].ld, NULL, NULL);
	cache_free(d->people);
	cache_free(d->orgs);
	cache_free(d->facilities);
	ldapc_free(&d->lc);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d);
}

void
dir_stats(struct dir_resolver *d, unsigned long *hits, unsigned long *misses,
    unsigned long *errors)
{
	struct cache *const caches[] = { d->people, d->orgs, d->facilities };
	unsigned long h, m;
	size_t i;

	*hits = *misses = 0;
	for (i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
		cache_stats(caches[i], &h, &m);
		*hits += h;
		*misses += m;
	}
	*errors = atomic_load(&d->errors);
}

void
dir_retain(const void *entry)
{
	if (entry != NULL)
		cache_ref_get(entry);
}

void
dir_release(const void *entry)
{
	cache_ref_put(entry);
}

/* Takes a pooled connection, waiting while all are busy. */
static struct dir_conn *
conn_acquire(struct dir_resolver *d)
{
	struct dir_conn *c = NULL;
	char why[1024];
	size_t i;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		for (i = 0; i < DIR_POOL && c == NULL; i++)
			if (!d->pool[i].busy)
				c = &d->pool[i];
		if (c != NULL)
			break;
		pthread_cond_wait(&d->cv, &d->mu);
	}
	c->busy = 1;
	pthread_mutex_unlock(&d->mu);
	if (c->ld == NULL && ldapc_connect(&d->lc, &c->ld, why, sizeof(why)) != LDAP_SUCCESS)
		log_warnx("ldap %s: %s", d->lc.uri, why);
	return c;
}

static void
conn_release(struct dir_resolver *d, struct dir_conn *c, int broken)
{
	if (broken && c->ld != NULL) {
		ldap_unbind_ext_s(c->ld, NULL, NULL);
		c->ld = NULL;
	}
	pthread_mutex_lock(&d->mu);
	c->busy = 0;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

typedef int (*dir_parse_fn)(LDAP *ld, LDAPMessage *res, void *arg);

/*
 * Runs one search and parses its result while holding the connection, reconnecting once
 * when the server went away (a restarted slapd leaves every pooled handle dead).
 * Returns EG_OK, EG_ERR_DIRECTORY or what parse returned.
 */
/* How many entries a search may bring, and what more means. DIR_WHOLE: the answer must
 * be complete or it is no answer (a person's roles and the grant entries that date them:
 * a cut answer could keep a role and lose the end that stops it); DIR_CUT: a list the
 * caller may show in part (an organisation's facilities). */
enum dir_size { DIR_CUT, DIR_WHOLE };

static int
dir_search_scope(struct dir_resolver *d, const char *base, int scope, const char *filter,
    char **attrs, enum dir_size size, dir_parse_fn parse, void *arg)
{
	struct timeval tv;
	struct dir_conn *c;
	LDAPMessage *res;
	int attempt, r = LDAP_SERVER_DOWN, ret;

	ldapc_timeout(&d->lc, &tv);
	for (attempt = 0; attempt < 2; attempt++) {
		c = conn_acquire(d);
		if (c->ld == NULL) {
			/* A fresh connection failed (and said why): another would too. */
			conn_release(d, c, 1);
			r = LDAP_SERVER_DOWN;
			break;
		}
		res = NULL;
		r = ldap_search_ext_s(c->ld, base, scope, filter, attrs, 0, NULL,
		    NULL, &tv, size == DIR_WHOLE ? 2 * EG_MAX_GRANTS + 16 : EG_MAX_GRANTS + 16,
		    &res);
		if (r == LDAP_SUCCESS || r == LDAP_NO_SUCH_OBJECT ||
		    (r == LDAP_SIZELIMIT_EXCEEDED && size == DIR_CUT)) {
			ret = parse(c->ld, res, arg);
			ldap_msgfree(res);
			conn_release(d, c, 0);
			return ret;
		}
		ldap_msgfree(res);
		conn_release(d, c, 1);
		if (!ldapc_is_down(r))
			break;
	}
	log_warnx("ldap %s: search failed: %s", d->lc.uri, ldap_err2string(r));
	atomic_fetch_add(&d->errors, 1);
	return EG_ERR_DIRECTORY;
}

static int
dir_search(struct dir_resolver *d, const char *base, const char *filter, char **attrs,
    dir_parse_fn parse, void *arg)
{
	return dir_search_scope(d, base, LDAP_SCOPE_SUBTREE, filter, attrs, DIR_CUT, parse,
	    arg);
}

static int
parse_nothing(LDAP *ld, LDAPMessage *res, void *arg)
{
	(void)ld;
	(void)res;
	(void)arg;
	return EG_OK;
}

int
dir_probe(struct dir_resolver *d)
{
	static char *no_attrs[] = { "1.1", NULL };
	int64_t now = eg_mono_ms();
	int rc;

	pthread_mutex_lock(&d->mu);
	if (d->probe_at_ms != 0 && now - d->probe_at_ms < DIR_PROBE_MS) {
		rc = d->probe_rc;
		pthread_mutex_unlock(&d->mu);
		return rc;
	}
	pthread_mutex_unlock(&d->mu);
	rc = dir_search_scope(d, d->lc.base, LDAP_SCOPE_BASE, "(objectClass=*)", no_attrs,
	    DIR_CUT, parse_nothing, NULL);
	pthread_mutex_lock(&d->mu);
	d->probe_rc = rc;
	d->probe_at_ms = now;
	pthread_mutex_unlock(&d->mu);
	return rc;
}

/*
 * Parses a role group DN below the base into a grant:
 *   cn=ROLE,o=ORG,ou=organisations,BASE
 *   cn=ROLE,ou=FAC,o=ORG,ou=organisations,BASE
 *   cn=ROLE,ou=REGION,ou=regions,BASE
 * ldap_str2dn does the unescaping, so a hostile value cannot shift the structure.
 */
int
dir_dn_grant(const char *dn, struct eg_grant *g)
{
	LDAPDN parsed = NULL;
	const char *t[4], *v[4];
	int i, ok = 0;

	if (ldapc_str2dn(dn, &parsed) != LDAP_SUCCESS)
		return -1;
	for (i = 0; i < 4; i++) {
		if (parsed[i] == NULL || parsed[i][1] != NULL) {
			ldap_dnfree(parsed);
			return -1;
		}
		t[i] = parsed[i][0]->la_attr.bv_val;
		v[i] = parsed[i][0]->la_value.bv_val;
	}
	memset(g, 0, sizeof(*g));
	if (strcasecmp(t[0], "cn") == 0 && strlen(v[0]) < sizeof(g->role)) {
		eg_strlcpy(g->role, v[0], sizeof(g->role));
		if (strcasecmp(t[1], "o") == 0 && strcasecmp(t[2], "ou") == 0 &&
		    strcasecmp(v[2], "organisations") == 0) {
			g->kind = EG_SCOPE_ORGANISATION;
			ok = eg_strlcpy(g->scope, v[1], sizeof(g->scope)) < sizeof(g->scope);
			eg_strlcpy(g->org, v[1], sizeof(g->org));
		} else if (strcasecmp(t[1], "ou") == 0 && strcasecmp(t[2], "o") == 0 &&
		    strcasecmp(t[3], "ou") == 0 && strcasecmp(v[3], "organisations") == 0) {
			g->kind = EG_SCOPE_FACILITY;
			ok = eg_strlcpy(g->scope, v[1], sizeof(g->scope)) < sizeof(g->scope) &&
			    eg_strlcpy(g->org, v[2], sizeof(g->org)) < sizeof(g->org);
		} else if (strcasecmp(t[1], "ou") == 0 && strcasecmp(t[2], "ou") == 0 &&
		    strcasecmp(v[2], "regions") == 0) {
			g->kind = EG_SCOPE_REGION;
			ok = eg_strlcpy(g->scope, v[1], sizeof(g->scope)) < sizeof(g->scope);
		}
	}
	ldap_dnfree(parsed);
	return ok ? 0 : -1;
}

struct person_parse {
	const char *nrn;
	const struct ldapc *lc;         /* [ldap] base: where the person's entries must be */
	int64_t now;
	struct dir_person *p;
};

/* A grant entry read with the groups: what it dates, and its dates. */
struct dated {
	struct eg_grant g;
	struct dir_provenance prov;
};

/* The person's entries sorted out: the person, role groups, grant entries. */
struct sorted {
	size_t ngroups, ndated;
	struct eg_grant *groups;
	struct dated *dated;
};

static void
sort_entry(LDAP *ld, LDAPMessage *e, const char *dn, struct person_parse *pp,
    struct dir_person *p, struct sorted *s)
{
	char uid[EG_MAX_ID], nrn[EG_NRN_LEN + 1], name[DIR_AS_MAX];
	struct dated *d = &s->dated[s->ndated];

	/* By place: the person entry and their grant entries only where they belong; an
	 * entry with their uid anywhere else (in a directory someone else also writes)
	 * names nobody and dates nothing. */
	switch (ldapc_dn_kind(dn, pp->lc, nrn, name)) {
	case LDAPC_DN_GRANT:
		if (strcmp(nrn, pp->nrn) == 0 && dir_grant_name_parse(name, &d->g) == 0) {
			ldapc_prov_parse(ld, e, &d->prov);
			s->ndated++;
		}
		return;
	case LDAPC_DN_PERSON:
		ldapc_entry_value(ld, e, "uid", uid, sizeof(uid));
		if (strcmp(nrn, pp->nrn) == 0 && strcmp(uid, pp->nrn) == 0) {
			p->found = 1;
			ldapc_entry_value(ld, e, "cn", p->name, sizeof(p->name));
			ldapc_entry_value(ld, e, "givenName", p->given, sizeof(p->given));
			ldapc_entry_value(ld, e, "sn", p->surname, sizeof(p->surname));
		}
		return;
	default:
		break;
	}
	if (dir_dn_grant(dn, &s->groups[s->ngroups]) == 0)
		s->ngroups++;
	else
		log_warnx("ldap: ignoring role group with unexpected DN layout");
}

/* 1 when a ends before b (no end is the latest). Two entries dating one role (names
 * that differ only in case): the earlier end holds, never the later. */
static int
earlier_end(const struct dir_provenance *a, const struct dir_provenance *b)
{
	return a->until != 0 && (b->until == 0 || a->until < b->until);
}

/*
 * The grants that hold: every role group naming the person, dated by its grant entry
 * when there is one (a grant entry without its membership holds nothing), less those
 * whose end has passed. p->prov follows p->grants, aligned for its int64_t fields.
 */
static void
join_grants(struct person_parse *pp, struct dir_person *p, const struct sorted *s,
    struct dir_provenance *prov)
{
	size_t i, j;

	for (i = 0; i < s->ngroups; i++) {
		struct dir_provenance none;
		const struct dir_provenance *pv = &none;
		memset(&none, 0, sizeof(none));
		for (j = 0; j < s->ndated; j++)
			if (dir_grant_same(&s->dated[j].g, &s->groups[i]) &&
			    (pv == &none || earlier_end(&s->dated[j].prov, pv)))
				pv = &s->dated[j].prov;
		if (!dir_prov_holds(pv, pp->now))
			continue;
		if (pv->until != 0 && (p->next_end == 0 || pv->until < p->next_end))
			p->next_end = pv->until;
		p->grants[p->ngrants] = s->groups[i];
		prov[p->ngrants++] = *pv;
	}
	p->prov = prov;
}

#define PROV_ALIGN _Alignof(struct dir_provenance)

static int
person_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct person_parse *pp = arg;
	int n = res != NULL ? ldap_count_entries(ld, res) : 0;
	size_t cnt = (size_t)(n > 0 ? n : 0), off;
	struct sorted s = { 0, 0, NULL, NULL };
	struct dir_person *p;
	LDAPMessage *e;

	off = (sizeof(*p) + cnt * sizeof(struct eg_grant) + PROV_ALIGN - 1) / PROV_ALIGN *
	    PROV_ALIGN;
	p = cache_ref_alloc(off + cnt * sizeof(struct dir_provenance));
	s.groups = calloc(cnt + 1, sizeof(*s.groups));
	s.dated = calloc(cnt + 1, sizeof(*s.dated));
	if (p == NULL || s.groups == NULL || s.dated == NULL) {
		if (p != NULL)
			dir_release(p);
		free(s.groups);
		free(s.dated);
		return EG_ERR_NOMEM;
	}
	eg_strlcpy(p->nrn, pp->nrn, sizeof(p->nrn));
	for (e = res ? ldap_first_entry(ld, res) : NULL; e != NULL; e = ldap_next_entry(ld, e)) {
		char *dn = ldap_get_dn(ld, e);
		if (dn == NULL)
			continue;
		sort_entry(ld, e, dn, pp, p, &s);
		ldap_memfree(dn);
	}
	join_grants(pp, p, &s, (struct dir_provenance *)(void *)((char *)p + off));
	free(s.groups);
	free(s.dated);
	pp->p = p;
	return EG_OK;
}

/* A cached person one of whose grants has ended since it was read: read again. */
static const struct dir_person *
cached_person(struct dir_resolver *d, const char *key, int64_t now)
{
	const struct dir_person *p = cached_get(d->people, key);

	if (p != NULL && p->next_end != 0 && p->next_end <= now) {
		dir_release(p);
		(void)cache_del(d->people, key, strlen(key));
		return NULL;
	}
	return p;
}

int
dir_person(struct dir_resolver *d, const char *nrn, const struct dir_person **out)
{
	char filter[2048], member[1024], esc_nrn[64], esc_member[1536], key[64];
	char *attrs[] = { "uid", "cn", "givenName", "sn", "eidgateGrantedBy",
	    "eidgateGrantedByName", "eidgateGrantedAs", "eidgateGrantedAt",
	    "eidgateValidUntil", NULL };
	struct person_parse pp = { nrn, &d->lc, eg_now_us() / 1000000, NULL };
	unsigned long gen = atomic_load(&d->gen);
	int r, n;

	*out = NULL;
	if (nrn == NULL || !eg_all_digits(nrn, EG_NRN_LEN))
		return EG_ERR_PARSE;
	snprintf(key, sizeof(key), "p:%s", nrn);
	if ((*out = cached_person(d, key, pp.now)) != NULL)
		return EG_OK;
	snprintf(member, sizeof(member), "uid=%s,ou=people,%s", nrn, d->lc.base);
	if (ldapc_filter_value(nrn, esc_nrn, sizeof(esc_nrn)) != 0 ||
	    ldapc_filter_value(member, esc_member, sizeof(esc_member)) != 0)
		return EG_ERR_PARSE;
	/* One search: the person, every role group naming them, and the grant entries
	 * that date those memberships (below the person, with the same uid). */
	n = snprintf(filter, sizeof(filter),
	    "(|(&(objectClass=inetOrgPerson)(uid=%s))(&(objectClass=groupOfNames)(member=%s))"
	    "(&(objectClass=eidgateGrant)(uid=%s)))", esc_nrn, esc_member, esc_nrn);
	if (n < 0 || (size_t)n >= sizeof(filter))
		return EG_ERR_PARSE;
	/* Whole or not at all: more entries than a person can have roles fails closed. */
	if ((r = dir_search_scope(d, d->lc.base, LDAP_SCOPE_SUBTREE, filter, attrs, DIR_WHOLE,
	    person_parse, &pp)) != EG_OK)
		return r;
	cached_put(d, d->people, key, pp.p, gen);
	*out = pp.p;
	return EG_OK;
}

void
dir_forget_person(struct dir_resolver *d, const char *nrn)
{
	char key[64];

	snprintf(key, sizeof(key), "p:%s", nrn);
	(void)cache_del(d->people, key, strlen(key));
}

static int
valid_id(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n < EG_MAX_ID;
}

int
dir_org(struct dir_resolver *d, const char *id, const struct dir_org **out)
{
	char filter[256], esc[192], key[96];
	char *attrs[] = { "description", "eidgateCapacity", NULL };
	char base[1024];
	unsigned long gen = atomic_load(&d->gen);
	struct dir_org *o;
	int r;

	*out = NULL;
	if (id == NULL || !valid_id(id))
		return EG_ERR_PARSE;
	snprintf(key, sizeof(key), "o:%s", id);
	if ((*out = cached_get(d->orgs, key)) != NULL)
		return EG_OK;
	/* Escaped only for a search: libldap allocates for it, and hits are the common case. */
	if (ldapc_filter_value(id, esc, sizeof(esc)) != 0)
		return EG_ERR_PARSE;
	if ((o = cache_ref_alloc(sizeof(*o))) == NULL)
		return EG_ERR_NOMEM;
	eg_strlcpy(o->id, id, sizeof(o->id));
	snprintf(base, sizeof(base), "ou=organisations,%s", d->lc.base);
	snprintf(filter, sizeof(filter), "(&(objectClass=eidgateOrganisation)(o=%s))", esc);
	/* one level would do, but subtree with an exact o= match is as cheap with the index */
	if ((r = dir_search(d, base, filter, attrs, ldapc_org_parse, o)) != EG_OK) {
		cache_ref_put(o);
		return r;
	}
	cached_put(d, d->orgs, key, o, gen);
	*out = o;
	return EG_OK;
}

static int
facility_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct dir_facility *f = arg;
	LDAPMessage *e = res != NULL ? ldap_first_entry(ld, res) : NULL;
	struct eg_grant g;
	char *dn, cndn[1200];

	if (e == NULL || ldap_count_entries(ld, res) != 1)
		return EG_OK;   /* unknown, or ambiguous: both mean "no such facility" */
	if ((dn = ldap_get_dn(ld, e)) == NULL)
		return EG_OK;
	/* Reuse the grant parser: a facility DN is a facility role DN minus the cn. */
	snprintf(cndn, sizeof(cndn), "cn=x,%s", dn);
	ldap_memfree(dn);
	if (dir_dn_grant(cndn, &g) != 0 || g.kind != EG_SCOPE_FACILITY || strcmp(g.scope, f->id) != 0)
		return EG_OK;
	f->found = 1;
	eg_strlcpy(f->org, g.org, sizeof(f->org));
	ldapc_facility_attrs(ld, e, f);
	return EG_OK;
}

int
dir_facility(struct dir_resolver *d, const char *id, const struct dir_facility **out)
{
	char filter[256], esc[192], key[96], base[1024];
	char *attrs[] = { "description", "eidgateSector", "eidgateRegion", NULL };
	unsigned long gen = atomic_load(&d->gen);
	struct dir_facility *f;
	int r;

	*out = NULL;
	if (id == NULL || !valid_id(id))
		return EG_ERR_PARSE;
	snprintf(key, sizeof(key), "f:%s", id);
	if ((*out = cached_get(d->facilities, key)) != NULL)
		return EG_OK;
	/* Escaped only for a search: libldap allocates for it, and hits are the common case. */
	if (ldapc_filter_value(id, esc, sizeof(esc)) != 0)
		return EG_ERR_PARSE;
	if ((f = cache_ref_alloc(sizeof(*f))) == NULL)
		return EG_ERR_NOMEM;
	eg_strlcpy(f->id, id, sizeof(f->id));
	snprintf(base, sizeof(base), "ou=organisations,%s", d->lc.base);
	snprintf(filter, sizeof(filter), "(&(objectClass=eidgateFacility)(ou=%s))", esc);
	if ((r = dir_search(d, base, filter, attrs, facility_parse, f)) != EG_OK) {
		cache_ref_put(f);
		return r;
	}
	cached_put(d, d->facilities, key, f, gen);
	*out = f;
	return EG_OK;
}

struct faclist_parse {
	const char *org;
	struct dir_facility_list *list;
};

static int
faclist_parse(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct faclist_parse *fp = arg;
	int n = res != NULL ? ldap_count_entries(ld, res) : 0;
	struct dir_facility_list *l;
	LDAPMessage *e;

	l = cache_ref_alloc(sizeof(*l) + (size_t)(n > 0 ? n : 0) * sizeof(struct dir_facility));
	if (l == NULL)
		return EG_ERR_NOMEM;
	for (e = res ? ldap_first_entry(ld, res) : NULL; e != NULL && l->n < (size_t)n;
	    e = ldap_next_entry(ld, e)) {
		struct dir_facility *f = &l->items[l->n];
		ldapc_entry_value(ld, e, "ou", f->id, sizeof(f->id));
		if (f->id[0] == '\0')
			continue;
		f->found = 1;
		eg_strlcpy(f->org, fp->org, sizeof(f->org));
		ldapc_facility_attrs(ld, e, f);
		l->n++;
	}
	fp->list = l;
	return EG_OK;
}

int
dir_facilities_of(struct dir_resolver *d, const char *org, const struct dir_facility_list **out)
{
	char *attrs[] = { "ou", "description", "eidgateSector", "eidgateRegion", NULL };
	struct faclist_parse fp = { org, NULL };
	char key[96], base[1024], rdn[256];
	LDAPAVA ava, *rdnp[2] = { &ava, NULL };
	char *rdnstr = NULL;
	unsigned long gen = atomic_load(&d->gen);
	int r;

	*out = NULL;
	if (org == NULL || !valid_id(org))
		return EG_ERR_PARSE;
	snprintf(key, sizeof(key), "l:%s", org);
	if ((*out = cached_get(d->facilities, key)) != NULL)
		return EG_OK;
	/* The organisation's RDN is built by libldap so that its value is DN-escaped. */
	memset(&ava, 0, sizeof(ava));
	ava.la_attr.bv_val = "o";
	ava.la_attr.bv_len = 1;
	ava.la_value.bv_val = (char *)(uintptr_t)org;
	ava.la_value.bv_len = strlen(org);
	ava.la_flags = LDAP_AVA_STRING;
	if (ldap_rdn2str(rdnp, &rdnstr, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return EG_ERR_PARSE;
	eg_strlcpy(rdn, rdnstr, sizeof(rdn));
	ldap_memfree(rdnstr);
	snprintf(base, sizeof(base), "%s,ou=organisations,%s", rdn, d->lc.base);
	if ((r = dir_search(d, base, "(objectClass=eidgateFacility)", attrs, faclist_parse,
	    &fp)) != EG_OK)
		return r;
	cached_put(d, d->facilities, key, fp.list, gen);
	*out = fp.list;
	return EG_OK;
}

/* ==== What the change feed (dirfeed.c) drops (internal.h) ==== */

void
dir_drop_all(struct dir_resolver *d)
{
	atomic_fetch_add(&d->gen, 1);
	cache_clear(d->people);
	cache_clear(d->orgs);
	cache_clear(d->facilities);
}

static size_t
drop_key(struct cache *c, const char *prefix, const char *id)
{
	char key[DIR_CACHE_KEY_MAX];
	int n = snprintf(key, sizeof(key), "%s:%s", prefix, id);

	if (n <= 0 || (size_t)n >= sizeof(key))
		return 0;
	return cache_del(c, key, (size_t)n) == EG_OK;
}

/* A cached person holding a grant of the changed group: its roles changed. */
static int
holds_group(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	const struct dir_person *p = val;
	size_t i;

	(void)key;
	(void)klen;
	(void)vlen;
	for (i = 0; i < p->ngrants; i++)
		if (dir_grant_same(&p->grants[i], arg))
			return 1;
	return 0;
}

/* What a changed group's members drop (dirw_each_member). */
struct dropped {
	struct dir_resolver *d;
	size_t n;
};

static int
drop_member(void *arg, const char *nrn)
{
	struct dropped *x = arg;

	if (nrn != NULL)
		x->n += drop_key(x->d->people, "p", nrn);
	return EG_OK;
}

/* A role group changed: whoever held it (cached with it) and whoever it names now. */
static size_t
drop_group(struct dir_resolver *d, LDAP *ld, LDAPMessage *e, struct eg_grant *g)
{
	struct dropped x = { d, cache_del_if(d->people, holds_group, g) };

	(void)dirw_each_member(ld, e, drop_member, &x);
	return x.n;
}

/* The RDN values of dn, leaf first: t[i] = v[i] for i < *n (at most 4 used). */
static int
dn_parts(const char *dn, LDAPDN *parsed, const char *t[4], const char *v[4], int *n)
{
	int i;

	*n = 0;
	if (ldapc_str2dn(dn, parsed) != LDAP_SUCCESS)
		return -1;
	for (i = 0; i < 4 && (*parsed)[i] != NULL; i++) {
		if ((*parsed)[i][1] != NULL)
			return -1;      /* multi-valued RDN: nothing eidgate writes */
		t[i] = (*parsed)[i][0]->la_attr.bv_val;
		v[i] = (*parsed)[i][0]->la_value.bv_val;
		*n = i + 1;
	}
	return 0;
}

size_t
dir_drop_entry(struct dir_resolver *d, LDAP *ld, LDAPMessage *e, const char *dn)
{
	const char *t[4] = { "", "", "", "" }, *v[4] = { "", "", "", "" };
	LDAPDN parsed = NULL;
	struct eg_grant g;
	size_t n = 0;
	int k;

	atomic_fetch_add(&d->gen, 1);
	if (dir_dn_grant(dn, &g) == 0)
		return drop_group(d, ld, e, &g);
	if (dn_parts(dn, &parsed, t, v, &k) == 0 && k >= 3) {
		if (strcasecmp(t[0], "uid") == 0 && strcasecmp(t[1], "ou") == 0 &&
		    strcasecmp(v[1], "people") == 0) {
			n = drop_key(d->people, "p", v[0]);
		} else if (strcasecmp(t[0], "cn") == 0 && strcasecmp(t[1], "uid") == 0 &&
		    strcasecmp(t[2], "ou") == 0 && strcasecmp(v[2], "people") == 0) {
			n = drop_key(d->people, "p", v[1]);     /* a grant entry: its dates */
		} else if (strcasecmp(t[0], "o") == 0 && strcasecmp(v[1], "organisations") == 0) {
			n = drop_key(d->orgs, "o", v[0]) + drop_key(d->facilities, "l", v[0]);
		} else if (k >= 4 && strcasecmp(t[0], "ou") == 0 && strcasecmp(t[1], "o") == 0 &&
		    strcasecmp(v[2], "organisations") == 0) {
			n = drop_key(d->facilities, "f", v[0]) + drop_key(d->facilities, "l", v[1]);
		}
	}
	ldap_dnfree(parsed);
	return n;
}
