/*
 * auth_nrn_test.c - auth_nrn_check(): the pre-2000 and 2000+ check-digit rules, BIS
 * numbers (month +20 / +40), unknown birth dates, and malformed numbers.
 */
#include <stdio.h>

#include "check.h"
#include "eidgate/auth.h"
#include "eidgate/err.h"

struct ncase {
	const char *nrn;
	int want;
	const char *why;
};

static const struct ncase cases[] = {
	/* pre-2000 rule: 97 - (YYMMDDSSS mod 97) */
	{ "78031402154", EG_OK, "born 1978, pre-2000 rule" },
	{ "80000105741", EG_OK, "month 00 (birth month unknown), pre-2000 (XYZPeeters)" },
	{ "78001402133", EG_OK, "month 00, pre-2000" },
	/* 2000+ rule: 97 - (2YYMMDDSSS mod 97) */
	{ "01050399864", EG_OK, "born 2001, 2000+ rule (Nora Specimen)" },
	{ "05010112385", EG_OK, "born 2005, 2000+ rule" },
	{ "00200100141", EG_OK, "BIS 2000+, month 00+20" },
	/* Either rule may match: the digits alone cannot tell 1901 from 2001. */
	{ "01050399835", EG_OK, "pre-2000 digits of the same number (born 1901)" },
	/* BIS numbers */
	{ "78231402197", EG_OK, "BIS month +20, check 97 (mod 97 = 0)" },
	{ "78431402143", EG_OK, "BIS month +40, pre-2000" },
	{ "05210112331", EG_OK, "BIS month +20, 2000+" },
	{ "05410112374", EG_OK, "BIS month +40, 2000+" },
	{ "78231402128", EG_ERR_NRN_CHECK, "BIS +20 with wrong check digits" },
	{ "78431402144", EG_ERR_NRN_CHECK, "BIS +40 off by one" },
	/* wrong check digits */
	{ "78031402199", EG_ERR_NRN_CHECK, "wrong check digits" },
	{ "78031402155", EG_ERR_NRN_CHECK, "off by one" },
	{ "78031402100", EG_ERR_NRN_CHECK, "check 00 never occurs (97 - x is 1..97)" },
	/* malformed */
	{ "7803140215", EG_ERR_BAD_SERIAL, "10 digits" },
	{ "780314021540", EG_ERR_BAD_SERIAL, "12 digits" },
	{ "7803140215A", EG_ERR_BAD_SERIAL, "letter" },
	{ "78.03.14-021.54", EG_ERR_BAD_SERIAL, "punctuation" },
	{ "", EG_ERR_BAD_SERIAL, "empty" },
	{ "78131402179", EG_ERR_BAD_SERIAL, "month 13" },
	{ "78331402102", EG_ERR_BAD_SERIAL, "month 33 (BIS +20 of 13)" },
	{ "78631402100", EG_ERR_BAD_SERIAL, "month 63" },
	{ "78033202196", EG_ERR_BAD_SERIAL, "day 32" },
	{ "71715100070", EG_ERR_BAD_SERIAL, "month 71 (Alice SPECIMEN's fictitious number)" },
};

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = auth_nrn_check(cases[i].nrn);
		if (r != cases[i].want)
			printf("case '%s' (%s): got %s, want %s\n", cases[i].nrn, cases[i].why,
			    eg_err_code(r), eg_err_code(cases[i].want));
		CHECK(r == cases[i].want);
	}
	CHECK(auth_nrn_check(NULL) == EG_ERR_BAD_SERIAL);
	return check_report();
}
