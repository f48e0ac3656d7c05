/*
 * nrn.c - Belgian national register numbers (rijksregisternummer) and BIS numbers.
 *
 * Layout YYMMDD SSS CC. The check number CC is 97 - (YYMMDDSSS mod 97) for people born
 * before 2000 and 97 - (2YYMMDDSSS mod 97) for those born in 2000 or later. Which rule
 * applies cannot be told from the digits alone, so either may match. BIS numbers (for
 * people not in the national register) add 20 or 40 to the month; month 00 and day 00
 * occur when the birth date is (partly) unknown.
 */
#include "eidgate/auth.h"
#include "eidgate/err.h"
#include "eidgate/util.h"

static unsigned
two(const char *s)
{
	return (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
}

int
auth_nrn_check(const char *nrn)
{
	unsigned long long base = 0;
	unsigned month, day, check;
	size_t i;

	if (nrn == NULL || !eg_all_digits(nrn, EG_NRN_LEN))
		return EG_ERR_BAD_SERIAL;
	month = two(nrn + 2);
	day = two(nrn + 4);
	if (month >= 40)
		month -= 40;
	else if (month >= 20)
		month -= 20;
	if (month > 12 || day > 31)
		return EG_ERR_BAD_SERIAL;
	for (i = 0; i < 9; i++)
		base = base * 10 + (unsigned)(nrn[i] - '0');
	check = two(nrn + 9);
	if (97 - base % 97 == check)
		return EG_OK;
	if (97 - (2000000000ULL + base) % 97 == check)
		return EG_OK;
	return EG_ERR_NRN_CHECK;
}
