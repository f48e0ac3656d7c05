/*
 * fuzz_session.c - the session token unsealer: session_open() (auth/session.c, seal.c)
 * under a fixed key, and seal-then-open round trips.
 *
 * Input: one mode byte, then
 *   0: a token as a cookie or Bearer header carries it ("v1." base64url);
 *   1: the sealed content: the bytes are sealed under the session key (as session_seal
 *      would seal its JSON), so the JSON reader behind the seal is reached;
 *   2: a session's fields, "\n"-separated (nrn, fingerprint, name, given, surname,
 *      facility, org, id, csrf, leaf), sealed with session_seal and opened again.
 * Invariants: what opens has NUL-terminated fields and no certificate in a TLS-bound
 * session; what session_open accepts seals again and opens to the same session; a
 * session that seals opens to itself (unless it is TLS-bound and carries a leaf, which
 * session_open refuses by design).
 */
#include "fuzz.h"
#include "fuzz_key.h"
#include "eidgate/session.h"
#include "eidgate/util.h"
#include "auth/internal.h"

static struct keys *key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct eg_session s, o;
	unsigned char *plain = NULL;
	size_t len = 0;
	char *tok = NULL;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	key = fuzz_session_key();
	/* What session.c seals, keys_unseal opens: mode 1 reaches the JSON reader. */
	memset(&s, 0, sizeof(s));
	if (session_seal(key, &s, &tok) != EG_OK ||
	    keys_unseal(key, KEYS_SEAL_SESSION, tok, &plain, &len) != EG_OK ||
	    session_open(key, tok, &o) != EG_OK)
		abort();
	free(tok);
	eg_freezero(plain, len);
	return 0;
}

static int
same(const struct eg_session *a, const struct eg_session *b)
{
	return strcmp(a->nrn, b->nrn) == 0 && strcmp(a->fingerprint, b->fingerprint) == 0 &&
	    strcmp(a->name, b->name) == 0 && strcmp(a->given, b->given) == 0 &&
	    strcmp(a->surname, b->surname) == 0 && strcmp(a->facility, b->facility) == 0 &&
	    strcmp(a->org, b->org) == 0 && a->created == b->created &&
	    a->last_seen == b->last_seen && strcmp(a->id, b->id) == 0 &&
	    strcmp(a->csrf, b->csrf) == 0 && a->tls_bound == b->tls_bound &&
	    strcmp(a->leaf, b->leaf) == 0;
}

static void
check_opened(const struct eg_session *s)
{
	struct eg_session again;
	char *tok = NULL;

	FUZZ_ASSERT(FUZZ_TERMINATED(s->nrn) && FUZZ_TERMINATED(s->fingerprint) &&
	    FUZZ_TERMINATED(s->name) && FUZZ_TERMINATED(s->given) &&
	    FUZZ_TERMINATED(s->surname) && FUZZ_TERMINATED(s->facility) &&
	    FUZZ_TERMINATED(s->org) && FUZZ_TERMINATED(s->id) &&
	    FUZZ_TERMINATED(s->csrf) && FUZZ_TERMINATED(s->leaf));
	FUZZ_ASSERT(!(s->tls_bound && s->leaf[0] != '\0'));
	FUZZ_ASSERT(session_seal(key, s, &tok) == EG_OK);
	FUZZ_ASSERT(session_open(key, tok, &again) == EG_OK && same(s, &again));
	free(tok);
}

/* Mode 2: the fields of a session from the input. */
static void
round_trip(const char *text, size_t len)
{
	struct {
		char *f;
		size_t n;
	} fields[10];
	struct eg_session s, o;
	const char *p = text, *end = text + len, *nl;
	char *tok = NULL;
	size_t i;
	int r;

	memset(&s, 0, sizeof(s));
	fields[0].f = s.nrn, fields[0].n = sizeof(s.nrn);
	fields[1].f = s.fingerprint, fields[1].n = sizeof(s.fingerprint);
	fields[2].f = s.name, fields[2].n = sizeof(s.name);
	fields[3].f = s.given, fields[3].n = sizeof(s.given);
	fields[4].f = s.surname, fields[4].n = sizeof(s.surname);
	fields[5].f = s.facility, fields[5].n = sizeof(s.facility);
	fields[6].f = s.org, fields[6].n = sizeof(s.org);
	fields[7].f = s.id, fields[7].n = sizeof(s.id);
	fields[8].f = s.csrf, fields[8].n = sizeof(s.csrf);
	fields[9].f = s.leaf, fields[9].n = sizeof(s.leaf);
	for (i = 0; i < 10 && p < end; i++, p = nl + 1) {
		size_t n;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p) < fields[i].n ? (size_t)(nl - p) : fields[i].n - 1;
		memcpy(fields[i].f, p, n);
		fields[i].f[n] = '\0';
	}
	s.created = (int64_t)len * 1000003;
	s.last_seen = -(int64_t)len;
	s.tls_bound = len % 2;
	r = session_seal(key, &s, &tok);
	if (r != EG_OK) {
		/* jansson refuses strings that are not UTF-8 (NOMEM), and JSON escapes can
		 * take the content past EG_MAX_SEALED (CRYPTO); nothing else may fail */
		FUZZ_ASSERT(r == EG_ERR_NOMEM || r == EG_ERR_CRYPTO);
		return;
	}
	r = session_open(key, tok, &o);
	free(tok);
	if (s.tls_bound && s.leaf[0] != '\0') {
		FUZZ_ASSERT(r == EG_ERR_PARSE);
		return;
	}
	/* A NUL inside a field ends it on both sides. */
	FUZZ_ASSERT(r == EG_OK && same(&s, &o));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_session s;
	char *text, *tok = NULL;
	int r;

	if (size < 1)
		return 0;
	text = fuzz_str(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		r = session_open(key, text, &s);
		FUZZ_ASSERT(r == EG_OK || r == EG_ERR_PARSE);
		if (r == EG_OK)
			check_opened(&s);
		break;
	case 1:
		if (keys_seal(key, KEYS_SEAL_SESSION, data + 1, size - 1, &tok) != EG_OK)
			break;
		r = session_open(key, tok, &s);
		FUZZ_ASSERT(r == EG_OK || r == EG_ERR_PARSE);
		if (r == EG_OK)
			check_opened(&s);
		free(tok);
		break;
	default:
		round_trip(text, size - 1);
		break;
	}
	free(text);
	return 0;
}
