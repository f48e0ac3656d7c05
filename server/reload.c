/*
 * reload.c - one immutable configuration snapshot, swapped whole on SIGHUP: requests in
 * flight finish under the snapshot they started with, new ones take the new one.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/signer.h"
#include "eidgate/request.h"
#include "server/internal.h"

static void
policy_diag_emit(void *arg, int is_error, const char *file, int line, const char *msg)
{
	(void)arg;
	log_warnx("%s:%d: %s: %s", file, line, is_error ? "error" : "warning", msg);
}

/* A backend declared subject=pseudonym needs [assertion] pseudonym_key_file: caught
 * here rather than as a 503 on every request to it. */
static int
pseudonyms_missing(const struct gw_snapshot *s)
{
	size_t i;

	if (s->cfg.pseudonym_key[0] != '\0')
		return 0;
	for (i = 0; i < policy_backend_count(s->policy); i++)
		if (policy_backend_at(s->policy, i)->subject == POLICY_SUBJECT_PSEUDONYM) {
			log_warnx("%s: backend %s has subject=pseudonym but [assertion] "
			    "pseudonym_key_file is not set", s->cfg.policy_file,
			    policy_backend_at(s->policy, i)->name);
			return 1;
		}
	return 0;
}

int
snapshot_load(const char *config_path, struct keys *keys, struct gw_snapshot **out)
{
	struct policy_diag pd = { policy_diag_emit, NULL };
	struct gw_snapshot *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return EG_ERR_NOMEM;
	atomic_init(&s->refs, 1);
	if (config_load(config_path, &s->cfg, NULL) != EG_OK ||
	    auth_ctx_new(&s->cfg, &s->auth) != EG_OK ||
	    policy_load(s->cfg.policy_file, &s->policy, &pd) != EG_OK ||
	    signer_new(keys, &s->signer) != EG_OK || pseudonyms_missing(s)) {
		gw_snapshot_put(s);
		return EG_ERR_CONFIG;
	}
	*out = s;
	return EG_OK;
}

void
snapshot_swap(struct gateway *gw, struct gw_snapshot *next)
{
	struct gw_snapshot *old;

	pthread_mutex_lock(&gw->snap_mu);
	next->gen = atomic_load(&gw->snap)->gen + 1;
	old = atomic_exchange(&gw->snap, next);
	pthread_mutex_unlock(&gw->snap_mu);
	gw_snapshot_put(old);
	/* Verdicts were made under the old trust anchors and revocation settings. */
	verdict_cache_clear(gw->verdicts);
	verdict_cache_clear(gw->card_checks);
}
