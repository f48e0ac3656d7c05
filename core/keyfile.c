/*
 * keyfile.c - reading the gateway's EC P-256 key files (signer.h), shared by the JWS
 * signer (signer.c) and the audit checkpoint key (audit/checkpoint.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"

/* A private key readable by others is a leaked key: refuse it as OpenSSH does. */
int
eg_key_secrecy(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		eg_errf(err, errlen, "%s: %s", path, strerror(errno));
		return EG_ERR_CONFIG;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		eg_errf(err, errlen, "%s: private key is accessible by group or others "
		    "(mode %03o)", path, (unsigned)(st.st_mode & 0777));
		return EG_ERR_CONFIG;
	}
	return EG_OK;
}

int
eg_key_is_p256(EVP_PKEY *key)
{
	char group[32] = "";
	size_t glen = 0;

	return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	    EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) == 1 &&
	    strcmp(group, "prime256v1") == 0;
}

static EVP_PKEY *
read_pem(const char *text, size_t len, int need_private)
{
	EVP_PKEY *k = NULL;
	BIO *b;

	if (!need_private && (b = BIO_new_mem_buf(text, (int)len)) != NULL) {
		k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (k == NULL && (b = BIO_new_mem_buf(text, (int)len)) != NULL) {
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	return k;
}

int
eg_key_load_p256(const char *path, int need_private, EVP_PKEY **out, char *err,
    size_t errlen)
{
	EVP_PKEY *k;
	char *text = NULL;
	size_t len = 0;

	*out = NULL;
	if (need_private && eg_key_secrecy(path, err, errlen) != EG_OK)
		return EG_ERR_CONFIG;
	if (eg_read_file(path, EG_MAX_KEY_FILE, &text, &len) != EG_OK) {
		eg_errf(err, errlen, "%s: cannot read the key file", path);
		return EG_ERR_CONFIG;
	}
	k = read_pem(text, len, need_private);
	eg_freezero(text, len);
	if (k == NULL || !eg_key_is_p256(k)) {
		eg_errf(err, errlen, "%s: not an EC P-256 %s key in PEM", path,
		    need_private ? "private" : "public or private");
		EVP_PKEY_free(k);
		return EG_ERR_CONFIG;
	}
	*out = k;
	return EG_OK;
}

int
eg_p256_sign(EVP_PKEY *key, const unsigned char *msg, size_t len, unsigned char *sig,
    size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return EG_ERR_CRYPTO;
	ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? EG_OK : EG_ERR_CRYPTO;
}

int
eg_p256_sign_digest(EVP_PKEY *key, const unsigned char digest[32], unsigned char *sig,
    size_t *siglen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	int ok;

	if (ctx == NULL)
		return EG_ERR_CRYPTO;
	ok = EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, sig, siglen, digest, 32) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? EG_OK : EG_ERR_CRYPTO;
}

int
eg_p256_verify(EVP_PKEY *key, const unsigned char *msg, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}
