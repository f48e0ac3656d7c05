/*
 * ocsp_cache.c - verified OCSP answers per (issuer, serial), so that a card logging in
 * again within ocsp_cache costs no network round trip.
 *
 * A fixed open-addressing table: the key is SHA-256 of the DER OCSP CertID (issuer name
 * hash, issuer key hash, serial); a lookup probes AUTH_OCSP_PROBE slots. Inserting into a
 * full probe window overwrites the entry that expires first, so memory is bounded and
 * nothing needs a background sweep. One mutex, held only for the copy in or out: the
 * network I/O happens outside it (ocsp.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "auth/internal.h"

#define AUTH_OCSP_PROBE 8

struct ocsp_entry {
	unsigned char key[32];
	int64_t expires_ms;             /* monotonic; 0 = empty slot */
	struct ocsp_answer a;
};

/* A responder that did not answer, remembered for AUTH_OCSP_BACKOFF_MS. */
struct ocsp_down {
	char url[256];
	int64_t until_ms;               /* monotonic; 0 = free */
};

struct ocsp_cache {
	pthread_mutex_t mu;
	size_t n;
	struct ocsp_entry *e;
	struct ocsp_down down[AUTH_OCSP_DOWN_MAX];
};

int
ocsp_cache_new(size_t max, struct ocsp_cache **out)
{
	struct ocsp_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return EG_ERR_NOMEM;
	if ((c->e = calloc(max, sizeof(*c->e))) == NULL || pthread_mutex_init(&c->mu, NULL)) {
		free(c->e);
		free(c);
		return EG_ERR_NOMEM;
	}
	c->n = max;
	*out = c;
	return EG_OK;
}

void
ocsp_cache_free(struct ocsp_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->e);
	free(c);
}

static size_t
slot_of(const struct ocsp_cache *c, const unsigned char key[32])
{
	size_t h;

	memcpy(&h, key, sizeof(h));     /* the key is a hash already */
	return h % c->n;
}

int
ocsp_cache_get(struct ocsp_cache *c, const unsigned char key[32], struct ocsp_answer *a)
{
	int64_t now = eg_mono_ms(), wall = eg_now_us() / 1000000;
	size_t i, s = slot_of(c, key);
	int hit = 0;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < AUTH_OCSP_PROBE; i++) {
		struct ocsp_entry *e = &c->e[(s + i) % c->n];
		if (e->expires_ms == 0 || memcmp(e->key, key, 32) != 0)
			continue;
		/* Re-check on use: the cache lifetime and the response's own nextUpdate. */
		if (e->expires_ms > now && (e->a.next_update == 0 || e->a.next_update > wall)) {
			*a = e->a;
			hit = 1;
		} else {
			e->expires_ms = 0;
		}
		break;
	}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

/* The slot for key: its own older entry, else the one that expires first in the probe
 * window (an empty slot has expires_ms 0, an expired one lies in the past). */
static size_t
victim_of(const struct ocsp_cache *c, const unsigned char key[32])
{
	size_t i, s = slot_of(c, key), v = s;

	for (i = 0; i < AUTH_OCSP_PROBE; i++) {
		const struct ocsp_entry *e = &c->e[(s + i) % c->n];
		if (e->expires_ms != 0 && memcmp(e->key, key, 32) == 0)
			return (s + i) % c->n;
	}
	for (i = 1; i < AUTH_OCSP_PROBE; i++)
		if (c->e[(s + i) % c->n].expires_ms < c->e[v].expires_ms)
			v = (s + i) % c->n;
	return v;
}

void
ocsp_cache_put(struct ocsp_cache *c, const unsigned char key[32], const struct ocsp_answer *a,
    int64_t ttl_ms)
{
	struct ocsp_entry *e;

	if (ttl_ms <= 0)
		return;
	pthread_mutex_lock(&c->mu);
	e = &c->e[victim_of(c, key)];
	memcpy(e->key, key, 32);
	e->a = *a;
	e->expires_ms = eg_mono_ms() + ttl_ms;
	pthread_mutex_unlock(&c->mu);
}

/* Remembers that url did not answer, so that the next logins within the backoff do not
 * each wait ocsp_timeout for it. A URL too long for the table is simply not remembered. */
void
ocsp_down_mark(struct ocsp_cache *c, const char *url)
{
	int64_t now = eg_mono_ms();
	size_t i, v = 0;

	if (strlen(url) >= sizeof(c->down[0].url))
		return;
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < AUTH_OCSP_DOWN_MAX; i++) {
		if (strcmp(c->down[i].url, url) == 0) {
			v = i;
			break;
		}
		if (c->down[i].until_ms < c->down[v].until_ms)
			v = i;
	}
	eg_strlcpy(c->down[v].url, url, sizeof(c->down[v].url));
	c->down[v].until_ms = now + AUTH_OCSP_BACKOFF_MS;
	pthread_mutex_unlock(&c->mu);
}

/* Milliseconds left in url's backoff, 0 when it may be asked. */
int64_t
ocsp_down_left(struct ocsp_cache *c, const char *url)
{
	int64_t now = eg_mono_ms(), left = 0;
	size_t i;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < AUTH_OCSP_DOWN_MAX; i++)
		if (c->down[i].until_ms > now && strcmp(c->down[i].url, url) == 0)
			left = c->down[i].until_ms - now;
	pthread_mutex_unlock(&c->mu);
	return left;
}
