/*
 * cache_test.c - the TTL cache of core/cache.c (cache.h): shapes it refuses, copied
 * values and their limits, expiry, what a full set does (evict the earliest deadline,
 * or refuse), cache_add, delete, clear, counters, reference-counted values that outlive
 * their entries, and several threads storing, reading and deleting at once (a torn
 * copy or a freed reference shows as a wrong value here, or under the sanitizers).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "eidgate/cache.h"
#include "eidgate/err.h"
#include "check.h"

#define LIT(s) s, sizeof(s) - 1

static struct cache *
make(size_t capacity, size_t ways, size_t key_max, size_t val_max, unsigned flags)
{
	struct cache_conf conf = { capacity, ways, key_max, val_max, flags };
	struct cache *c = NULL;

	CHECK(cache_new(&conf, &c) == EG_OK && c != NULL);
	return c;
}

static void
test_shapes(void)
{
	struct cache_conf bad[] = {
		{ 0, 1, 8, 8, 0 },                      /* no capacity */
		{ 8, 0, 8, 8, 0 },                      /* no ways */
		{ 8, 9, 8, 8, 0 },                      /* more ways than slots */
		{ 8, 1, 0, 8, 0 },                      /* no key */
		{ 8, 1, CACHE_MAX_KEY + 1, 8, 0 },
		{ 8, 1, 8, CACHE_MAX_VALUE + 1, 0 },
	};
	struct cache *c = (struct cache *)&bad;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(cache_new(&bad[i], &c) == EG_ERR_USAGE);
		CHECK(c == NULL);
	}
	/* A capacity that is not a multiple of ways is rounded up, not refused. */
	c = make(10, 4, 8, 8, 0);
	cache_free(c);
	cache_free(NULL);
}

static void
test_copies(void)
{
	struct cache *c = make(64, 4, 8, 16, 0);
	char out[32];
	size_t len = 0;

	CHECK(cache_get(c, LIT("alpha"), 0, out, sizeof(out), &len) == EG_ERR_NOT_FOUND);
	CHECK(cache_put(c, LIT("alpha"), LIT("first value"), 100, 0) == EG_OK);
	memset(out, 0, sizeof(out));
	CHECK(cache_get(c, LIT("alpha"), 0, out, sizeof(out), &len) == EG_OK);
	CHECK(len == 11 && memcmp(out, "first value", 11) == 0);
	/* Replacing keeps one entry per key; a shorter value leaves nothing of the longer. */
	CHECK(cache_put(c, LIT("alpha"), LIT("2nd"), 100, 0) == EG_OK);
	CHECK(cache_get(c, LIT("alpha"), 0, out, sizeof(out), &len) == EG_OK && len == 3);
	CHECK(memcmp(out, "2nd", 3) == 0);
	/* A buffer too small gets nothing. */
	memset(out, 'x', sizeof(out));
	CHECK(cache_get(c, LIT("alpha"), 0, out, 2, &len) == EG_ERR_TOO_LONG);
	CHECK(out[0] == 'x');
	/* Keys are bytes: a prefix or a longer key is another key. */
	CHECK(cache_get(c, LIT("alph"), 0, out, sizeof(out), NULL) == EG_ERR_NOT_FOUND);
	CHECK(cache_get(c, LIT("alphab"), 0, out, sizeof(out), NULL) == EG_ERR_NOT_FOUND);
	/* Sizes the cache cannot hold. */
	CHECK(cache_put(c, LIT("toolongkey"), LIT("v"), 100, 0) == EG_ERR_TOO_LONG);
	CHECK(cache_put(c, "", 0, LIT("v"), 100, 0) == EG_ERR_TOO_LONG);
	CHECK(cache_put(c, LIT("beta"), LIT("a value of 17 by."), 100, 0) == EG_ERR_TOO_LONG);
	CHECK(cache_get(c, LIT("toolongkey"), 0, out, sizeof(out), NULL) == EG_ERR_NOT_FOUND);
	CHECK(cache_get(c, "", 0, 0, out, sizeof(out), NULL) == EG_ERR_NOT_FOUND);
	/* A value of 0 bytes: a cache of keys. */
	CHECK(cache_put(c, LIT("gamma"), NULL, 0, 100, 0) == EG_OK);
	CHECK(cache_get(c, LIT("gamma"), 0, NULL, 0, &len) == EG_OK && len == 0);
	/* Copies only: references are refused. */
	CHECK(cache_get_ref(c, LIT("alpha"), 0, &(const void *){ NULL }) == EG_ERR_USAGE);
	CHECK(cache_put_ref(c, LIT("alpha"), out, 100, 0) == EG_ERR_USAGE);
	cache_free(c);
}

static void
test_expiry(void)
{
	struct cache *c = make(16, 1, 8, 8, 0);
	int64_t v = 7, got = 0;

	CHECK(cache_put(c, LIT("k"), &v, sizeof(v), 1000, 500) == EG_OK);
	CHECK(cache_get(c, LIT("k"), 999, &got, sizeof(got), NULL) == EG_OK && got == 7);
	CHECK(cache_get(c, LIT("k"), 1000, &got, sizeof(got), NULL) == EG_ERR_NOT_FOUND);
	CHECK(cache_get(c, LIT("k"), 5000, &got, sizeof(got), NULL) == EG_ERR_NOT_FOUND);
	/* Stored already expired: kept, never found. */
	CHECK(cache_put(c, LIT("old"), &v, sizeof(v), 10, 20) == EG_OK);
	CHECK(cache_get(c, LIT("old"), 20, &got, sizeof(got), NULL) == EG_ERR_NOT_FOUND);
	/* A dead entry is replaced by a new store of its key. */
	CHECK(cache_put(c, LIT("k"), &v, sizeof(v), 9000, 5000) == EG_OK);
	CHECK(cache_get(c, LIT("k"), 5000, &got, sizeof(got), NULL) == EG_OK);
	cache_free(c);
}

/* One set of four: which entry a fifth key displaces. */
static void
test_full_evicts(void)
{
	struct cache *c = make(4, 4, 8, 0, 0);
	static const char *keys[] = { "a", "b", "c", "d" };
	static const int64_t deadlines[] = { 40, 10, 30, 20 };
	size_t i;

	for (i = 0; i < 4; i++)
		CHECK(cache_put(c, keys[i], 1, NULL, 0, deadlines[i], 0) == EG_OK);
	CHECK(cache_put(c, LIT("e"), NULL, 0, 50, 0) == EG_OK);
	CHECK(cache_get(c, LIT("b"), 0, NULL, 0, NULL) == EG_ERR_NOT_FOUND);  /* earliest */
	CHECK(cache_get(c, LIT("a"), 0, NULL, 0, NULL) == EG_OK);
	CHECK(cache_get(c, LIT("c"), 0, NULL, 0, NULL) == EG_OK);
	CHECK(cache_get(c, LIT("d"), 0, NULL, 0, NULL) == EG_OK);
	CHECK(cache_get(c, LIT("e"), 0, NULL, 0, NULL) == EG_OK);
	/* Next goes "d" (20), even though "a" was stored first. */
	CHECK(cache_put(c, LIT("f"), NULL, 0, 60, 0) == EG_OK);
	CHECK(cache_get(c, LIT("d"), 0, NULL, 0, NULL) == EG_ERR_NOT_FOUND);
	CHECK(cache_get(c, LIT("a"), 0, NULL, 0, NULL) == EG_OK);
	cache_free(c);

	/* Direct-mapped: every key has one place, and a store always succeeds. */
	c = make(8, 1, 8, 0, 0);
	for (i = 0; i < 100; i++) {
		char k[8];
		int n = snprintf(k, sizeof(k), "k%zu", i);
		CHECK(cache_put(c, k, (size_t)n, NULL, 0, 100, 0) == EG_OK);
		CHECK(cache_get(c, k, (size_t)n, 0, NULL, 0, NULL) == EG_OK);
	}
	cache_free(c);
}

/* CACHE_REFUSE: a live entry is never displaced; cache_add is a single-use check. */
static void
test_full_refuses(void)
{
	struct cache *c = make(4, 4, 8, 0, CACHE_REFUSE | CACHE_WIPE);
	static const char *keys[] = { "a", "b", "c", "d" };
	size_t i;

	for (i = 0; i < 4; i++)
		CHECK(cache_add(c, keys[i], 1, NULL, 0, 10 + (int64_t)i, 0) == EG_OK);
	CHECK(cache_add(c, LIT("a"), NULL, 0, 100, 5) == EG_ERR_EXISTS);
	CHECK(cache_add(c, LIT("e"), NULL, 0, 100, 5) == EG_ERR_FULL);
	CHECK(cache_put(c, LIT("e"), NULL, 0, 100, 5) == EG_ERR_FULL);
	for (i = 0; i < 4; i++)
		CHECK(cache_get(c, keys[i], 1, 5, NULL, 0, NULL) == EG_OK);
	/* At 10, "a" (deadline 10) is dead: its key may be added again, or another one
	 * take its place. */
	CHECK(cache_add(c, LIT("e"), NULL, 0, 100, 10) == EG_OK);
	CHECK(cache_add(c, LIT("f"), NULL, 0, 100, 10) == EG_ERR_FULL);
	CHECK(cache_add(c, LIT("b"), NULL, 0, 100, 11) == EG_OK);     /* dead "b" renewed */
	CHECK(cache_add(c, LIT("b"), NULL, 0, 100, 11) == EG_ERR_EXISTS);
	CHECK(cache_del(c, LIT("c")) == EG_OK);
	CHECK(cache_add(c, LIT("f"), NULL, 0, 100, 11) == EG_OK);
	cache_free(c);
}

/* Values starting with 'x' are dropped. */
static int
starts_x(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	(void)key;
	(void)klen;
	++*(int *)arg;
	return vlen > 0 && ((const char *)val)[0] == 'x';
}

static void
test_del_if(void)
{
	struct cache *c = make(32, 4, 8, 4, CACHE_WIPE);
	char k[8];
	int calls = 0;

	CHECK(cache_put(c, LIT("a"), LIT("xa"), 100, 0) == EG_OK);
	CHECK(cache_put(c, LIT("b"), LIT("yb"), 100, 0) == EG_OK);
	CHECK(cache_put(c, LIT("c"), LIT("xc"), 1, 0) == EG_OK);      /* dead at 5 */
	CHECK(cache_del_if(c, starts_x, &calls) == 2);
	CHECK(calls == 3);
	CHECK(cache_get(c, LIT("a"), 5, k, sizeof(k), NULL) == EG_ERR_NOT_FOUND);
	CHECK(cache_get(c, LIT("b"), 5, k, sizeof(k), NULL) == EG_OK);
	CHECK(cache_del_if(c, starts_x, &calls) == 0);
	cache_free(c);
}

static void
test_del_clear_stats(void)
{
	struct cache *c = make(32, 2, 8, 4, CACHE_WIPE);
	unsigned long hits = 9, misses = 9;
	char k[8];
	size_t i;

	cache_stats(c, &hits, &misses);
	CHECK(hits == 0 && misses == 0);
	CHECK(cache_put(c, LIT("x"), LIT("val"), 100, 0) == EG_OK);
	CHECK(cache_put(c, LIT("y"), LIT("val"), 100, 0) == EG_OK);
	CHECK(cache_get(c, LIT("x"), 0, k, sizeof(k), NULL) == EG_OK);
	CHECK(cache_del(c, LIT("x")) == EG_OK);
	CHECK(cache_del(c, LIT("x")) == EG_ERR_NOT_FOUND);
	CHECK(cache_del(c, LIT("toolongkey")) == EG_ERR_NOT_FOUND);
	CHECK(cache_get(c, LIT("x"), 0, k, sizeof(k), NULL) == EG_ERR_NOT_FOUND);
	CHECK(cache_get(c, LIT("y"), 0, k, sizeof(k), NULL) == EG_OK);
	cache_stats(c, &hits, NULL);
	cache_stats(c, NULL, &misses);
	CHECK(hits == 2 && misses == 1);
	for (i = 0; i < 20; i++) {
		int n = snprintf(k, sizeof(k), "c%zu", i);
		CHECK(cache_put(c, k, (size_t)n, LIT("v"), 100, 0) == EG_OK);
	}
	cache_clear(c);
	CHECK(cache_get(c, LIT("y"), 0, k, sizeof(k), NULL) == EG_ERR_NOT_FOUND);
	CHECK(cache_get(c, LIT("c0"), 0, k, sizeof(k), NULL) == EG_ERR_NOT_FOUND);
	/* Usable after a clear. */
	CHECK(cache_put(c, LIT("y"), LIT("new"), 100, 0) == EG_OK);
	CHECK(cache_get(c, LIT("y"), 0, k, sizeof(k), NULL) == EG_OK && memcmp(k, "new", 3) == 0);
	cache_stats(c, &hits, &misses);
	CHECK(hits == 3 && misses == 3);
	cache_free(c);
}

struct block {
	int id;
	char text[60];
};

static struct block *
block_new(int id)
{
	struct block *b = cache_ref_alloc(sizeof(*b));

	CHECK(b != NULL && b->id == 0 && b->text[0] == '\0');  /* zeroed */
	if (b != NULL) {
		b->id = id;
		snprintf(b->text, sizeof(b->text), "block %d", id);
	}
	return b;
}

/* References handed out stay valid after their entry is replaced, evicted, deleted,
 * cleared or the cache freed; the sanitizers see any early free or leak. */
static void
test_refs(void)
{
	struct cache *c = make(2, 2, 8, 0, CACHE_REFS);
	const struct block *held[5] = { NULL };
	const void *got = NULL;
	struct block *b;
	int i;

	CHECK(cache_get(c, LIT("k"), 0, NULL, 0, NULL) == EG_ERR_USAGE);
	CHECK(cache_put(c, LIT("k"), NULL, 0, 10, 0) == EG_ERR_USAGE);
	CHECK(cache_put_ref(c, LIT("k"), NULL, 10, 0) == EG_ERR_USAGE);
	CHECK(cache_get_ref(c, LIT("k"), 0, &got) == EG_ERR_NOT_FOUND && got == NULL);
	for (i = 0; i < 5; i++) {
		/* Keys "k0" "k1": replaced; then "k2" "k3" "k4" evict. */
		char k[4] = { 'k', (char)('0' + (i < 2 ? 0 : i)), '\0', '\0' };
		b = block_new(i);
		CHECK(cache_put_ref(c, k, 2, b, 100 + i, 0) == EG_OK);
		cache_ref_put(b);               /* now only the cache holds it */
		CHECK(cache_get_ref(c, k, 2, 0, &got) == EG_OK);
		held[i] = got;
		CHECK(held[i] == b && held[i]->id == i);
	}
	CHECK(cache_get_ref(c, LIT("k0"), 0, &got) == EG_ERR_NOT_FOUND);
	CHECK(cache_get_ref(c, LIT("k4"), 0, &got) == EG_OK && got == held[4]);
	cache_ref_put(got);
	CHECK(cache_del(c, LIT("k4")) == EG_OK);
	cache_clear(c);
	b = block_new(9);
	CHECK(cache_put_ref(c, LIT("k9"), b, 100, 0) == EG_OK);
	cache_free(c);                          /* drops the cache's reference to b */
	CHECK(b->id == 9 && strcmp(b->text, "block 9") == 0);
	cache_ref_put(b);
	for (i = 0; i < 5; i++) {
		char want[24];
		snprintf(want, sizeof(want), "block %d", i);
		CHECK(held[i]->id == i && strcmp(held[i]->text, want) == 0);
		cache_ref_put(held[i]);
	}
	cache_ref_put(NULL);
}

/* ---- threads --------------------------------------------------------------------- */

#define STRESS_THREADS 4
#define STRESS_ROUNDS 200000
#define STRESS_KEYS 97

struct stress {
	struct cache *copies, *refs;
	unsigned seed;
	unsigned long gets, bad;
};

/* A value that says which key it belongs to in every byte, so that a torn copy (half
 * of one value, half of another) is seen. */
static void
fill_value(unsigned key, unsigned char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		v[i] = (unsigned char)(key * 31 + i);
}

static unsigned
next(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) & 0x7fff;
}

static void
stress_copies(struct stress *st, unsigned key, unsigned op, int64_t now)
{
	unsigned char v[48], want[48];
	char k[8];
	size_t len = 0, n = (size_t)snprintf(k, sizeof(k), "%u", key);

	if (op < 6) {
		st->gets++;
		if (cache_get(st->copies, k, n, now, v, sizeof(v), &len) == EG_OK) {
			fill_value(key, want, len);
			if (len < 8 || memcmp(v, want, len) != 0)
				st->bad++;
		}
	} else if (op < 9) {
		len = 8 + key % 40;
		fill_value(key, v, len);
		(void)cache_put(st->copies, k, n, v, len, now + 1 + op, now);
	} else {
		(void)cache_del(st->copies, k, n);
	}
}

static void
stress_refs(struct stress *st, unsigned key, unsigned op, int64_t now)
{
	const void *got;
	struct block *b;
	char k[8];
	size_t n = (size_t)snprintf(k, sizeof(k), "%u", key);

	if (op < 6) {
		if (cache_get_ref(st->refs, k, n, now, &got) == EG_OK) {
			if (((const struct block *)got)->id != (int)key)
				st->bad++;
			cache_ref_put(got);
		}
	} else if (op < 9) {
		if ((b = cache_ref_alloc(sizeof(*b))) == NULL)
			return;
		b->id = (int)key;
		(void)cache_put_ref(st->refs, k, n, b, now + 1 + op, now);
		cache_ref_put(b);
	} else {
		(void)cache_del(st->refs, k, n);
	}
}

static void *
stress_run(void *arg)
{
	struct stress *st = arg;
	int i;

	for (i = 0; i < STRESS_ROUNDS; i++) {
		unsigned key = next(&st->seed) % STRESS_KEYS, op = next(&st->seed) % 10;
		int64_t now = i / 16;
		if (i % 2 == 0)
			stress_copies(st, key, op, now);
		else
			stress_refs(st, key, op, now);
		if (i % 5000 == 4999 && st->seed % 4 == 0)
			cache_clear(i % 2 ? st->refs : st->copies);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct cache *copies = make(64, 4, 8, 48, CACHE_WIPE);
	struct cache *refs = make(64, 4, 8, 0, CACHE_REFS);
	struct stress st[STRESS_THREADS];
	pthread_t th[STRESS_THREADS];
	unsigned long hits = 0, misses = 0, gets = 0, bad = 0;
	int i, started = 0;

	for (i = 0; i < STRESS_THREADS; i++) {
		st[i] = (struct stress){ copies, refs, 7919u * (unsigned)(i + 1), 0, 0 };
		if (pthread_create(&th[i], NULL, stress_run, &st[i]) == 0)
			started++;
	}
	CHECK(started == STRESS_THREADS);
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		gets += st[i].gets;
		bad += st[i].bad;
	}
	CHECK(bad == 0);
	cache_stats(copies, &hits, &misses);
	CHECK(hits + misses == gets && hits > 0 && misses > 0);
	cache_free(copies);
	cache_free(refs);
}

int
main(void)
{
	test_shapes();
	test_copies();
	test_expiry();
	test_full_evicts();
	test_full_refuses();
	test_del_clear_stats();
	test_del_if();
	test_refs();
	test_threads();
	return check_report();
}
