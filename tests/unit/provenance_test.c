/*
 * provenance_test.c - delegation provenance without LDAP (directory/dirgrant.c,
 * directory/rights.c dir_rights_authority): the name of a grant entry both ways, the end
 * of a grant as an administrator writes it (a day in Belgium across both clock changes,
 * a UTC moment, everything else refused), whether a grant still holds, and which of a
 * caller's roles allows a grant (it names the capacity and bounds the end).
 */
#include <string.h>
#include <time.h>

#include "check.h"
#include "grants.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/util.h"

#define ORG_A "0412345614"
#define ORG_B "0423456765"

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static void
test_names(void)
{
	struct eg_grant g;
	char out[DIR_AS_MAX];

	CHECK(dir_grant_name("lb", EG_SCOPE_FACILITY, "ckg-molenberg", out, sizeof(out)) == 0);
	CHECK(strcmp(out, "lb@facility:ckg-molenberg") == 0);
	CHECK(dir_grant_name_parse(out, &g) == 0 && g.kind == EG_SCOPE_FACILITY);
	CHECK(strcmp(g.role, "lb") == 0 && strcmp(g.scope, "ckg-molenberg") == 0 && g.org[0] == 0);
	CHECK(dir_grant_name_parse("vte@organisation:" ORG_A, &g) == 0 &&
	    g.kind == EG_SCOPE_ORGANISATION && strcmp(g.scope, ORG_A) == 0);
	CHECK(dir_grant_name_parse("indicatiesteller@region:limburg", &g) == 0);
	CHECK(dir_grant_name("lb", EG_SCOPE_FACILITY, "ckg-molenberg", out, 10) == -1);
	/* each part is checked: a hand-made entry with a bad name dates nothing */
	CHECK(dir_grant_name_parse("", &g) == -1);
	CHECK(dir_grant_name_parse("lb", &g) == -1);
	CHECK(dir_grant_name_parse("@facility:ckg-molenberg", &g) == -1);
	CHECK(dir_grant_name_parse("lb@", &g) == -1);
	CHECK(dir_grant_name_parse("lb@facility:", &g) == -1);
	CHECK(dir_grant_name_parse("lb@facility:CKG", &g) == -1);
	CHECK(dir_grant_name_parse("vte@facility:ckg-molenberg", &g) == -1);   /* not there */
	CHECK(dir_grant_name_parse("member@organisation:" ORG_A, &g) == -1);
	CHECK(dir_grant_name_parse("lb@organisation:0412345615", &g) == -1);   /* check digits */
	CHECK(dir_grant_name_parse("boss@organisation:" ORG_A, &g) == -1);
	CHECK(dir_grant_name_parse("lb@facility:ckg@x", &g) == -1);
	CHECK(dir_grant_name_parse("lb@region:atlantis", &g) == -1);
	CHECK(dir_grant_name_parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@facility:x", &g) == -1);
}

static void
test_until(void)
{
	int64_t now = utc(2026, 12, 2, 12, 0, 0), t;
	char text[DIR_TIME_LEN];

	/* winter: through 2027-01-15 in Belgium = until 2027-01-15 23:00 UTC */
	CHECK(dir_until_parse("2027-01-15", now, &t) == EG_OK && t == utc(2027, 1, 15, 23, 0, 0));
	/* summer: until 22:00 UTC */
	CHECK(dir_until_parse("2027-06-30", now, &t) == EG_OK && t == utc(2027, 6, 30, 22, 0, 0));
	/* the days of the clock changes in 2027 (28 March, 31 October): the midnight that
	 * ends them is already on the other side */
	CHECK(dir_until_parse("2027-03-27", now, &t) == EG_OK && t == utc(2027, 3, 27, 23, 0, 0));
	CHECK(dir_until_parse("2027-03-28", now, &t) == EG_OK && t == utc(2027, 3, 28, 22, 0, 0));
	CHECK(dir_until_parse("2027-10-30", now, &t) == EG_OK && t == utc(2027, 10, 30, 22, 0, 0));
	CHECK(dir_until_parse("2027-10-31", now, &t) == EG_OK && t == utc(2027, 10, 31, 23, 0, 0));
	CHECK(dir_until_parse("2028-02-29", now, &t) == EG_OK && t == utc(2028, 2, 29, 23, 0, 0));
	/* today holds until tonight */
	CHECK(dir_until_parse("2026-12-02", now, &t) == EG_OK && t == utc(2026, 12, 2, 23, 0, 0));
	/* a moment, UTC */
	CHECK(dir_until_parse("2026-12-02T12:00:05Z", now, &t) == EG_OK && t == now + 5);
	dir_time_format(t, text);
	CHECK(strcmp(text, "2026-12-02T12:00:05Z") == 0);
	/* refused: past, now, too far, not a calendar day, other forms */
	CHECK(dir_until_parse("2026-12-01", now, &t) == EG_ERR_PARSE && t == 0);
	CHECK(dir_until_parse("2026-12-02T12:00:00Z", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2037-12-02", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-02-29", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-02-30", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-04-31", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-13-01", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-00-10", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-1-5", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("27-01-15", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-01-15T10:00:00", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-01-15T10:00Z", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-01-15 10:00:00Z", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-01-15T25:00:00Z", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("2027-01-15+01:00", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse(" 2027-01-15", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("", now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse(NULL, now, &t) == EG_ERR_PARSE);
	CHECK(dir_until_parse("-027-01-15", now, &t) == EG_ERR_PARSE);
}

static void
test_holds(void)
{
	struct dir_provenance p;

	memset(&p, 0, sizeof(p));
	CHECK(dir_prov_holds(&p, 1000));                /* no end, or no provenance at all */
	p.until = 1001;
	CHECK(dir_prov_holds(&p, 1000));
	CHECK(!dir_prov_holds(&p, 1001));               /* at its end it no longer holds */
	CHECK(!dir_prov_holds(&p, 5000));
}

static void
test_authority(void)
{
	struct dir_scope fac = { EG_SCOPE_FACILITY, "ckg-molenberg", ORG_A };
	struct dir_scope org = { EG_SCOPE_ORGANISATION, ORG_A, ORG_A };
	struct eg_grant g[5];

	g[0] = grant("member", EG_SCOPE_FACILITY, "ckg-molenberg", ORG_A);
	g[1] = grant("lb", EG_SCOPE_FACILITY, "ckg-molenberg", ORG_A);
	g[2] = grant("lb", EG_SCOPE_ORGANISATION, ORG_A, ORG_A);
	g[3] = grant("vte", EG_SCOPE_ORGANISATION, ORG_B, ORG_B);
	g[4] = grant("co-vte", EG_SCOPE_ORGANISATION, ORG_A, ORG_A);
	/* the strongest that allows it: co-vte before lb, an organisation's before a
	 * facility's; another organisation's vte never counts */
	CHECK(dir_rights_authority(g, 5, "member", &fac) == 4);
	CHECK(dir_rights_authority(g, 4, "member", &fac) == 2);
	CHECK(dir_rights_authority(g, 2, "member", &fac) == 1);
	CHECK(dir_rights_authority(g, 1, "member", &fac) == -1);
	CHECK(dir_rights_authority(g, 5, "lb", &fac) == 4);
	CHECK(dir_rights_authority(g, 4, "lb", &fac) == -1);       /* an lb appoints no lb */
	CHECK(dir_rights_authority(g, 5, "lb", &org) == 4);
	CHECK(dir_rights_authority(g, 5, "co-vte", &org) == -1);   /* only a vte */
	CHECK(dir_rights_authority(&g[3], 1, "co-vte", &org) == -1);
	CHECK(dir_rights_authority(g, 5, "vte", &org) == -1);      /* nobody grants vte */
	CHECK(dir_rights_authority(g, 0, "member", &fac) == -1);
}

int
main(void)
{
	test_names();
	test_until();
	test_holds();
	test_authority();
	return check_report();
}
