/* cli.c - `eidgate audit {query,verify} ...` for security officers (PRODUCT §7). */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "audit_int.h"
#include "output.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_audit[] =
    "usage: eidgate audit query --db DIR [filters] [--format table|json|csv]\n"
    "       eidgate audit verify --db DIR\n"
    "Read and check the access log. Run `eidgate audit COMMAND --help` for details.\n";

static const char usage_query[] =
    "usage: eidgate audit query --db DIR [--nrn N] [--org O] [--facility F]\n"
    "           [--decision allow|deny] [--kind K] [--since T] [--until T]\n"
    "           [--limit N] [--format table|json|csv]\n"
    "Prints the records matching every given filter, oldest first. T is ISO 8601 in UTC\n"
    "(2026-11-22 or 2026-11-22T20:01[:53][Z]); --since and --until are inclusive.\n"
    "The log may be read while a gateway writes it.\n";

static const char usage_verify[] =
    "usage: eidgate audit verify --db DIR\n"
    "Recomputes the hash chain of every record and checks that no sequence number is\n"
    "missing. Prints \"ok: N records, head HASH\", or the first broken record and exits 1.\n";

struct opt {
	const char *name;       /* without the leading "--" */
	const char **val;
};

/* "--name value" and "--name=value". Returns EXIT_OK, EXIT_USAGE, or -1 for --help. */
static int
parse_opts(int argc, char **argv, const struct opt *opts, size_t nopts, const char *cmd)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		size_t j, nlen;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return -1;
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "eidgate: audit %s: unexpected argument\n", cmd);
			return EXIT_USAGE;
		}
		a += 2;
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (j = 0; j < nopts; j++)
			if (strlen(opts[j].name) == nlen && strncmp(opts[j].name, a, nlen) == 0)
				break;
		if (j == nopts) {
			fprintf(stderr, "eidgate: audit %s: unknown option --%.*s\n", cmd,
			    (int)(nlen > 64 ? 64 : nlen), a);
			return EXIT_USAGE;
		}
		if (eq == NULL && i + 1 >= argc) {
			fprintf(stderr, "eidgate: audit %s: --%s needs a value\n", cmd,
			    opts[j].name);
			return EXIT_USAGE;
		}
		*opts[j].val = eq ? eq + 1 : argv[++i];
	}
	return EXIT_OK;
}

struct query_args {
	const char *db, *nrn, *org, *facility, *decision, *kind, *since, *until, *limit,
	    *format;
};

static int
parse_time_opt(const char *name, const char *s, int64_t *out)
{
	if (s == NULL)
		return EXIT_OK;
	if (eg_parse_time(s, out) != EG_OK) {
		fprintf(stderr, "eidgate: audit query: --%s: not an ISO 8601 time\n", name);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Turns the strings into a filter and format; prints the usage error itself. */
static int
build_filter(const struct query_args *a, struct audit_filter *f, enum audit_fmt *fmt)
{
	long long lim = 0;

	memset(f, 0, sizeof(*f));
	if (a->db == NULL) {
		fprintf(stderr, "eidgate: audit query: --db is required\n");
		return EXIT_USAGE;
	}
	if (a->decision && strcmp(a->decision, "allow") != 0 &&
	    strcmp(a->decision, "deny") != 0) {
		fprintf(stderr, "eidgate: audit query: --decision must be allow or deny\n");
		return EXIT_USAGE;
	}
	if (a->format == NULL || strcmp(a->format, "table") == 0)
		*fmt = AUDIT_FMT_TABLE;
	else if (strcmp(a->format, "json") == 0)
		*fmt = AUDIT_FMT_JSON;
	else if (strcmp(a->format, "csv") == 0)
		*fmt = AUDIT_FMT_CSV;
	else {
		fprintf(stderr, "eidgate: audit query: --format must be table, json or csv\n");
		return EXIT_USAGE;
	}
	if (a->limit && eg_strtonum(a->limit, 0, LLONG_MAX, &lim) != EG_OK) {
		fprintf(stderr, "eidgate: audit query: --limit must be a number\n");
		return EXIT_USAGE;
	}
	if (parse_time_opt("since", a->since, &f->since_us) != EXIT_OK ||
	    parse_time_opt("until", a->until, &f->until_us) != EXIT_OK)
		return EXIT_USAGE;
	f->nrn = a->nrn;
	f->org = a->org;
	f->facility = a->facility;
	f->decision = a->decision;
	f->kind = a->kind;
	f->limit = (uint64_t)lim;
	return EXIT_OK;
}

static int
cmd_query(int argc, char **argv)
{
	struct query_args a;
	const struct opt opts[] = {
		{ "db", &a.db }, { "nrn", &a.nrn }, { "org", &a.org },
		{ "facility", &a.facility }, { "decision", &a.decision }, { "kind", &a.kind },
		{ "since", &a.since }, { "until", &a.until }, { "limit", &a.limit },
		{ "format", &a.format },
	};
	struct audit_filter f;
	struct audit_out *out;
	enum audit_fmt fmt = AUDIT_FMT_TABLE;
	char err[512];
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), "query");
	if (rc < 0) {
		fputs(usage_query, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK || (rc = build_filter(&a, &f, &fmt)) != EXIT_OK)
		return rc;
	/* The table holds a page of rows: too big for the stack. */
	if ((out = malloc(sizeof(*out))) == NULL) {
		fprintf(stderr, "eidgate: audit query: out of memory\n");
		return EXIT_FAILED;
	}
	audit_out_init(out, fmt, stdout);
	rc = audit_query_dir(a.db, &f, audit_out_record, out, err, sizeof(err));
	if (audit_out_finish(out) != 0 || (rc != EG_OK && rc != EG_ERR_AUDIT)) {
		fprintf(stderr, "eidgate: audit query: write error on standard output\n");
		rc = EG_ERR_IO;
	} else if (rc == EG_ERR_AUDIT) {
		fprintf(stderr, "eidgate: %s\n", err);
	}
	free(out);
	return rc == EG_OK ? EXIT_OK : EXIT_FAILED;
}

static int
cmd_verify(int argc, char **argv)
{
	const char *db = NULL;
	const struct opt opts[] = { { "db", &db } };
	struct audit_verify_result res;
	char err[512];
	int rc;

	rc = parse_opts(argc, argv, opts, 1, "verify");
	if (rc < 0) {
		fputs(usage_verify, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK)
		return rc;
	if (db == NULL) {
		fprintf(stderr, "eidgate: audit verify: --db is required\n");
		return EXIT_USAGE;
	}
	if (audit_verify(db, &res, err, sizeof(err)) == EG_OK) {
		printf("ok: %" PRIu64 " records, head %s\n", res.records, res.head);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
	}
	if (res.bad_seq != 0)
		fprintf(stderr, "eidgate: audit log %s: chain broken at seq %" PRIu64 ": %s\n",
		    db, res.bad_seq, res.why);
	else
		fprintf(stderr, "eidgate: %s\n", err);
	return EXIT_FAILED;
}

int
audit_cli(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_audit, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_audit, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "query") == 0)
		return cmd_query(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	/* export, tail and stats (PRODUCT §1) come with later issues. */
	fprintf(stderr, "eidgate: audit: unknown command; see eidgate audit --help\n");
	return EXIT_USAGE;
}
