/* dircache.h - TTL cache of reference-counted directory entries; policy/ only. */
#ifndef EIDGATE_DIRCACHE_H
#define EIDGATE_DIRCACHE_H

#include <stddef.h>
#include <stdint.h>

struct dcache;

/* Allocates a zeroed, reference-counted entry of size bytes (one reference). */
void *dref_alloc(size_t size);
void dref_get(const void *entry);
void dref_put(const void *entry);

struct dcache *dcache_new(int64_t ttl_ms);
void dcache_free(struct dcache *c);
/* Returns a new reference to an unexpired entry for key, or NULL. */
const void *dcache_get(struct dcache *c, const char *key);
/* Stores entry under key (the cache takes its own reference). */
void dcache_put(struct dcache *c, const char *key, const void *entry);
void dcache_del(struct dcache *c, const char *key);

#endif
