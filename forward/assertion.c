/*
 * assertion.c - the signed statement of who the user is, sent to backends as
 * X-Eidgate-Assertion (PRODUCT.md §6): an ES256 compact JWS.
 *
 * An ECDSA signature cost about a quarter of the gateway's CPU per proxied request
 * (perf, bench/throughput.sh), so PRODUCT.md §6 lets an assertion be reused for the same
 * session (or certificate), backend and acting facility within half its lifetime. The
 * cache below is keyed by *everything* that goes into the claims except the times, and
 * compared in full (never by hash alone): whatever changes in the user's roles, names or
 * context gives another key, so a reused assertion always says what a fresh one would.
 * The request id is therefore not a claim; it travels in X-Request-Id.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "forward/internal.h"

/* Slots of the cache (direct-mapped by key hash). A slot holds one user's assertion for
 * one backend; a collision only costs a signature. 1024 slots * ~6 KiB = 6 MiB of
 * address space, of which only the slots in use are ever touched. */
#define ACACHE_SLOTS 1024
/* Keys and assertions larger than these are simply not cached. */
#define ACACHE_KEY_MAX 2048
#define ACACHE_JWS_MAX 4096

struct acache_slot {
	pthread_mutex_t mu;
	size_t keylen;
	int64_t reuse_until_ms;         /* eg_mono_ms() clock */
	char key[ACACHE_KEY_MAX];
	char jws[ACACHE_JWS_MAX];
};

struct assertion_cache {
	atomic_ulong hits, misses;
	struct acache_slot slots[ACACHE_SLOTS];
};

int
forward_assertions_new(struct assertion_cache **out)
{
	struct assertion_cache *c = calloc(1, sizeof(*c));
	size_t i;

	*out = NULL;
	if (c == NULL)
		return EG_ERR_NOMEM;
	for (i = 0; i < ACACHE_SLOTS; i++)
		pthread_mutex_init(&c->slots[i].mu, NULL);
	*out = c;
	return EG_OK;
}

void
forward_assertions_free(struct assertion_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < ACACHE_SLOTS; i++)
		pthread_mutex_destroy(&c->slots[i].mu);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

void
forward_assertion_stats(struct assertion_cache *c, unsigned long *hits, unsigned long *misses)
{
	*hits = atomic_load(&c->hits);
	*misses = atomic_load(&c->misses);
}

/* The roles that matter to the backend: those in the acting organisation, and the
 * regional ones (ITP roles belong to no organisation). */
static int
grant_in_claim(const struct req_user *u, const struct eg_grant *g)
{
	return g->kind == EG_SCOPE_REGION ||
	    (u->context_org[0] != '\0' && strcmp(g->org, u->context_org) == 0);
}

static json_t *
roles_claim(const struct req_user *u)
{
	json_t *arr = json_array();
	char scope[EG_MAX_ID + 16];
	size_t i;

	if (arr == NULL || u->person == NULL)
		return arr;
	for (i = 0; i < u->person->ngrants; i++) {
		const struct eg_grant *g = &u->person->grants[i];
		if (!grant_in_claim(u, g))
			continue;
		snprintf(scope, sizeof(scope), "%s:%s", dir_scope_kind_name(g->kind), g->scope);
		if (json_array_append_new(arr, json_pack("{s:s, s:s}", "role", g->role,
		    "scope", scope)) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *
opt_string(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}


/* ---- the cache key --------------------------------------------------------------- */

struct keybuf {
	char *p;
	size_t len, cap;
	int overflow;
};

/* Appends s and a NUL: no field contains a NUL, so the fields cannot run into each
 * other and two different claim sets never give the same key. */
static void
key_add(struct keybuf *k, const char *s)
{
	size_t n = s != NULL ? strlen(s) + 1 : 1;

	if (k->overflow || n > k->cap - k->len) {
		k->overflow = 1;
		return;
	}
	memcpy(k->p + k->len, s != NULL ? s : "", n);
	k->len += n;
}

/* Everything the claims depend on but the times; the certificate fingerprint stands in
 * for the session when there is none. Returns the key length, 0 when it does not fit. */
static size_t
make_key(struct request *r, const struct policy_backend *b, char *out, size_t outlen)
{
	const struct req_user *u = &r->user;
	struct keybuf k = { out, 0, outlen, 0 };
	char num[32];
	size_t i;

	key_add(&k, signer_kid(r->snap->signer));
	snprintf(num, sizeof(num), "%lld", (long long)r->snap->cfg.assertion_lifetime_ms);
	key_add(&k, num);
	key_add(&k, r->snap->cfg.assertion_issuer);
	key_add(&k, b->name);
	key_add(&k, u->session_id);
	key_add(&k, u->id.fingerprint);
	key_add(&k, u->id.nrn);
	key_add(&k, u->id.name);
	key_add(&k, u->id.given);
	key_add(&k, u->id.surname);
	key_add(&k, u->context_org);
	key_add(&k, u->context_facility);
	key_add(&k, req_capacity(u));
	for (i = 0; u->person != NULL && i < u->person->ngrants; i++) {
		const struct eg_grant *g = &u->person->grants[i];
		if (!grant_in_claim(u, g))
			continue;
		key_add(&k, dir_scope_kind_name(g->kind));
		key_add(&k, g->scope);
		key_add(&k, g->role);
	}
	return k.overflow ? 0 : k.len;
}

static struct acache_slot *
slot_for(struct assertion_cache *c, const char *key, size_t len)
{
	return &c->slots[eg_fnv1a(EG_FNV1A_INIT, key, len) % ACACHE_SLOTS];
}

/* A copy of the cached assertion for key, or NULL. */
static char *
cache_get(struct acache_slot *s, const char *key, size_t len)
{
	char *jws = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->keylen == len && eg_mono_ms() < s->reuse_until_ms && memcmp(s->key, key, len) == 0)
		jws = strdup(s->jws);
	pthread_mutex_unlock(&s->mu);
	return jws;
}

static void
cache_put(struct acache_slot *s, const char *key, size_t len, const char *jws,
    int64_t reuse_until_ms)
{
	size_t jlen = strlen(jws);

	if (jlen >= ACACHE_JWS_MAX)
		return;
	pthread_mutex_lock(&s->mu);
	memcpy(s->key, key, len);
	s->keylen = len;
	memcpy(s->jws, jws, jlen + 1);
	s->reuse_until_ms = reuse_until_ms;
	pthread_mutex_unlock(&s->mu);
}

/* ---- signing ----------------------------------------------------------------------- */

static int
sign_claims(struct request *r, const struct policy_backend *b, int64_t now, char **jws)
{
	const struct req_user *u = &r->user;
	int64_t exp = now + r->snap->cfg.assertion_lifetime_ms / 1000;
	json_t *claims;
	char *payload;
	int rc;

	claims = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I}",
	    "iss", r->snap->cfg.assertion_issuer, "aud", b->name, "sub", u->id.nrn,
	    "name", opt_string(u->id.name), "given_name", opt_string(u->id.given),
	    "family_name", opt_string(u->id.surname), "org", opt_string(u->context_org),
	    "facility", opt_string(u->context_facility),
	    "capacity", opt_string(req_capacity(u)),
	    "roles", roles_claim(u), "sid", opt_string(u->session_id),
	    "iat", (json_int_t)now, "exp", (json_int_t)exp);
	if (claims == NULL)
		return EG_ERR_NOMEM;
	payload = json_dumps(claims, JSON_COMPACT);
	json_decref(claims);
	if (payload == NULL)
		return EG_ERR_NOMEM;
	rc = signer_jws(r->snap->signer, payload, jws);
	free(payload);
	return rc;
}

int
assertion_make(struct request *r, const struct policy_backend *b, char **jws)
{
	struct assertion_cache *c = r->gw->assertions;
	char key[ACACHE_KEY_MAX];
	struct acache_slot *slot = NULL;
	int64_t lifetime = r->snap->cfg.assertion_lifetime_ms;
	int64_t mono = eg_mono_ms();
	size_t keylen;
	int rc;

	*jws = NULL;
	keylen = make_key(r, b, key, sizeof(key));
	if (keylen > 0) {
		slot = slot_for(c, key, keylen);
		if ((*jws = cache_get(slot, key, keylen)) != NULL) {
			atomic_fetch_add(&c->hits, 1);
			return EG_OK;
		}
	}
	atomic_fetch_add(&c->misses, 1);
	rc = sign_claims(r, b, eg_now_us() / 1000000, jws);
	if (rc != EG_OK) {
		log_warnx("request %s: cannot sign the assertion: %s", r->id, eg_err(rc));
		return rc;
	}
	/* Reused for half its lifetime, so that a backend always gets one with at least
	 * half its lifetime left (clock skew, queueing). */
	if (slot != NULL && lifetime >= 2000)
		cache_put(slot, key, keylen, *jws, mono + lifetime / 2);
	return EG_OK;
}
