/*
 * merge.c - one view of several instances' logs: the records of each source gathered,
 * ordered by (time, instance, seq) and handed on; and the check of each log against the
 * checkpoints its witnesses cosigned (audit_verify_witnessed).
 *
 * Gathering before ordering costs memory (the matching records, as stored), but keeps
 * each source's query as it is (indexes, filters, newest-first with a limit): an
 * officer's page asks for a limit, so each source gives at most that many. Clocks of
 * instances differ by what NTP leaves: the order between instances is as good as that,
 * the order inside one instance is its chain's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"

#define MERGE_MAX_SOURCES 64

struct item {
	unsigned char *val;             /* encoded record (prev hash zeroed) */
	size_t len;
	int64_t time_us;
	uint64_t seq;
	const char *instance;           /* the source's name: for records that name none */
	char hash[AUDIT_HEX_LEN];
};

struct gather {
	struct item *it;
	size_t n, cap;
	const char *instance;           /* of the source being gathered */
	int oom;
};

static int
gather_one(const struct audit_record *rec, void *arg)
{
	struct gather *g = arg;
	const char *bad = NULL;
	struct item *it;
	size_t len;

	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct item *ni = realloc(g->it, cap * sizeof(*ni));

		if (ni == NULL)
			goto oom;
		g->it = ni;
		g->cap = cap;
	}
	it = &g->it[g->n];
	memset(it, 0, sizeof(*it));
	if ((len = audit_record_size(rec, &bad)) == 0 || (it->val = malloc(len)) == NULL)
		goto oom;
	audit_record_encode(rec, it->val);
	it->len = len;
	it->time_us = rec->time_us;
	it->seq = rec->seq;
	it->instance = g->instance;
	snprintf(it->hash, sizeof(it->hash), "%s", rec->hash != NULL ? rec->hash : "");
	g->n++;
	return 0;
oom:
	g->oom = 1;
	return -1;
}

static int
cmp_items(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c;

	if (x->time_us != y->time_us)
		return x->time_us < y->time_us ? -1 : 1;
	if (x->instance != NULL && y->instance != NULL &&
	    (c = strcmp(x->instance, y->instance)) != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
cmp_items_desc(const void *a, const void *b)
{
	return cmp_items(b, a);
}

static int
emit(struct gather *g, const struct audit_filter *f,
    int (*cb)(const struct audit_record *, void *), void *arg)
{
	struct audit_strbuf b = { NULL, 0 };
	size_t i, n = g->n;
	int rc = EG_OK;

	qsort(g->it, g->n, sizeof(*g->it), f != NULL && f->newest_first ? cmp_items_desc :
	    cmp_items);
	if (f != NULL && f->limit > 0 && f->limit < n)
		n = (size_t)f->limit;
	for (i = 0; i < n && rc == EG_OK; i++) {
		struct audit_record r;
		const char *why = NULL, *inst = g->it[i].instance;

		if (audit_record_decode_buf(g->it[i].val, g->it[i].len, &r, &b, &why) != 0) {
			rc = EG_ERR_AUDIT;
			break;
		}
		r.hash = g->it[i].hash[0] != '\0' ? g->it[i].hash : NULL;
		/* The record's own name wins; the source's only for records from before
		 * the instance field. */
		if (r.instance == NULL && inst != NULL && inst[0] != '\0')
			r.instance = inst;
		rc = cb(&r, arg);
	}
	free(b.p);
	return rc;
}

static void
gather_free(struct gather *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->it[i].val);
	free(g->it);
}

/* ---- inside the gateway ---- */

int
audit_merge_live(struct audit_log *log, struct audit_mirror *const *ms, size_t n,
    const struct audit_filter *f, int (*cb)(const struct audit_record *, void *),
    void *arg)
{
	struct gather g = { NULL, 0, 0, log->instance, 0 };
	size_t i;
	int rc = audit_query_live(log, f, gather_one, &g);

	for (i = 0; i < n && rc == EG_OK; i++) {
		g.instance = audit_mirror_instance(ms[i]);
		rc = audit_mirror_query(ms[i], f, gather_one, &g);
	}
	if (g.oom)
		log_warnx("audit: merged view: out of memory");
	rc = rc == EG_OK && !g.oom ? emit(&g, f, cb, arg) : EG_ERR_AUDIT;
	gather_free(&g);
	return rc;
}

/* ---- from another process ---- */

int
audit_instance_of(const char *dir, char *out, size_t outlen, char *err, size_t errlen)
{
	struct audit_read rd;
	MDB_val v;
	int rc = EG_ERR_NOT_FOUND;

	out[0] = '\0';
	if (audit_read_open(dir, 0, &rd, err, errlen) != EG_OK)
		return EG_ERR_AUDIT;
	if (rd.dbi_rc == 0 && audit_meta_get(rd.d.meta, rd.txn, "instance", &v) == 0 &&
	    v.mv_size < outlen) {
		memcpy(out, v.mv_data, v.mv_size);
		out[v.mv_size] = '\0';
		rc = EG_OK;
	}
	audit_read_close(&rd);
	return rc;
}

struct source {
	char dir[1200];
	char instance[AUDIT_INSTANCE_MAX + 1];
	int mirror;
};

static int
have_instance(const struct source *s, size_t n, const char *inst)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (inst[0] != '\0' && strcmp(s[i].instance, inst) == 0)
			return 1;
	return 0;
}

struct sources {
	struct source *s;
	size_t n;
};

/* A mirror joins unless the list is full or its instance already has a log. */
static int
add_mirror(const char *mdir, const char *name, void *arg)
{
	struct sources *l = arg;
	struct source *s = l->s;

	if (l->n >= MERGE_MAX_SOURCES)
		return 1;
	if (have_instance(s, l->n, name))
		return 0;
	snprintf(s[l->n].dir, sizeof(s[l->n].dir), "%s", mdir);
	snprintf(s[l->n].instance, sizeof(s[l->n].instance), "%s", name);
	s[l->n++].mirror = 1;
	return 0;
}

/* The given logs first, then the mirrors of instances none of them is. */
static size_t
list_sources(const char *const *dirs, size_t ndirs, int with_mirrors, struct source *s)
{
	struct sources l = { s, 0 };
	size_t i;
	char err[256];

	for (i = 0; i < ndirs && l.n < MERGE_MAX_SOURCES; i++, l.n++) {
		snprintf(s[l.n].dir, sizeof(s[l.n].dir), "%s", dirs[i]);
		(void)audit_instance_of(dirs[i], s[l.n].instance, sizeof(s[l.n].instance), err,
		    sizeof(err));
	}
	for (i = 0; with_mirrors && i < ndirs; i++)
		(void)audit_each_mirror(dirs[i], add_mirror, &l);
	return l.n;
}

int
audit_query_merged(const char *const *dirs, size_t ndirs, int with_mirrors,
    const struct audit_filter *f, int (*cb)(const struct audit_record *rec, void *arg),
    void *arg, char *err, size_t errlen)
{
	struct source *s = calloc(MERGE_MAX_SOURCES, sizeof(*s));
	struct gather g = { NULL, 0, 0, NULL, 0 };
	size_t i, n;
	int rc = EG_OK;

	if (s == NULL) {
		eg_errf(err, errlen, "out of memory");
		return EG_ERR_AUDIT;
	}
	n = list_sources(dirs, ndirs, with_mirrors, s);
	for (i = 0; i < n && rc == EG_OK; i++) {
		g.instance = s[i].instance;
		rc = audit_query(s[i].dir, f, gather_one, &g, err, errlen);
	}
	if (g.oom) {
		eg_errf(err, errlen, "out of memory while merging");
		rc = EG_ERR_AUDIT;
	}
	if (rc == EG_OK)
		rc = emit(&g, f, cb, arg);
	gather_free(&g);
	free(s);
	return rc;
}
