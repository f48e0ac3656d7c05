/*
 * fuzz_policy.c - the policy file (policy/parse*.c, lint.c, trie.c) through
 * policy_load_text(), which reads text exactly as policy_load() reads a file; then
 * decisions under the loaded policy (eval.c) and their explanations (explain.c).
 *
 * Input: the file's bytes.
 * Invariants: a load fails exactly when an error was reported, each with a line number
 * within the file; a loaded policy's backends are NUL-terminated and split; for paths
 * taken from the file's own patterns ({x} and * filled in, ** as two segments) and a few
 * fixed ones, every subject's decision is sound and policy_explain reaches the same
 * verdict, rule and backend as policy_decide.
 */
#include "fuzz.h"
#include "eidgate/limits.h"
#include "eidgate/util.h"

#define MAX_PATHS 8

struct diags {
	int nerr, maxline;
};

static FILE *devnull;

static void
emit(void *arg, int is_error, const char *file, int line, const char *msg)
{
	struct diags *d = arg;

	FUZZ_ASSERT(strcmp(file, "fuzz.policy") == 0 && msg[0] != '\0');
	FUZZ_ASSERT(line >= 0 && line <= d->maxline);
	d->nerr += is_error;
}

/* policy_load_text reads what policy_load reads: the same example, the same version. */
static void
same_as_file(const char *path)
{
	struct policy *a = NULL, *b = NULL;
	char *text = NULL;
	size_t len = 0;

	if (eg_read_file(path, 1 << 20, &text, &len) != EG_OK)
		return;                 /* not run from the top of the tree */
	if (policy_load(path, &a, NULL) != EG_OK ||
	    policy_load_text(path, text, len, &b, NULL) != EG_OK ||
	    strcmp(policy_version(a), policy_version(b)) != 0 ||
	    policy_rule_count(a) != policy_rule_count(b))
		abort();
	policy_free(a);
	policy_free(b);
	free(text);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	same_as_file("tests/policy/example.policy");
	return 0;
}

/* A path the pattern starting at p (up to a blank) matches, roughly: good enough to
 * reach the rules' conditions. */
static void
path_of(const char *p, const char *end, char *out, size_t outlen)
{
	size_t o = 0;

	while (p < end && *p != ' ' && *p != '\t' && *p != '\n' && o + 8 < outlen) {
		if (*p == '{') {
			const char *e = memchr(p, '}', (size_t)(end - p));
			if (e == NULL)
				break;
			memcpy(out + o, "fA", 2);
			o += 2;
			p = e + 1;
		} else if (p + 1 < end && p[0] == '*' && p[1] == '*') {
			memcpy(out + o, "x/y", 3);
			o += 3;
			p += 2;
		} else if (*p == '*') {
			out[o++] = 'z';
			p++;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
}

static void
decide_paths(const struct policy *p, const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "DELETE", "OPTIONS" };
	char paths[MAX_PATHS][256];
	const char *s = (const char *)data, *end = s + size, *q;
	size_t n = 0, i;

	eg_strlcpy(paths[n++], "/", sizeof(paths[0]));
	eg_strlcpy(paths[n++], "/modules/facilities/fA/m1", sizeof(paths[0]));
	for (q = s; q < end && n < MAX_PATHS; q++)
		if (*q == '/' && (q == s || q[-1] == ' ' || q[-1] == '\t'))
			path_of(q, end, paths[n++], sizeof(paths[0]));
	for (i = 0; i < n; i++)
		fuzz_decide_all(p, methods[i % 4], paths[i], devnull);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = { 0, 1 };
	struct policy_diag diag = { emit, &d };
	struct policy *p = NULL;
	size_t i;
	int r;

	for (i = 0; i < size; i++)
		d.maxline += data[i] == '\n';
	r = policy_load_text("fuzz.policy", (const char *)data, size, &p, &diag);
	FUZZ_ASSERT(r == EG_OK || r == EG_ERR_POLICY);
	FUZZ_ASSERT((r == EG_OK) == (d.nerr == 0) && (r == EG_OK) == (p != NULL));
	if (p == NULL)
		return 0;
	FUZZ_ASSERT(strlen(policy_version(p)) == 16);
	for (i = 0; i < policy_backend_count(p); i++) {
		const struct policy_backend *b = policy_backend_at(p, i);
		FUZZ_ASSERT(FUZZ_TERMINATED(b->name) && FUZZ_TERMINATED(b->url) &&
		    FUZZ_TERMINATED(b->host) && FUZZ_TERMINATED(b->port) &&
		    FUZZ_TERMINATED(b->authority) && b->norigins <= EG_MAX_ORIGINS);
		FUZZ_ASSERT(b->path_at <= strlen(b->url) && b->host[0] != '\0');
		FUZZ_ASSERT(policy_backend_find(p, b->name) == b);
	}
	decide_paths(p, data, size);
	policy_free(p);
	return 0;
}
