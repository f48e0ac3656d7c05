/*
 * verdict.c - a small TTL cache of certificate-chain verdicts keyed by the SHA-256 of the
 * chain (see internal.h). Fixed-size and direct-mapped: a collision only costs a
 * re-verification, never a wrong answer, since the full hash is compared.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "request/internal.h"

#define VERDICT_SLOTS 4096

struct verdict {
	unsigned char hash[32];
	int64_t expires_ms;
	int err;
	struct eg_identity id;
	char detail[160];
};

struct verdict_cache {
	pthread_mutex_t mu;
	int64_t ttl_ms;
	struct verdict slots[VERDICT_SLOTS];
};

int
verdict_cache_new(int64_t ttl_ms, struct verdict_cache **out)
{
	struct verdict_cache *vc = calloc(1, sizeof(*vc));

	*out = NULL;
	if (vc == NULL)
		return EG_ERR_NOMEM;
	if (pthread_mutex_init(&vc->mu, NULL) != 0) {
		free(vc);
		return EG_ERR_NOMEM;
	}
	vc->ttl_ms = ttl_ms;
	*out = vc;
	return EG_OK;
}

void
verdict_cache_free(struct verdict_cache *vc)
{
	if (vc == NULL)
		return;
	pthread_mutex_destroy(&vc->mu);
	free(vc);
}

static struct verdict *
slot_of(struct verdict_cache *vc, const unsigned char hash[32])
{
	unsigned idx = ((unsigned)hash[0] << 8 | hash[1]) % VERDICT_SLOTS;

	return &vc->slots[idx];
}

int
verdict_get(struct verdict_cache *vc, const unsigned char chain_hash[32], int *err,
    struct eg_identity *id, char *detail, size_t detaillen)
{
	struct verdict *v;
	int hit = 0;

	if (vc == NULL || vc->ttl_ms <= 0)
		return 0;
	pthread_mutex_lock(&vc->mu);
	v = slot_of(vc, chain_hash);
	if (v->expires_ms > eg_mono_ms() && memcmp(v->hash, chain_hash, 32) == 0) {
		*err = v->err;
		*id = v->id;
		eg_strlcpy(detail, v->detail, detaillen);
		hit = 1;
	}
	pthread_mutex_unlock(&vc->mu);
	return hit;
}

void
verdict_cache_clear(struct verdict_cache *vc)
{
	size_t i;

	if (vc == NULL)
		return;
	pthread_mutex_lock(&vc->mu);
	for (i = 0; i < VERDICT_SLOTS; i++)
		vc->slots[i].expires_ms = 0;
	pthread_mutex_unlock(&vc->mu);
}

void
verdict_put(struct verdict_cache *vc, const unsigned char chain_hash[32], int err,
    const struct eg_identity *id, const char *detail)
{
	struct verdict *v;

	if (vc == NULL || vc->ttl_ms <= 0)
		return;
	pthread_mutex_lock(&vc->mu);
	v = slot_of(vc, chain_hash);
	memcpy(v->hash, chain_hash, 32);
	v->expires_ms = eg_mono_ms() + vc->ttl_ms;
	v->err = err;
	v->id = *id;
	eg_strlcpy(v->detail, detail, sizeof(v->detail));
	pthread_mutex_unlock(&vc->mu);
}
