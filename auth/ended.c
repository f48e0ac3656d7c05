/*
 * ended.c - the sessions that ended before their time (session.h): by a logout, or
 * because their card was found revoked. A sealed token cannot be recalled, so the
 * gateway remembers the public ids of the ones it must refuse until their absolute
 * timeout. The access log keeps the same list durably (audit_ended_sessions), and a
 * starting gateway fills this set from it.
 *
 * A full set refuses (CACHE_REFUSE): forgetting an ended session would let it live
 * again, so the caller then refuses the logout instead (503) and says so in the log.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/cache.h"
#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/session.h"

/* Two caches: sessions by public id (the end in seconds since the epoch as the
 * deadline, nothing as the value), and people whose sessions made up to a moment all
 * ended (keyed by national number, that moment as the value). */
struct session_ends {
	struct cache *ids;
	struct cache *people;
};

int
session_ends_new(struct session_ends **out)
{
	static const struct cache_conf ids = {
		.capacity = EG_MAX_ENDED_SESSIONS, .ways = 16, .key_max = 32, .val_max = 0,
		.flags = CACHE_REFUSE,
	};
	static const struct cache_conf people = {
		.capacity = EG_MAX_ENDED_SESSIONS, .ways = 16, .key_max = EG_NRN_LEN,
		.val_max = sizeof(int64_t), .flags = CACHE_REFUSE,
	};
	struct session_ends *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (e == NULL)
		return EG_ERR_NOMEM;
	if (cache_new(&ids, &e->ids) != EG_OK || cache_new(&people, &e->people) != EG_OK) {
		session_ends_free(e);
		return EG_ERR_NOMEM;
	}
	*out = e;
	return EG_OK;
}

void
session_ends_free(struct session_ends *e)
{
	if (e == NULL)
		return;
	cache_free(e->ids);
	cache_free(e->people);
	free(e);
}

int
session_end(struct session_ends *e, const char *public_id, int64_t until, int64_t now)
{
	int rc;

	if (public_id == NULL || public_id[0] == '\0' || strlen(public_id) > 32)
		return EG_ERR_PARSE;
	rc = cache_put(e->ids, public_id, strlen(public_id), NULL, 0, until, now);
	return rc == EG_OK ? EG_OK : EG_ERR_NOMEM;
}

int
session_ended(struct session_ends *e, const char *public_id, int64_t now)
{
	if (public_id == NULL || public_id[0] == '\0' || strlen(public_id) > 32)
		return 0;
	return cache_get(e->ids, public_id, strlen(public_id), now, NULL, 0, NULL) == EG_OK;
}

int
session_end_person(struct session_ends *e, const char *nrn, int64_t before, int64_t until,
    int64_t now)
{
	int64_t had;

	if (nrn == NULL || strlen(nrn) != EG_NRN_LEN)
		return EG_ERR_PARSE;
	/* A later moment covers an earlier one; never move it back (entries may arrive
	 * out of order, e.g. the refresh of a reconnected feed after a local end). */
	if (cache_get(e->people, nrn, EG_NRN_LEN, now, &had, sizeof(had), NULL) == EG_OK &&
	    had >= before)
		return EG_OK;
	return cache_put(e->people, nrn, EG_NRN_LEN, &before, sizeof(before), until, now) ==
	    EG_OK ? EG_OK : EG_ERR_NOMEM;
}

int
session_ended_person(struct session_ends *e, const char *nrn, int64_t created, int64_t now)
{
	int64_t before;

	if (nrn == NULL || strlen(nrn) != EG_NRN_LEN)
		return 0;
	return cache_get(e->people, nrn, EG_NRN_LEN, now, &before, sizeof(before), NULL) ==
	    EG_OK && created <= before;
}
