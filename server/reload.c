/*
 * reload.c - one immutable configuration snapshot, swapped whole on SIGHUP: requests in
 * flight finish under the snapshot they started with, new ones take the new one.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/session.h"
#include "eidgate/signer.h"
#include "eidgate/request.h"
#include "server/internal.h"

/*
 * The keys read as root at start. After the privilege drop (privilege.c) root's 0600 key
 * files are out of the gateway's reach, so a reload keeps these while the configuration
 * names the same files; a configuration naming another file makes the reload read that
 * one (and fail, keeping the running snapshot, when the service user cannot). Changing
 * a key at the same path takes a restart. Set once before the event loops start; only
 * the main thread loads snapshots (start and SIGHUP), so no lock.
 */
static struct {
	char signer_path[sizeof(((struct eg_config *)0)->assertion_key)];
	char session_path[sizeof(((struct eg_config *)0)->session_key_file)];
	struct signer *signer;
	struct session_key *session;
} kept;

static void
kept_free(void)
{
	signer_free(kept.signer);
	session_key_free(kept.session);
	memset(&kept, 0, sizeof(kept));
}

int
snapshot_keep_keys(const struct gw_snapshot *s)
{
	if (kept.signer != NULL)
		return EG_OK;
	if (signer_dup(s->signer, &kept.signer) != EG_OK ||
	    session_key_dup(s->session, &kept.session) != EG_OK) {
		kept_free();
		return EG_ERR_NOMEM;
	}
	memcpy(kept.signer_path, s->cfg.assertion_key, sizeof(kept.signer_path));
	memcpy(kept.session_path, s->cfg.session_key_file, sizeof(kept.session_path));
	atexit(kept_free);      /* the session key is wiped at exit, not left in memory */
	return EG_OK;
}

static int
load_keys(struct gw_snapshot *s)
{
	int r;

	if (kept.signer != NULL && strcmp(kept.signer_path, s->cfg.assertion_key) == 0)
		r = signer_dup(kept.signer, &s->signer);
	else
		r = signer_load(s->cfg.assertion_key, &s->signer);
	if (r != EG_OK)
		return r;
	if (kept.session != NULL && strcmp(kept.session_path, s->cfg.session_key_file) == 0)
		return session_key_dup(kept.session, &s->session);
	return session_key_load(s->cfg.session_key_file, &s->session);
}

static void
policy_diag_emit(void *arg, int is_error, const char *file, int line, const char *msg)
{
	(void)arg;
	log_warnx("%s:%d: %s: %s", file, line, is_error ? "error" : "warning", msg);
}

int
snapshot_load(const char *config_path, struct gw_snapshot **out)
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
	    load_keys(s) != EG_OK) {
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
