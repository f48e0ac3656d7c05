/*
 * path_test.c - policy_normalise_path(): the canonical form, and every trick known to
 * make a gateway and a backend read a path differently (encoded dots and slashes, double
 * encoding, overlong UTF-8, path parameters, backslashes, NUL). Method case, absolute-form
 * targets and Host headers are checked end to end in tests/e2e/test_policy.py, together
 * with "the backend receives exactly the path that was decided".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "eidgate/err.h"
#include "eidgate/policy.h"

#define BAD NULL

struct pcase {
	const char *in;
	const char *path;       /* expected path, or BAD for EG_ERR_BAD_PATH */
	const char *query;      /* expected query when path is not BAD */
};

static const struct pcase cases[] = {
	/* plain and canonical forms */
	{ "/", "/", "" },
	{ "/a/b", "/a/b", "" },
	{ "/a/b/", "/a/b/", "" },
	{ "//", "/", "" },
	{ "//a///b//", "/a/b/", "" },
	{ "/a?x=1&y=%2F", "/a", "x=1&y=%2F" },
	{ "/a?", "/a", "" },
	{ "/a?b?c", "/a", "b?c" },
	{ "/a/%41%62", "/a/Ab", "" },
	{ "/%7e%7E", "/~~", "" },
	{ "/a%2D%5F%2e%30", "/a-_.0", "" },
	{ "/caf%c3%a9", "/caf%C3%A9", "" },
	{ "/caf%C3%A9", "/caf%C3%A9", "" },
	{ "/caf\xc3\xa9", "/caf%C3%A9", "" },
	{ "/%f0%9f%98%80", "/%F0%9F%98%80", "" },
	{ "/a%20b", "/a%20b", "" },
	{ "/a%21b!", "/a%21b!", "" },
	{ "/a:b@c,d=e+f$g&h'(i)*", "/a:b@c,d=e+f$g&h'(i)*", "" },
	{ "/a%3fb%23c", "/a%3Fb%23c", "" },
	{ "/a|b", "/a%7Cb", "" },
	{ "/a%25", "/a%25", "" },
	{ "/a%25zz", "/a%25zz", "" },
	/* dot segments (RFC 3986 §5.2.4) */
	{ "/./a", "/a", "" },
	{ "/a/./b", "/a/b", "" },
	{ "/a/.", "/a/", "" },
	{ "/a/b/../c", "/a/c", "" },
	{ "/a/b/..", "/a/", "" },
	{ "/a/b/../../c", "/c", "" },
	{ "/a/..", "/", "" },
	{ "/a/%2e%2e/b", "/b", "" },
	{ "/a/%2E%2E/b", "/b", "" },
	{ "/a/.%2e/b", "/b", "" },
	{ "/a/%2e/b", "/a/b", "" },
	{ "/a/...", "/a/...", "" },
	{ "/a/..b/.c", "/a/..b/.c", "" },
	{ "/..", BAD, NULL },
	{ "/../a", BAD, NULL },
	{ "/a/../..", BAD, NULL },
	{ "/a/../../b", BAD, NULL },
	{ "/%2e%2e/etc/passwd", BAD, NULL },
	/* encoded separators and double encoding */
	{ "/a%2fb", BAD, NULL },
	{ "/a%2Fb", BAD, NULL },
	{ "/a%5cb", BAD, NULL },
	{ "/a%5C..%5Cb", BAD, NULL },
	{ "/a\\b", BAD, NULL },
	{ "/..\\..\\x", BAD, NULL },
	{ "/%252e%252e/x", BAD, NULL },
	{ "/a%252fb", BAD, NULL },
	{ "/a%2525", BAD, NULL },
	{ "/a%25%41%42", BAD, NULL },
	{ "/a%25%2e%2e", "/a%25..", "" },
	{ "/a%25x%2e", "/a%25x.", "" },
	/* path parameters */
	{ "/admin;jsessionid=1", BAD, NULL },
	{ "/a/..;/admin", BAD, NULL },
	{ "/a%3bb", BAD, NULL },
	/* NUL, control characters, invalid escapes */
	{ "/a%00b", BAD, NULL },
	{ "/a%0a", BAD, NULL },
	{ "/a%7f", BAD, NULL },
	{ "/a\tb", BAD, NULL },
	{ "/a\x7f", BAD, NULL },
	{ "/a b", BAD, NULL },
	{ "/a%", BAD, NULL },
	{ "/a%4", BAD, NULL },
	{ "/a%zz", BAD, NULL },
	{ "/a%g0", BAD, NULL },
	/* UTF-8: overlong, surrogates, out of range, truncated */
	{ "/%c0%ae%c0%ae/x", BAD, NULL },
	{ "/%c0%af", BAD, NULL },
	{ "/%e0%80%af", BAD, NULL },
	{ "/%f0%80%80%af", BAD, NULL },
	{ "/%ed%a0%80", BAD, NULL },
	{ "/%f4%90%80%80", BAD, NULL },
	{ "/%f5%80%80%80", BAD, NULL },
	{ "/%c3", BAD, NULL },
	{ "/%c3x", BAD, NULL },
	{ "/%a9", BAD, NULL },
	{ "/\xc0\xae", BAD, NULL },
	{ "/\xff", BAD, NULL },
	/* more tricks: each one either has one canonical form or is refused */
	{ "/%2e", "/", "" },
	{ "/a/b/%2e%2e", "/a/", "" },
	{ "/a/%2e./b", "/b", "" },
	{ "/a//../b", "/b", "" },               /* we collapse first, and forward "/b" */
	{ "/a/./../b", "/b", "" },
	{ "/a/%2e%2e%2fb", BAD, NULL },
	{ "/a/%2e%2e%5cb", BAD, NULL },
	{ "/a/..%00/b", BAD, NULL },
	{ "/a/%2e%2e;/b", BAD, NULL },
	{ "/a/%u002e%u002e/b", BAD, NULL },     /* IIS %u escapes are not percent-encoding */
	{ "/a/%C0%AE%C0%AE/b", BAD, NULL },
	{ "/a/%c0%80", BAD, NULL },             /* overlong NUL */
	{ "/a/%e0%80%80", BAD, NULL },
	{ "/a/%c0%2e", BAD, NULL },
	{ "/a/%ef%bc%8f", "/a/%EF%BC%8F", "" }, /* fullwidth solidus: stays one segment */
	{ "/a/%e2%80%ae", "/a/%E2%80%AE", "" },
	{ "/a%09b", BAD, NULL },
	{ "/a\r\nb", BAD, NULL },
	{ "/a%0d%0aSet-Cookie:x", BAD, NULL },
	{ "/a?x=\x7f", BAD, NULL },
	{ "/a?x=1 y", BAD, NULL },
	{ "/A/B", "/A/B", "" },                 /* case is kept: the backend decides */
	{ "/%41/%61", "/A/a", "" },
	{ "/a%2525252e", BAD, NULL },
	{ "/a/%25", "/a/%25", "" },
	{ "/a/%", BAD, NULL },
	/* fragments and non-origin forms */
	{ "/a#frag", BAD, NULL },
	{ "/a?q#frag", BAD, NULL },
	{ "/a?q\x01", BAD, NULL },
	{ "http://host/a", BAD, NULL },
	{ "HTTP://127.0.0.1:8443/a", BAD, NULL },
	{ "https://evil.example/a", BAD, NULL },
	{ "//evil.example/a", "/evil.example/a", "" },  /* a path, not an authority */
	{ "\\evil.example/a", BAD, NULL },
	{ " /a", BAD, NULL },
	{ "*", BAD, NULL },
	{ "", BAD, NULL },
	{ "a/b", BAD, NULL },
	{ "?a", BAD, NULL },
};

static int
case_ok(const struct pcase *c)
{
	char path[256], query[256];
	int r = policy_normalise_path(c->in, path, sizeof(path), query, sizeof(query));
	int ok;

	if (c->path == BAD)
		ok = r == EG_ERR_BAD_PATH;
	else
		ok = r == EG_OK && strcmp(path, c->path) == 0 && strcmp(query, c->query) == 0;
	if (!ok)
		printf("  normalise \"%s\": r=%d path=\"%s\" query=\"%s\"\n", c->in, r,
		    r == EG_OK ? path : "", r == EG_OK ? query : "");
	return ok;
}

static void
test_sizes(void)
{
	char small[4], q[4], *big;
	size_t n = 20000;

	CHECK(policy_normalise_path("/abc", small, sizeof(small), q, sizeof(q)) ==
	    EG_ERR_TOO_LONG);
	CHECK(policy_normalise_path("/ab", small, sizeof(small), q, sizeof(q)) == EG_OK &&
	    strcmp(small, "/ab") == 0);
	/* An escape that grows from 1 byte to 3 must fit too. */
	CHECK(policy_normalise_path("/|", small, sizeof(small), q, sizeof(q)) ==
	    EG_ERR_TOO_LONG);
	CHECK(policy_normalise_path("/a?long", small, sizeof(small), q, sizeof(q)) ==
	    EG_ERR_TOO_LONG);
	CHECK(policy_normalise_path("/a?xyz", small, sizeof(small), NULL, 0) == EG_OK);
	big = malloc(n + 1);
	if (big == NULL)
		return;
	memset(big, 'a', n);
	big[0] = '/';
	big[n] = '\0';
	{
		char out[EG_MAX_PATH];
		CHECK(policy_normalise_path(big, out, sizeof(out), q, sizeof(q)) ==
		    EG_ERR_TOO_LONG);
	}
	free(big);
}

/* Normalising twice changes nothing: the output is already canonical. */
static void
test_idempotent(void)
{
	char p1[256], p2[256], q[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].path == BAD)
			continue;
		CHECK(policy_normalise_path(cases[i].in, p1, sizeof(p1), q, sizeof(q)) == EG_OK);
		CHECK(policy_normalise_path(p1, p2, sizeof(p2), q, sizeof(q)) == EG_OK &&
		    strcmp(p1, p2) == 0);
	}
}

int
main(void)
{
	size_t i;

	printf("%zu path cases\n", sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(case_ok(&cases[i]));
	test_sizes();
	test_idempotent();
	return check_report();
}
