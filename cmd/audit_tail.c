/*
 * audit_tail.c - `eidgate audit tail [-n N] [-f]`: the last records, then (with -f) each
 * new one as the gateway commits it.
 * Following polls every 200 ms (audit_reader_next says why each poll is a fresh read).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "eidgate/audit.h"
#include "cmd/internal.h"

#define TAIL_POLL_MS 200
#define TAIL_DEFAULT 10

static const char usage_tail[] =
    "usage: eidgate audit tail --db DIR [-n N] [-f] [--format table|json|csv]\n"
    "Prints the last N records (default 10), oldest first. With -f (--follow) keeps\n"
    "printing new records as the gateway writes them, until SIGINT or SIGTERM.\n";

static volatile sig_atomic_t tail_stop;

static void
on_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

struct tail {
	struct audit_reader *rd;
	struct audit_out *out;
	uint64_t n;
	char err[512];
};

/* One read of what is new, then the printer's flush. */
static int
poll_once(struct tail *t)
{
	int r = audit_reader_next(t->rd, t->n, audit_out_record, t->out, t->err,
	    sizeof(t->err));

	if (r != EG_OK && r != EG_ERR_AUDIT)
		eg_errf(t->err, sizeof(t->err), "audit tail: write error on standard output");
	if (r == EG_OK && audit_out_finish(t->out) != 0) {
		eg_errf(t->err, sizeof(t->err), "audit tail: write error on standard output");
		r = -1;
	}
	return r == EG_OK ? 0 : -1;
}

static int
follow(struct tail *t, int f)
{
	struct sigaction sa, old_int, old_term;
	struct timespec ts = { 0, TAIL_POLL_MS * 1000000L };
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;      /* no SA_RESTART: the sleep ends at once */
	sigemptyset(&sa.sa_mask);
	tail_stop = 0;
	if (f && (sigaction(SIGINT, &sa, &old_int) != 0 ||
	    sigaction(SIGTERM, &sa, &old_term) != 0)) {
		eg_errf(t->err, sizeof(t->err), "audit tail: cannot handle signals");
		return -1;
	}
	r = poll_once(t);
	while (f && r == 0 && !tail_stop) {
		nanosleep(&ts, NULL);
		if (!tail_stop)
			r = poll_once(t);
	}
	if (f) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	return r;
}

int
cmd_audit_tail(int argc, char **argv)
{
	const char *db = NULL, *n = NULL, *format = NULL;
	int f = 0, rc;
	long long nn = TAIL_DEFAULT;
	struct tail t;
	const struct opt opts[] = {
		{ "db", &db, NULL, 0, NULL, NULL, 0 },
		{ "lines", &n, NULL, 'n', NULL, NULL, 0 },
		{ "follow", NULL, &f, 'f', NULL, NULL, 0 },
		{ "format", &format, NULL, 0, NULL, NULL, 0 },
	};
	enum audit_fmt fmt;

	memset(&t, 0, sizeof(t));
	rc = cmd_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), "tail");
	if (rc < 0) {
		fputs(usage_tail, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK || (rc = cmd_audit_format(format, "table, json, csv",
	    AUDIT_FMT_TABLE, &fmt, "tail")) != EXIT_OK)
		return rc;
	if (db == NULL || (n != NULL && eg_strtonum(n, 0, 100000000, &nn) != EG_OK)) {
		fprintf(stderr, "eidgate: audit tail: %s\n", db == NULL ?
		    "--db is required" : "-n must be a number of records");
		return EXIT_USAGE;
	}
	t.n = (uint64_t)nn;
	if ((t.out = audit_out_new(fmt, stdout)) == NULL) {
		fprintf(stderr, "eidgate: audit tail: out of memory\n");
		return EXIT_FAILED;
	}
	rc = audit_reader_open(db, &t.rd, t.err, sizeof(t.err)) == EG_OK ?
	    follow(&t, f) : -1;
	audit_reader_close(t.rd);
	if (rc != 0)
		fprintf(stderr, "eidgate: %s\n", t.err);
	audit_out_free(t.out);
	return rc == 0 ? EXIT_OK : EXIT_FAILED;
}
