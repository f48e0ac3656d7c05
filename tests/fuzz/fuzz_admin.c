/*
 * fuzz_admin.c - the rights API's JSON bodies: admin_change_parse() (api/admin_change.c)
 * for POST /eidgate/admin/api/grants and /revocations, admin_end_sessions_parse()
 * (api/admin_sessions.c) for POST sessions/end, then the scope as both read it
 * (dir_scope_parse, dir_scope_format).
 *
 * Input: one byte choosing grant (0 mod 3), revocation (1) or sessions/end (2), then the
 * body.
 * Invariants: a body that passes has a valid national number, a known role, a scope
 * string and, when given, a valid name (grants only); a field at fault is one the
 * answer may name (a known field, "body", or an unknown key of at most 32 bytes); a
 * scope that parses formats to text that parses to the same scope.
 */
#include "fuzz.h"
#include "eidgate/auth.h"
#include "eidgate/directory.h"
#include "api/internal.h"

/* Nothing to set up but silence: the parsers log what they refuse. */
FUZZ_QUIET_INIT

static void
check_scope(const char *text)
{
	struct dir_scope a, b;
	char buf[EG_MAX_ID + 16];

	if (dir_scope_parse(text, &a) != EG_OK)
		return;
	FUZZ_ASSERT(FUZZ_TERMINATED(a.id) && FUZZ_TERMINATED(a.org));
	dir_scope_format(&a, buf, sizeof(buf));
	FUZZ_ASSERT(strcmp(buf, text) == 0);
	FUZZ_ASSERT(dir_scope_parse(buf, &b) == EG_OK && a.kind == b.kind &&
	    strcmp(a.id, b.id) == 0 && strcmp(a.org, b.org) == 0);
}

static void
end_sessions(json_t *j)
{
	const char *nrn = NULL, *scope = NULL;
	const char *field = admin_end_sessions_parse(j, &nrn, &scope);

	if (field == NULL) {
		FUZZ_ASSERT(nrn != NULL && auth_nrn_check(nrn) == EG_OK && scope != NULL);
		check_scope(scope);
	} else {
		FUZZ_ASSERT(strcmp(field, "body") == 0 || strcmp(field, "nrn") == 0 ||
		    strcmp(field, "scope") == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dir_action action;
	struct admin_change_req c;
	const char *field;
	json_t *j;

	if (size < 1)
		return 0;
	j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (data[0] % 3 == 2) {
		end_sessions(j);
		json_decref(j);
		return 0;
	}
	action = data[0] % 3 == 0 ? DIR_GRANT : DIR_REVOKE;
	field = admin_change_parse(j, action, 1764633600, &c);
	if (field == NULL) {
		FUZZ_ASSERT(c.nrn != NULL && auth_nrn_check(c.nrn) == EG_OK);
		FUZZ_ASSERT(c.role != NULL && dir_role_known(c.role));
		FUZZ_ASSERT(c.scope != NULL);
		FUZZ_ASSERT(c.name == NULL || (action == DIR_GRANT && dir_valid_name(c.name)));
		check_scope(c.scope);
	} else {
		FUZZ_ASSERT(strlen(field) <= 32);
	}
	json_decref(j);
	return 0;
}
