/*
 * fuzz_review.c - the bodies of the officers' access review: api_review_parse()
 * (api/audit_review.c) for POST /eidgate/audit/api/who-can, what-can and review, and
 * api_pseudonym_parse() (api/audit_pseudonym.c) for POST .../pseudonym.
 *
 * Input: one byte choosing who-can (0 mod 4), what-can (1), a verdict (2) or a pseudonym
 * lookup (3), then the body. A pseudonym lookup that passes names a backend that fits an
 * id and exactly one of a valid national number or a 43-character base64url pseudonym,
 * and a key id, when given, of 8 lowercase hex digits.
 * Invariants: a body that passes has what its kind needs, valid (a known method and a
 * path from "/" for who-can; a national number with valid check digits for the others;
 * for a verdict a known role, a scope that parses and formats back to itself, and
 * "confirmed" or "to-remove"); the organisation, when given, fits an id; a field at
 * fault is one of the body's known fields or "body".
 */
#include "fuzz.h"
#include "eidgate/auth.h"
#include "eidgate/directory.h"
#include "eidgate/policy.h"
#include "api/internal.h"

FUZZ_QUIET_INIT

static void
check_ok(enum review_body b, const struct review_req *q)
{
	struct dir_scope s;
	char buf[EG_MAX_ID + 16];

	FUZZ_ASSERT(q->org == NULL || strlen(q->org) < EG_MAX_ID);
	if (b == REVIEW_WHO) {
		FUZZ_ASSERT(q->method != NULL && policy_method_known(q->method));
		FUZZ_ASSERT(q->path != NULL && q->path[0] == '/' && strlen(q->path) < EG_MAX_PATH);
		return;
	}
	FUZZ_ASSERT(FUZZ_TERMINATED(q->nrn) && auth_nrn_check(q->nrn) == EG_OK);
	if (b == REVIEW_WHAT)
		return;
	FUZZ_ASSERT(q->role != NULL && dir_role_known(q->role));
	FUZZ_ASSERT(q->scope != NULL && dir_scope_parse(q->scope, &s) == EG_OK);
	dir_scope_format(&s, buf, sizeof(buf));
	FUZZ_ASSERT(strcmp(buf, q->scope) == 0);
	FUZZ_ASSERT(q->verdict != NULL && (strcmp(q->verdict, "confirmed") == 0 ||
	    strcmp(q->verdict, "to-remove") == 0));
}

static void
check_pseudonym(json_t *j)
{
	static const char *const fields[] = { "body", "org", "backend", "key_id", "nrn",
		"pseudonym" };
	struct pseudonym_req q;
	const char *field = api_pseudonym_parse(j, &q);
	size_t i;

	if (field != NULL) {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]) &&
		    strcmp(field, fields[i]) != 0; i++)
			;
		FUZZ_ASSERT(i < sizeof(fields) / sizeof(fields[0]));
		return;
	}
	FUZZ_ASSERT(q.org == NULL || strlen(q.org) < EG_MAX_ID);
	FUZZ_ASSERT(q.backend != NULL && strlen(q.backend) > 0 && strlen(q.backend) < EG_MAX_ID);
	FUZZ_ASSERT(FUZZ_TERMINATED(q.nrn));
	FUZZ_ASSERT((q.nrn[0] != '\0') != (q.pseudonym != NULL));
	if (q.nrn[0] != '\0')
		FUZZ_ASSERT(auth_nrn_check(q.nrn) == EG_OK);
	else
		FUZZ_ASSERT(strlen(q.pseudonym) == KEYS_PSEUDONYM_LEN && strspn(q.pseudonym,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
		    KEYS_PSEUDONYM_LEN);
	FUZZ_ASSERT(q.key_id == NULL || (strlen(q.key_id) == KEYS_PSEUDONYM_KID &&
	    strspn(q.key_id, "0123456789abcdef") == KEYS_PSEUDONYM_KID));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fields[] = { "body", "org", "method", "path", "nrn", "role",
		"scope", "verdict" };
	enum review_body b;
	struct review_req q;
	const char *field;
	size_t i;
	json_t *j;

	if (size < 1)
		return 0;
	j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (data[0] % 4 == 3) {
		check_pseudonym(j);
		json_decref(j);
		return 0;
	}
	b = data[0] % 4 == 0 ? REVIEW_WHO : data[0] % 4 == 1 ? REVIEW_WHAT : REVIEW_VERDICT;
	field = api_review_parse(j, b, &q);
	if (field == NULL) {
		check_ok(b, &q);
	} else {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]) &&
		    strcmp(field, fields[i]) != 0; i++)
			;
		FUZZ_ASSERT(i < sizeof(fields) / sizeof(fields[0]));
	}
	json_decref(j);
	return 0;
}
