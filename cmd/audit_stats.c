/*
 * audit_stats.c - `eidgate audit stats [filters]`: how many records per day (UTC),
 * facility and decision. The rows are aggregated in a hash table keyed by those three
 * values: their number is small next to the records walked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "cmd/internal.h"

static const char usage_stats[] =
    "usage: eidgate audit stats --db DIR... [--no-peers] [--nrn N] [--org O] [--facility F]\n"
    "           [--decision allow|deny] [--kind K] [--since T] [--until T]\n"
    "           [--format table|json]\n"
    "Counts the matching records per day (UTC), instance, facility and decision: a table\n"
    "with a total, or JSON lines {\"day\",\"instance\",\"facility\",\"decision\",\"count\"}.\n"
    "Several --db and each log's mirrors of its peers are counted together (see query).\n";

struct row {
	char *key;              /* day \x1f facility \x1f decision; NULL: empty slot */
	uint64_t count;
};

struct stats {
	struct row *rows;
	size_t cap, n;
	uint64_t total;
};

static int
grow(struct stats *s)
{
	struct row *old = s->rows;
	size_t i, oldcap = s->cap;

	s->cap = oldcap ? oldcap * 2 : 256;
	if ((s->rows = calloc(s->cap, sizeof(*s->rows))) == NULL) {
		s->rows = old;
		s->cap = oldcap;
		return -1;
	}
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (old[i].key == NULL)
			continue;
		for (j = eg_fnv1a(EG_FNV1A_INIT, old[i].key, strlen(old[i].key)) & (s->cap - 1); s->rows[j].key != NULL;
		    j = (j + 1) & (s->cap - 1))
			;
		s->rows[j] = old[i];
	}
	free(old);
	return 0;
}

static int
add(struct stats *s, const char *key)
{
	size_t j;

	if ((s->n + 1) * 2 > s->cap && grow(s) != 0)
		return -1;
	for (j = eg_fnv1a(EG_FNV1A_INIT, key, strlen(key)) & (s->cap - 1); s->rows[j].key != NULL; j = (j + 1) & (s->cap - 1))
		if (strcmp(s->rows[j].key, key) == 0) {
			s->rows[j].count++;
			return 0;
		}
	if ((s->rows[j].key = strdup(key)) == NULL)
		return -1;
	s->rows[j].count = 1;
	s->n++;
	return 0;
}

static int
stats_cb(const struct audit_record *r, void *arg)
{
	struct stats *s = arg;
	char key[1024], day[16];
	time_t secs = (time_t)(r->time_us / 1000000);
	struct tm tm;

	/* The log's own housekeeping (naming its checkpoint key) is no access. */
	if (r->kind != NULL && strcmp(r->kind, "key-change") == 0)
		return 0;
	if (gmtime_r(&secs, &tm) == NULL || strftime(day, sizeof(day), "%Y-%m-%d", &tm) == 0)
		eg_strlcpy(day, "?", sizeof(day));
	snprintf(key, sizeof(key), "%s\x1f%s\x1f%s\x1f%s", day, r->instance ? r->instance : "",
	    r->facility ? r->facility : "", r->decision ? r->decision : "");
	s->total++;
	return add(s, key) == 0 ? 0 : 1;
}

static int
cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->key, ((const struct row *)b)->key);
}

/* Splits "day\x1finstance\x1ffac\x1fdec" in place. */
static void
split(char *key, char **f)
{
	size_t i;

	f[0] = key;
	for (i = 1; i < 4; i++) {
		f[i] = strchr(f[i - 1], '\x1f');
		*f[i]++ = '\0';
	}
}

static int
print_json(const struct stats *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		char *f[4], *line;
		json_t *o;

		split(s->rows[i].key, f);
		o = json_pack("{s:s,s:s?,s:s?,s:s?,s:I}", "day", f[0], "instance",
		    f[1][0] ? f[1] : NULL, "facility", f[2][0] ? f[2] : NULL, "decision",
		    f[3][0] ? f[3] : NULL, "count", (json_int_t)s->rows[i].count);
		line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(o);
		if (line == NULL)
			return -1;
		printf("%s\n", line);
		free(line);
	}
	return 0;
}

/* Facility names come from the log: control characters never reach the terminal. */
static void
print_table(const struct stats *s)
{
	size_t i, w = strlen("facility"), iw = strlen("instance");

	for (i = 0; i < s->n; i++) {
		char *ip = strchr(s->rows[i].key, '\x1f') + 1, *p = strchr(ip, '\x1f') + 1;
		char *q = strchr(p, '\x1f'), *c;

		for (c = p; c < q; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		if ((size_t)(q - p) > w)
			w = (size_t)(q - p);
		if ((size_t)(p - 1 - ip) > iw)
			iw = (size_t)(p - 1 - ip);
	}
	printf("%-10s  %-*s  %-*s  %-8s  %10s\n", "day", (int)iw, "instance", (int)w, "facility",
	    "decision", "count");
	for (i = 0; i < s->n; i++) {
		char *f[4];

		split(s->rows[i].key, f);
		printf("%-10s  %-*s  %-*s  %-8s  %10" PRIu64 "\n", f[0], (int)iw,
		    f[1][0] ? f[1] : "-", (int)w, f[2][0] ? f[2] : "-", f[3][0] ? f[3] : "-",
		    s->rows[i].count);
	}
	printf("%-10s  %-*s  %-*s  %-8s  %10" PRIu64 "\n", "total", (int)iw, "", (int)w, "", "",
	    s->total);
}

static int
report(struct stats *s, enum audit_fmt fmt)
{
	size_t i, j = 0;

	/* Compact the table, then sort by day, facility, decision. */
	for (i = 0; i < s->cap; i++)
		if (s->rows[i].key != NULL) {
			struct row r = s->rows[i];

			s->rows[i].key = NULL;
			s->rows[j++] = r;
		}
	if (s->n > 0)
		qsort(s->rows, s->n, sizeof(*s->rows), cmp_row);
	if (fmt == AUDIT_FMT_JSON) {
		if (print_json(s) != 0)
			return -1;
	} else {
		print_table(s);
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

int
cmd_audit_stats(int argc, char **argv)
{
	struct query_args a;
	const struct opt opts[] = {
		QUERY_OPTS(a), { "format", &a.format, NULL, 0, NULL, NULL, 0 },
	};
	struct audit_filter f;
	struct stats s;
	enum audit_fmt fmt;
	char err[512];
	size_t i;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&s, 0, sizeof(s));
	rc = cmd_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), "stats");
	if (rc < 0) {
		fputs(usage_stats, stdout);
		return EXIT_OK;
	}
	if (rc != EXIT_OK || (rc = cmd_audit_filter(&a, &f, "stats")) != EXIT_OK ||
	    (rc = cmd_audit_format(a.format, "table, json", AUDIT_FMT_TABLE, &fmt,
	    "stats")) != EXIT_OK)
		return rc;
	rc = cmd_audit_walk(&a, &f, stats_cb, &s, err, sizeof(err));
	if (rc == EG_ERR_AUDIT)
		fprintf(stderr, "eidgate: %s\n", err);
	else if (rc != EG_OK)
		fprintf(stderr, "eidgate: audit stats: out of memory\n");
	else if ((rc = report(&s, fmt)) != 0)
		fprintf(stderr, "eidgate: audit stats: write error on standard output\n");
	for (i = 0; i < s.cap; i++)
		free(s.rows[i].key);
	free(s.rows);
	return rc == EG_OK ? EXIT_OK : EXIT_FAILED;
}
