/*
 * fuzz_intent.c - the X-Eidgate-Intent header (auth/intent.c auth_intent_parse), then
 * what the gateway does with an accepted one that needs no configuration: the canonical
 * text and the signature check against a certificate the header brought.
 *
 * Input: the header's value.
 * Invariants: an accepted header has t, a known alg and a signature that fit their
 * buffers; the check answers EG_OK, EG_ERR_EXPIRED or EG_ERR_CRYPTO, never more.
 */
#include <openssl/err.h>

#include "fuzz.h"
#include "eidgate/auth.h"

FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = fuzz_str(data, size), msg[EG_INTENT_MAX_MSG];
	static const unsigned char body[32];
	struct auth_intent in;
	size_t len = 0;
	int r;

	r = auth_intent_parse(v, &in);
	FUZZ_ASSERT(r == EG_OK || r == EG_ERR_PARSE);
	if (r == EG_OK) {
		FUZZ_ASSERT(in.siglen > 0 && in.siglen <= sizeof(in.sig));
		FUZZ_ASSERT(in.certlen <= sizeof(in.cert) && in.t >= 0);
		FUZZ_ASSERT(strcmp(in.alg, EG_LOGIN_ALG_RSA) == 0 ||
		    strcmp(in.alg, EG_LOGIN_ALG_EC) == 0);
		FUZZ_ASSERT(auth_intent_message("https://gateway.example", "POST", "/a", "b=1",
		    in.t, body, msg, sizeof(msg), &len) == EG_OK && len == strlen(msg));
		if (in.certlen > 0) {
			r = auth_intent_verify(&in, in.cert, in.certlen, msg, len, in.t);
			FUZZ_ASSERT(r == EG_OK || r == EG_ERR_CRYPTO);
		}
	}
	free(v);
	ERR_clear_error();
	return 0;
}
