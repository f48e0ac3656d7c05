/*
 * snapshot.c - taking and dropping a reference on the configuration snapshot a request
 * runs under. The server loads and swaps snapshots (server/reload.c); a request keeps
 * the one it started with to its end, so a reload never changes the rules under it.
 */
#include <stdlib.h>

#include "eidgate/auth.h"
#include "eidgate/policy.h"
#include "eidgate/request.h"
#include "eidgate/signer.h"

static void
snapshot_free(struct gw_snapshot *s)
{
	auth_ctx_free(s->auth);
	policy_free(s->policy);
	signer_free(s->signer);
	free(s);
}

struct gw_snapshot *
gw_snapshot_get(struct gateway *gw)
{
	struct gw_snapshot *s;

	/* The mutex makes "load pointer, take reference" atomic against a swap that
	 * would otherwise drop the last reference in between. */
	pthread_mutex_lock(&gw->snap_mu);
	s = atomic_load(&gw->snap);
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&gw->snap_mu);
	return s;
}

void
gw_snapshot_put(struct gw_snapshot *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		snapshot_free(s);
}

