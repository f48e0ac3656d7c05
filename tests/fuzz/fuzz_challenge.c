/*
 * fuzz_challenge.c - the PKCS#11 login's challenges: challenge_redeem() (auth/challenge.c)
 * under a fixed key, with challenges as a client sends them back.
 *
 * Input: one mode byte, then
 *   0: the challenge string of a token request (base64url without the seal's prefix);
 *   1: the sealed content: the bytes are sealed under the challenge key (as
 *      challenge_issue seals its JSON), so the JSON reader behind the seal is reached;
 *   2: an origin: challenge_issue() for it, then redeemed.
 * Invariants: a challenge is redeemed at most once; one issued for an origin is
 * redeemed once, for that origin only.
 */
#include "fuzz.h"
#include "fuzz_key.h"
#include "eidgate/session.h"

#define ORIGIN "https://gateway.example:8443"

static struct keys *key;
static struct challenge_store *idle;    /* written only by a genuine challenge: renewed */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char ch[512];
	struct challenge_store *cs = NULL;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	key = fuzz_session_key();
	if (challenge_store_new(&idle) != EG_OK || challenge_store_new(&cs) != EG_OK)
		abort();
	if (challenge_issue(key, ORIGIN, 60, ch, sizeof(ch)) != EG_OK ||
	    challenge_redeem(key, cs, ch, ORIGIN) != EG_OK)
		abort();
	challenge_store_free(cs);
	return 0;
}

/* Redeems ch twice in a fresh store: the second must fail. Returns the first result. */
static int
redeem_once(const char *ch, const char *origin)
{
	struct challenge_store *cs = NULL;
	int r;

	FUZZ_ASSERT(challenge_store_new(&cs) == EG_OK);
	r = challenge_redeem(key, cs, ch, origin);
	FUZZ_ASSERT(r == EG_OK || r == EG_ERR_PARSE);
	if (r == EG_OK)
		FUZZ_ASSERT(challenge_redeem(key, cs, ch, origin) == EG_ERR_PARSE);
	challenge_store_free(cs);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *tok = NULL, ch[512];
	int r;

	if (size < 1)
		return 0;
	text = fuzz_str(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		/* Only a seed (a challenge issued under the fixed key) opens; the store stays
		 * empty otherwise, so a fresh one is made only then. */
		r = challenge_redeem(key, idle, text, ORIGIN);
		FUZZ_ASSERT(r == EG_ERR_PARSE || r == EG_OK);
		if (r == EG_OK) {
			challenge_store_free(idle);
			FUZZ_ASSERT(challenge_store_new(&idle) == EG_OK);
			(void)redeem_once(text, ORIGIN);
		}
		break;
	case 1:
		if (keys_seal(key, KEYS_SEAL_CHALLENGE, data + 1, size - 1, &tok) != EG_OK)
			break;
		(void)redeem_once(tok + KEYS_TOKEN_PREFIX_LEN, ORIGIN);
		free(tok);
		break;
	default:
		r = challenge_issue(key, text, 60, ch, sizeof(ch));
		if (r != EG_OK)
			break;
		FUZZ_ASSERT(redeem_once(ch, text) == EG_OK);
		if (strcmp(text, ORIGIN) != 0)
			FUZZ_ASSERT(redeem_once(ch, ORIGIN) == EG_ERR_PARSE);
		break;
	}
	free(text);
	return 0;
}
