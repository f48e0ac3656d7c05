/*
 * signer.c - ES256 compact JWS (RFC 7515, RFC 7518 §3.4) with the assertion key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"

struct signer {
	EVP_PKEY *key;
	char kid[48];
	char jwks[512];
	char header_b64[256];           /* base64url of the fixed JWS header */
};

static int
public_xy(EVP_PKEY *key, char *x, char *y)
{
	BIGNUM *bx = NULL, *by = NULL;
	unsigned char bx32[32], by32[32];
	int ok;

	ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
	    BN_bn2binpad(bx, bx32, 32) == 32 && BN_bn2binpad(by, by32, 32) == 32;
	BN_free(bx);
	BN_free(by);
	if (!ok)
		return -1;
	eg_b64url(bx32, 32, x);
	eg_b64url(by32, 32, y);
	return 0;
}

/* RFC 7638: thumbprint over the required members in lexicographic order. */
static int
make_kid_and_jwks(struct signer *s)
{
	char x[64], y[64], canon[256];
	unsigned char md[32];
	unsigned int mdlen = 0;
	char header[160];

	if (public_xy(s->key, x, y) != 0)
		return -1;
	snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
	    x, y);
	if (EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	eg_b64url(md, 32, s->kid);
	snprintf(s->jwks, sizeof(s->jwks),
	    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"use\":\"sig\","
	    "\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}]}", s->kid, x, y);
	snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
	    s->kid);
	eg_b64url((const unsigned char *)header, strlen(header), s->header_b64);
	return 0;
}

int
signer_load(const char *path, struct signer **out)
{
	struct signer *s;
	char err[512];

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return EG_ERR_NOMEM;
	if (eg_key_load_p256(path, 1, &s->key, err, sizeof(err)) != EG_OK) {
		log_warnx("%s", err);
		signer_free(s);
		return EG_ERR_CONFIG;
	}
	if (make_kid_and_jwks(s) != 0) {
		log_warnx("%s: not an EC P-256 private key in PEM", path);
		signer_free(s);
		return EG_ERR_CONFIG;
	}
	*out = s;
	return EG_OK;
}

int
signer_dup(const struct signer *s, struct signer **out)
{
	struct signer *n;

	*out = NULL;
	if ((n = malloc(sizeof(*n))) == NULL)
		return EG_ERR_NOMEM;
	*n = *s;
	if (EVP_PKEY_up_ref(n->key) != 1) {
		free(n);
		return EG_ERR_CRYPTO;
	}
	*out = n;
	return EG_OK;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
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

static int
sign_raw(const struct signer *s, const char *input, size_t len, unsigned char raw[64])
{
	unsigned char der[80];
	size_t derlen = sizeof(der);

	if (eg_p256_sign(s->key, (const unsigned char *)input, len, der, &derlen) != EG_OK)
		return -1;
	return der_to_raw(der, derlen, raw);
}

int
signer_jws(const struct signer *s, const char *payload_json, char **out)
{
	size_t plen = strlen(payload_json);
	size_t hlen = strlen(s->header_b64);
	size_t cap = hlen + 1 + (plen + 2) / 3 * 4 + 1 + 88 + 1;
	unsigned char raw[64];
	char *buf;
	size_t n;

	*out = NULL;
	if ((buf = malloc(cap)) == NULL)
		return EG_ERR_NOMEM;
	memcpy(buf, s->header_b64, hlen);
	buf[hlen] = '.';
	n = hlen + 1;
	n += eg_b64url((const unsigned char *)payload_json, plen, buf + n);
	if (sign_raw(s, buf, n, raw) != 0) {
		free(buf);
		return EG_ERR_CRYPTO;
	}
	buf[n++] = '.';
	n += eg_b64url(raw, sizeof(raw), buf + n);
	*out = buf;
	return EG_OK;
}
