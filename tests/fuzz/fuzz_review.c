/*
 * fuzz_review.c - the bodies of the officers' access review: api_review_parse()
 * (api/audit_review.c) for POST /eidgate/audit/api/who-can, what-can and review.
 *
 * Input: one byte choosing who-can (0 mod 3), what-can (1) or a verdict (2), then the
 * body.
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
	b = data[0] % 3 == 0 ? REVIEW_WHO : data[0] % 3 == 1 ? REVIEW_WHAT : REVIEW_VERDICT;
	j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
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
