/*
 * dirfeed.c - the directory's change feed (directory.h, "The change feed").
 *
 * Why not libldap's ldap_sync_* helpers: in OpenLDAP 2.5 ldap_sync_poll() hands the
 * first message of a chain to every callback of that chain (ldap_sync_search_entry(ls,
 * res) instead of msg), so two changes arriving in one read would be seen as one twice,
 * and its refresh loop cannot be interrupted. The operation itself is small: one
 * search with the Sync Request control (RFC 4533 §2.2, mode refreshAndPersist, no
 * cookie), read one message at a time with a short timeout so the thread can stop.
 * Every entry of the persist phase is handled alike, whatever its Sync State (add,
 * modify or delete): its DN says which cache entries to drop, and an ended session's
 * attributes, when sent, what to end. The first Sync Info message of a connection
 * ends its refresh phase (without a cookie slapd sends exactly one, refreshDone); the
 * refresh's entries drop nothing one by one (a role group would scan the people cache
 * each), the caches are emptied when it starts and when it ends.
 *
 * The feed asks for no cookie: each (re)connection reads every entry's name once
 * (attributes only for role groups and ended sessions), which is also how a starting
 * instance learns the sessions ended before it started. Keeping the cookie would make
 * a reconnection cost only the changes missed; not done yet.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ldap.h>

#include "eidgate/config.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "directory/internal.h"

#define FEED_POLL_MS 250                /* how soon the thread notices a stop */
#define FEED_BACKOFF_MIN_MS 250
#define FEED_BACKOFF_MAX_MS 30000
#define FEED_PRUNE_MS 60000

struct dir_feed {
	struct ldapc lc;
	struct dir_resolver *dir;
	struct dir_sessions *sessions;
	struct dir_feed_hooks hooks;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* wakes a backoff sleep on stop */
	int stop;                       /* guarded by mu */
	atomic_int up;
	atomic_ulong invalidations, breaks;
	int64_t pruned_at_ms;
};

/* Sleeps ms unless stopped meanwhile; 1 when stopped. */
static int
feed_sleep(struct dir_feed *f, int64_t ms)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mu);
	while (!f->stop && pthread_cond_timedwait(&f->cv, &f->mu, &ts) != ETIMEDOUT)
		;
	stop = f->stop;
	pthread_mutex_unlock(&f->mu);
	return stop;
}

static int
feed_stopped(struct dir_feed *f)
{
	int stop;

	pthread_mutex_lock(&f->mu);
	stop = f->stop;
	pthread_mutex_unlock(&f->mu);
	return stop;
}

/* An eidgateSessionEnd entry with its attributes (a deleted one has none: pruned, or
 * removed by an operator; nothing to do, its session stays ended here until it ends).
 * Returns 1 when it ended something. */
static int
session_entry(struct dir_feed *f, LDAP *ld, LDAPMessage *e)
{
	char id[64], person[32], notafter[32], before[32];
	int64_t until, b;

	ldapc_entry_value(ld, e, "eidgateNotAfter", notafter, sizeof(notafter));
	if ((until = ldapc_gentime_parse(notafter)) < 0)
		return 0;
	ldapc_entry_value(ld, e, "eidgateSessionId", id, sizeof(id));
	ldapc_entry_value(ld, e, "eidgatePerson", person, sizeof(person));
	ldapc_entry_value(ld, e, "eidgateEndedBefore", before, sizeof(before));
	if (id[0] != '\0' && f->hooks.session_end != NULL) {
		f->hooks.session_end(f->hooks.arg, id, until);
		return 1;
	}
	if (person[0] != '\0' &&
	    (b = ldapc_gentime_parse(before)) >= 0 && f->hooks.person_end != NULL &&
	    eg_all_digits(person, EG_NRN_LEN)) {
		f->hooks.person_end(f->hooks.arg, person, b, until);
		return 1;
	}
	return 0;
}

static void
feed_entry(struct dir_feed *f, LDAP *ld, LDAPMessage *e)
{
	char *dn = ldap_get_dn(ld, e), nrn[EG_NRN_LEN + 1], name[DIR_AS_MAX];
	size_t n;

	if (dn == NULL)
		return;
	/* only at ou=ended-sessions,<base>: an entry of that name elsewhere ends nothing */
	if (ldapc_dn_kind(dn, &f->lc, nrn, name) == LDAPC_DN_SESSION_END)
		n = (size_t)session_entry(f, ld, e);
	else if (atomic_load(&f->up))
		n = dir_drop_entry(f->dir, ld, e, dn);
	else
		n = 0;  /* the refresh: the caches are emptied when it ends */
	if (n > 0 && atomic_load(&f->up))
		atomic_fetch_add(&f->invalidations, n);
	ldap_memfree(dn);
}

/* Sends the sync search; LDAP_SUCCESS and *msgid, or the LDAP error. */
static int
feed_search(struct dir_feed *f, LDAP *ld, int *msgid)
{
	static char *attrs[] = { "member", "eidgateSessionId", "eidgatePerson",
		"eidgateNotAfter", "eidgateEndedBefore", NULL };
	LDAPControl ctrl, *ctrls[2] = { &ctrl, NULL };
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	int rc;

	if (ber == NULL)
		return LDAP_NO_MEMORY;
	memset(&ctrl, 0, sizeof(ctrl));
	/* syncRequestValue ::= SEQUENCE { mode ENUMERATED, reloadHint BOOLEAN } */
	if (ber_printf(ber, "{eb}", (ber_int_t)LDAP_SYNC_REFRESH_AND_PERSIST, (ber_int_t)0) < 0 ||
	    ber_flatten2(ber, &ctrl.ldctl_value, 0) < 0) {
		ber_free(ber, 1);
		return LDAP_ENCODING_ERROR;
	}
	ctrl.ldctl_oid = LDAP_CONTROL_SYNC;
	ctrl.ldctl_iscritical = 1;      /* a server without it must refuse, not ignore */
	rc = ldap_search_ext(ld, f->lc.base, LDAP_SCOPE_SUBTREE, "(objectClass=*)", attrs, 0,
	    ctrls, NULL, NULL, 0, msgid);
	ber_free(ber, 1);
	return rc;
}

/* Why a sync search ended: its result code and text. */
static void
result_text(LDAP *ld, LDAPMessage *m, char *why, size_t whylen)
{
	char *diag = NULL;
	int err = LDAP_OTHER;

	if (ldap_parse_result(ld, m, &err, NULL, &diag, NULL, NULL, 0) != LDAP_SUCCESS)
		err = LDAP_OTHER;
	snprintf(why, whylen, "the directory ended the sync search: %s%s%s",
	    ldap_err2string(err), diag != NULL && diag[0] ? ": " : "", diag ? diag : "");
	ldap_memfree(diag);
}

/* Reads the feed until it breaks or the feed stops; why says why it broke. */
static void
feed_follow(struct dir_feed *f, LDAP *ld, int msgid, const char *uri, char *why,
    size_t whylen)
{
	struct timeval tv;
	LDAPMessage *m;
	int rc;

	while (!feed_stopped(f)) {
		m = NULL;
		tv.tv_sec = 0;
		tv.tv_usec = FEED_POLL_MS * 1000;
		rc = ldap_result(ld, msgid, LDAP_MSG_ONE, &tv, &m);
		if (rc == 0)
			goto idle;
		if (rc < 0) {
			ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
			snprintf(why, whylen, "connection lost: %s", ldap_err2string(rc));
			return;
		}
		switch (ldap_msgtype(m)) {
		case LDAP_RES_SEARCH_ENTRY:
			feed_entry(f, ld, m);
			break;
		case LDAP_RES_INTERMEDIATE:
			/* Refresh done. What was cached while it ran may predate a change it
			 * delivered (as content, not as a change): forget it all once more. */
			if (!atomic_load(&f->up)) {
				dir_drop_all(f->dir);
				atomic_store(&f->up, 1);
				log_info("directory change feed: following %s", uri);
			}
			break;
		case LDAP_RES_SEARCH_RESULT:
			result_text(ld, m, why, whylen);
			ldap_msgfree(m);
			return;
		default:
			break;
		}
		ldap_msgfree(m);
idle:
		if (f->sessions != NULL && eg_mono_ms() - f->pruned_at_ms >= FEED_PRUNE_MS) {
			size_t pruned = 0;
			f->pruned_at_ms = eg_mono_ms();
			if (dir_sessions_prune(f->sessions, eg_now_us() / 1000000, &pruned) == EG_OK &&
			    pruned > 0)
				log_info("directory: %zu expired ended-session entr%s pruned", pruned,
				    pruned == 1 ? "y" : "ies");
		}
	}
}

/* The feed broke (or never came up): caches back on the TTL alone, said once. */
static void
feed_down(struct dir_feed *f, const char *why, int64_t backoff_ms)
{
	if (atomic_exchange(&f->up, 0)) {
		atomic_fetch_add(&f->breaks, 1);
		log_warnx("directory change feed broken: %s; changes take effect within [ldap] "
		    "cache_ttl until it is back (retrying in %lld ms)", why, (long long)backoff_ms);
	} else {
		log_debug("directory change feed: still down: %s (retrying in %lld ms)", why,
		    (long long)backoff_ms);
	}
}

static void *
feed_main(void *arg)
{
	struct dir_feed *f = arg;
	int64_t backoff = FEED_BACKOFF_MIN_MS;
	char why[2048], *uri;
	int msgid, rc, warned = 0;
	LDAP *ld;

	while (!feed_stopped(f)) {
		ld = NULL;
		uri = NULL;
		why[0] = '\0';
		rc = ldapc_connect(&f->lc, &ld, why, sizeof(why));
		if (rc == LDAP_SUCCESS && (rc = feed_search(f, ld, &msgid)) != LDAP_SUCCESS)
			snprintf(why, sizeof(why), "sync search refused: %s", ldap_err2string(rc));
		if (rc == LDAP_SUCCESS) {
			ldap_get_option(ld, LDAP_OPT_URI, &uri);
			/* Whatever changed while nobody listened: forget it all once. */
			dir_drop_all(f->dir);
			backoff = FEED_BACKOFF_MIN_MS;
			warned = 0;
			feed_follow(f, ld, msgid, uri != NULL ? uri : f->lc.uri, why, sizeof(why));
		} else if (!warned) {
			warned = 1;
			if (!atomic_load(&f->up))
				log_warnx("directory change feed: cannot follow the directory: %s; "
				    "changes take effect within [ldap] cache_ttl", why);
		}
		ldap_memfree(uri);
		if (ld != NULL)
			ldap_unbind_ext_s(ld, NULL, NULL);
		if (feed_stopped(f))
			break;
		/* The caches stay: they were fresh when the feed broke, and keep their TTL
		 * (what bounds staleness now); emptying them would turn a directory outage
		 * into refusals at once. They are emptied when the feed is back. */
		feed_down(f, why, backoff);
		if (feed_sleep(f, backoff))
			break;
		backoff = backoff * 2 > FEED_BACKOFF_MAX_MS ? FEED_BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int
dir_feed_start(const struct eg_config *cfg, struct dir_resolver *d,
    struct dir_sessions *sessions, const struct dir_feed_hooks *hooks,
    struct dir_feed **out)
{
	struct dir_feed *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (f == NULL)
		return EG_ERR_NOMEM;
	if (ldapc_init(&f->lc, cfg) != EG_OK) {
		ldapc_free(&f->lc);
		free(f);
		return EG_ERR_CONFIG;
	}
	f->dir = d;
	f->sessions = sessions;
	f->hooks = *hooks;
	f->pruned_at_ms = eg_mono_ms() - FEED_PRUNE_MS + 5000;   /* first prune after 5 s */
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
		log_warnx("directory change feed: cannot start its thread");
		pthread_mutex_destroy(&f->mu);
		pthread_cond_destroy(&f->cv);
		ldapc_free(&f->lc);
		free(f);
		return EG_ERR_INTERNAL;
	}
	*out = f;
	return EG_OK;
}

void
dir_feed_stop(struct dir_feed *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	ldapc_free(&f->lc);
	free(f);
}

void
dir_feed_stats(struct dir_feed *f, int *up, unsigned long *invalidations,
    unsigned long *breaks)
{
	*up = f != NULL ? atomic_load(&f->up) : 0;
	*invalidations = f != NULL ? atomic_load(&f->invalidations) : 0;
	*breaks = f != NULL ? atomic_load(&f->breaks) : 0;
}
