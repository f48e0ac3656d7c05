/*
 * check.h - the smallest unit-test helper: CHECK(cond) counts and reports, check_report()
 * prints one final line "N passed, M failed" and gives the exit status.
 */
#ifndef EIDGATE_TEST_CHECK_H
#define EIDGATE_TEST_CHECK_H

#include <stdio.h>

static int check_pass, check_fail;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (cond) {                                                          \
			check_pass++;                                                \
		} else {                                                             \
			check_fail++;                                                \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
		}                                                                    \
	} while (0)

static int
check_report(void)
{
	printf("%d passed, %d failed\n", check_pass, check_fail);
	return check_fail == 0 ? 0 : 1;
}

#endif
