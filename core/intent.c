/*
 * intent.c - the canonical text of a card-signed intent (auth.h "Signed intent"). It
 * lives in core/ because both sides build it: the gateway to check a signature, and
 * eidgate-login, which links only core/, to make one.
 */
#include <stdint.h>
#include <stdio.h>

#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/util.h"

int
auth_intent_message(const char *origin, const char *method, const char *path,
    const char *query, int64_t t, const unsigned char body_sha256[32], char *out,
    size_t outlen, size_t *len)
{
	char hex[65];
	int n;

	eg_hex(body_sha256, 32, hex);
	hex[64] = '\0';
	n = snprintf(out, outlen, EG_INTENT_MSG_PREFIX "%s\n%s\n%s%s%s\n%lld\n%s", origin,
	    method, path, query != NULL && query[0] != '\0' ? "?" : "",
	    query != NULL ? query : "", (long long)t, hex);
	if (n < 0 || (size_t)n >= outlen)
		return EG_ERR_TOO_LONG;
	*len = (size_t)n;
	return EG_OK;
}
