/*
 * session_test.c - sealed sessions and login challenges (auth/session.c, challenge.c,
 * sealed by keys/):
 * round trip, tampering, forgery, other keys, expiry, replay and origin binding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eidgate/config.h"
#include "eidgate/err.h"
#include "eidgate/keys.h"
#include "eidgate/session.h"
#include "eidgate/util.h"
#include "check.h"

/* Keys holding one session key file (no assertion or checkpoint key). */
static struct keys *
open_keys(const char *path)
{
	struct eg_config cfg;
	struct keys *k = NULL;

	memset(&cfg, 0, sizeof(cfg));
	eg_strlcpy(cfg.session_key_file, path, sizeof(cfg.session_key_file));
	return keys_open_local(&cfg, &k) == EG_OK ? k : NULL;
}

static struct keys *
make_key(const char *dir, const char *name, unsigned char fill)
{
	char path[512];
	unsigned char raw[32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(raw, fill, sizeof(raw));
	raw[0] ^= 0x5a;
	if ((f = fopen(path, "wb")) == NULL)
		return NULL;
	fwrite(raw, 1, sizeof(raw), f);
	fclose(f);
	chmod(path, 0600);
	return open_keys(path);
}

static void
test_key_file_rules(const char *dir)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/short.key", dir);
	f = fopen(path, "wb");
	fputs("too short", f);
	fclose(f);
	chmod(path, 0600);
	CHECK(open_keys(path) == NULL);
	snprintf(path, sizeof(path), "%s/open.key", dir);
	f = fopen(path, "wb");
	fwrite("0123456789abcdef0123456789abcdef", 1, 32, f);
	fclose(f);
	chmod(path, 0644);
	CHECK(open_keys(path) == NULL);
}

static void
test_round_trip_and_tampering(struct keys *k, struct keys *other)
{
	struct eg_session s, out;
	char *token = NULL;
	size_t i, n;

	memset(&s, 0, sizeof(s));
	eg_strlcpy(s.nrn, "72093006924", sizeof(s.nrn));
	eg_strlcpy(s.name, "Rudi Gerrits", sizeof(s.name));
	eg_strlcpy(s.facility, "ckg-molenberg", sizeof(s.facility));
	s.created = s.last_seen = 1790000000;
	CHECK(session_init(&s) == EG_OK && strlen(s.id) == 32 && strlen(s.csrf) > 40);
	CHECK(session_seal(k, &s, &token) == EG_OK && strncmp(token, "v1.", 3) == 0);
	CHECK(session_open(k, token, &out) == EG_OK);
	CHECK(strcmp(out.nrn, s.nrn) == 0 && strcmp(out.facility, s.facility) == 0 &&
	    out.created == s.created && strcmp(out.csrf, s.csrf) == 0);
	CHECK(session_open(other, token, &out) == EG_ERR_PARSE);          /* other key */
	n = strlen(token);
	for (i = 3; i < n; i += 7) {                                       /* every region */
		char saved = token[i];
		token[i] = token[i] == 'A' ? 'B' : 'A';
		CHECK(session_open(k, token, &out) == EG_ERR_PARSE);
		token[i] = saved;
	}
	token[n - 4] = '\0';                                               /* truncated */
	CHECK(session_open(k, token, &out) == EG_ERR_PARSE);
	free(token);
	CHECK(session_open(k, "v1.", &out) == EG_ERR_PARSE);
	CHECK(session_open(k, "v2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &out) == EG_ERR_PARSE);
	CHECK(session_open(k, "garbage", &out) == EG_ERR_PARSE);
	CHECK(session_open(k, "", &out) == EG_ERR_PARSE);
}

static void
test_challenges(struct keys *k, struct keys *other)
{
	struct challenge_store *cs = NULL;
	const char *origin = "https://gateway.example:8443";
	char ch[512], expired[512], forged[512];

	CHECK(challenge_store_new(&cs) == EG_OK);
	CHECK(challenge_issue(k, origin, 60, ch, sizeof(ch)) == EG_OK);
	CHECK(strspn(ch, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	    strlen(ch));
	CHECK(challenge_redeem(k, cs, ch, "https://evil.example") == EG_ERR_PARSE);
	CHECK(challenge_redeem(other, cs, ch, origin) == EG_ERR_PARSE);
	CHECK(challenge_redeem(k, cs, ch, origin) == EG_OK);
	CHECK(challenge_redeem(k, cs, ch, origin) == EG_ERR_PARSE);       /* replay */
	CHECK(challenge_issue(k, origin, -1, expired, sizeof(expired)) == EG_OK);
	CHECK(challenge_redeem(k, cs, expired, origin) == EG_ERR_PARSE);  /* expired */
	CHECK(challenge_issue(k, origin, 60, forged, sizeof(forged)) == EG_OK);
	forged[10] = forged[10] == 'A' ? 'B' : 'A';
	CHECK(challenge_redeem(k, cs, forged, origin) == EG_ERR_PARSE);   /* tampered */
	challenge_store_free(cs);
}

/* Found by tests/fuzz/fuzz_challenge (corpus regress-expires-max): a sealed challenge
 * whose "e" is INT64_MAX made the used-nonce deadline overflow (UBSan). It is redeemed
 * once, like any other, and never again. */
static void
test_challenge_expiry_max(struct keys *k)
{
	static const char plain[] = "{\"n\":\"0123456789abcdef0123456789abcdef\","
	    "\"o\":\"https://gateway.example:8443\",\"e\":9223372036854775807}";
	struct challenge_store *cs = NULL;
	char *tok = NULL;

	CHECK(challenge_store_new(&cs) == EG_OK);
	CHECK(keys_seal(k, KEYS_SEAL_CHALLENGE, plain, sizeof(plain) - 1, &tok) == EG_OK);
	if (cs != NULL && tok != NULL) {
		CHECK(challenge_redeem(k, cs, tok + KEYS_TOKEN_PREFIX_LEN,
		    "https://gateway.example:8443") == EG_OK);
		CHECK(challenge_redeem(k, cs, tok + KEYS_TOKEN_PREFIX_LEN,
		    "https://gateway.example:8443") == EG_ERR_PARSE);
	}
	free(tok);
	challenge_store_free(cs);
}

/* Sessions ended one by one and all of a person's up to a moment (auth/ended.c). */
static void
test_ended(void)
{
	struct session_ends *e = NULL;

	CHECK(session_ends_new(&e) == EG_OK);
	if (e == NULL)
		return;
	CHECK(session_end(e, "abcdef0123456789", 200, 100) == EG_OK);
	CHECK(session_ended(e, "abcdef0123456789", 150));
	CHECK(!session_ended(e, "abcdef0123456789", 200));     /* past its timeout */
	CHECK(!session_ended(e, "0000000000000000", 150));
	CHECK(session_end_person(e, "85073003361", 120, 500, 100) == EG_OK);
	CHECK(session_ended_person(e, "85073003361", 120, 130));      /* made at the moment */
	CHECK(session_ended_person(e, "85073003361", 50, 130));
	CHECK(!session_ended_person(e, "85073003361", 121, 130));     /* made after it */
	CHECK(!session_ended_person(e, "90010705778", 50, 130));
	/* An earlier moment arriving late never moves it back. */
	CHECK(session_end_person(e, "85073003361", 110, 500, 130) == EG_OK);
	CHECK(session_ended_person(e, "85073003361", 115, 130));
	CHECK(session_end_person(e, "85073003361", 140, 500, 130) == EG_OK);
	CHECK(session_ended_person(e, "85073003361", 135, 130));
	CHECK(!session_ended_person(e, "85073003361", 135, 500));     /* expired */
	CHECK(session_end_person(e, "8507", 1, 2, 0) == EG_ERR_PARSE);
	session_ends_free(e);
}

static void
cleanup(const char *dir)
{
	static const char *const names[] = { "a.key", "b.key", "short.key", "open.key" };
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	char dir[] = "/tmp/eidgate-session-XXXXXX";
	struct keys *k, *other;

	if (mkdtemp(dir) == NULL)
		return 1;
	k = make_key(dir, "a.key", 0x11);
	other = make_key(dir, "b.key", 0x22);
	CHECK(k != NULL && other != NULL);
	if (k != NULL && other != NULL) {
		test_key_file_rules(dir);
		test_round_trip_and_tampering(k, other);
		test_challenges(k, other);
		test_challenge_expiry_max(k);
	}
	test_ended();
	keys_close(k);
	keys_close(other);
	cleanup(dir);
	return check_report();
}
