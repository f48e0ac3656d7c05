/*
 * fuzz_path.c - the request target: policy_normalise_path() (policy/path.c), then the
 * decision on the normalised path under the example policy (policy/trie.c, eval.c).
 *
 * Input: the raw request target as libmicrohttpd hands it over (a C string).
 * Invariants: the output is canonical (normalising it again gives it back, the query
 * unchanged), starts with '/', has no empty, "." or ".." segment, and only unreserved
 * characters, raw sub-delims, ':', '@' and upper-case %XX; a smaller output buffer
 * gives the same answer or EG_ERR_TOO_LONG.
 */
#include "fuzz.h"

#include "eidgate/limits.h"

static const char example[] =
    "backend modules  http://127.0.0.1:9101\n"
    "backend dossiers http://127.0.0.1:9102\n"
    "allow catalog GET,HEAD /modules/catalog/** -> modules when authenticated\n"
    "allow module-read GET,HEAD /modules/facilities/{f}/** -> modules when role member "
    "on facility {f} or role moduleerder on facility {f}\n"
    "allow module-write POST,PUT,PATCH,DELETE /modules/facilities/{f}/** -> modules when "
    "role moduleerder on facility {f}\n"
    "allow a-doc-submit POST /dossiers/a-documents -> dossiers when role "
    "insisto-aanmelder on facility context\n"
    "allow itp * /dossiers/regions/{r}/** -> dossiers when role indicatiesteller on "
    "region {r}\n"
    "allow open GET /public/* -> modules\n"
    "deny no-delete DELETE /dossiers/**\n";

static struct policy *policy;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (policy_load_text("example.policy", example, sizeof(example) - 1, &policy,
	    NULL) != EG_OK)
		abort();
	return 0;
}

static int
is_canonical_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-._~!$&'()*+,=:@/%", c) != NULL);
}

static void
check_canonical(const char *path)
{
	size_t i, n = strlen(path);

	FUZZ_ASSERT(n > 0 && path[0] == '/');
	FUZZ_ASSERT(strstr(path, "//") == NULL);
	FUZZ_ASSERT(strstr(path, "/./") == NULL && strstr(path, "/../") == NULL);
	FUZZ_ASSERT(!(n >= 2 && strcmp(path + n - 2, "/.") == 0));
	FUZZ_ASSERT(!(n >= 3 && strcmp(path + n - 3, "/..") == 0));
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(is_canonical_char((unsigned char)path[i]));
		if (path[i] == '%') {
			FUZZ_ASSERT(i + 2 < n && strchr("0123456789ABCDEF", path[i + 1]) &&
			    strchr("0123456789ABCDEF", path[i + 2]) && path[i + 1] != '\0' &&
			    path[i + 2] != '\0');
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[EG_MAX_PATH], query[EG_MAX_PATH], again[EG_MAX_PATH];
	static char q2[EG_MAX_PATH], small[64], smallq[64];
	char *target = fuzz_str(data, size);
	int r, r2, rs;

	r = policy_normalise_path(target, path, sizeof(path), query, sizeof(query));
	FUZZ_ASSERT(r == EG_OK || r == EG_ERR_BAD_PATH || r == EG_ERR_TOO_LONG);
	rs = policy_normalise_path(target, small, sizeof(small), smallq, sizeof(smallq));
	if (r == EG_OK) {
		check_canonical(path);
		FUZZ_ASSERT(strlen(query) < sizeof(query));
		FUZZ_ASSERT(strpbrk(query, " #\x7f") == NULL);
		r2 = policy_normalise_path(path, again, sizeof(again), q2, sizeof(q2));
		FUZZ_ASSERT(r2 == EG_OK && strcmp(again, path) == 0 && q2[0] == '\0');
		FUZZ_ASSERT(rs == EG_ERR_TOO_LONG ||
		    (rs == EG_OK && strcmp(small, path) == 0 && strcmp(smallq, query) == 0));
		(void)policy_path_is_builtin(path);
		fuzz_decide_all(policy, "GET", path, NULL);
		fuzz_decide_all(policy, "DELETE", path, NULL);
	} else {
		FUZZ_ASSERT(path[0] == '\0');
		FUZZ_ASSERT(rs == r || rs == EG_ERR_TOO_LONG || r == EG_ERR_TOO_LONG);
	}
	free(target);
	return 0;
}
