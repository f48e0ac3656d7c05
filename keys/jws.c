/*
 * jws.c - ES256 compact JWS (RFC 7515, RFC 7518 §3.4) with the assertion key: the header
 * and payload are assembled here, in the process that makes the assertion; only the
 * signing input goes to the keys (keys_sign), which check that it is one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/log.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "keys/internal.h"

struct signer {
	struct keys *keys;
	unsigned char id[KEYS_ID_LEN];  /* of the signing key, for keys_sign */
	char kid[48];
	char *jwks;
	char header_b64[256];           /* base64url of the fixed JWS header */
};

/* One JWK of the set, and the signing key's kid when pub signs. */
static int
add_jwk(json_t *set, const struct keys_pub *pub, char *kid)
{
	EVP_PKEY *key = keys_spki_key(pub->spki, pub->spki_len);
	char x[64], y[64], k[48];
	int rc = -1;

	if (key == NULL)
		return -1;
	if (keys_jwk_parts(key, x, y, k) == 0 &&
	    json_array_append_new(set, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "EC",
	    "crv", "P-256", "alg", "ES256", "use", "sig", "kid", k, "x", x, "y", y)) == 0) {
		if (pub->signs)
			memcpy(kid, k, sizeof(k));
		rc = 0;
	}
	EVP_PKEY_free(key);
	return rc;
}

/* The JWK set: the signing key first (some clients try the first key), then the others. */
static int
make_jwks(struct signer *s, const struct keys_public *pub)
{
	json_t *set = json_array();
	int pass, ok = set != NULL;
	size_t i;

	for (pass = 1; ok && pass >= 0; pass--)
		for (i = 0; ok && i < pub->n; i++) {
			const struct keys_pub *p = &pub->keys[i];

			if (p->purpose != KEYS_SIGN_ASSERTION || p->signs != pass)
				continue;
			ok = add_jwk(set, p, s->kid) == 0;
			if (p->signs)
				memcpy(s->id, p->id, KEYS_ID_LEN);
		}
	if (ok && s->kid[0] != '\0') {
		json_t *doc = json_pack("{s:o}", "keys", set);

		s->jwks = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
		json_decref(doc);
	} else {
		json_decref(set);
	}
	return s->jwks != NULL ? 0 : -1;
}

int
signer_new(struct keys *k, struct signer **out)
{
	struct keys_public pub;
	struct signer *s;
	char header[160];
	int rc;

	*out = NULL;
	if ((rc = keys_public(k, &pub)) != EG_OK)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return EG_ERR_NOMEM;
	s->keys = k;
	if (make_jwks(s, &pub) != 0) {
		log_warnx("[assertion] no signing key among the keys");
		signer_free(s);
		return EG_ERR_CONFIG;
	}
	snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
	    s->kid);
	eg_b64url((const unsigned char *)header, strlen(header), s->header_b64);
	*out = s;
	return EG_OK;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	free(s->jwks);
	free(s);
}

const char *
signer_kid(const struct signer *s)
{
	return s->kid;
}

const char *
signer_jwks(const struct signer *s)
{
	return s->jwks;
}

/* JWS wants the raw 64-byte r||s, OpenSSL produces a DER ECDSA-Sig-Value. */
static int
der_to_raw(const unsigned char *der, size_t derlen, unsigned char raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	const BIGNUM *r, *sv;
	int ok;

	if (sig == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &sv);
	ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(sv, raw + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

int
signer_jws(const struct signer *s, const char *payload_json, char **out)
{
	size_t plen = strlen(payload_json);
	size_t hlen = strlen(s->header_b64);
	size_t cap = hlen + 1 + (plen + 2) / 3 * 4 + 1 + 88 + 1;
	unsigned char der[80], raw[64];
	size_t n, derlen = sizeof(der);
	char *buf;
	int rc;

	*out = NULL;
	if ((buf = malloc(cap)) == NULL)
		return EG_ERR_NOMEM;
	memcpy(buf, s->header_b64, hlen);
	buf[hlen] = '.';
	n = hlen + 1;
	n += eg_b64url((const unsigned char *)payload_json, plen, buf + n);
	rc = keys_sign(s->keys, KEYS_SIGN_ASSERTION, s->id, buf, n, der, &derlen);
	if (rc == EG_OK && der_to_raw(der, derlen, raw) != 0)
		rc = EG_ERR_CRYPTO;
	if (rc != EG_OK) {
		free(buf);
		return rc;
	}
	buf[n++] = '.';
	n += eg_b64url(raw, sizeof(raw), buf + n);
	*out = buf;
	return EG_OK;
}
