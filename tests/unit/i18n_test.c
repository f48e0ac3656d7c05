/*
 * i18n_test.c - pages/i18n.c: the language an Accept-Language header asks for, Dutch
 * first: weights, case, regions, wildcards, ranges refused with q=0, and hostile input
 * (malformed weights, very long headers, many ranges, bytes that are no language tag).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/limits.h"
#include "eidgate/pages.h"
#include "check.h"

static int
picks(const char *header, enum i18n_lang want)
{
	enum i18n_lang got = i18n_pick(header);

	if (got != want) {
		printf("  i18n_pick(\"%.80s\") = %s, want %s\n", header ? header : "(null)",
		    i18n_code(got), i18n_code(want));
		return 0;
	}
	return 1;
}

/* A header longer than anything read: ranges beyond EG_MAX_ACCEPT_LANGUAGE bytes and
 * EG_MAX_LANGUAGE_RANGES ranges are not looked at. */
static void
long_headers(void)
{
	size_t n = 64 * 1024, i;
	char *h = malloc(n + 16);

	if (h == NULL)
		return;
	for (i = 0; i < n; i++)
		h[i] = "de;q=0.1,"[i % 9];
	memcpy(h + n, "en", 3);
	CHECK(picks(h, I18N_NL));               /* "en" is past what is read */
	memcpy(h, "en-GB,", 6);
	CHECK(picks(h, I18N_EN));
	memset(h, 'x', n);
	h[n] = '\0';
	CHECK(picks(h, I18N_NL));
	memset(h, ',', n);
	CHECK(picks(h, I18N_NL));
	free(h);
	/* More ranges than weighed: the English one comes too late. */
	CHECK(picks("de,de,de,de,de,de,de,de,de,de,de,de,de,de,de,de,de,en", I18N_NL));
}

int
main(void)
{
	CHECK(picks(NULL, I18N_NL));
	CHECK(picks("", I18N_NL));
	CHECK(picks("nl", I18N_NL));
	CHECK(picks("en", I18N_EN));
	CHECK(picks("EN-us", I18N_EN));
	CHECK(picks("nl-BE,nl;q=0.9,en-US;q=0.8,en;q=0.7", I18N_NL));
	CHECK(picks("en-GB,en;q=0.9,nl;q=0.8", I18N_EN));
	CHECK(picks("fr-BE,fr;q=0.9,en;q=0.5", I18N_EN));
	CHECK(picks("fr-BE,fr;q=0.9,de;q=0.5", I18N_NL));
	CHECK(picks("nl;q=0.5, en;q=0.9", I18N_EN));
	CHECK(picks("nl;q=0.9, en;q=0.9", I18N_NL));    /* a tie: the first */
	CHECK(picks("en;q=0.9, nl;q=0.9", I18N_EN));
	CHECK(picks("en;q=0, nl;q=0", I18N_NL));
	CHECK(picks("en;q=0", I18N_NL));
	CHECK(picks("*", I18N_NL));
	CHECK(picks("*;q=0.5, en", I18N_EN));
	CHECK(picks("  en  ;  q=0.3 ,de", I18N_EN));
	CHECK(picks("en;Q=1.000", I18N_EN));
	/* Malformed ranges are skipped, the rest still count. */
	CHECK(picks("en;q=1.5", I18N_NL));
	CHECK(picks("en;q=abc,nl", I18N_NL));
	CHECK(picks("en;q=", I18N_NL));
	CHECK(picks("en;x=1", I18N_NL));
	CHECK(picks("english", I18N_NL));
	CHECK(picks("enx,en;q=0.1", I18N_EN));
	CHECK(picks("e\x01n,en;q=0.2", I18N_EN));
	CHECK(picks("\xc3\xa9n,en", I18N_EN));
	CHECK(picks("toolongtag-x,en;q=0.4", I18N_EN));
	CHECK(picks(";;;,,,en", I18N_EN));
	CHECK(picks("en;q=0.5;q=0.9", I18N_NL));
	long_headers();
	CHECK(strcmp(i18n_code(I18N_NL), "nl") == 0 && strcmp(i18n_code(I18N_EN), "en") == 0);
	return check_report();
}
