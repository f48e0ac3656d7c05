/*
 * cli.c - `eidgate policy check FILE` (PRODUCT.md §1): every problem on stderr as
 * "FILE:LINE: error: ..." or "FILE:LINE: warning: ...", a one-line summary on stdout.
 * Exit 0 when the policy loads, 1 when it does not, 2 on bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "policy_int.h"

static const char usage_text[] =
    "usage: eidgate policy check FILE\n"
    "\n"
    "  check FILE   parse and lint a policy file (PRODUCT.md section 5); print every\n"
    "               error and warning as FILE:LINE: and a summary when it loads\n"
    "\n"
    "exit status: 0 ok, 1 the policy has errors, 2 bad usage\n";

static int
usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

struct counts {
	int errors;
	int warnings;
};

static void
emit(void *arg, int is_error, const char *file, int line, const char *msg)
{
	struct counts *n = arg;

	if (is_error)
		n->errors++;
	else
		n->warnings++;
	if (line > 0)
		fprintf(stderr, "%s:%d: %s: %s\n", file, line, is_error ? "error" : "warning",
		    msg);
	else
		fprintf(stderr, "%s: %s: %s\n", file, is_error ? "error" : "warning", msg);
}

static int
is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static int
check(const char *file)
{
	struct counts n = { 0, 0 };
	struct policy_diag diag = { emit, &n };
	struct policy *p = NULL;
	int r;

	r = policy_load(file, &p, &diag);
	if (r != EG_OK) {
		fprintf(stderr, "eidgate: policy check: %s: %s (%d error%s, %d warning%s)\n",
		    file, eg_err(r), n.errors, n.errors == 1 ? "" : "s", n.warnings,
		    n.warnings == 1 ? "" : "s");
		return 1;
	}
	printf("%s: ok (%zu rules, %zu backends, version %s)\n", file, p->nrules,
	    policy_backend_count(p), policy_version(p));
	policy_free(p);
	return 0;
}

int
policy_cli(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr, 2);
	if (is_help(argv[1]))
		return usage(stdout, 0);
	if (strcmp(argv[1], "check") == 0) {
		if (argc == 3 && is_help(argv[2]))
			return usage(stdout, 0);
		if (argc != 3 || argv[2][0] == '-') {
			fprintf(stderr, "eidgate: policy check needs exactly one FILE\n");
			return usage(stderr, 2);
		}
		return check(argv[2]);
	}
	fprintf(stderr, "eidgate: policy: unknown subcommand '%s'\n", argv[1]);
	return usage(stderr, 2);
}
