/*
 * pseudonym.c - per-backend pseudonyms of national numbers (issue 16 item 5): what a
 * backend declared `subject=pseudonym` receives as `sub` instead of the number.
 *
 *   backend key  = HMAC-SHA256(master, "eidgate-pseudonym-v1:" || backend name)
 *   pseudonym    = base64url(HMAC-SHA256(backend key, national number)), 43 characters
 *   key id       = the first 8 hex digits of SHA-256("eidgate-pseudonym-id" || master)
 *
 * The masters are [assertion] pseudonym_key_file (the one in use) and
 * pseudonym_previous_key_files (older ones, kept so that an officer can still resolve
 * the pseudonyms a backend received before a rotation): a ring, like the session keys.
 * They are read by the key process only; the serving process asks it for a pseudonym.
 * Without the key one backend's pseudonyms cannot be linked to another's, nor to the
 * number (a number has too few values to hide behind a plain hash: the key is what
 * makes guessing it useless).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "keys/internal.h"

static int
load_one(struct keyring *r, const char *path, const char *what)
{
	struct pseudo_key *k;
	static const char pre[] = "eidgate-pseudonym-id";
	unsigned char md[SHA256_DIGEST_LENGTH], idin[sizeof(pre) + 64];
	char *buf = NULL, hex[2 * SHA256_DIGEST_LENGTH + 1];
	size_t len = 0;

	if (r->npseudo == KEYS_MAX_PSEUDONYM) {
		log_warnx("%s: more than %d pseudonym keys", what, KEYS_MAX_PSEUDONYM);
		return EG_ERR_CONFIG;
	}
	if (eg_key_secrecy(path, NULL, 0) != EG_OK) {
		log_warnx("%s %s: missing, or accessible by group or others", what, path);
		return EG_ERR_CONFIG;
	}
	if (eg_read_file(path, 128, &buf, &len) != EG_OK || len < 32 || len > 64) {
		log_warnx("%s %s: must hold 32 to 64 random bytes", what, path);
		eg_freezero(buf, len);
		return EG_ERR_CONFIG;
	}
	k = &r->pseudo[r->npseudo];
	memcpy(k->master, buf, len);
	k->len = len;
	eg_freezero(buf, len);
	memcpy(idin, pre, sizeof(pre) - 1);
	memcpy(idin + sizeof(pre) - 1, k->master, k->len);
	if (SHA256(idin, sizeof(pre) - 1 + k->len, md) == NULL) {
		OPENSSL_cleanse(idin, sizeof(idin));
		return EG_ERR_CRYPTO;
	}
	OPENSSL_cleanse(idin, sizeof(idin));
	eg_hex(md, 4, hex);
	memcpy(k->id, hex, KEYS_PSEUDONYM_KID);
	k->id[KEYS_PSEUDONYM_KID] = '\0';
	r->npseudo++;
	return EG_OK;
}

static int
load_previous(struct keyring *r, const char *path, void *arg)
{
	(void)arg;
	return load_one(r, path, "[assertion] pseudonym_previous_key_files") != EG_OK ?
	    EG_ERR_CONFIG : EG_OK;
}

int
keyring_load_pseudonyms(struct keyring *r, const struct eg_config *cfg)
{
	if (cfg->pseudonym_key[0] == '\0')
		return EG_OK;
	if (load_one(r, cfg->pseudonym_key, "[assertion] pseudonym_key_file") != EG_OK)
		return EG_ERR_CONFIG;
	return keyring_each_path(cfg->pseudonym_previous_keys, load_previous, r, NULL);
}

int
keys_pseudonym_of(const unsigned char *master, size_t mlen, const char *backend,
    const char *nrn, char out[KEYS_PSEUDONYM_LEN + 1])
{
	static const char pre[] = "eidgate-pseudonym-v1:";
	unsigned char bk[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE], msg[sizeof(pre) + EG_MAX_ID];
	unsigned int bklen = 0, maclen = 0;
	size_t blen = strlen(backend);
	int ok;

	if (blen >= EG_MAX_ID || strlen(nrn) != EG_NRN_LEN)
		return EG_ERR_PARSE;
	memcpy(msg, pre, sizeof(pre) - 1);
	memcpy(msg + sizeof(pre) - 1, backend, blen);
	ok = HMAC(EVP_sha256(), master, (int)mlen, msg, sizeof(pre) - 1 + blen, bk,
	    &bklen) != NULL &&
	    HMAC(EVP_sha256(), bk, (int)bklen, (const unsigned char *)nrn, EG_NRN_LEN, mac,
	    &maclen) != NULL && maclen == 32;
	OPENSSL_cleanse(bk, sizeof(bk));
	if (!ok)
		return EG_ERR_CRYPTO;
	eg_b64url(mac, 32, out);
	OPENSSL_cleanse(mac, sizeof(mac));
	return EG_OK;
}

int
keyring_pseudonym(const struct keyring *r, const char *key_id, const char *backend,
    const char *nrn, char kid[KEYS_PSEUDONYM_KID + 1], char out[KEYS_PSEUDONYM_LEN + 1])
{
	size_t i;

	for (i = 0; i < r->npseudo; i++) {
		const struct pseudo_key *k = &r->pseudo[i];
		if (key_id != NULL && key_id[0] != '\0' && strcmp(key_id, k->id) != 0)
			continue;
		memcpy(kid, k->id, KEYS_PSEUDONYM_KID + 1);
		return keys_pseudonym_of(k->master, k->len, backend, nrn, out);
	}
	return EG_ERR_NOT_FOUND;
}
