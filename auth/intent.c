/*
 * intent.c - card-signed intent (auth.h "Signed intent"): the header's parser, the
 * canonical text and the signature check. The request pipeline (request/intent.c)
 * decides which certificate it must be, holds the body and keeps the replay cache.
 */
#include <stdint.h>
#include <string.h>

#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/util.h"

/* One "key=value" part of [p, e): its value into [*v, e). 0 or -1. */
static int
intent_kv(const char *p, const char *e, const char *key, const char **v)
{
	size_t k = strlen(key);

	if ((size_t)(e - p) <= k + 1 || memcmp(p, key, k) != 0 || p[k] != '=')
		return -1;
	*v = p + k + 1;
	return 0;
}

static int
intent_time(const char *v, size_t n, int64_t *t)
{
	char buf[16];
	long long x;

	/* Seconds since the epoch, no sign, no leading zero: one spelling per time. */
	if (n == 0 || n > 12 || (v[0] == '0' && n > 1))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (!eg_all_digits(buf, n) || eg_strtonum(buf, 0, 999999999999LL, &x) != EG_OK)
		return -1;
	*t = x;
	return 0;
}

static int
intent_alg(const char *v, size_t n, char *out, size_t outlen)
{
	if ((n == strlen(EG_LOGIN_ALG_RSA) && memcmp(v, EG_LOGIN_ALG_RSA, n) == 0) ||
	    (n == strlen(EG_LOGIN_ALG_EC) && memcmp(v, EG_LOGIN_ALG_EC, n) == 0)) {
		memcpy(out, v, n);
		out[n] = '\0';
		return n < outlen ? 0 : -1;
	}
	return -1;
}

/* One part after "v1"; seen says which keys came already (bit per key). */
static int
intent_part(const char *p, const char *e, struct auth_intent *out, unsigned *seen)
{
	const char *v;

	if (intent_kv(p, e, "t", &v) == 0 && !(*seen & 1)) {
		*seen |= 1;
		return intent_time(v, (size_t)(e - v), &out->t);
	}
	if (intent_kv(p, e, "alg", &v) == 0 && !(*seen & 2)) {
		*seen |= 2;
		return intent_alg(v, (size_t)(e - v), out->alg, sizeof(out->alg));
	}
	if (intent_kv(p, e, "sig", &v) == 0 && !(*seen & 4)) {
		*seen |= 4;
		return eg_b64url_decode(v, (size_t)(e - v), out->sig, sizeof(out->sig),
		    &out->siglen) == EG_OK && out->siglen > 0 ? 0 : -1;
	}
	if (intent_kv(p, e, "cert", &v) == 0 && !(*seen & 8)) {
		*seen |= 8;
		return eg_b64url_decode(v, (size_t)(e - v), out->cert, sizeof(out->cert),
		    &out->certlen) == EG_OK && out->certlen > 0 ? 0 : -1;
	}
	return -1;
}

int
auth_intent_parse(const char *value, struct auth_intent *out)
{
	const char *p, *e;
	unsigned seen = 0;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (value == NULL || (n = strnlen(value, EG_INTENT_MAX_HEADER + 1)) >
	    EG_INTENT_MAX_HEADER || strncmp(value, "v1;", 3) != 0)
		return EG_ERR_PARSE;
	for (p = value + 3;; p = e + 1) {
		e = p + strcspn(p, ";");
		if (intent_part(p, e, out, &seen) != 0)
			return EG_ERR_PARSE;
		if (*e == '\0')
			break;
	}
	return (seen & 7) == 7 ? EG_OK : EG_ERR_PARSE;
}

int
auth_intent_verify(const struct auth_intent *in, const unsigned char *leaf,
    size_t leaflen, const char *msg, size_t msglen, int64_t now)
{
	if (in->t > now + EG_INTENT_WINDOW || in->t < now - EG_INTENT_WINDOW)
		return EG_ERR_EXPIRED;
	return auth_verify_login_signature(leaf, leaflen, in->alg, (const unsigned char *)msg,
	    msglen, in->sig, in->siglen);
}
