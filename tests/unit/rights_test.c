/*
 * rights_test.c - who may change what (PRODUCT.md §4, directory/rights.c) as a table: every
 * caller role x target role x scope, self-change, other organisations, regions; and the
 * vocabulary checks (directory/dirvocab.c) that guard what reaches LDAP.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "grants.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/util.h"

#define ME "78031402154"
#define OTHER "85112304560"
#define ORG_A "0412345614"
#define ORG_B "0423456765"

/* Callers: one role each, in organisation A (facility "fac-a1" of A). */
enum caller { C_VTE, C_COVTE, C_LB_ORG, C_LB_FAC, C_SECOFF, C_MEMBER, C_NONE, C_N };
static const char *const caller_names[] = { "vte", "co-vte", "lb@org", "lb@fac-a1",
	"security-officer", "member@fac-a1", "none" };

static size_t
caller_grants(enum caller c, struct eg_grant *g)
{
	switch (c) {
	case C_VTE: g[0] = grant("vte", EG_SCOPE_ORGANISATION, ORG_A, ORG_A); return 1;
	case C_COVTE: g[0] = grant("co-vte", EG_SCOPE_ORGANISATION, ORG_A, ORG_A); return 1;
	case C_LB_ORG: g[0] = grant("lb", EG_SCOPE_ORGANISATION, ORG_A, ORG_A); return 1;
	case C_LB_FAC: g[0] = grant("lb", EG_SCOPE_FACILITY, "fac-a1", ORG_A); return 1;
	case C_SECOFF:
		g[0] = grant("security-officer", EG_SCOPE_ORGANISATION, ORG_A, ORG_A);
		return 1;
	case C_MEMBER: g[0] = grant("member", EG_SCOPE_FACILITY, "fac-a1", ORG_A); return 1;
	default: return 0;
	}
}

/* Expected authority (grant / revoke) for each caller on each target role and scope.
 * Columns: the caller kinds above. 'G' grant and revoke, 'R' revoke only, '-' neither. */
struct row {
	const char *role;
	enum eg_scope_kind kind;
	const char *scope_id;
	const char *expect;             /* C_N characters */
};

static const struct row rows[] = {
	/*                                           vte cov lbo lbf sec mem none */
	{ "vte", EG_SCOPE_ORGANISATION, ORG_A,      "R------" },
	{ "co-vte", EG_SCOPE_ORGANISATION, ORG_A,   "G------" },
	{ "lb", EG_SCOPE_ORGANISATION, ORG_A,       "GG-----" },
	{ "security-officer", EG_SCOPE_ORGANISATION, ORG_A, "G------" },
	{ "lb", EG_SCOPE_FACILITY, "fac-a1",        "GG-----" },
	{ "member", EG_SCOPE_FACILITY, "fac-a1",    "GGGG---" },
	{ "moduleerder", EG_SCOPE_FACILITY, "fac-a1", "GGGG---" },
	{ "insisto-aanmelder", EG_SCOPE_FACILITY, "fac-a1", "GGGG---" },
	{ "insisto-raadpleger", EG_SCOPE_FACILITY, "fac-a1", "GGGG---" },
	/* another facility of the same organisation: lb@fac-a1 has no say there */
	{ "moduleerder", EG_SCOPE_FACILITY, "fac-a2", "GGG----" },
	{ "lb", EG_SCOPE_FACILITY, "fac-a2",        "GG-----" },
	/* organisation B and its facility: nobody from A */
	{ "co-vte", EG_SCOPE_ORGANISATION, ORG_B,   "-------" },
	{ "lb", EG_SCOPE_ORGANISATION, ORG_B,       "-------" },
	{ "vte", EG_SCOPE_ORGANISATION, ORG_B,      "-------" },
	{ "member", EG_SCOPE_FACILITY, "fac-b1",    "-------" },
	{ "moduleerder", EG_SCOPE_FACILITY, "fac-b1", "-------" },
};

static const char *
org_of(const char *scope_id)
{
	if (strcmp(scope_id, ORG_B) == 0 || strcmp(scope_id, "fac-b1") == 0)
		return ORG_B;
	return ORG_A;
}

static void
check_cell(const struct row *rw, enum caller c)
{
	struct eg_grant g[2];
	size_t n = caller_grants(c, g);
	struct dir_scope s = scope(rw->kind, rw->scope_id, org_of(rw->scope_id));
	char want = rw->expect[c];
	enum dir_verdict vg = dir_rights_check(g, n, ME, DIR_GRANT, OTHER, rw->role, &s);
	enum dir_verdict vr = dir_rights_check(g, n, ME, DIR_REVOKE, OTHER, rw->role, &s);
	int ok_g = (vg == DIR_ALLOWED) == (want == 'G');
	int ok_r = (vr == DIR_ALLOWED) == (want == 'G' || want == 'R');

	CHECK(ok_g && ok_r);
	if (!ok_g || !ok_r)
		printf("  caller %s, %s on %s: grant %d revoke %d, want %c\n", caller_names[c],
		    rw->role, rw->scope_id, vg, vr, want);
	/* The same change on oneself: refused as self-change where allowed, else outside. */
	vg = dir_rights_check(g, n, ME, DIR_GRANT, ME, rw->role, &s);
	CHECK(vg == (want == 'G' ? DIR_SELF : DIR_OUTSIDE));
}

static void
test_table(void)
{
	size_t i;
	int c;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (c = 0; c < C_N; c++)
			check_cell(&rows[i], (enum caller)c);
}

static void
test_bad_roles_and_regions(void)
{
	struct eg_grant g[2];
	size_t n = caller_grants(C_VTE, g);
	struct dir_scope org = scope(EG_SCOPE_ORGANISATION, ORG_A, ORG_A);
	struct dir_scope fac = scope(EG_SCOPE_FACILITY, "fac-a1", ORG_A);
	struct dir_scope reg = scope(EG_SCOPE_REGION, "limburg", "");
	struct dir_scope orphan = scope(EG_SCOPE_FACILITY, "fac-x", "");

	/* facility roles on an organisation and the other way round are malformed */
	CHECK(dir_rights_check(g, n, ME, DIR_GRANT, OTHER, "moduleerder", &org) == DIR_BAD_ROLE);
	CHECK(dir_rights_check(g, n, ME, DIR_GRANT, OTHER, "vte", &fac) == DIR_BAD_ROLE);
	CHECK(dir_rights_check(g, n, ME, DIR_GRANT, OTHER, "co-vte", &fac) == DIR_BAD_ROLE);
	CHECK(dir_rights_check(g, n, ME, DIR_GRANT, OTHER, "indicatiesteller", &org) ==
	    DIR_BAD_ROLE);
	CHECK(dir_rights_check(g, n, ME, DIR_GRANT, OTHER, "root", &org) == DIR_BAD_ROLE);
	CHECK(dir_rights_check(g, n, ME, DIR_GRANT, OTHER, NULL, &org) == DIR_BAD_ROLE);
	/* regional roles are never managed here, whoever asks */
	CHECK(dir_rights_check(g, n, ME, DIR_GRANT, OTHER, "indicatiesteller", &reg) ==
	    DIR_REGION_ROLE);
	CHECK(dir_rights_check(g, n, ME, DIR_REVOKE, OTHER, "jeugdhulpregisseur", &reg) ==
	    DIR_REGION_ROLE);
	/* a facility whose organisation is unknown belongs to nobody */
	CHECK(dir_rights_check(g, n, ME, DIR_GRANT, OTHER, "member", &orphan) == DIR_OUTSIDE);
	/* a facility lb's grant names its organisation: a facility of that id found under
	 * another organisation (ids are unique; this is belt and braces) is not theirs */
	n = caller_grants(C_LB_FAC, g);
	fac = scope(EG_SCOPE_FACILITY, "fac-a1", ORG_B);
	CHECK(dir_rights_check(g, n, ME, DIR_GRANT, OTHER, "member", &fac) == DIR_OUTSIDE);
}

static void
test_administer_and_lists(void)
{
	struct eg_grant g[2];
	size_t n;
	const char *roles[16];
	struct dir_scope org = scope(EG_SCOPE_ORGANISATION, ORG_A, ORG_A);
	struct dir_scope fac = scope(EG_SCOPE_FACILITY, "fac-a1", ORG_A);
	struct dir_scope fac2 = scope(EG_SCOPE_FACILITY, "fac-a2", ORG_A);
	struct dir_scope orgb = scope(EG_SCOPE_ORGANISATION, ORG_B, ORG_B);

	n = caller_grants(C_VTE, g);
	CHECK(dir_may_administer(g, n, &org) && dir_may_administer(g, n, &fac));
	CHECK(!dir_may_administer(g, n, &orgb));
	CHECK(dir_allowed_roles(g, n, DIR_GRANT, &org, roles, 16) == 3);
	CHECK(strcmp(roles[0], "co-vte") == 0 && strcmp(roles[1], "lb") == 0 &&
	    strcmp(roles[2], "security-officer") == 0);
	CHECK(dir_allowed_roles(g, n, DIR_REVOKE, &org, roles, 16) == 4);
	CHECK(dir_allowed_roles(g, n, DIR_GRANT, &fac, roles, 16) == 5);
	n = caller_grants(C_LB_FAC, g);
	CHECK(!dir_may_administer(g, n, &org));
	CHECK(dir_may_administer(g, n, &fac) && !dir_may_administer(g, n, &fac2));
	CHECK(dir_allowed_roles(g, n, DIR_GRANT, &fac, roles, 16) == 4);
	CHECK(strcmp(roles[0], "member") == 0);
	n = caller_grants(C_SECOFF, g);
	CHECK(!dir_may_administer(g, n, &org) && !dir_may_administer(g, n, &fac));
	CHECK(dir_allowed_roles(g, n, DIR_GRANT, &org, roles, 16) == 0);
	n = caller_grants(C_NONE, g);
	CHECK(!dir_may_administer(g, n, &org));
}

static void
test_scopes(void)
{
	struct dir_scope s;
	char buf[128];

	CHECK(dir_scope_parse("organisation:0412345614", &s) == EG_OK &&
	    s.kind == EG_SCOPE_ORGANISATION && strcmp(s.org, "0412345614") == 0);
	CHECK(dir_scope_parse("facility:ckg-molenberg", &s) == EG_OK && s.org[0] == '\0');
	dir_scope_format(&s, buf, sizeof(buf));
	CHECK(strcmp(buf, "facility:ckg-molenberg") == 0);
	CHECK(dir_scope_parse("region:limburg", &s) == EG_OK && s.kind == EG_SCOPE_REGION);
	CHECK(dir_scope_parse("organisation:0412345615", &s) != EG_OK);     /* check */
	CHECK(dir_scope_parse("organisation:2412345614", &s) != EG_OK);
	CHECK(dir_scope_parse("facility:*", &s) != EG_OK);
	CHECK(dir_scope_parse("facility:ckg)(uid=*", &s) != EG_OK);
	CHECK(dir_scope_parse("facility:a\\2a", &s) != EG_OK);
	CHECK(dir_scope_parse("facility:CKG", &s) != EG_OK);
	CHECK(dir_scope_parse("facility:", &s) != EG_OK);
	CHECK(dir_scope_parse("facility:a,o=x", &s) != EG_OK);
	CHECK(dir_scope_parse("region:mars", &s) != EG_OK);
	CHECK(dir_scope_parse("org:0412345614", &s) != EG_OK);
	CHECK(dir_scope_parse("0412345614", &s) != EG_OK);
	CHECK(dir_scope_parse(NULL, &s) != EG_OK);
	CHECK(dir_scope_parse("facility:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    &s) != EG_OK);  /* 64 characters: one too many */
}

static void
test_vocabulary(void)
{
	char given[64], sn[64];

	CHECK(dir_valid_org_number("0412345614") && dir_valid_org_number("0423456765"));
	CHECK(!dir_valid_org_number("412345614") && !dir_valid_org_number("04123456140"));
	CHECK(!dir_valid_org_number("041234561a"));
	CHECK(dir_role_on("vte", EG_SCOPE_ORGANISATION) && !dir_role_on("vte", EG_SCOPE_FACILITY));
	CHECK(dir_role_on("lb", EG_SCOPE_ORGANISATION) && dir_role_on("lb", EG_SCOPE_FACILITY));
	CHECK(dir_role_known("jeugdhulpregisseur") && !dir_role_known("*"));
	CHECK(!dir_role_known("vte)(cn=*") && !dir_role_known(""));
	CHECK(dir_valid_capacity("ggz") && !dir_valid_capacity("GGZ"));
	CHECK(dir_valid_sector("aww") && !dir_valid_sector("x"));
	CHECK(dir_valid_name("Anne Vanden Berge") && dir_valid_name("Zoë D'Hondt-Müller"));
	CHECK(dir_valid_name("<img src=x onerror=alert(1)>"));       /* text, shown as text */
	CHECK(!dir_valid_name("") && !dir_valid_name(" Anne") && !dir_valid_name("Anne "));
	CHECK(!dir_valid_name("An\nne") && !dir_valid_name("An\x7fne"));
	CHECK(!dir_valid_name("An\xc2\x85ne"));                     /* C1 NEL */
	CHECK(!dir_valid_name("Anne \xe2\x80\xae" "egreB"));          /* RLO override */
	CHECK(!dir_valid_name("\xff\xfe") && !dir_valid_name("\xc0\xaf"));  /* not UTF-8 */
	CHECK(dir_valid_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));     /* 128 */
	CHECK(!dir_valid_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));    /* 129 */
	dir_split_name("Anne Vanden Berge", given, sizeof(given), sn, sizeof(sn));
	CHECK(strcmp(given, "Anne") == 0 && strcmp(sn, "Vanden Berge") == 0);
	dir_split_name("Madonna", given, sizeof(given), sn, sizeof(sn));
	CHECK(given[0] == '\0' && strcmp(sn, "Madonna") == 0);
}

int
main(void)
{
	test_table();
	test_bad_roles_and_regions();
	test_administer_and_lists();
	test_scopes();
	test_vocabulary();
	return check_report();
}
