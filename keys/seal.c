/*
 * seal.c - AES-256-GCM with a random 96-bit IV per token (NIST SP 800-38D §8.2.2: random
 * IVs are safe far beyond the number of tokens one key will ever seal).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "keys/internal.h"

#define IV_LEN 12
#define TAG_LEN 16

static int
gcm(int enc, const unsigned char key[32], const unsigned char iv[IV_LEN], const char *aad,
    const unsigned char *in, size_t len, unsigned char *out, unsigned char tag[TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	if (c == NULL)
		return -1;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) == 1 &&
	    EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
	    EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + n, &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

int
seal(const unsigned char key[32], const char *aad, const unsigned char *plain, size_t len,
    char **out)
{
	size_t rawlen = IV_LEN + len + TAG_LEN;
	unsigned char *raw = malloc(rawlen);
	char *tok;

	*out = NULL;
	if (raw == NULL || len > EG_MAX_SEALED)
		goto fail;
	if (RAND_bytes(raw, IV_LEN) != 1 ||
	    gcm(1, key, raw, aad, plain, len, raw + IV_LEN, raw + IV_LEN + len) != 0)
		goto fail;
	if ((tok = malloc(SEAL_PREFIX_LEN + (rawlen + 2) / 3 * 4 + 1)) == NULL)
		goto fail;
	memcpy(tok, SEAL_PREFIX, SEAL_PREFIX_LEN);
	eg_b64url(raw, rawlen, tok + SEAL_PREFIX_LEN);
	free(raw);
	*out = tok;
	return EG_OK;
fail:
	free(raw);
	return EG_ERR_CRYPTO;
}

int
unseal(const unsigned char key[32], const char *aad, const char *token, unsigned char **plain,
    size_t *len)
{
	size_t toklen = token != NULL ? strlen(token) : 0, rawlen = 0;
	unsigned char *raw = NULL, *pt = NULL;

	*plain = NULL;
	if (toklen <= SEAL_PREFIX_LEN || toklen > EG_MAX_SEALED * 2 ||
	    strncmp(token, SEAL_PREFIX, SEAL_PREFIX_LEN) != 0)
		return EG_ERR_PARSE;
	if ((raw = malloc(toklen)) == NULL)
		return EG_ERR_NOMEM;
	if (eg_b64url_decode(token + SEAL_PREFIX_LEN, toklen - SEAL_PREFIX_LEN, raw, toklen,
	    &rawlen) != EG_OK ||
	    rawlen < IV_LEN + TAG_LEN + 1)
		goto fail;
	*len = rawlen - IV_LEN - TAG_LEN;
	if ((pt = malloc(*len + 1)) == NULL)
		goto fail;
	if (gcm(0, key, raw, aad, raw + IV_LEN, *len, pt, raw + IV_LEN + *len) != 0)
		goto fail;
	pt[*len] = '\0';
	free(raw);
	*plain = pt;
	return EG_OK;
fail:
	eg_freezero(pt, pt != NULL ? *len + 1 : 0);
	free(raw);
	return EG_ERR_PARSE;
}
