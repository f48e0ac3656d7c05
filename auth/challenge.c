/*
 * challenge.c - login challenges for eidgate-login (PKCS#11 login, PRODUCT.md §1):
 * sealed, bound to the gateway's origin, valid for a short time and single-use, and the
 * check of the card's signature over one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "eidgate/auth.h"
#include "eidgate/cache.h"
#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/session.h"
#include "eidgate/util.h"
#include "auth/internal.h"

#define STORE_SLOTS 4096
/* A challenge's nonce: 16 random bytes in hex. */
#define NONCE_LEN 32

/* Used nonces until their challenge expires, in a cache.h cache of keys only. One set:
 * a full store refuses new redemptions rather than forget a used nonce (forgetting
 * would allow a replay), and is full only when all STORE_SLOTS hold live ones. Its
 * clock is the wall-clock seconds the challenges carry; nonces are wiped as they go.
 * The store is that cache: struct challenge_store is never defined, a pointer to one
 * is the struct cache pointer under its public name. */
#define USED(cs) ((struct cache *)(void *)(cs))

int
challenge_store_new(struct challenge_store **out)
{
	static const struct cache_conf conf = {
		.capacity = STORE_SLOTS, .ways = STORE_SLOTS, .key_max = NONCE_LEN,
		.val_max = 0, .flags = CACHE_REFUSE | CACHE_WIPE,
	};

	return cache_new(&conf, (struct cache **)(void *)out);
}

void
challenge_store_free(struct challenge_store *cs)
{
	cache_free(USED(cs));
}

int
challenge_issue(struct keys *k, const char *origin, int ttl_s, char *out,
    size_t outlen)
{
	unsigned char rnd[16];
	char nonce[NONCE_LEN + 1], *tok = NULL, *plain;
	json_t *j;
	int r;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return EG_ERR_CRYPTO;
	eg_hex(rnd, sizeof(rnd), nonce);
	j = json_pack("{s:s, s:s, s:I}", "n", nonce, "o", origin,
	    "e", (json_int_t)(eg_now_us() / 1000000 + ttl_s));
	plain = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (plain == NULL)
		return EG_ERR_NOMEM;
	r = keys_seal(k, KEYS_SEAL_CHALLENGE, plain, strlen(plain), &tok);
	free(plain);
	if (r != EG_OK)
		return r;
	/* Sent without the seal's prefix: eidgate-login wants base64url only. */
	r = eg_strlcpy(out, tok + KEYS_TOKEN_PREFIX_LEN, outlen) < outlen ? EG_OK : EG_ERR_TOO_LONG;
	free(tok);
	return r;
}

/* Marks nonce used until its challenge expires (the second `expires` is still valid,
 * hence the deadline one later, kept within int64_t: "e" is whatever integer the sealed
 * JSON holds); -1 when it already was (replay) or the store is full. */
static int
mark_used(struct challenge_store *cs, const char *nonce, int64_t expires, int64_t now)
{
	int64_t deadline = expires < INT64_MAX ? expires + 1 : INT64_MAX;

	return cache_add(USED(cs), nonce, strlen(nonce), NULL, 0, deadline, now) == EG_OK ?
	    0 : -1;
}

int
challenge_redeem(struct keys *k, struct challenge_store *cs,
    const char *challenge, const char *origin)
{
	char tok[1100];
	unsigned char *plain = NULL;
	size_t len = 0;
	json_t *j;
	const char *nonce, *o;
	int64_t exp, now = eg_now_us() / 1000000;
	int r = EG_ERR_PARSE;

	if (snprintf(tok, sizeof(tok), KEYS_TOKEN_PREFIX "%s", challenge) >= (int)sizeof(tok))
		return EG_ERR_PARSE;
	if ((r = keys_unseal(k, KEYS_SEAL_CHALLENGE, tok, &plain, &len)) != EG_OK)
		return r == EG_ERR_KEYS ? r : EG_ERR_PARSE;
	r = EG_ERR_PARSE;
	j = json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES, NULL);
	eg_freezero(plain, len);
	if (j == NULL)
		return EG_ERR_PARSE;
	nonce = json_string_value(json_object_get(j, "n"));
	o = json_string_value(json_object_get(j, "o"));
	exp = json_integer_value(json_object_get(j, "e"));
	if (nonce != NULL && o != NULL && strcmp(o, origin) == 0 && exp >= now &&
	    mark_used(cs, nonce, exp, now) == 0)
		r = EG_OK;
	json_decref(j);
	return r;
}

/* RSA cards sign PKCS#1 v1.5 over SHA-256; EC (applet 1.8) cards ECDSA over SHA-384. */
int
auth_verify_login_signature(const unsigned char *leaf_der, size_t leaf_len, const char *alg,
    const unsigned char *msg, size_t msglen, const unsigned char *sig, size_t siglen)
{
	const unsigned char *p = leaf_der;
	X509 *x = d2i_X509(NULL, &p, (long)leaf_len);
	EVP_PKEY *pk = x != NULL ? X509_get0_pubkey(x) : NULL;
	EVP_MD_CTX *md = NULL;
	const EVP_MD *h = NULL;
	int ok = 0;

	if (pk == NULL)
		goto out;
	if (strcmp(alg, EG_LOGIN_ALG_RSA) == 0 && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA)
		h = EVP_sha256();
	else if (strcmp(alg, EG_LOGIN_ALG_EC) == 0 && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC)
		h = EVP_sha384();
	if (h == NULL || (md = EVP_MD_CTX_new()) == NULL)
		goto out;
	ok = EVP_DigestVerifyInit(md, NULL, h, NULL, pk) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, msg, msglen) == 1;
out:
	EVP_MD_CTX_free(md);
	X509_free(x);
	return ok ? EG_OK : EG_ERR_CRYPTO;
}
