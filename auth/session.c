/*
 * session.c - sealed session tokens: AES-256-GCM over a small JSON object (session.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/session.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "auth/internal.h"

struct session_key {
	unsigned char session[32];      /* seals sessions */
	unsigned char challenge[32];    /* seals login challenges */
};

/* Separate keys per purpose, so a sealed challenge can never pass as a session. */
static int
derive(const unsigned char master[32], const char *label, unsigned char out[32])
{
	unsigned int len = 0;

	return HMAC(EVP_sha256(), master, 32, (const unsigned char *)label, strlen(label), out,
	    &len) != NULL && len == 32 ? 0 : -1;
}

int
session_key_load(const char *path, struct session_key **out)
{
	struct session_key *k;
	char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if (eg_key_secrecy(path, NULL, 0) != EG_OK) {
		log_warnx("[session] key_file %s: missing, or accessible by group or others", path);
		return EG_ERR_CONFIG;
	}
	if ((r = eg_read_file(path, 64, &buf, &len)) != EG_OK || len != 32) {
		log_warnx("[session] key_file %s: must hold exactly 32 random bytes", path);
		eg_freezero(buf, len);
		return EG_ERR_CONFIG;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    derive((unsigned char *)buf, "eidgate session v1", k->session) != 0 ||
	    derive((unsigned char *)buf, "eidgate challenge v1", k->challenge) != 0) {
		eg_freezero(buf, len);
		session_key_free(k);
		return EG_ERR_CRYPTO;
	}
	eg_freezero(buf, len);
	*out = k;
	return EG_OK;
}

int
session_key_dup(const struct session_key *k, struct session_key **out)
{
	if ((*out = malloc(sizeof(**out))) == NULL)
		return EG_ERR_NOMEM;
	memcpy(*out, k, sizeof(**out));
	return EG_OK;
}

void
session_key_free(struct session_key *k)
{
	eg_freezero(k, k != NULL ? sizeof(*k) : 0);
}

int
session_init(struct eg_session *s)
{
	unsigned char id[16], csrf[32];

	if (RAND_bytes(id, sizeof(id)) != 1 || RAND_bytes(csrf, sizeof(csrf)) != 1)
		return EG_ERR_CRYPTO;
	eg_hex(id, sizeof(id), s->id);
	eg_b64url(csrf, sizeof(csrf), s->csrf);
	return EG_OK;
}

static json_t *
session_to_json(const struct eg_session *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:s*}",
	    "n", s->nrn, "f", s->fingerprint, "nm", s->name, "g", s->given, "sn", s->surname,
	    "fa", s->facility, "o", s->org, "c", (json_int_t)s->created,
	    "l", (json_int_t)s->last_seen, "i", s->id, "x", s->csrf, "t", s->tls_bound,
	    "k", s->leaf[0] ? s->leaf : NULL);
}

int
session_seal(const struct session_key *k, const struct eg_session *s, char **token)
{
	json_t *j = session_to_json(s);
	char *plain;
	int r;

	*token = NULL;
	if (j == NULL)
		return EG_ERR_NOMEM;
	plain = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (plain == NULL)
		return EG_ERR_NOMEM;
	r = seal(k->session, "eidgate-session-v1", (unsigned char *)plain, strlen(plain), token);
	eg_freezero(plain, strlen(plain));
	return r;
}

static int
copy_field(json_t *j, const char *key, char *out, size_t outlen)
{
	const char *v = json_string_value(json_object_get(j, key));

	if (v == NULL || strlen(v) >= outlen)
		return -1;
	eg_strlcpy(out, v, outlen);
	return 0;
}

static int
session_from_json(json_t *j, struct eg_session *s)
{
	json_t *c = json_object_get(j, "c"), *l = json_object_get(j, "l");
	json_t *t = json_object_get(j, "t");

	if (!json_is_integer(c) || !json_is_integer(l) || !json_is_boolean(t))
		return EG_ERR_PARSE;
	s->tls_bound = json_is_true(t);
	if (copy_field(j, "n", s->nrn, sizeof(s->nrn)) || copy_field(j, "f", s->fingerprint,
	    sizeof(s->fingerprint)) || copy_field(j, "nm", s->name, sizeof(s->name)) ||
	    copy_field(j, "g", s->given, sizeof(s->given)) ||
	    copy_field(j, "sn", s->surname, sizeof(s->surname)) ||
	    copy_field(j, "fa", s->facility, sizeof(s->facility)) ||
	    copy_field(j, "o", s->org, sizeof(s->org)) || copy_field(j, "i", s->id, sizeof(s->id)) ||
	    copy_field(j, "x", s->csrf, sizeof(s->csrf)))
		return EG_ERR_PARSE;
	/* A token without a certificate is only good with one on the connection. */
	if (json_object_get(j, "k") != NULL &&
	    (s->tls_bound || copy_field(j, "k", s->leaf, sizeof(s->leaf))))
		return EG_ERR_PARSE;
	s->created = json_integer_value(c);
	s->last_seen = json_integer_value(l);
	return EG_OK;
}

int
session_open(const struct session_key *k, const char *token, struct eg_session *s)
{
	unsigned char *plain = NULL;
	size_t len = 0;
	json_t *j;
	int r;

	memset(s, 0, sizeof(*s));
	if (unseal(k->session, "eidgate-session-v1", token, &plain, &len) != EG_OK)
		return EG_ERR_PARSE;
	j = json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES, NULL);
	eg_freezero(plain, len);
	if (j == NULL)
		return EG_ERR_PARSE;
	r = session_from_json(j, s);
	json_decref(j);
	return r;
}

void
session_public_id(const struct eg_session *s, char *out, size_t outlen)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hex[65];

	if (EVP_Digest(s->id, strlen(s->id), md, &mdlen, EVP_sha256(), NULL) != 1) {
		eg_strlcpy(out, "?", outlen);
		return;
	}
	eg_hex(md, 32, hex);
	hex[16] = '\0';
	eg_strlcpy(out, hex, outlen);
}

const unsigned char *
session_key_challenge(const struct session_key *k)
{
	return k->challenge;
}
