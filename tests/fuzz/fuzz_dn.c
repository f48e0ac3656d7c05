/*
 * fuzz_dn.c - names in the directory: a DN as an LDAP server hands it over (the change
 * feed's entries, role groups' member values, the access reviews' pages), read by
 * dir_dn_grant (a role group's DN as a grant), dirw_group_grant (the same, checked by the
 * vocabulary), dirw_member_nrn (a member's DN as a national number) and ldapc_dn_kind
 * (where an entry is: a person, a grant entry, an ended session, below a fixed base). The
 * directory is outside input: a hand-made or hostile entry must not shift the structure a
 * DN is read with, nor pass for an entry of another place.
 *
 * Input: the DN's bytes (any; cut at the first NUL, as libldap hands over C strings).
 * Invariants: a grant has a role, a kind of scope and a scope within their sizes, an
 * organisation for organisation and facility scopes; a member's number is 11 digits; a
 * person or grant entry's number is 11 digits and its DN ends with the base.
 */
#include "fuzz.h"
#include "eidgate/directory.h"
#include "eidgate/limits.h"
#include "directory/internal.h"

FUZZ_QUIET_INIT

#define BASE "dc=jeugdhulp,dc=example"

/* ldapc_dn_kind below BASE: what it says a DN is must hold of the text itself. */
static void
kind_of(const char *dn)
{
	static struct ldapc lc;
	char nrn[EG_NRN_LEN + 1], name[DIR_AS_MAX];
	size_t n = strlen(dn), b = strlen(BASE);

	if (lc.base_dn == NULL)
		ldapc_set_base(&lc, BASE);
	switch (ldapc_dn_kind(dn, &lc, nrn, name)) {
	case LDAPC_DN_GRANT:
		FUZZ_ASSERT(strlen(name) < DIR_AS_MAX);
		/* FALLTHROUGH */
	case LDAPC_DN_PERSON:
		FUZZ_ASSERT(strlen(nrn) == EG_NRN_LEN && strspn(nrn, "0123456789") == EG_NRN_LEN);
		/* FALLTHROUGH */
	case LDAPC_DN_SESSION_END:
		FUZZ_ASSERT(n > b);     /* something below the base, never the base itself */
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *dn = fuzz_str(data, size), nrn[EG_NRN_LEN + 1];
	struct eg_grant g;

	if (dir_dn_grant(dn, &g) == 0) {
		FUZZ_ASSERT(g.role[0] != '\0' && strlen(g.role) < sizeof(g.role));
		FUZZ_ASSERT(g.scope[0] != '\0' && strlen(g.scope) < sizeof(g.scope));
		FUZZ_ASSERT(g.kind == EG_SCOPE_ORGANISATION || g.kind == EG_SCOPE_FACILITY ||
		    g.kind == EG_SCOPE_REGION);
		FUZZ_ASSERT(g.kind == EG_SCOPE_REGION || strlen(g.org) < sizeof(g.org));
	}
	if (dirw_member_nrn(dn, nrn) == 0)
		FUZZ_ASSERT(strlen(nrn) == EG_NRN_LEN && strspn(nrn, "0123456789") == EG_NRN_LEN);
	if (dirw_group_grant(dn, &g) == 0)
		FUZZ_ASSERT(dir_role_on(g.role, g.kind));
	kind_of(dn);
	free(dn);
	return 0;
}
