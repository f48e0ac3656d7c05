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

/* A struct session_ends is the struct cache holding them (keyed by public id, the end
 * in seconds since the epoch as the deadline, nothing as the value). */

int
session_ends_new(struct session_ends **out)
{
	static const struct cache_conf conf = {
		.capacity = EG_MAX_ENDED_SESSIONS, .ways = 16, .key_max = 32, .val_max = 0,
		.flags = CACHE_REFUSE,
	};

	return cache_new(&conf, (struct cache **)(void *)out);
}

void
session_ends_free(struct session_ends *e)
{
	cache_free((struct cache *)(void *)e);
}

int
session_end(struct session_ends *e, const char *public_id, int64_t until, int64_t now)
{
	int rc;

	if (public_id == NULL || public_id[0] == '\0' || strlen(public_id) > 32)
		return EG_ERR_PARSE;
	rc = cache_put((struct cache *)(void *)e, public_id, strlen(public_id), NULL, 0, until,
	    now);
	return rc == EG_OK ? EG_OK : EG_ERR_NOMEM;
}

int
session_ended(struct session_ends *e, const char *public_id, int64_t now)
{
	if (public_id == NULL || public_id[0] == '\0' || strlen(public_id) > 32)
		return 0;
	return cache_get((struct cache *)(void *)e, public_id, strlen(public_id), now, NULL, 0,
	    NULL) == EG_OK;
}
