/*
 * fuzz_token.c - the PKCS#11 login's token request (pages/login.c, login_req_parse): the
 * JSON {"challenge","origin","alg","signature","chain"}, then what the gateway does with
 * its pieces that needs no configuration: the leaf's profile (auth_inspect_der) and the
 * card's signature over the message (auth_verify_login_signature).
 *
 * Input: the body of POST /eidgate/auth/token.
 * Invariants: an accepted request has 1..EG_MAX_CHAIN certificates, each no longer than
 * its base64url text allows; a readable signature fits its buffer.
 */
#include <openssl/err.h>

#include "fuzz.h"
#include "eidgate/auth.h"
#include "pages/internal.h"

#define ORIGIN "https://gateway.example:8443"

/* Nothing to set up but silence: the parsers log what they refuse. */
FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_str(data, size), msg[2048];
	struct login_req q;
	struct eg_identity id;
	size_t i;
	int n, r;

	r = login_req_parse(body, size, &q);
	FUZZ_ASSERT(r == EG_OK || r == EG_ERR_PARSE);
	FUZZ_ASSERT(q.n <= EG_MAX_CHAIN);
	if (r == EG_OK) {
		FUZZ_ASSERT(q.n >= 1 && q.json != NULL);
		for (i = 0; i < q.n; i++)
			FUZZ_ASSERT(q.ders[i] != NULL && q.lens[i] <= size);
		FUZZ_ASSERT(q.siglen <= sizeof(q.sig));
		FUZZ_ASSERT(!q.sig_ok || (q.challenge != NULL && q.alg != NULL));
		(void)auth_inspect_der(q.ders[0], q.lens[0], &id);
		if (q.sig_ok && (n = login_message(ORIGIN, q.challenge, msg, sizeof(msg))) >= 0) {
			FUZZ_ASSERT((size_t)n == strlen(msg));
			r = auth_verify_login_signature(q.ders[0], q.lens[0], q.alg,
			    (const unsigned char *)msg, (size_t)n, q.sig, q.siglen);
			FUZZ_ASSERT(r == EG_OK || r == EG_ERR_CRYPTO);
		}
	}
	login_req_free(&q);
	free(body);
	/* OpenSSL's error queue keeps what a refused certificate or signature left (the
	 * gateway reads it only through SSL_get_error, after ERR_clear_error: conn.c); its
	 * allocations would make libFuzzer run a full leak scan after every such input. */
	ERR_clear_error();
	return 0;
}
