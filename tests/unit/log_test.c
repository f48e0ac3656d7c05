/*
 * log_test.c - core/log.c: national numbers masked in every operational log line
 * (log_mask_text), in both written forms, and nothing else touched.
 */
#include <stdio.h>
#include <string.h>

#include "eidgate/log.h"
#include "check.h"

static int
masked(const char *in, const char *want)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	log_mask_text(buf);
	if (strcmp(buf, want) != 0) {
		printf("  log_mask_text(\"%s\") = \"%s\", want \"%s\"\n", in, buf, want);
		return 0;
	}
	return 1;
}

int
main(void)
{
	char out[16];

	CHECK(masked("person 85073003328 not found", "person 85*******28 not found"));
	CHECK(masked("85073003328", "85*******28"));
	CHECK(masked("serialNumber=85073003328,cn=x", "serialNumber=85*******28,cn=x"));
	CHECK(masked("rrn 85.07.30-033.28.", "rrn 85.**.**-***.28."));
	CHECK(masked("two 85073003328 and 90010112345", "two 85*******28 and 90*******45"));
	/* Not a national number standing alone: left as it is. */
	CHECK(masked("seq 1234567890", "seq 1234567890"));
	CHECK(masked("seq 123456789012", "seq 123456789012"));
	CHECK(masked("sha256 ab85073003328cd", "sha256 ab85073003328cd"));
	CHECK(masked("id 850730033281x", "id 850730033281x"));
	CHECK(masked("", ""));
	log_mask_nrn("85073003328", out, sizeof(out));
	CHECK(strcmp(out, "85*******28") == 0);
	log_mask_nrn("8507300332", out, sizeof(out));
	CHECK(strcmp(out, "?") == 0);
	return check_report();
}
