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
#include "eidgate/keys.h"
#include "eidgate/log.h"
#include "eidgate/session.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"
#include "auth/internal.h"

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
session_seal(struct keys *k, const struct eg_session *s, char **token)
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
	r = keys_seal(k, KEYS_SEAL_SESSION, plain, strlen(plain), token);
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
session_open(struct keys *k, const char *token, struct eg_session *s)
{
	unsigned char *plain = NULL;
	size_t len = 0;
	json_t *j;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = keys_unseal(k, KEYS_SEAL_SESSION, token, &plain, &len)) != EG_OK)
		return r == EG_ERR_KEYS ? r : EG_ERR_PARSE;
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
