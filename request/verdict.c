/*
 * verdict.c - verdicts on client certificate chains (request.h), kept in a cache.h cache
 * keyed by the chain's SHA-256. Direct-mapped, as a verdict costs one re-verification
 * when two chains meet in a slot and never a wrong answer (the whole hash is the key);
 * a slot has its own lock, so new connections on different threads do not wait for
 * each other.
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/cache.h"
#include "eidgate/err.h"
#include "eidgate/util.h"
#include "request/internal.h"

#define VERDICT_SLOTS 4096

/* What the cache holds per chain. */
struct verdict {
	int err;
	uint64_t gen;           /* auth_revocation_generation() it was made under */
	char detail[160];
	struct eg_identity id;
};

struct verdict_cache {
	struct cache *c;
	int64_t ttl_ms;
};

int
verdict_cache_new(int64_t ttl_ms, struct verdict_cache **out)
{
	static const struct cache_conf conf = {
		.capacity = VERDICT_SLOTS, .ways = 1, .key_max = 32,
		.val_max = sizeof(struct verdict),
	};
	struct verdict_cache *vc = calloc(1, sizeof(*vc));
	int r = EG_ERR_NOMEM;

	*out = NULL;
	if (vc == NULL || (r = cache_new(&conf, &vc->c)) != EG_OK) {
		free(vc);
		return r;
	}
	vc->ttl_ms = ttl_ms;
	*out = vc;
	return EG_OK;
}

void
verdict_cache_free(struct verdict_cache *vc)
{
	if (vc != NULL)
		cache_free(vc->c);
	free(vc);
}

int
verdict_get(struct verdict_cache *vc, const unsigned char chain_hash[32], uint64_t gen,
    int *err, struct eg_identity *id, char *detail, size_t detaillen)
{
	struct verdict v;

	if (vc == NULL || vc->ttl_ms <= 0 ||
	    cache_get(vc->c, chain_hash, 32, eg_mono_ms(), &v, sizeof(v), NULL) != EG_OK ||
	    v.gen != gen)
		return 0;
	*err = v.err;
	*id = v.id;
	eg_strlcpy(detail, v.detail, detaillen);
	return 1;
}

void
verdict_cache_clear(struct verdict_cache *vc)
{
	if (vc != NULL)
		cache_clear(vc->c);
}

void
verdict_put(struct verdict_cache *vc, const unsigned char chain_hash[32], uint64_t gen,
    int err, const struct eg_identity *id, const char *detail)
{
	struct verdict v;
	int64_t now = eg_mono_ms();

	if (vc == NULL || vc->ttl_ms <= 0)
		return;
	memset(&v, 0, sizeof(v));
	v.err = err;
	v.gen = gen;
	v.id = *id;
	eg_strlcpy(v.detail, detail, sizeof(v.detail));
	(void)cache_put(vc->c, chain_hash, 32, &v, sizeof(v), now + vc->ttl_ms, now);
}
