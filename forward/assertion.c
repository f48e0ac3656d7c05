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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/cache.h"
#include "eidgate/keys.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "forward/internal.h"

/* Slots of the cache (a cache.h cache, direct-mapped by key hash). A slot holds one
 * user's assertion for one backend; a collision only costs a signature. 1024 slots * ~6
 * KiB = 6 MiB of address space, of which only the slots in use are ever touched. The
 * assertions are bearer statements: wiped when they leave the cache. */
#define ACACHE_SLOTS 1024
/* Keys and assertions larger than these are simply not cached. */
#define ACACHE_KEY_MAX 2048
#define ACACHE_JWS_MAX 4096

/* The gateway's struct assertion_cache is that cache: the type is never defined, a
 * pointer to one is the struct cache pointer under its public name. */
static struct cache *
acache(struct assertion_cache *ac)
{
	return (struct cache *)(void *)ac;
}

int
forward_assertions_new(struct assertion_cache **out)
{
	static const struct cache_conf conf = {
		.capacity = ACACHE_SLOTS, .ways = 1, .key_max = ACACHE_KEY_MAX,
		.val_max = ACACHE_JWS_MAX - 1, .flags = CACHE_WIPE,
	};

	return cache_new(&conf, (struct cache **)(void *)out);
}

void
forward_assertions_free(struct assertion_cache *ac)
{
	cache_free(acache(ac));
}

void
forward_assertion_stats(struct assertion_cache *ac, unsigned long *hits,
    unsigned long *misses)
{
	cache_stats(acache(ac), hits, misses);
}

/* The organisation and facility the assertion speaks for: what the request is about
 * (the decision's scope), so a backend never applies one organisation's roles to
 * another's data; a request about nothing in particular speaks for the acting ones. */
void
assertion_place(const struct request *r, const char **org, const char **fac)
{
	const struct policy_scope *sc = &r->decision.scope;

	if (!sc->set) {
		*org = r->user.context_org;
		*fac = r->user.context_facility;
		return;
	}
	*org = sc->org;
	*fac = sc->kind == EG_SCOPE_FACILITY ? sc->id : "";
}

/* The roles held where the request is about: on its facility and that facility's
 * organisation, on its organisation, or on its region; with no scope, those in the
 * acting organisation and the regional ones (ITP roles belong to no organisation). */
static int
grant_in_claim(const struct request *r, const struct eg_grant *g)
{
	const struct policy_scope *sc = &r->decision.scope;
	const char *org, *fac;

	assertion_place(r, &org, &fac);
	if (!sc->set)
		return g->kind == EG_SCOPE_REGION || (org[0] != '\0' && strcmp(g->org, org) == 0);
	if (sc->kind == EG_SCOPE_REGION)
		return g->kind == EG_SCOPE_REGION && strcmp(g->scope, sc->id) == 0;
	if (g->kind == EG_SCOPE_ORGANISATION)
		return org[0] != '\0' && strcmp(g->scope, org) == 0;
	return g->kind == EG_SCOPE_FACILITY && fac[0] != '\0' && strcmp(g->scope, fac) == 0;
}

/* Where a role came from (directory.h dir_provenance), for a backend that keeps its
 * own evidence: who granted it (a name, "operator" or "migration"), in which capacity,
 * when, until when; a field is left out when the directory does not say. */
static int
add_provenance(json_t *role, const struct dir_provenance *p)
{
	char t[DIR_TIME_LEN];
	int rc = 0;

	if (!p->known)
		return 0;
	/* a person by the name they had then, never by their number */
	if (strcmp(p->by, DIR_BY_OPERATOR) == 0 || strcmp(p->by, DIR_BY_MIGRATION) == 0)
		rc |= json_object_set_new(role, "granted_by", json_string(p->by));
	else if (p->by_name[0] != '\0')
		rc |= json_object_set_new(role, "granted_by", json_string(p->by_name));
	if (p->as[0] != '\0')
		rc |= json_object_set_new(role, "granted_as", json_string(p->as));
	if (p->at != 0 && (dir_time_format(p->at, t), t[0] != '\0'))
		rc |= json_object_set_new(role, "granted_at", json_string(t));
	if (p->until != 0 && (dir_time_format(p->until, t), t[0] != '\0'))
		rc |= json_object_set_new(role, "until", json_string(t));
	return rc;
}

static json_t *
roles_claim(const struct request *r)
{
	const struct req_user *u = &r->user;
	json_t *arr = json_array(), *role;
	char scope[EG_MAX_ID + 16];
	size_t i;

	if (arr == NULL || u->person == NULL)
		return arr;
	for (i = 0; i < u->person->ngrants; i++) {
		const struct eg_grant *g = &u->person->grants[i];
		if (!grant_in_claim(r, g))
			continue;
		snprintf(scope, sizeof(scope), "%s:%s", dir_scope_kind_name(g->kind), g->scope);
		role = json_pack("{s:s, s:s}", "role", g->role, "scope", scope);
		if (role == NULL || add_provenance(role, &u->person->prov[i]) != 0 ||
		    json_array_append_new(arr, role) != 0) {
			json_decref(role);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The earliest end among the roles the assertion names, 0 when none ends: the
 * assertion must not outlive a role it states. */
static int64_t
claimed_end(const struct request *r)
{
	const struct dir_person *p = r->user.person;
	int64_t end = 0;
	size_t i;

	for (i = 0; p != NULL && i < p->ngrants; i++)
		if (p->prov[i].until != 0 && grant_in_claim(r, &p->grants[i]) &&
		    (end == 0 || p->prov[i].until < end))
			end = p->prov[i].until;
	return end;
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

/* A role's provenance, as add_provenance() puts it in the claims. */
static void
prov_key(struct keybuf *k, const struct dir_provenance *p)
{
	char num[64];

	snprintf(num, sizeof(num), "%d:%lld:%lld", p->known, (long long)p->at,
	    (long long)p->until);
	key_add(k, num);
	key_add(k, p->by);
	key_add(k, p->by_name);
	key_add(k, p->as);
}

/* Everything the claims depend on but the times; the certificate fingerprint stands in
 * for the session when there is none. Returns the key length, 0 when it does not fit. */
static size_t
make_key(struct request *r, const struct policy_backend *b, char *out, size_t outlen)
{
	const struct req_user *u = &r->user;
	struct keybuf k = { out, 0, outlen, 0 };
	const char *org, *fac;
	char num[32];
	size_t i;

	assertion_place(r, &org, &fac);
	key_add(&k, signer_kid(r->snap->signer));
	snprintf(num, sizeof(num), "%lld", (long long)r->snap->cfg.assertion_lifetime_ms);
	key_add(&k, num);
	key_add(&k, r->snap->cfg.assertion_issuer);
	key_add(&k, b->name);
	if (b->subject == POLICY_SUBJECT_PSEUDONYM) {
		/* A reload may bring a new pseudonym key: no assertion made before it. */
		snprintf(num, sizeof(num), "p%llu", (unsigned long long)r->snap->gen);
		key_add(&k, num);
	}
	key_add(&k, u->session_id);
	key_add(&k, u->id.fingerprint);
	key_add(&k, u->id.nrn);
	key_add(&k, u->id.name);
	key_add(&k, u->id.given);
	key_add(&k, u->id.surname);
	key_add(&k, org);
	key_add(&k, fac);
	key_add(&k, r->decision.scope.set && r->decision.scope.kind == EG_SCOPE_REGION ?
	    r->decision.scope.id : "");
	key_add(&k, req_scope_capacity(r));
	for (i = 0; u->person != NULL && i < u->person->ngrants; i++) {
		const struct eg_grant *g = &u->person->grants[i];
		if (!grant_in_claim(r, g))
			continue;
		key_add(&k, dir_scope_kind_name(g->kind));
		key_add(&k, g->scope);
		key_add(&k, g->role);
		prov_key(&k, &u->person->prov[i]);
	}
	return k.overflow ? 0 : k.len;
}

/* A malloc'd copy of the assertion cached under key, or NULL (a key of length 0, too
 * long to be made, is a miss). */
static char *
cached_jws(struct cache *c, const char *key, size_t keylen, int64_t now)
{
	char buf[ACACHE_JWS_MAX], *jws;
	size_t len;

	if (cache_get(c, key, keylen, now, buf, sizeof(buf) - 1, &len) != EG_OK)
		return NULL;
	if ((jws = malloc(len + 1)) != NULL) {
		memcpy(jws, buf, len);
		jws[len] = '\0';
	}
	explicit_bzero(buf, len);
	return jws;
}

/* ---- signing ----------------------------------------------------------------------- */

/* end: claimed_end(r), 0 when no role named ends. */
static int
sign_claims(struct request *r, const struct policy_backend *b, int64_t now, int64_t end,
    char **jws)
{
	const struct req_user *u = &r->user;
	int64_t exp = now + r->snap->cfg.assertion_lifetime_ms / 1000;
	const char *org, *fac, *sub = u->id.nrn;
	char kid[KEYS_PSEUDONYM_KID + 1] = "", ps[KEYS_PSEUDONYM_LEN + 1];
	json_t *claims;
	char *payload;
	int rc;

	/* subject=pseudonym: the number never reaches this backend; without the key
	 * process's answer nothing is sent (fail closed). */
	if (b->subject == POLICY_SUBJECT_PSEUDONYM) {
		if ((rc = keys_pseudonym(r->gw->keys, NULL, b->name, u->id.nrn, kid, ps)) != EG_OK)
			return rc == EG_ERR_NOT_FOUND ? EG_ERR_KEYS : rc;
		sub = ps;
	}
	if (end != 0 && end < exp)
		exp = end;
	assertion_place(r, &org, &fac);
	claims = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I}",
	    "iss", r->snap->cfg.assertion_issuer, "aud", b->name, "sub", sub,
	    "name", opt_string(u->id.name), "given_name", opt_string(u->id.given),
	    "family_name", opt_string(u->id.surname), "org", opt_string(org),
	    "facility", opt_string(fac), "capacity", opt_string(req_scope_capacity(r)),
	    "roles", roles_claim(r), "sid", opt_string(u->session_id),
	    "iat", (json_int_t)now, "exp", (json_int_t)exp);
	if (claims == NULL)
		return EG_ERR_NOMEM;
	if (kid[0] != '\0' && json_object_set_new(claims, "sub_kid", json_string(kid)) != 0) {
		json_decref(claims);
		return EG_ERR_NOMEM;
	}
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
	struct cache *c = acache(r->gw->assertions);
	char key[ACACHE_KEY_MAX];
	int64_t lifetime = r->snap->cfg.assertion_lifetime_ms;
	int64_t mono = eg_mono_ms(), now, end;
	size_t keylen;
	int rc;

	keylen = make_key(r, b, key, sizeof(key));
	if ((*jws = cached_jws(c, key, keylen, mono)) != NULL)
		return EG_OK;
	now = eg_now_us() / 1000000;
	end = claimed_end(r);
	rc = sign_claims(r, b, now, end, jws);
	if (rc != EG_OK) {
		log_warnx("request %s: cannot sign the assertion: %s", r->id, eg_err(rc));
		return rc;
	}
	/* Reused for half its lifetime, so that a backend always gets one with at least
	 * half its lifetime left (clock skew, queueing); not at all when a role it names
	 * ends within its lifetime (it was cut short to that end). */
	if (keylen > 0 && lifetime >= 2000 && (end == 0 || end * 1000 >= now * 1000 + lifetime))
		(void)cache_put(c, key, keylen, *jws, strlen(*jws), mono + lifetime / 2, mono);
	return EG_OK;
}
