/*
 * audit.c - `eidgate audit ...` for security officers (PRODUCT §1, §7): the dispatcher,
 * option parsing, query and export. verify/checkpoint, tail, stats and archive live in
 * audit_verify.c, audit_tail.c, audit_stats.c and audit_archive.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

static const char usage_audit[] =
    "usage: eidgate audit query --db DIR... [filters] [--format table|json|csv]\n"
    "       eidgate audit export --db DIR... [filters] [--format json|csv] [--out FILE]\n"
    "       eidgate audit tail --db DIR [-n N] [-f] [--format table|json|csv]\n"
    "       eidgate audit stats --db DIR... [filters] [--format table|json]\n"
    "       eidgate audit verify --db DIR... [--key PUB.pem]... [--head FILE]\n"
    "           [--archive FILE]... [--witness-key PUB.pem]...\n"
    "       eidgate audit syslog --db DIR --to HOST:PORT [--state FILE] [--once]\n"
    "       eidgate audit checkpoint --db DIR --export\n"
    "       eidgate audit archive --db DIR --before DATE --out FILE --key KEY.pem\n"
    "       eidgate audit replay --db DIR [--policy FILE] (SEQ | --since T [--until T])\n"
    "       eidgate audit receipt --db DIR SEQ [HASH]\n"
    "filters: --nrn N --org O --facility F --decision allow|deny --kind K --since T\n"
    "         --until T\n"
    "Read, check and archive the access log. Run `eidgate audit COMMAND --help` for "
    "details.\n";

static const char usage_query[] =
    "usage: eidgate audit query --db DIR... [--no-peers] [--nrn N] [--org O] [--facility F]\n"
    "           [--decision allow|deny] [--kind K] [--since T] [--until T]\n"
    "           [--limit N] [--format table|json|csv]\n"
    "Prints the records matching every given filter, oldest first. T is ISO 8601 in UTC\n"
    "(2026-11-22 or 2026-11-22T20:01[:53][Z]); --since and --until are inclusive.\n"
    "The log may be read while a gateway writes it. --db may be given once per instance's\n"
    "log; a log's directory also holds its witness's mirrors of the peers' logs\n"
    "(DIR/peers/NAME), which are shown too unless --no-peers or that instance's own log\n"
    "is given. Several logs are merged by time; every row names its instance.\n";

static const char usage_export[] =
    "usage: eidgate audit export --db DIR... [--no-peers] [--nrn N] [--org O]\n"
    "           [--facility F]\n"
    "           [--decision allow|deny] [--kind K] [--since T] [--until T]\n"
    "           [--limit N] [--format json|csv] [--out FILE]\n"
    "Writes the matching records, oldest first, as JSON lines (default) or CSV with every\n"
    "field, to standard output or to FILE (created with mode 0600, never overwritten).\n"
    "Several logs and the peers' mirrors are merged by time as for query.\n";

static const struct opt *
find_opt(const struct opt *opts, size_t nopts, const char *a, size_t nlen, int shrt)
{
	size_t j;

	for (j = 0; j < nopts; j++) {
		if (shrt && opts[j].shortname != 0 && opts[j].shortname == a[0] && nlen == 1)
			return &opts[j];
		if (!shrt && strlen(opts[j].name) == nlen && strncmp(opts[j].name, a, nlen) == 0)
			return &opts[j];
	}
	return NULL;
}

static int
set_value(const struct opt *o, const char *v, const char *cmd)
{
	if (o->list == NULL) {
		*o->val = v;
		return EXIT_OK;
	}
	if (*o->nlist >= o->maxlist) {
		fprintf(stderr, "eidgate: audit %s: too many --%s\n", cmd, o->name);
		return EXIT_USAGE;
	}
	o->list[(*o->nlist)++] = v;
	return EXIT_OK;
}

/* "--name value", "--name=value", "--flag", "-n value", "-f". */
int
cmd_opts(int argc, char **argv, const struct opt *opts, size_t nopts,
    const char *cmd)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = NULL;
		const struct opt *o;
		size_t nlen;
		int shrt;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return -1;
		shrt = a[0] == '-' && a[1] != '-' && a[1] != '\0';
		if (!shrt && strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "eidgate: audit %s: unexpected argument\n", cmd);
			return EXIT_USAGE;
		}
		a += shrt ? 1 : 2;
		if (!shrt)
			eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		if ((o = find_opt(opts, nopts, a, nlen, shrt)) == NULL) {
			fprintf(stderr, "eidgate: audit %s: unknown option %s%.*s\n", cmd,
			    shrt ? "-" : "--", (int)(nlen > 64 ? 64 : nlen), a);
			return EXIT_USAGE;
		}
		if (o->flag != NULL && eq == NULL) {
			*o->flag = 1;
			continue;
		}
		if (o->flag != NULL || (eq == NULL && i + 1 >= argc)) {
			fprintf(stderr, "eidgate: audit %s: --%s %s\n", cmd, o->name,
			    o->flag ? "takes no value" : "needs a value");
			return EXIT_USAGE;
		}
		if (set_value(o, eq ? eq + 1 : argv[++i], cmd) != EXIT_OK)
			return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int
parse_time_opt(const char *name, const char *s, int64_t *out, const char *cmd)
{
	if (s == NULL)
		return EXIT_OK;
	if (eg_parse_time(s, out) != EG_OK) {
		fprintf(stderr, "eidgate: audit %s: --%s: not an ISO 8601 time\n", cmd, name);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int
cmd_audit_format(const char *s, const char *allowed, enum audit_fmt dflt,
    enum audit_fmt *fmt, const char *cmd)
{
	static const char *const names[] = { "table", "json", "csv" };
	size_t i;

	*fmt = dflt;
	if (s == NULL)
		return EXIT_OK;
	for (i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0 && strstr(allowed, names[i]) != NULL) {
			*fmt = (enum audit_fmt)i;
			return EXIT_OK;
		}
	fprintf(stderr, "eidgate: audit %s: --format must be one of: %s\n", cmd, allowed);
	return EXIT_USAGE;
}

int
cmd_audit_filter(const struct query_args *a, struct audit_filter *f, const char *cmd)
{
	long long lim = 0;

	memset(f, 0, sizeof(*f));
	if (a->ndbs == 0) {
		fprintf(stderr, "eidgate: audit %s: --db is required\n", cmd);
		return EXIT_USAGE;
	}
	if (a->decision && strcmp(a->decision, "allow") != 0 &&
	    strcmp(a->decision, "deny") != 0) {
		fprintf(stderr, "eidgate: audit %s: --decision must be allow or deny\n", cmd);
		return EXIT_USAGE;
	}
	if (a->limit && eg_strtonum(a->limit, 0, LLONG_MAX, &lim) != EG_OK) {
		fprintf(stderr, "eidgate: audit %s: --limit must be a number\n", cmd);
		return EXIT_USAGE;
	}
	if (parse_time_opt("since", a->since, &f->since_us, cmd) != EXIT_OK ||
	    parse_time_opt("until", a->until, &f->until_us, cmd) != EXIT_OK)
		return EXIT_USAGE;
	f->nrn = a->nrn;
	f->org = a->org;
	f->facility = a->facility;
	f->decision = a->decision;
	f->kind = a->kind;
	f->limit = (uint64_t)lim;
	return EXIT_OK;
}

/* Exports hold national numbers: the file is private and never replaces another. */
static FILE *
open_out(const char *path, const char *cmd)
{
	FILE *fp;
	int fd;

	if (path == NULL)
		return stdout;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "eidgate: audit %s: %s: %s\n", cmd, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return fp;
}

int
cmd_audit_walk(const struct query_args *a, const struct audit_filter *f,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen)
{
	char peers[1100];
	struct stat st;

	snprintf(peers, sizeof(peers), "%s/peers", a->dbs[0]);
	if (a->ndbs == 1 && (a->no_peers || stat(peers, &st) != 0))
		return audit_query(a->dbs[0], f, cb, arg, err, errlen);
	return audit_query_merged(a->dbs, a->ndbs, !a->no_peers, f, cb, arg, err, errlen);
}

static int
run_query(const struct query_args *a, const struct audit_filter *f, enum audit_fmt fmt,
    const char *cmd)
{
	struct audit_out *out;
	char err[512];
	FILE *fp;
	int rc, wfail;

	if ((fp = open_out(a->out, cmd)) == NULL)
		return EXIT_FAILED;
	if ((out = audit_out_new(fmt, fp)) == NULL) {
		fprintf(stderr, "eidgate: audit %s: out of memory\n", cmd);
		if (fp != stdout)
			fclose(fp);
		return EXIT_FAILED;
	}
	rc = cmd_audit_walk(a, f, audit_out_record, out, err, sizeof(err));
	wfail = audit_out_finish(out) != 0 || (rc != EG_OK && rc != EG_ERR_AUDIT);
	if (fp != stdout && fclose(fp) != 0)
		wfail = 1;
	if (wfail) {
		fprintf(stderr, "eidgate: audit %s: write error on %s\n", cmd,
		    a->out ? a->out : "standard output");
		rc = EG_ERR_IO;
	} else if (rc == EG_ERR_AUDIT) {
		fprintf(stderr, "eidgate: %s\n", err);
	}
	if (rc != EG_OK && a->out != NULL)
		unlink(a->out);         /* no half export that looks complete */
	audit_out_free(out);
	return rc == EG_OK ? EXIT_OK : EXIT_FAILED;
}

/* query and export differ in defaults and in --out. */
static int
cmd_query(int argc, char **argv, int is_export)
{
	const char *cmd = is_export ? "export" : "query";
	struct query_args a;
	const struct opt opts[] = {
		QUERY_OPTS(a), { "limit", &a.limit, NULL, 0, NULL, NULL, 0 },
		{ "format", &a.format, NULL, 0, NULL, NULL, 0 },
		{ "out", &a.out, NULL, 0, NULL, NULL, 0 },
	};
	struct audit_filter f;
	enum audit_fmt fmt;
	size_t nopts = sizeof(opts) / sizeof(opts[0]) - (is_export ? 0 : 1);
	int rc;

	memset(&a, 0, sizeof(a));
	rc = cmd_opts(argc, argv, opts, nopts, cmd);
	if (rc < 0) {
		fputs(is_export ? usage_export : usage_query, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK || (rc = cmd_audit_filter(&a, &f, cmd)) != EXIT_OK)
		return rc;
	rc = is_export ? cmd_audit_format(a.format, "json, csv", AUDIT_FMT_JSON, &fmt, cmd) :
	    cmd_audit_format(a.format, "table, json, csv", AUDIT_FMT_TABLE, &fmt, cmd);
	if (rc != EXIT_OK)
		return rc;
	return run_query(&a, &f, fmt, cmd);
}

int
cmd_audit(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "verify", cmd_audit_verify }, { "checkpoint", cmd_audit_checkpoint },
		{ "tail", cmd_audit_tail }, { "stats", cmd_audit_stats },
		{ "archive", cmd_audit_archive }, { "syslog", cmd_audit_syslog },
		{ "replay", cmd_audit_replay }, { "receipt", cmd_audit_receipt },
	};
	size_t i;

	if (argc < 2) {
		fputs(usage_audit, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_audit, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "query") == 0 || strcmp(argv[1], "export") == 0)
		return cmd_query(argc - 1, argv + 1, argv[1][0] == 'e');
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "eidgate: audit: unknown command; see eidgate audit --help\n");
	return EXIT_USAGE;
}
