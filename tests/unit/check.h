/*
 * check.h - the smallest unit-test helper: CHECK(cond) counts and reports, check_report()
 * prints one final line "N passed, M failed" and gives the exit status.
 */
#ifndef EIDGATE_TEST_CHECK_H
#define EIDGATE_TEST_CHECK_H

#include <ftw.h>
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

static inline int
check_report(void)
{
	printf("%d passed, %d failed\n", check_pass, check_fail);
	return check_fail == 0 ? 0 : 1;
}

static inline int
check_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes a test's scratch directory and everything in it. */
static inline void
check_rm_tree(const char *dir)
{
	nftw(dir, check_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
