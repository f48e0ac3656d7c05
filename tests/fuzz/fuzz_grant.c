/*
 * fuzz_grant.c - delegation provenance's texts (directory/dirgrant.c): the name of a
 * grant entry and its GeneralizedTime values as the directory hands them over (outside
 * input: a hand-made or hostile entry), and a grant's end as an administrator types it
 * in the rights API (dir_until_parse; fuzz_admin reaches it through the JSON body too).
 *
 * Input: any bytes, cut at the first NUL; each reader is given the same text.
 * Invariants: a parsed name round-trips through dir_grant_name; a parsed end lies after
 * now and within the bound, and prints as 20 characters; a parsed GeneralizedTime
 * prints back as the same text or is out of the calendar (timegm normalises: 20270230
 * is a date in March, which is what slapd would have refused to store).
 */
#include "fuzz.h"
#include "eidgate/directory.h"
#include "directory/internal.h"

#define NOW 1764676800          /* 2025-12-02 12:00:00 UTC */

FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size), back[DIR_AS_MAX], when[DIR_TIME_LEN], gt[16];
	struct eg_grant g, g2;
	int64_t until, t;

	if (dir_grant_name_parse(text, &g) == 0) {
		FUZZ_ASSERT(dir_role_on(g.role, g.kind));
		FUZZ_ASSERT(dir_grant_name(g.role, g.kind, g.scope, back, sizeof(back)) == 0);
		FUZZ_ASSERT(dir_grant_name_parse(back, &g2) == 0 && dir_grant_same(&g, &g2));
	}
	if (dir_until_parse(text, NOW, &until) == EG_OK) {
		FUZZ_ASSERT(until > NOW && until <= NOW + (int64_t)EG_MAX_GRANT_YEARS * 366 * 86400);
		dir_time_format(until, when);
		FUZZ_ASSERT(strlen(when) == DIR_TIME_LEN - 1);
		FUZZ_ASSERT(dir_until_parse(when, NOW, &t) == EG_OK && t == until);
	}
	if ((t = ldapc_gentime_parse(text)) >= 0 && t < (int64_t)253402300800) {
		ldapc_gentime(t, gt);
		FUZZ_ASSERT(strlen(gt) == 15);
	}
	free(text);
	return 0;
}
