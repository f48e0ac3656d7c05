/*
 * ring.c - the keys themselves, in the memory of the process that holds them (the key
 * process, or a command-line tool): loading the files, and sealing, opening and signing.
 *
 * Session key files hold 32 random bytes; two keys are derived from each (HMAC-SHA-256
 * with a label), so that a sealed challenge can never pass as a session. The first file
 * seals; every file opens. Trying each key costs one AES-GCM tag check per key, and the
 * ring is at most KEYS_MAX_SESSION long, so no key id needs to travel in the token.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "keys/internal.h"

static const char *const seal_aad[] = {
	[KEYS_SEAL_SESSION] = "eidgate-session-v1",
	[KEYS_SEAL_CHALLENGE] = "eidgate-challenge-v1",
};

static int
derive(const unsigned char master[32], const char *label, unsigned char out[32])
{
	unsigned int len = 0;

	return HMAC(EVP_sha256(), master, 32, (const unsigned char *)label, strlen(label), out,
	    &len) != NULL && len == 32 ? 0 : -1;
}

static int
load_seal_key(const char *path, struct seal_key *k)
{
	char *buf = NULL;
	size_t len = 0;
	int ok;

	if (eg_key_secrecy(path, NULL, 0) != EG_OK) {
		log_warnx("[session] %s: missing, or accessible by group or others", path);
		return EG_ERR_CONFIG;
	}
	if (eg_read_file(path, 64, &buf, &len) != EG_OK || len != 32) {
		log_warnx("[session] %s: must hold exactly 32 random bytes", path);
		eg_freezero(buf, len);
		return EG_ERR_CONFIG;
	}
	ok = derive((unsigned char *)buf, "eidgate session v1", k->session) == 0 &&
	    derive((unsigned char *)buf, "eidgate challenge v1", k->challenge) == 0;
	eg_freezero(buf, len);
	return ok ? EG_OK : EG_ERR_CRYPTO;
}

int
keys_jwk_parts(EVP_PKEY *key, char x[64], char y[64], char kid[48])
{
	BIGNUM *bx = NULL, *by = NULL;
	unsigned char bx32[32], by32[32], md[32];
	unsigned int mdlen = 0;
	char canon[256];
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
	/* RFC 7638: the required members in lexicographic order, no spaces. */
	snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
	    x, y);
	if (EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	eg_b64url(md, 32, kid);
	return 0;
}

EVP_PKEY *
keys_spki_key(const unsigned char *spki, size_t len)
{
	const unsigned char *p = spki;
	EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)len);

	if (key != NULL && (p != spki + len || !eg_key_is_p256(key))) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* Fills k's public part, id and kid from its EVP_PKEY. */
static int
describe(struct sign_key *k, enum keys_sign purpose, int signs)
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	char x[64], y[64];
	int len, ok;

	k->pub.purpose = purpose;
	k->pub.signs = signs;
	if ((len = i2d_PUBKEY(k->pkey, &der)) <= 0 || (size_t)len > sizeof(k->pub.spki)) {
		OPENSSL_free(der);
		return -1;
	}
	memcpy(k->pub.spki, der, (size_t)len);
	k->pub.spki_len = (size_t)len;
	ok = EVP_Digest(der, (size_t)len, k->pub.id, &mdlen, EVP_sha256(), NULL) == 1 &&
	    keys_jwk_parts(k->pkey, x, y, k->kid) == 0;
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

static struct sign_key *
find_key(const struct keyring *r, enum keys_sign p, const unsigned char id[KEYS_ID_LEN])
{
	size_t i;

	for (i = 0; i < r->nsign; i++)
		if (r->sign[i].pub.purpose == p &&
		    memcmp(r->sign[i].pub.id, id, KEYS_ID_LEN) == 0)
			return (struct sign_key *)&r->sign[i];
	return NULL;
}

/* Adds the key of path (private: it signs; else its public half is published). */
static int
add_file(struct keyring *r, enum keys_sign p, const char *path, int signs, const char *what)
{
	struct sign_key k;
	char err[512];

	memset(&k, 0, sizeof(k));
	if (r->nsign == sizeof(r->sign) / sizeof(r->sign[0])) {
		log_warnx("%s %s: more than %d keys", what, path, KEYS_MAX_PUBLIC);
		return EG_ERR_CONFIG;
	}
	if (eg_key_load_p256(path, signs, &k.pkey, err, sizeof(err)) != EG_OK) {
		log_warnx("%s: %s", what, err);
		return EG_ERR_CONFIG;
	}
	k.has_private = signs;
	if (describe(&k, p, signs) != 0) {
		log_warnx("%s %s: not an EC P-256 key", what, path);
		EVP_PKEY_free(k.pkey);
		return EG_ERR_CONFIG;
	}
	if (find_key(r, p, k.pub.id) != NULL) {      /* listed twice: once is enough */
		EVP_PKEY_free(k.pkey);
		return EG_OK;
	}
	r->sign[r->nsign++] = k;
	return EG_OK;
}

int
keyring_each_path(const char *list, int (*fn)(struct keyring *, const char *, void *),
    struct keyring *r, void *arg)
{
	char path[1024];
	const char *e;
	size_t n;
	int rc;

	for (; *list != '\0'; list = *e == ',' ? e + 1 : e) {
		e = list + strcspn(list, ",");
		if ((n = (size_t)(e - list)) == 0 || n >= sizeof(path))
			continue;
		memcpy(path, list, n);
		path[n] = '\0';
		if ((rc = fn(r, path, arg)) != EG_OK)
			return rc;
	}
	return EG_OK;
}

static int
add_previous_session(struct keyring *r, const char *path, void *arg)
{
	(void)arg;
	if (r->nseal == KEYS_MAX_SESSION) {
		log_warnx("[session] previous_key_files: more than %d keys", KEYS_MAX_SESSION - 1);
		return EG_ERR_CONFIG;
	}
	if (load_seal_key(path, &r->seal[r->nseal]) != EG_OK)
		return EG_ERR_CONFIG;
	r->nseal++;
	return EG_OK;
}

static int
pem_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".pem") == 0;
}

/*
 * A directory in publish_keys: every instance of a cluster drops its public key there
 * (configuration management or a shared mount), so one line in every instance's
 * configuration publishes all of them, and a new instance's key reaches the others with
 * a reload instead of an edit of each configuration. Sorted, so that every instance
 * serves the keys in the same order.
 */
static int
add_published_dir(struct keyring *r, const char *dir)
{
	struct dirent **names = NULL;
	char path[1024];
	int i, n, rc = EG_OK;

	if ((n = scandir(dir, &names, pem_name, alphasort)) < 0) {
		log_warn("[assertion] publish_keys %s", dir);
		return EG_ERR_CONFIG;
	}
	for (i = 0; i < n; i++) {
		if (rc == EG_OK && (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]->d_name) >= sizeof(path)) {
			log_warnx("[assertion] publish_keys %s: name too long", dir);
			rc = EG_ERR_CONFIG;
		}
		if (rc == EG_OK)
			rc = add_file(r, KEYS_SIGN_ASSERTION, path, 0, "[assertion] publish_keys");
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
add_published(struct keyring *r, const char *path, void *arg)
{
	struct stat st;

	(void)arg;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return add_published_dir(r, path);
	return add_file(r, KEYS_SIGN_ASSERTION, path, 0, "[assertion] publish_keys");
}

/* The signing keys of prev that no longer sign keep their private half until the next
 * reload: requests that took their key id before the reload still get a signature. */
static void
keep_retired(struct keyring *r, const struct keyring *prev)
{
	size_t i;

	for (i = 0; prev != NULL && i < prev->nsign; i++) {
		const struct sign_key *o = &prev->sign[i];
		struct sign_key *now = find_key(r, o->pub.purpose, o->pub.id);

		if (!o->pub.signs || (now != NULL && now->pub.signs))
			continue;
		if (now != NULL) {              /* published now: give it its private half */
			EVP_PKEY_free(now->pkey);
			now->pkey = o->pkey;
		} else if (r->nsign < sizeof(r->sign) / sizeof(r->sign[0])) {
			now = &r->sign[r->nsign++];
			*now = *o;
			now->pub.signs = 0;
		} else {
			continue;
		}
		EVP_PKEY_up_ref(o->pkey);
		now->has_private = 1;
	}
}

/*
 * The TLS server key, when it is an EC P-256 key (other kinds stay with the serving
 * process, which then reads the file itself: server/tlskey.c says so in the log). A key
 * file others may read is refused as for every other key.
 */
static int
add_tls_key(struct keyring *r, const struct eg_config *cfg)
{
	EVP_PKEY *k = NULL;
	char err[512];

	if (cfg->tls_key[0] == '\0')
		return EG_OK;
	if (eg_key_load_p256(cfg->tls_key, 0, &k, err, sizeof(err)) != EG_OK)
		return EG_OK;   /* not P-256 (or unreadable): the serving process's affair */
	EVP_PKEY_free(k);
	return add_file(r, KEYS_SIGN_TLS, cfg->tls_key, 1, "[listen] tls_key");
}

/* The TLS certificate is read once, at start (a new one takes a restart): its key stays
 * the one read then, whatever a reload finds in the file. */
static int
keep_tls_key(struct keyring *r, const struct keyring *prev)
{
	size_t i;

	for (i = 0; i < prev->nsign; i++) {
		if (prev->sign[i].pub.purpose != KEYS_SIGN_TLS)
			continue;
		if (r->nsign == sizeof(r->sign) / sizeof(r->sign[0]))
			return EG_ERR_CONFIG;
		r->sign[r->nsign] = prev->sign[i];
		EVP_PKEY_up_ref(prev->sign[i].pkey);
		r->nsign++;
	}
	return EG_OK;
}

int
keyring_load(const struct eg_config *cfg, const struct keyring *prev, struct keyring **out)
{
	struct keyring *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return EG_ERR_NOMEM;
	if (load_seal_key(cfg->session_key_file, &r->seal[0]) != EG_OK)
		goto fail;
	r->nseal = 1;
	/* The configuration requires an assertion key; the unit tests of sessions do not. */
	if (keyring_each_path(cfg->session_previous_keys, add_previous_session, r, NULL) != EG_OK ||
	    (cfg->assertion_key[0] != '\0' && add_file(r, KEYS_SIGN_ASSERTION,
	    cfg->assertion_key, 1, "[assertion] signing_key") != EG_OK) ||
	    keyring_each_path(cfg->assertion_publish_keys, add_published, r, NULL) != EG_OK)
		goto fail;
	if (cfg->audit_signing_key[0] != '\0' && add_file(r, KEYS_SIGN_CHECKPOINT,
	    cfg->audit_signing_key, 1, "[audit] signing_key") != EG_OK)
		goto fail;
	if (cfg->audit_witness_key[0] != '\0' && add_file(r, KEYS_SIGN_WITNESS,
	    cfg->audit_witness_key, 1, "[audit] witness_key") != EG_OK)
		goto fail;
	if ((prev != NULL ? keep_tls_key(r, prev) : add_tls_key(r, cfg)) != EG_OK ||
	    keyring_load_pseudonyms(r, cfg) != EG_OK)
		goto fail;
	keep_retired(r, prev);
	*out = r;
	return EG_OK;
fail:
	keyring_free(r);
	return EG_ERR_CONFIG;
}

void
keyring_free(struct keyring *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nsign; i++)
		EVP_PKEY_free(r->sign[i].pkey);
	eg_freezero(r, sizeof(*r));
}

void
keyring_public(const struct keyring *r, struct keys_public *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < r->nsign && out->n < sizeof(out->keys) / sizeof(out->keys[0]); i++)
		out->keys[out->n++] = r->sign[i].pub;
}

int
keyring_seal(const struct keyring *r, enum keys_seal p, const void *plain, size_t len, char **token)
{
	const struct seal_key *k = &r->seal[0];

	*token = NULL;
	if ((unsigned)p > KEYS_SEAL_CHALLENGE || len == 0 || len > EG_MAX_SEALED)
		return EG_ERR_DENIED;
	return seal(p == KEYS_SEAL_SESSION ? k->session : k->challenge, seal_aad[p], plain, len,
	    token);
}

int
keyring_unseal(const struct keyring *r, enum keys_seal p, const char *token, unsigned char **plain,
    size_t *len)
{
	size_t i;

	*plain = NULL;
	if ((unsigned)p > KEYS_SEAL_CHALLENGE)
		return EG_ERR_DENIED;
	for (i = 0; i < r->nseal; i++) {
		const struct seal_key *k = &r->seal[i];

		if (unseal(p == KEYS_SEAL_SESSION ? k->session : k->challenge, seal_aad[p], token,
		    plain, len) == EG_OK)
			return EG_OK;
	}
	return EG_ERR_PARSE;
}

/* 1 when msg is a JWS signing input (base64url header '.' base64url payload) whose header
 * says ES256 and names kid: the assertion key signs assertions and nothing else. */
static int
is_assertion_for(const char *msg, size_t len, const char *kid)
{
	const char *dot = memchr(msg, '.', len);
	unsigned char hdr[512];
	size_t hlen = 0, i;
	json_t *j;
	int ok;

	if (dot == NULL || len > KEYS_MAX_ASSERTION)
		return 0;
	for (i = 0; i < len; i++)
		if (msg + i != dot && !((msg[i] >= 'A' && msg[i] <= 'Z') ||
		    (msg[i] >= 'a' && msg[i] <= 'z') || (msg[i] >= '0' && msg[i] <= '9') ||
		    msg[i] == '-' || msg[i] == '_'))
			return 0;
	if (eg_b64url_decode(msg, (size_t)(dot - msg), hdr, sizeof(hdr), &hlen) != EG_OK ||
	    (j = json_loadb((const char *)hdr, hlen, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	ok = json_is_object(j) &&
	    json_string_value(json_object_get(j, "alg")) != NULL &&
	    strcmp(json_string_value(json_object_get(j, "alg")), "ES256") == 0 &&
	    json_string_value(json_object_get(j, "kid")) != NULL &&
	    strcmp(json_string_value(json_object_get(j, "kid")), kid) == 0;
	json_decref(j);
	return ok;
}

static int
is_checkpoint(const unsigned char *msg, size_t len)
{
	size_t n = sizeof(KEYS_CHECKPOINT_PREFIX) - 1;

	return len > n && len <= KEYS_MAX_CHECKPOINT_MSG &&
	    memcmp(msg, KEYS_CHECKPOINT_PREFIX, n) == 0;
}

static int
is_witness(const unsigned char *msg, size_t len)
{
	size_t n = sizeof(KEYS_WITNESS_PREFIX) - 1;

	return len > n && len <= KEYS_MAX_WITNESS_MSG && memcmp(msg, KEYS_WITNESS_PREFIX, n) == 0;
}

int
keyring_sign(const struct keyring *r, enum keys_sign p, const unsigned char id[KEYS_ID_LEN],
    const void *msg, size_t len, unsigned char *sig, size_t *siglen)
{
	const struct sign_key *k = find_key(r, p, id);

	if (k == NULL || !k->has_private)
		return EG_ERR_DENIED;
	/* GnuTLS hands an external key the handshake's digest, not what it covers: the TLS
	 * key signs any SHA-256 digest, as relayd's ca signs for its relays. It signs
	 * nothing else, and its certificate is good for TLS only. */
	if (p == KEYS_SIGN_TLS)
		return len == 32 ? eg_p256_sign_digest(k->pkey, msg, sig, siglen) : EG_ERR_DENIED;
	if ((p == KEYS_SIGN_ASSERTION && !is_assertion_for(msg, len, k->kid)) ||
	    (p == KEYS_SIGN_CHECKPOINT && !is_checkpoint(msg, len)) ||
	    (p == KEYS_SIGN_WITNESS && !is_witness(msg, len)))
		return EG_ERR_DENIED;
	return eg_p256_sign(k->pkey, msg, len, sig, siglen);
}
