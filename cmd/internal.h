/*
 * internal.h - shared by the files of cmd/ only: the `eidgate` command's subcommands
 * (eidgate.c dispatches) and what the `eidgate audit ...` files share (audit*.c).
 *
 * Every subcommand reaches the stages only through their headers in include/eidgate/;
 * each returns the process exit code: 0 done, 1 refused or failed, 2 bad usage, with
 * errors on stderr as one line starting with "eidgate:" (PRODUCT.md §1).
 */
#ifndef EIDGATE_CMD_INTERNAL_H
#define EIDGATE_CMD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eidgate/audit.h"

/* oplog.c: the access-log records of the operator's changes of rights. */
struct eg_config;
struct oplog {
	const struct eg_config *cfg;
	char request_id[24];            /* "op-" and 16 hex: links decision and outcome */
	char actor[80];                 /* "operator:<user>" */
};
/* 0, or -1 when no random id could be made. */
int oplog_init(struct oplog *ol, const struct eg_config *cfg);
/* Records the decision (outcome 0) or the outcome (1) of one change: through the running
 * gateway, or directly into the log when none runs. 0, or 1 after a message. */
int oplog_record(const struct oplog *ol, const char *action, const char *target,
    const char *role, const char *scope, int outcome, int allow, const char *reason);

/* argv[0] is the subcommand's name ("audit", "cert", "directory", "policy"). */
int cmd_audit(int argc, char **argv);       /* audit.c */
int cmd_cert(int argc, char **argv);        /* cert.c */
int cmd_directory(int argc, char **argv);   /* directory.c */
int cmd_policy(int argc, char **argv);      /* policy.c */
int cmd_setup(int argc, char **argv);       /* setup.c */
/* `eidgate check-config --keys`: the option table as eidgate.conf(5) documents it. */
int cmd_config_keys(void);                  /* config_keys.c */

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
int cmd_opts(int argc, char **argv, const struct opt *opts, size_t nopts,
    const char *cmd);

/* The query filters shared by query, export, tail and stats. */
#define CMD_MAX_DBS 16
struct query_args {
	const char *db, *nrn, *org, *facility, *decision, *kind, *since, *until, *limit,
	    *format, *out;
	const char *dbs[CMD_MAX_DBS];   /* --db, given once per log to merge */
	size_t ndbs;
	int no_peers;                   /* --no-peers: not the mirrors under each db */
};
#define QUERY_OPTS(a)                                                                \
	{ "db", NULL, NULL, 0, (a).dbs, &(a).ndbs, CMD_MAX_DBS },                    \
	{ "no-peers", NULL, &(a).no_peers, 0, NULL, NULL, 0 },                       \
	{ "nrn", &(a).nrn, NULL, 0, NULL, NULL, 0 },                                 \
	{ "org", &(a).org, NULL, 0, NULL, NULL, 0 },                                 \
	{ "facility", &(a).facility, NULL, 0, NULL, NULL, 0 },                       \
	{ "decision", &(a).decision, NULL, 0, NULL, NULL, 0 },                       \
	{ "kind", &(a).kind, NULL, 0, NULL, NULL, 0 },                               \
	{ "since", &(a).since, NULL, 0, NULL, NULL, 0 },                             \
	{ "until", &(a).until, NULL, 0, NULL, NULL, 0 }
/* Checks --db, --decision, --since, --until, --limit into f; prints usage errors. */
int cmd_audit_filter(const struct query_args *a, struct audit_filter *f, const char *cmd);
/* Walks the records of a's logs: one log alone in its order, several (or one with
 * mirrors of its peers under <db>/peers/) merged by time (audit_query_merged). */
int cmd_audit_walk(const struct query_args *a, const struct audit_filter *f,
    int (*cb)(const struct audit_record *, void *), void *arg, char *err, size_t errlen);
/* Parses --format among the allowed names ("table", "json", "csv"; NULL = dflt). */
int cmd_audit_format(const char *s, const char *allowed, enum audit_fmt dflt,
    enum audit_fmt *fmt, const char *cmd);

/* The `eidgate audit` subcommands (audit_*.c). */
int cmd_audit_verify(int argc, char **argv);
int cmd_audit_checkpoint(int argc, char **argv);
int cmd_audit_tail(int argc, char **argv);
int cmd_audit_stats(int argc, char **argv);
int cmd_audit_archive(int argc, char **argv);
int cmd_audit_syslog(int argc, char **argv);
/* replay.c: `eidgate audit replay`, and the summary `eidgate policy check --against-log`
 * prints: what policy newfile (NULL: each record's own version) decides about every
 * request recorded in db between since_us and until_us (0: unbounded); since is how the
 * user wrote the start, for the heading (may be NULL). Returns an exit code. */
int cmd_audit_replay(int argc, char **argv);
/* receipt.c: the decision receipt of one record, offline. */
int cmd_audit_receipt(int argc, char **argv);
int cmd_replay_summary(const char *db, const char *newfile, int64_t since_us,
    int64_t until_us, const char *since, FILE *out);
/* oplog.c: a connection to the running gateway's control socket (in [audit] db): the
 * descriptor, CMD_NO_GATEWAY when none listens there, -1 on another error. */
#define CMD_NO_GATEWAY (-2)
struct eg_config;
int cmd_control_connect(const struct eg_config *cfg);
/* access.c: `eidgate access who-can | what-can | pseudonym`. */
int cmd_access(int argc, char **argv);
/* access_pseudonym.c: `eidgate access pseudonym` (key_id NULL: the current key). */
int cmd_access_pseudonym(const char *config, const char *backend, const char *nrn,
    const char *key_id);


#endif
