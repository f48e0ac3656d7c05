/*
 * ocsp_cache.c - verified OCSP answers per (issuer, serial), so that a card logging in
 * again within ocsp_cache costs no network round trip, and the responders that did not
 * answer lately. Both are cache.h caches; the network I/O happens outside them (ocsp.c).
 *
 * Answers are keyed by the SHA-256 of the DER OCSP CertID (issuer name hash, issuer key
 * hash, serial), in sets of AUTH_OCSP_WAYS: a store into a full set replaces the answer
 * that expires first, so memory is bounded and nothing needs a background sweep.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/cache.h"
#include "eidgate/err.h"
#include "eidgate/util.h"
#include "auth/internal.h"

/* Answers one key may displace when its set is full. */
#define AUTH_OCSP_WAYS 8
/* A responder URL longer than this is simply not remembered as down. */
#define AUTH_OCSP_URL_MAX 255

struct ocsp_cache {
	struct cache *answers;          /* struct ocsp_answer per CertID hash */
	struct cache *down;             /* URL -> until when not to ask it (int64_t) */
	atomic_ulong errors;            /* responders that failed (for the metrics) */
};

int
ocsp_cache_new(size_t max, struct ocsp_cache **out)
{
	const struct cache_conf answers = {
		.capacity = max, .ways = AUTH_OCSP_WAYS, .key_max = 32,
		.val_max = sizeof(struct ocsp_answer),
	};
	/* One set: a new URL displaces the one whose backoff ends first. */
	static const struct cache_conf down = {
		.capacity = AUTH_OCSP_DOWN_MAX, .ways = AUTH_OCSP_DOWN_MAX,
		.key_max = AUTH_OCSP_URL_MAX, .val_max = sizeof(int64_t),
	};
	struct ocsp_cache *c = calloc(1, sizeof(*c));
	int r = EG_ERR_NOMEM;

	*out = NULL;
	if (c == NULL || (r = cache_new(&answers, &c->answers)) != EG_OK ||
	    (r = cache_new(&down, &c->down)) != EG_OK)
		ocsp_cache_free(c);
	else
		*out = c;
	return r;
}

void
ocsp_cache_free(struct ocsp_cache *c)
{
	if (c != NULL) {
		cache_free(c->answers);
		cache_free(c->down);
	}
	free(c);
}

int
ocsp_cache_get(struct ocsp_cache *c, const unsigned char key[32], struct ocsp_answer *a)
{
	struct ocsp_answer got;
	int64_t wall = eg_now_us() / 1000000;

	if (cache_get(c->answers, key, 32, eg_mono_ms(), &got, sizeof(got), NULL) != EG_OK)
		return 0;
	/* Re-checked on use against the response's own nextUpdate too: the wall clock may
	 * have moved on faster than the cache's. The stale answer stays until the fresh
	 * one the caller fetches replaces it. */
	if (got.next_update != 0 && got.next_update <= wall)
		return 0;
	*a = got;
	return 1;
}

void
ocsp_cache_put(struct ocsp_cache *c, const unsigned char key[32], const struct ocsp_answer *a,
    int64_t ttl_ms)
{
	int64_t now = eg_mono_ms();

	if (ttl_ms > 0)
		(void)cache_put(c->answers, key, 32, a, sizeof(*a), now + ttl_ms, now);
}

/* Remembers that url did not answer, so that the next logins within the backoff do not
 * each wait ocsp_timeout for it. A URL too long for the table is simply not remembered. */
void
ocsp_down_mark(struct ocsp_cache *c, const char *url)
{
	int64_t now = eg_mono_ms(), until = now + AUTH_OCSP_BACKOFF_MS;

	atomic_fetch_add(&c->errors, 1);
	(void)cache_put(c->down, url, strlen(url), &until, sizeof(until), until, now);
}

void
ocsp_cache_stats(struct ocsp_cache *c, unsigned long *hits, unsigned long *misses,
    unsigned long *errors)
{
	cache_stats(c->answers, hits, misses);
	*errors = atomic_load(&c->errors);
}

/* Milliseconds left in url's backoff, 0 when it may be asked. */
int64_t
ocsp_down_left(struct ocsp_cache *c, const char *url)
{
	int64_t now = eg_mono_ms(), until;

	if (cache_get(c->down, url, strlen(url), now, &until, sizeof(until), NULL) != EG_OK)
		return 0;
	return until - now;
}
