/*
 * cache.h - the one TTL cache of eidgate (core/cache.c): verdicts on client chains
 * (request/verdict.c), OCSP answers and silent responders (auth/ocsp_cache.c), directory
 * entries (directory/directory.c), signed assertions (forward/assertion.c) and used login
 * challenges (auth/challenge.c) are all kept in one.
 *
 * Model. A cache maps byte keys (1 to key_max bytes; a fixed-size hash or a string
 * without its NUL) to values, each entry with its own deadline. It is a set-associative
 * table: `capacity` slots in sets of `ways` slots, a key's set chosen by its hash. Memory
 * is allocated once, by cache_new, and never grows: a lookup and a store allocate
 * nothing, and copy at most one key and one value.
 *
 * Values are of one of two kinds, chosen at creation:
 *  - copied (the default): up to val_max bytes copied in by cache_put and out by
 *    cache_get; the caller never sees the cache's memory.
 *  - references (CACHE_REFS): immutable blocks made by cache_ref_alloc and counted. The
 *    cache holds one reference per entry and cache_get_ref hands out another, so a value
 *    stays valid for as long as its holder keeps the reference, whether or not the
 *    entry was replaced, deleted or evicted since.
 *
 * Time. Deadlines and the `now` passed to each call are numbers on one clock of the
 * caller's choosing, which it must never mix within one cache (eidgate uses
 * eg_mono_ms(), except the challenge store, whose challenges carry wall-clock seconds).
 * An entry is live while now < its deadline; a lookup never returns a dead one. Dead
 * entries are not swept: their slots are reused by later stores.
 *
 * When a set is full. A store into a set whose slots all hold other keys takes the slot
 * with the earliest deadline (an expired entry first: its deadline lies before every
 * live one), unless the cache was made with CACHE_REFUSE; then it takes only an empty or
 * expired slot and otherwise refuses with EG_ERR_FULL, so that a live entry is never
 * forgotten (the challenge store: forgetting a used challenge would allow a replay).
 * With ways == capacity the cache is one set: a refusal then means capacity live
 * entries, and every call scans all of them.
 *
 * Secrets. With CACHE_WIPE every key and value is wiped (explicit_bzero) when its entry
 * is replaced, evicted, deleted, cleared or freed.
 *
 * Threads. Every function but cache_free may be called from any thread at any time.
 * Each set has its own mutex, held only while a call scans the set and copies one entry:
 * calls on different sets never wait for each other. cache_clear and cache_stats visit
 * the sets one after the other, so they are not atomic against concurrent stores.
 * Reference counting is atomic: cache_ref_get and cache_ref_put need no lock.
 */
#ifndef EIDGATE_CACHE_H
#define EIDGATE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;

/* cache_conf.flags */
#define CACHE_REFS      0x1     /* values are references (cache_ref_alloc), not copies */
#define CACHE_WIPE      0x2     /* wipe keys and values when they leave the cache */
#define CACHE_REFUSE    0x4     /* a full set refuses a store (EG_ERR_FULL) instead of
                                 * evicting the entry with the earliest deadline */

/* The largest key_max and val_max cache_new accepts. */
#define CACHE_MAX_KEY   (64 * 1024)
#define CACHE_MAX_VALUE (1024 * 1024)

struct cache_conf {
	size_t capacity;        /* slots in all; rounded up to a multiple of ways */
	size_t ways;            /* slots per set: 1 is direct-mapped, capacity one set */
	size_t key_max;         /* longest key, in bytes (1..CACHE_MAX_KEY) */
	size_t val_max;         /* longest copied value (0..CACHE_MAX_VALUE); ignored
	                         * with CACHE_REFS */
	unsigned flags;         /* CACHE_* */
};

/*
 * Creates a cache.
 * @param conf  its shape, copied; see struct cache_conf. The memory taken is about
 *              capacity * (key_max + val_max + 24) bytes plus 64 per set, allocated
 *              here and never more.
 * @param out   on EG_OK the cache, the caller's to cache_free(); NULL otherwise.
 * @return EG_OK, EG_ERR_USAGE (capacity or ways 0, ways > capacity, key_max or val_max
 *         out of range), or EG_ERR_NOMEM (memory, or a mutex that cannot be made).
 */
int cache_new(const struct cache_conf *conf, struct cache **out);

/*
 * Frees a cache and drops its entries (wiped with CACHE_WIPE; with CACHE_REFS the
 * cache's references are released, holders keep theirs). NULL is allowed. No other
 * thread may use the cache during or after the call.
 */
void cache_free(struct cache *c);

/*
 * Looks a key up in a cache of copied values and copies the value out.
 * @param key, klen  the key; a key of a length the cache cannot hold (0 or above
 *              key_max) is never found.
 * @param now   the current time, on the cache's clock.
 * @param val   receives the value (not NUL-terminated unless it was stored with its
 *              NUL); may be NULL when valsize is 0 (a cache of keys only).
 * @param valsize  bytes val can take.
 * @param vlen  receives the value's length on EG_OK; may be NULL.
 * @return EG_OK (a hit: the value is copied, nothing of the cache's memory escapes),
 *         EG_ERR_NOT_FOUND (no live entry; a miss), EG_ERR_TOO_LONG (a live entry whose
 *         value is longer than valsize: nothing copied; counted as a hit), EG_ERR_USAGE
 *         (a cache of references).
 * Allocation-free; counts one hit or miss.
 */
int cache_get(struct cache *c, const void *key, size_t klen, int64_t now, void *val,
    size_t valsize, size_t *vlen);

/*
 * Looks a key up in a cache of references (CACHE_REFS).
 * @param ref   on EG_OK a new reference to the value, which the caller must release
 *              with cache_ref_put() and must not modify; it stays valid until then,
 *              whatever happens to the entry. NULL otherwise.
 * @return EG_OK (a hit), EG_ERR_NOT_FOUND (a miss), EG_ERR_USAGE (a cache of copies).
 * Allocation-free; counts one hit or miss.
 */
int cache_get_ref(struct cache *c, const void *key, size_t klen, int64_t now,
    const void **ref);

/*
 * Stores a copy of val under key until the deadline `expires`, replacing the key's
 * entry if it has one (live or dead).
 * @param val, vlen  the value, copied (0 bytes is allowed: a cache of keys only).
 * @param expires  the deadline on the cache's clock; an entry stored with expires <=
 *              now is kept but never found.
 * @param now   the current time: with CACHE_REFUSE, which entries are dead.
 * @return EG_OK, EG_ERR_TOO_LONG (key of length 0 or above key_max, or vlen above
 *         val_max: nothing stored), EG_ERR_FULL (CACHE_REFUSE and the key's set holds
 *         only live entries of other keys), EG_ERR_USAGE (a cache of references).
 */
int cache_put(struct cache *c, const void *key, size_t klen, const void *val, size_t vlen,
    int64_t expires, int64_t now);

/*
 * As cache_put, but stores only when the key has no live entry: the atomic
 * "test and set" of a single-use token.
 * @return as cache_put, and EG_ERR_EXISTS when a live entry for key exists (it is left
 *         as it is).
 */
int cache_add(struct cache *c, const void *key, size_t klen, const void *val, size_t vlen,
    int64_t expires, int64_t now);

/*
 * Stores a reference to ref under key until expires, replacing the key's entry if it
 * has one (the replaced value stays valid for those who hold references to it).
 * @param ref   a block from cache_ref_alloc(), immutable from now on; the cache takes
 *              its own reference, the caller keeps its own.
 * @return as cache_put (on an error the cache took no reference).
 */
int cache_put_ref(struct cache *c, const void *key, size_t klen, const void *ref,
    int64_t expires, int64_t now);

/*
 * Deletes key's entry, live or dead (wiped with CACHE_WIPE; with CACHE_REFS the cache's
 * reference is released).
 * @return EG_OK, or EG_ERR_NOT_FOUND when the cache held no entry for key.
 */
int cache_del(struct cache *c, const void *key, size_t klen);

/*
 * Deletes every entry, live or dead, for which pred returns nonzero, as cache_del does;
 * returns how many. pred sees the key, and the value: its bytes (vlen of them), or with
 * CACHE_REFS the reference (vlen 0), which it must not keep. pred runs with the entry's
 * set locked: it must not call the cache. The sets are visited one after the other, so
 * an entry stored meanwhile in a set already visited survives; callers that must not
 * lose a change to that race (the directory's change feed) also make such a store
 * detect that it came too late (directory.c: a generation number).
 */
typedef int (*cache_pred_fn)(const void *key, size_t klen, const void *val, size_t vlen,
    void *arg);
size_t cache_del_if(struct cache *c, cache_pred_fn pred, void *arg);

/* Deletes every entry, as cache_del does. Stores made concurrently may survive. */
void cache_clear(struct cache *c);

/*
 * Lookups since cache_new that found a live entry (hits) and that did not (misses);
 * either pointer may be NULL. The counts are read without stopping other threads, so
 * each is exact only when no lookup runs at the same time.
 */
void cache_stats(struct cache *c, unsigned long *hits, unsigned long *misses);

/* ---- reference-counted values (CACHE_REFS) ---------------------------------------- */

/*
 * Allocates a zeroed block of size bytes, aligned for any type, with one reference (the
 * caller's). Fill it, then store it (cache_put_ref) and hand it out: from then on it is
 * immutable. It must hold no pointers to memory of its own, since the last
 * cache_ref_put frees the block alone. NULL when out of memory.
 */
void *cache_ref_alloc(size_t size);
/* Takes one more reference to ref. Any thread. */
void cache_ref_get(const void *ref);
/* Releases one reference; the last frees the block. NULL is allowed. Any thread. */
void cache_ref_put(const void *ref);

#endif
