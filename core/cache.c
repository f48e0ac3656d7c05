/*
 * cache.c - the set-associative TTL cache of cache.h.
 *
 * All slots are one array allocated by cache_new, set after set, so that a lookup
 * touches one set's mutex and its slots and nothing else: the verdict and assertion
 * caches are read on every request from every event-loop thread. A slot is a header,
 * then the value (val_max bytes, or a pointer with CACHE_REFS: first, so that it is
 * aligned), then the key (key_max bytes). The key's 64-bit hash is kept in the header
 * so that most mismatches are decided without reading the key.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/cache.h"
#include "eidgate/err.h"
#include "eidgate/util.h"

struct slot {
	uint64_t hash;
	int64_t expires;
	uint32_t klen;                  /* 0: empty */
	uint32_t vlen;
	unsigned char data[];           /* value area, then key_max bytes of key */
};

/* One per set, each on its own cache line so that threads working on neighbouring
 * sets do not slow each other down. The counters are atomic only so that cache_stats
 * may read them without the lock; they are written under it. */
struct set {
	alignas(64) pthread_mutex_t mu;
	atomic_ulong hits, misses;
};

struct cache {
	size_t nsets, ways, key_max, val_max, val_area, slot_size;
	unsigned flags;
	struct set *sets;
	unsigned char *slots;
};

/* The header of a reference-counted block; the caller sees only data. */
struct ref {
	atomic_int refs;
	max_align_t data[];
};

/* ---- slots ------------------------------------------------------------------------- */

static struct slot *
slot_at(const struct cache *c, size_t set, size_t way)
{
	return (struct slot *)(void *)(c->slots + (set * c->ways + way) * c->slot_size);
}

static unsigned char *
slot_key(const struct cache *c, struct slot *s)
{
	return s->data + c->val_area;
}

static const void *
slot_ref(const struct slot *s)
{
	const void *ref;

	memcpy(&ref, s->data, sizeof(ref));
	return ref;
}

static uint64_t
key_hash(const void *key, size_t klen)
{
	uint64_t h = eg_fnv1a(EG_FNV1A_INIT, key, klen);

	/* FNV only mixes upwards; the set index takes the low bits. */
	return h ^ (h >> 32);
}

static size_t
set_of(const struct cache *c, uint64_t h)
{
	return (size_t)(h % c->nsets);
}

static int
key_fits(const struct cache *c, size_t klen)
{
	return klen > 0 && klen <= c->key_max;
}

/* The slot of key in set, live or dead, or NULL. */
static struct slot *
find(const struct cache *c, size_t set, uint64_t h, const void *key, size_t klen)
{
	size_t w;

	for (w = 0; w < c->ways; w++) {
		struct slot *s = slot_at(c, set, w);
		if (s->klen == klen && s->hash == h && memcmp(slot_key(c, s), key, klen) == 0)
			return s;
	}
	return NULL;
}

/* Where a new key goes in set: an empty slot, else an expired one, else (unless the
 * cache refuses) the one with the earliest deadline; NULL when the cache refuses. */
static struct slot *
victim(const struct cache *c, size_t set, int64_t now)
{
	struct slot *v = slot_at(c, set, 0);
	size_t w;

	for (w = 0; w < c->ways; w++) {
		struct slot *s = slot_at(c, set, w);
		if (s->klen == 0)
			return s;
		if (s->expires < v->expires)
			v = s;
	}
	if (v->expires > now && (c->flags & CACHE_REFUSE))
		return NULL;
	return v;
}

/* Empties s; returns the reference it held (to release once the set is unlocked), or
 * NULL. Wiped as the cache says: only the bytes in use, which is all that can hold
 * anything (a slot starts zeroed and every store overwrites from the start). */
static const void *
slot_drop(const struct cache *c, struct slot *s)
{
	const void *ref = NULL;

	if (s->klen == 0)
		return NULL;
	if (c->flags & CACHE_REFS)
		ref = slot_ref(s);
	else if (c->flags & CACHE_WIPE)
		explicit_bzero(s->data, s->vlen);
	if (c->flags & CACHE_WIPE)
		explicit_bzero(slot_key(c, s), s->klen);
	s->hash = 0;
	s->expires = 0;
	s->klen = 0;
	s->vlen = 0;
	return ref;
}

/* ---- life cycle -------------------------------------------------------------------- */

static int
conf_valid(const struct cache_conf *conf)
{
	return conf->capacity > 0 && conf->ways > 0 && conf->ways <= conf->capacity &&
	    conf->key_max > 0 && conf->key_max <= CACHE_MAX_KEY &&
	    ((conf->flags & CACHE_REFS) || conf->val_max <= CACHE_MAX_VALUE);
}

/* Makes the sets' mutexes; on failure none is left made. */
static int
sets_init(struct cache *c)
{
	size_t i;

	for (i = 0; i < c->nsets; i++) {
		if (pthread_mutex_init(&c->sets[i].mu, NULL) != 0) {
			while (i-- > 0)
				pthread_mutex_destroy(&c->sets[i].mu);
			return EG_ERR_NOMEM;
		}
		atomic_init(&c->sets[i].hits, 0);
		atomic_init(&c->sets[i].misses, 0);
	}
	return EG_OK;
}

int
cache_new(const struct cache_conf *conf, struct cache **out)
{
	struct cache *c = NULL;
	size_t nslots, setbytes;
	int r = EG_ERR_NOMEM;

	*out = NULL;
	if (!conf_valid(conf))
		return EG_ERR_USAGE;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return EG_ERR_NOMEM;
	c->ways = conf->ways;
	c->nsets = (conf->capacity + conf->ways - 1) / conf->ways;
	c->key_max = conf->key_max;
	c->flags = conf->flags;
	c->val_max = (c->flags & CACHE_REFS) ? 0 : conf->val_max;
	c->val_area = (c->flags & CACHE_REFS) ? sizeof(void *) : conf->val_max;
	c->slot_size = sizeof(struct slot) + c->val_area + c->key_max;
	c->slot_size = (c->slot_size + alignof(struct slot) - 1) & ~(alignof(struct slot) - 1);
	nslots = c->nsets * c->ways;
	setbytes = c->nsets * sizeof(struct set);
	if (nslots > SIZE_MAX / c->slot_size || c->nsets > SIZE_MAX / sizeof(struct set))
		goto fail;
	if ((c->slots = calloc(nslots, c->slot_size)) == NULL ||
	    (c->sets = aligned_alloc(alignof(struct set), setbytes)) == NULL)
		goto fail;
	memset(c->sets, 0, setbytes);
	if ((r = sets_init(c)) != EG_OK)
		goto fail;
	*out = c;
	return EG_OK;
fail:
	free(c->slots);
	free(c->sets);
	free(c);
	return r;
}

void
cache_clear(struct cache *c)
{
	size_t i, w;

	for (i = 0; i < c->nsets; i++) {
		pthread_mutex_lock(&c->sets[i].mu);
		for (w = 0; w < c->ways; w++)
			cache_ref_put(slot_drop(c, slot_at(c, i, w)));
		pthread_mutex_unlock(&c->sets[i].mu);
	}
}

void
cache_free(struct cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	cache_clear(c);
	for (i = 0; i < c->nsets; i++)
		pthread_mutex_destroy(&c->sets[i].mu);
	free(c->sets);
	free(c->slots);
	free(c);
}

/* ---- lookups ----------------------------------------------------------------------- */

/* Adds one to a set's counter; the set is locked, so no atomic read-modify-write (a
 * locked instruction on every request) is needed, only a store cache_stats can read. */
static void
count(atomic_ulong *n)
{
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
	    memory_order_relaxed);
}

/* The live slot of key in its (locked) set, or NULL; counts the hit or miss. */
static struct slot *
lookup(struct cache *c, size_t set, uint64_t h, const void *key, size_t klen, int64_t now)
{
	struct slot *s = key_fits(c, klen) ? find(c, set, h, key, klen) : NULL;

	if (s != NULL && s->expires <= now)
		s = NULL;
	count(s != NULL ? &c->sets[set].hits : &c->sets[set].misses);
	return s;
}

int
cache_get(struct cache *c, const void *key, size_t klen, int64_t now, void *val,
    size_t valsize, size_t *vlen)
{
	uint64_t h = key_hash(key, klen);
	size_t set = set_of(c, h);
	struct slot *s;
	int r = EG_ERR_NOT_FOUND;

	if (c->flags & CACHE_REFS)
		return EG_ERR_USAGE;
	pthread_mutex_lock(&c->sets[set].mu);
	if ((s = lookup(c, set, h, key, klen, now)) != NULL) {
		r = EG_ERR_TOO_LONG;
		if (s->vlen <= valsize) {
			if (s->vlen > 0)
				memcpy(val, s->data, s->vlen);
			if (vlen != NULL)
				*vlen = s->vlen;
			r = EG_OK;
		}
	}
	pthread_mutex_unlock(&c->sets[set].mu);
	return r;
}

int
cache_get_ref(struct cache *c, const void *key, size_t klen, int64_t now,
    const void **ref)
{
	uint64_t h = key_hash(key, klen);
	size_t set = set_of(c, h);
	struct slot *s;

	*ref = NULL;
	if (!(c->flags & CACHE_REFS))
		return EG_ERR_USAGE;
	pthread_mutex_lock(&c->sets[set].mu);
	if ((s = lookup(c, set, h, key, klen, now)) != NULL) {
		*ref = slot_ref(s);
		/* Under the lock: the cache's own reference cannot be dropped meanwhile. */
		cache_ref_get(*ref);
	}
	pthread_mutex_unlock(&c->sets[set].mu);
	return *ref != NULL ? EG_OK : EG_ERR_NOT_FOUND;
}

/* ---- stores ------------------------------------------------------------------------ */

/* What one store writes: the value is copied from val, or is the reference ref. */
struct store {
	const void *key;
	size_t klen;
	const void *val;
	size_t vlen;
	const void *ref;
	int64_t expires, now;
	int only_new;                   /* cache_add */
};

/* Fills the (empty) slot s with st; takes the cache's reference for a CACHE_REFS one. */
static void
slot_fill(const struct cache *c, struct slot *s, uint64_t h, const struct store *st)
{
	if (c->flags & CACHE_REFS) {
		cache_ref_get(st->ref);
		memcpy(s->data, &st->ref, sizeof(st->ref));
	} else if (st->vlen > 0) {
		memcpy(s->data, st->val, st->vlen);
	}
	memcpy(slot_key(c, s), st->key, st->klen);
	s->hash = h;
	s->expires = st->expires;
	s->klen = (uint32_t)st->klen;
	s->vlen = (uint32_t)st->vlen;
}

static int
store(struct cache *c, const struct store *st)
{
	uint64_t h = key_hash(st->key, st->klen);
	size_t set = set_of(c, h);
	const void *old = NULL;
	struct slot *s;
	int r = EG_OK;

	if (!key_fits(c, st->klen) || st->vlen > c->val_max)
		return EG_ERR_TOO_LONG;
	pthread_mutex_lock(&c->sets[set].mu);
	if ((s = find(c, set, h, st->key, st->klen)) != NULL) {
		if (st->only_new && s->expires > st->now)
			r = EG_ERR_EXISTS;
	} else if ((s = victim(c, set, st->now)) == NULL) {
		r = EG_ERR_FULL;
	}
	if (r == EG_OK) {
		old = slot_drop(c, s);
		slot_fill(c, s, h, st);
	}
	pthread_mutex_unlock(&c->sets[set].mu);
	/* Outside the lock: the last reference frees the block. */
	cache_ref_put(old);
	return r;
}

int
cache_put(struct cache *c, const void *key, size_t klen, const void *val, size_t vlen,
    int64_t expires, int64_t now)
{
	struct store st = { key, klen, val, vlen, NULL, expires, now, 0 };

	return (c->flags & CACHE_REFS) ? EG_ERR_USAGE : store(c, &st);
}

int
cache_add(struct cache *c, const void *key, size_t klen, const void *val, size_t vlen,
    int64_t expires, int64_t now)
{
	struct store st = { key, klen, val, vlen, NULL, expires, now, 1 };

	return (c->flags & CACHE_REFS) ? EG_ERR_USAGE : store(c, &st);
}

int
cache_put_ref(struct cache *c, const void *key, size_t klen, const void *ref,
    int64_t expires, int64_t now)
{
	struct store st = { key, klen, NULL, 0, ref, expires, now, 0 };

	return (c->flags & CACHE_REFS) && ref != NULL ? store(c, &st) : EG_ERR_USAGE;
}

int
cache_del(struct cache *c, const void *key, size_t klen)
{
	uint64_t h = key_hash(key, klen);
	size_t set = set_of(c, h);
	const void *old = NULL;
	struct slot *s;
	int r = EG_ERR_NOT_FOUND;

	if (!key_fits(c, klen))
		return EG_ERR_NOT_FOUND;
	pthread_mutex_lock(&c->sets[set].mu);
	if ((s = find(c, set, h, key, klen)) != NULL) {
		old = slot_drop(c, s);
		r = EG_OK;
	}
	pthread_mutex_unlock(&c->sets[set].mu);
	cache_ref_put(old);
	return r;
}

size_t
cache_del_if(struct cache *c, cache_pred_fn pred, void *arg)
{
	size_t i, w, n = 0;

	for (i = 0; i < c->nsets; i++) {
		pthread_mutex_lock(&c->sets[i].mu);
		for (w = 0; w < c->ways; w++) {
			struct slot *s = slot_at(c, i, w);
			const void *val = (c->flags & CACHE_REFS) ? slot_ref(s) : s->data;
			if (s->klen == 0 || !pred(slot_key(c, s), s->klen, val, s->vlen, arg))
				continue;
			/* Released under the lock: at most a free(), never a call back. */
			cache_ref_put(slot_drop(c, s));
			n++;
		}
		pthread_mutex_unlock(&c->sets[i].mu);
	}
	return n;
}

void
cache_stats(struct cache *c, unsigned long *hits, unsigned long *misses)
{
	unsigned long h = 0, m = 0;
	size_t i;

	for (i = 0; i < c->nsets; i++) {
		h += atomic_load_explicit(&c->sets[i].hits, memory_order_relaxed);
		m += atomic_load_explicit(&c->sets[i].misses, memory_order_relaxed);
	}
	if (hits != NULL)
		*hits = h;
	if (misses != NULL)
		*misses = m;
}

/* ---- reference-counted blocks ------------------------------------------------------ */

static struct ref *
ref_of(const void *p)
{
	return (struct ref *)(void *)((char *)(uintptr_t)p - offsetof(struct ref, data));
}

void *
cache_ref_alloc(size_t size)
{
	struct ref *r;

	if (size > SIZE_MAX - sizeof(*r) || (r = calloc(1, sizeof(*r) + size)) == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	return r->data;
}

void
cache_ref_get(const void *ref)
{
	atomic_fetch_add_explicit(&ref_of(ref)->refs, 1, memory_order_relaxed);
}

void
cache_ref_put(const void *ref)
{
	struct ref *r;

	if (ref == NULL)
		return;
	r = ref_of(ref);
	/* acq_rel: the freeing thread must see every other holder's reads finished. */
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
		free(r);
}
