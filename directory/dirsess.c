/*
 * dirsess.c - sessions ended in the directory (directory.h, "Sessions ended in the
 * directory"): the entries below ou=ended-sessions that make a logout on one instance
 * hold on every instance, written over a writer connection of their own (so a logout
 * never waits behind an administrator's change) and pruned once their sessions would
 * have timed out anyway.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "directory/internal.h"

struct dir_sessions {
	pthread_mutex_t mu;
	struct dir_writer *w;           /* guarded by mu */
	atomic_ulong failures;
};

int
dir_sessions_open(const struct eg_config *cfg, struct dir_sessions **out)
{
	struct dir_sessions *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (s == NULL)
		return EG_ERR_NOMEM;
	if ((r = dir_writer_open(cfg, &s->w)) != EG_OK) {
		free(s);
		return r;
	}
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return EG_OK;
}

void
dir_sessions_close(struct dir_sessions *s)
{
	if (s == NULL)
		return;
	dir_writer_close(s->w);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

unsigned long
dir_sessions_failures(struct dir_sessions *s)
{
	return s != NULL ? atomic_load(&s->failures) : 0;
}

/* One eidgateSessionEnd entry: cn, and up to three more attributes. */
struct end_entry {
	char dn[1200];
	char cn[80], notafter[16], before[16];
	const char *id, *person;
};

static void
mod_set(LDAPMod *m, size_t *n, const char *type, char **vals)
{
	m[*n].mod_op = LDAP_MOD_ADD;
	m[*n].mod_type = (char *)(uintptr_t)type;
	m[*n].mod_values = vals;
	++*n;
}

/* Adds the entry, or replaces its times when it exists (a second "log out
 * everywhere" moves the moment forward). */
static int
op_end(struct dir_writer *w, LDAP *ld, void *arg)
{
	struct end_entry *e = arg;
	char *oc[] = { "eidgateSessionEnd", NULL }, *cn[] = { e->cn, NULL };
	char *na[] = { e->notafter, NULL }, *id[] = { (char *)(uintptr_t)e->id, NULL };
	char *pe[] = { (char *)(uintptr_t)e->person, NULL }, *be[] = { e->before, NULL };
	LDAPMod m[5], *p[6];
	size_t n = 0, i;
	int rc;

	(void)w;
	memset(m, 0, sizeof(m));
	mod_set(m, &n, "objectClass", oc);
	mod_set(m, &n, "cn", cn);
	mod_set(m, &n, "eidgateNotAfter", na);
	if (e->id != NULL)
		mod_set(m, &n, "eidgateSessionId", id);
	if (e->person != NULL) {
		mod_set(m, &n, "eidgatePerson", pe);
		mod_set(m, &n, "eidgateEndedBefore", be);
	}
	for (i = 0; i < n; i++)
		p[i] = &m[i];
	p[n] = NULL;
	rc = ldap_add_ext_s(ld, e->dn, p, NULL, NULL);
	if (rc != LDAP_ALREADY_EXISTS || e->person == NULL)
		return rc;
	/* Keep only the times: replace eidgateNotAfter and eidgateEndedBefore. */
	m[2].mod_op = LDAP_MOD_REPLACE;
	m[4].mod_op = LDAP_MOD_REPLACE;
	p[0] = &m[2];
	p[1] = &m[4];
	p[2] = NULL;
	return ldap_modify_ext_s(ld, e->dn, p, NULL, NULL);
}

static int
write_end(struct dir_sessions *s, struct end_entry *e)
{
	int rc, n, ret = EG_OK;

	pthread_mutex_lock(&s->mu);
	n = snprintf(e->dn, sizeof(e->dn), "cn=%s,ou=ended-sessions,%s", e->cn, s->w->lc.base);
	if (n < 0 || (size_t)n >= sizeof(e->dn) || e->notafter[0] == '\0')
		ret = EG_ERR_PARSE;
	else if ((rc = dirw_run(s->w, op_end, e)) != LDAP_SUCCESS && rc != LDAP_ALREADY_EXISTS)
		ret = dirw_fail(s->w, rc, "write ended session");
	pthread_mutex_unlock(&s->mu);
	if (ret != EG_OK)
		atomic_fetch_add(&s->failures, 1);
	return ret;
}

static int
hex_id(const char *id)
{
	size_t i, n = strlen(id);

	for (i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return n > 0 && n <= 64;
}

int
dir_sessions_end(struct dir_sessions *s, const char *public_id, int64_t until)
{
	struct end_entry e;

	if (public_id == NULL || !hex_id(public_id))
		return EG_ERR_PARSE;
	memset(&e, 0, sizeof(e));
	snprintf(e.cn, sizeof(e.cn), "s-%s", public_id);
	ldapc_gentime(until, e.notafter);
	e.id = public_id;
	return write_end(s, &e);
}

int
dir_sessions_end_person(struct dir_sessions *s, const char *nrn, int64_t before,
    int64_t until)
{
	struct end_entry e;

	if (nrn == NULL || !eg_all_digits(nrn, EG_NRN_LEN))
		return EG_ERR_PARSE;
	memset(&e, 0, sizeof(e));
	snprintf(e.cn, sizeof(e.cn), "p-%s", nrn);
	ldapc_gentime(until, e.notafter);
	ldapc_gentime(before, e.before);
	e.person = nrn;
	return write_end(s, &e);
}

/* ---- pruning ----------------------------------------------------------------------- */

struct prune {
	char **dns;
	size_t n;
};

static int
collect(LDAP *ld, LDAPMessage *res, void *arg)
{
	struct prune *p = arg;
	LDAPMessage *e;
	int n = res != NULL ? ldap_count_entries(ld, res) : 0;

	if (n <= 0)
		return EG_OK;
	if ((p->dns = calloc((size_t)n, sizeof(*p->dns))) == NULL)
		return EG_ERR_NOMEM;
	for (e = ldap_first_entry(ld, res); e != NULL && p->n < (size_t)n;
	    e = ldap_next_entry(ld, e))
		if ((p->dns[p->n] = ldap_get_dn(ld, e)) != NULL)
			p->n++;
	return EG_OK;
}

int
dir_sessions_prune(struct dir_sessions *s, int64_t now, size_t *pruned)
{
	static char *attrs[] = { "1.1", NULL };
	char base[1100], filter[128], t[16];
	struct prune p = { NULL, 0 };
	size_t i;
	int r, rc;

	*pruned = 0;
	ldapc_gentime(now, t);
	snprintf(filter, sizeof(filter), "(&(objectClass=eidgateSessionEnd)(eidgateNotAfter<=%s))",
	    t);
	pthread_mutex_lock(&s->mu);
	snprintf(base, sizeof(base), "ou=ended-sessions,%s", s->w->lc.base);
	r = dirw_search(s->w, base, LDAP_SCOPE_ONELEVEL, filter, attrs, 1000, collect, &p,
	    "find expired ended sessions");
	for (i = 0; r == EG_OK && i < p.n; i++) {
		/* Another instance may have pruned it first. */
		rc = dirw_run(s->w, dirw_op_delete, p.dns[i]);
		if (rc == LDAP_SUCCESS)
			++*pruned;
		else if (rc != LDAP_NO_SUCH_OBJECT)
			r = dirw_fail(s->w, rc, "prune ended session");
	}
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < p.n; i++)
		ldap_memfree(p.dns[i]);
	free(p.dns);
	return r;
}
