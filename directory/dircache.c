/*
 * dircache.c - a small TTL cache for directory answers.
 *
 * Entries are immutable once stored and reference-counted, so a request keeps using the
 * answer it got while another thread replaces or expires it. One mutex guards the table:
 * lookups are short (a hash and a compare) and far cheaper than the LDAP round trip
 * they save.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/util.h"
#include "directory/internal.h"

#define DCACHE_BUCKETS 4096

struct dref {
	atomic_int refs;
	int pad;
	/* followed by the entry, aligned for any type */
	max_align_t data[];
};

struct dslot {
	struct dslot *next;
	char key[96];
	int64_t expires_ms;
	const void *entry;
};

struct dcache {
	pthread_mutex_t mu;
	int64_t ttl_ms;
	struct dslot *buckets[DCACHE_BUCKETS];
};

static struct dref *
ref_of(const void *entry)
{
	return (struct dref *)(void *)((char *)(uintptr_t)entry - offsetof(struct dref, data));
}

void *
dref_alloc(size_t size)
{
	struct dref *r = calloc(1, sizeof(*r) + size);

	if (r == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	return r->data;
}

void
dref_get(const void *entry)
{
	atomic_fetch_add(&ref_of(entry)->refs, 1);
}

void
dref_put(const void *entry)
{
	struct dref *r;

	if (entry == NULL)
		return;
	r = ref_of(entry);
	if (atomic_fetch_sub(&r->refs, 1) == 1)
		free(r);
}

static unsigned
hash_key(const char *s)
{
	return (unsigned)(eg_fnv1a(EG_FNV1A_INIT, s, strlen(s)) % DCACHE_BUCKETS);
}

struct dcache *
dcache_new(int64_t ttl_ms)
{
	struct dcache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->ttl_ms = ttl_ms;
	return c;
}

void
dcache_free(struct dcache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < DCACHE_BUCKETS; i++) {
		struct dslot *s = c->buckets[i], *next;
		for (; s != NULL; s = next) {
			next = s->next;
			dref_put(s->entry);
			free(s);
		}
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

const void *
dcache_get(struct dcache *c, const char *key)
{
	const void *found = NULL;
	struct dslot *s;
	int64_t now = eg_mono_ms();

	pthread_mutex_lock(&c->mu);
	for (s = c->buckets[hash_key(key)]; s != NULL; s = s->next) {
		if (strcmp(s->key, key) == 0) {
			if (s->expires_ms > now) {
				found = s->entry;
				dref_get(found);
			}
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

void
dcache_put(struct dcache *c, const char *key, const void *entry)
{
	unsigned b = hash_key(key);
	struct dslot *s;
	const void *old = NULL;

	if (c->ttl_ms <= 0 || strlen(key) >= sizeof(s->key))
		return;
	dref_get(entry);
	pthread_mutex_lock(&c->mu);
	for (s = c->buckets[b]; s != NULL; s = s->next)
		if (strcmp(s->key, key) == 0)
			break;
	if (s == NULL && (s = calloc(1, sizeof(*s))) != NULL) {
		eg_strlcpy(s->key, key, sizeof(s->key));
		s->next = c->buckets[b];
		c->buckets[b] = s;
	}
	if (s != NULL) {
		old = s->entry;
		s->entry = entry;
		s->expires_ms = eg_mono_ms() + c->ttl_ms;
	} else {
		old = entry;            /* out of memory: do not cache */
	}
	pthread_mutex_unlock(&c->mu);
	dref_put(old);
}

void
dcache_del(struct dcache *c, const char *key)
{
	struct dslot **pp, *s;
	const void *old = NULL;

	pthread_mutex_lock(&c->mu);
	for (pp = &c->buckets[hash_key(key)]; (s = *pp) != NULL; pp = &s->next) {
		if (strcmp(s->key, key) == 0) {
			*pp = s->next;
			old = s->entry;
			free(s);
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	dref_put(old);
}
