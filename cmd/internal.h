/* cli.h - what the files of `eidgate audit ...` share (cli*.c). */
#ifndef EIDGATE_AUDIT_CLI_H
#define EIDGATE_AUDIT_CLI_H

#include <stddef.h>

#include "eidgate/audit.h"
#include "audit/format.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* One option: "--name VALUE", "--name=VALUE", or a flag "--name" (flag != NULL); short
 * is a one-letter alias ("-n"). list/nlist/maxlist: a value that may repeat. */
struct opt {
	const char *name;
	const char **val;
	int *flag;
	char shortname;
	const char **list;
	size_t *nlist;
	size_t maxlist;
};

/* Returns EXIT_OK, EXIT_USAGE (message printed), or -1 for --help. */
int audit_cli_opts(int argc, char **argv, const struct opt *opts, size_t nopts,
    const char *cmd);

/* The query filters shared by query, export, tail and stats. */
struct query_args {
	const char *db, *nrn, *org, *facility, *decision, *kind, *since, *until, *limit,
	    *format, *out;
};
#define QUERY_OPTS(a)                                                                \
	{ "db", &(a).db, NULL, 0, NULL, NULL, 0 },                                   \
	{ "nrn", &(a).nrn, NULL, 0, NULL, NULL, 0 },                                 \
	{ "org", &(a).org, NULL, 0, NULL, NULL, 0 },                                 \
	{ "facility", &(a).facility, NULL, 0, NULL, NULL, 0 },                       \
	{ "decision", &(a).decision, NULL, 0, NULL, NULL, 0 },                       \
	{ "kind", &(a).kind, NULL, 0, NULL, NULL, 0 },                               \
	{ "since", &(a).since, NULL, 0, NULL, NULL, 0 },                             \
	{ "until", &(a).until, NULL, 0, NULL, NULL, 0 }
/* Checks --db, --decision, --since, --until, --limit into f; prints usage errors. */
int audit_cli_filter(const struct query_args *a, struct audit_filter *f, const char *cmd);
/* Parses --format among the allowed names ("table", "json", "csv"; NULL = dflt). */
int audit_cli_format(const char *s, const char *allowed, enum audit_fmt dflt,
    enum audit_fmt *fmt, const char *cmd);

int audit_cli_verify(int argc, char **argv);
int audit_cli_checkpoint(int argc, char **argv);
int audit_cli_tail(int argc, char **argv);
int audit_cli_stats(int argc, char **argv);
int audit_cli_archive(int argc, char **argv);

#endif
