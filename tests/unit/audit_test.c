/*
 * audit_test.c - the access log: group commit in each sync mode, queries, numbering
 * across restarts, the hash chain (and its detection of a changed byte), map growth,
 * concurrent writers, a reader process while the writer runs, and the command line;
 * what each sync mode promises, the FULL linger, the periodic reader check and signed
 * checkpoints (tests/audit/tamper_test.sh covers verify against edited logs).
 */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"
#include "cmd/internal.h"
#include "check.h"
#include "tamper.h"

#define N_RECORDS 10000
#define T0 1763841713000000LL   /* 2025-11-22T20:01:53Z */

static char base[64];

/* Fills r with the i-th synthetic record; bufs holds its strings. */
struct recbuf {
	char nrn[16], org[16], fac[16], path[64];
};

static void
make_record(int i, struct audit_record *r, struct recbuf *b)
{
	memset(r, 0, sizeof(*r));
	snprintf(b->nrn, sizeof(b->nrn), "850101%05d", i % 100);
	snprintf(b->org, sizeof(b->org), "org%d", i % 7);
	snprintf(b->fac, sizeof(b->fac), "fac%d", i % 13);
	snprintf(b->path, sizeof(b->path), "/modules/facilities/fac%d/%d", i % 13, i);
	r->time_us = T0 + (int64_t)i * 1000;
	r->kind = i % 50 == 0 ? "login" : "request";
	r->request_id = "req";
	r->client = "192.0.2.1";
	r->nrn = b->nrn;
	r->org = b->org;
	r->facility = b->fac;
	r->method = "GET";
	r->path = b->path;
	r->rule = "module-read";
	r->decision = i % 3 == 0 ? "deny" : "allow";
	r->reason = i % 3 == 0 ? "no-rule" : NULL;
	r->upstream_status = 200;
	r->bytes = (uint64_t)i;
	r->latency_us = 10;
}

static char *
subdir(const char *name)
{
	static char paths[16][128];
	static int n;
	char *p = paths[n++ % 16];

	snprintf(p, 128, "%s/%s", base, name);
	return p;
}

struct count {
	uint64_t n, last_seq;
	int64_t last_time;
	int ordered;
};

static int
count_cb(const struct audit_record *r, void *arg)
{
	struct count *c = arg;

	if (r->seq <= c->last_seq && c->n > 0)
		c->ordered = 0;
	c->last_seq = r->seq;
	c->last_time = r->time_us;
	c->n++;
	return 0;
}

static uint64_t
query_count(const char *dir, const struct audit_filter *f, int *ok)
{
	struct count c = { 0, 0, 0, 1 };

	*ok = audit_query(dir, f, count_cb, &c, NULL, 0) == EG_OK && c.ordered;
	return c.n;
}

static int
str_ok(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

/* Does the filter f (limit aside) match the generator's record r? */
static int
gen_matches(const struct audit_filter *f, const struct audit_record *r)
{
	const char *want[] = { f->nrn, f->org, f->facility, f->decision, f->kind };
	const char *have[] = { r->nrn, r->org, r->facility, r->decision, r->kind };
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!str_ok(want[i], have[i]))
			return 0;
	return (!f->since_us || r->time_us >= f->since_us) &&
	    (!f->until_us || r->time_us <= f->until_us);
}

/* What the query must find, computed from the generator. */
static uint64_t
expect_count(const struct audit_filter *f, int n)
{
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	uint64_t c = 0;
	int i;

	for (i = 0; i < n; i++) {
		make_record(i, &r, &b);
		c += gen_matches(f, &r);
	}
	if (f->limit && c > f->limit)
		c = f->limit;
	return c;
}

static double
fill(const char *dir, enum audit_sync sync, int n, uint64_t map)
{
	struct audit_options o = { dir, map, sync, 0, 0, NULL, NULL, NULL };
	struct audit_log *log = NULL;
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	uint64_t seq = 0;
	int64_t t0;
	int i, ok = 1;

	CHECK(audit_open(&o, &log) == EG_OK);
	if (log == NULL)
		return 0;
	t0 = eg_now_us();
	for (i = 0; i < n; i++) {
		make_record(i, &r, &b);
		if (audit_append(log, &r, &seq) != EG_OK || seq != (uint64_t)i + 1)
			ok = 0;
	}
	CHECK(ok);
	CHECK(audit_flush(log) == EG_OK);
	t0 = eg_now_us() - t0;
	audit_close(log);
	return t0 > 0 ? (double)n * 1e6 / (double)t0 : 0;
}

static void
test_queries(const char *dir)
{
	struct audit_filter fs[] = {
		{ .nrn = "85010100042" },
		{ .org = "org3", .decision = "deny" },
		{ .facility = "fac5" },
		{ .nrn = "85010100007", .facility = "fac7" },
		{ .decision = "deny" },
		{ .kind = "login" },
		{ .since_us = T0 + 100 * 1000, .until_us = T0 + 199 * 1000 },
		{ .since_us = T0 + 9990 * 1000 },
		{ .until_us = T0 + 9 * 1000, .org = "org1" },
		{ .nrn = "85010100042", .limit = 5 },
		{ .nrn = "nobody" },
		{ .limit = 3 },
	};
	size_t i;
	int ok;

	for (i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		uint64_t got = query_count(dir, &fs[i], &ok), want = expect_count(&fs[i],
		    N_RECORDS);

		CHECK(ok);
		CHECK(got == want);
		if (got != want)
			printf("  filter %zu: got %llu want %llu\n", i, (unsigned long long)got,
			    (unsigned long long)want);
	}
}

/* Every field survives the round trip; hash is 64 hex digits. */
static struct audit_record full_rec;
static int
full_cb(const struct audit_record *r, void *arg)
{
	size_t i;
	int *ok = arg;

	*ok = r->seq == full_rec.seq && r->time_us == full_rec.time_us &&
	    r->upstream_status == -1 && r->bytes == UINT64_MAX && r->latency_us == 7 &&
	    r->hash != NULL && strlen(r->hash) == 64;
	for (i = 0; i < audit_nfields; i++) {
		const char *a = audit_field_get(&full_rec, &audit_fields[i]);
		const char *b = audit_field_get(r, &audit_fields[i]);

		if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
			*ok = 0;
	}
	return 0;
}

/* Newest first: every plan (the log, a string index, the time index) walks backwards,
 * and a limit keeps the newest records, not the oldest. */
struct seqs {
	uint64_t v[N_RECORDS];
	size_t n;
};

static int
seq_cb(const struct audit_record *r, void *arg)
{
	struct seqs *q = arg;

	if (q->n < N_RECORDS)
		q->v[q->n++] = r->seq;
	return 0;
}

/* The seqs (i + 1) of the generator's records matching f, newest first, cut at limit. */
static void
expect_newest(const struct audit_filter *f, struct seqs *want)
{
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	int i;

	want->n = 0;
	for (i = N_RECORDS - 1; i >= 0 && (f->limit == 0 || want->n < f->limit); i--) {
		make_record(i, &r, &b);
		if (gen_matches(f, &r))
			want->v[want->n++] = (uint64_t)i + 1;
	}
}

static void
test_newest_first(const char *dir)
{
	static struct seqs got, want;
	const struct audit_filter fs[] = {
		{ .newest_first = 1 },
		{ .newest_first = 1, .limit = 5 },
		{ .nrn = "85010100007", .newest_first = 1 },
		{ .facility = "fac3", .newest_first = 1, .limit = 7 },
		{ .since_us = T0 + 2000000, .until_us = T0 + 3000000, .newest_first = 1 },
		{ .since_us = T0 + 9000000, .newest_first = 1, .limit = 3 },
		{ .until_us = T0 + 1000, .newest_first = 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		got.n = 0;
		expect_newest(&fs[i], &want);
		CHECK(audit_query(dir, &fs[i], seq_cb, &got, NULL, 0) == EG_OK);
		CHECK(got.n == want.n && memcmp(got.v, want.v, got.n * sizeof(got.v[0])) == 0);
	}
}

/* audit_field_by_id indexes the table directly: ids must run 1..n without gaps. */
static void
test_field_ids(void)
{
	size_t i;

	for (i = 0; i < audit_nfields; i++) {
		CHECK(audit_fields[i].id == i + 1);
		CHECK(audit_field_by_id((unsigned)i + 1) == &audit_fields[i]);
	}
	CHECK(audit_field_by_id(0) == NULL);
	CHECK(audit_field_by_id((unsigned)audit_nfields + 1) == NULL);
}

static void
test_roundtrip(void)
{
	struct audit_options o = { subdir("rt"), 0, AUDIT_SYNC_FULL, 0, 0, NULL, NULL, NULL };
	struct audit_filter f = { .kind = "rights" };
	struct audit_log *log;
	size_t i;
	int ok = 0;

	full_rec.time_us = T0;
	full_rec.upstream_status = -1;
	full_rec.bytes = UINT64_MAX;
	full_rec.latency_us = 7;
	for (i = 0; i < audit_nfields; i++) {
		const char **p = (const char **)(void *)((char *)&full_rec + audit_fields[i].off);
		*p = audit_fields[i].name;
	}
	full_rec.kind = "rights";
	full_rec.reason = "";           /* empty is present, not absent */
	full_rec.actor = NULL;
	full_rec.path = "=HYPERLINK(\"x\")\x1b[31m";
	CHECK(audit_open(&o, &log) == EG_OK);
	CHECK(audit_append(log, &full_rec, &full_rec.seq) == EG_OK);
	audit_close(log);
	CHECK(audit_query(o.dir, &f, full_cb, &ok, NULL, 0) == EG_OK);
	CHECK(ok);
}

static void
test_reopen(const char *dir)
{
	struct audit_options o = { dir, 0, AUDIT_SYNC_GROUP, 0, 0, NULL, NULL, NULL };
	struct audit_verify_result res;
	struct audit_log *log;
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	uint64_t seq = 0;
	char err[256];

	CHECK(audit_verify(dir, NULL, &res, err, sizeof(err)) == EG_OK);
	CHECK(res.records == N_RECORDS);
	CHECK(audit_open(&o, &log) == EG_OK);
	/* A second writer on the same directory would fork the chain. */
	{
		struct audit_log *two = NULL;
		CHECK(audit_open(&o, &two) == EG_ERR_AUDIT && two == NULL);
	}
	/* The writer's own process must not open a second env on its files. */
	CHECK(audit_query(dir, NULL, count_cb, &(struct count){ 0, 0, 0, 1 }, NULL, 0) ==
	    EG_ERR_AUDIT);
	make_record(N_RECORDS, &r, &b);
	CHECK(audit_append(log, &r, &seq) == EG_OK);
	CHECK(seq == N_RECORDS + 1);
	audit_close(log);
	CHECK(audit_verify(dir, NULL, &res, err, sizeof(err)) == EG_OK);
	CHECK(res.records == N_RECORDS + 1);
}


static void
test_tamper(const char *dir)
{
	struct audit_verify_result res;
	char err[256];
	int ok;

	/* One byte of the path of record 500. */
	check_tamper(dir, 500, AUDIT_VALUE_MIN + 70, 0x01);
	CHECK(audit_verify(dir, NULL, &res, err, sizeof(err)) == EG_ERR_AUDIT);
	CHECK(res.bad_seq == 500);
	printf("  verify after tampering: seq %llu: %s\n", (unsigned long long)res.bad_seq,
	    res.why);
	/* A length that points past the end: reported, never read (ASan watches). */
	check_tamper(dir, 700, AUDIT_VALUE_MIN + 1, 0xff);
	CHECK(query_count(dir, &(struct audit_filter){ .kind = "x" }, &ok) == 0 && !ok);
	/* The last record has no successor: meta's head catches it. */
	check_tamper(dir, N_RECORDS + 1, AUDIT_VALUE_MIN + 70, 0x01);
	check_tamper(dir, 500, AUDIT_VALUE_MIN + 70, 0x01);
	check_tamper(dir, 700, AUDIT_VALUE_MIN + 1, 0xff);
	CHECK(audit_verify(dir, NULL, &res, err, sizeof(err)) == EG_ERR_AUDIT);
	CHECK(res.bad_seq == N_RECORDS + 1);
}

static void
test_map_growth(void)
{
	struct audit_verify_result res;
	char err[256], *dir = subdir("tiny");

	fill(dir, AUDIT_SYNC_NONE, 5000, 64 * 1024);
	CHECK(audit_verify(dir, NULL, &res, err, sizeof(err)) == EG_OK);
	CHECK(res.records == 5000);
}

struct thr {
	struct audit_log *log;
	int base, n, ok;
	uint64_t *seqs;
};

static void *
appender(void *arg)
{
	struct thr *t = arg;
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	int i;

	t->ok = 1;
	for (i = 0; i < t->n; i++) {
		make_record(t->base + i, &r, &b);
		if (audit_append(t->log, &r, &t->seqs[t->base + i]) != EG_OK)
			t->ok = 0;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct audit_options o = { subdir("threads"), 0, AUDIT_SYNC_FULL, 0, 0, NULL, NULL, NULL };
	struct audit_verify_result res;
	uint64_t *seqs = calloc(N_RECORDS, sizeof(*seqs));
	unsigned char *seen = calloc(N_RECORDS + 1, 1);
	struct audit_log *log = NULL;
	struct thr t[4];
	pthread_t tid[4];
	char err[256];
	int i, ok = 1;
	int64_t t0;

	CHECK(audit_open(&o, &log) == EG_OK);
	t0 = eg_now_us();
	for (i = 0; i < 4; i++) {
		t[i] = (struct thr){ log, i * (N_RECORDS / 4), N_RECORDS / 4, 0, seqs };
		CHECK(pthread_create(&tid[i], NULL, appender, &t[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		CHECK(t[i].ok);
	}
	t0 = eg_now_us() - t0;
	printf("  rate full, 4 threads: %.0f records/s (information only)\n",
	    t0 > 0 ? N_RECORDS * 1e6 / (double)t0 : 0.0);
	audit_close(log);
	/* Every seq handed out exactly once, 1..N, no gap. */
	for (i = 0; i < N_RECORDS; i++) {
		if (seqs[i] < 1 || seqs[i] > N_RECORDS || seen[seqs[i]])
			ok = 0;
		else
			seen[seqs[i]] = 1;
	}
	CHECK(ok);
	CHECK(audit_verify(o.dir, NULL, &res, err, sizeof(err)) == EG_OK);
	CHECK(res.records == N_RECORDS);
	free(seqs);
	free(seen);
}

/* The child: queries and verifies in a loop while the parent writes and grows the map. */
static int
reader_child(const char *dir, int stopfd)
{
	struct audit_verify_result res;
	uint64_t prev = 0, n, rounds = 0;
	char err[256], c;
	int ok = 1, q_ok;

	for (;;) {
		ssize_t r = read(stopfd, &c, 1);

		n = query_count(dir, NULL, &q_ok);
		if (!q_ok || n < prev)
			ok = 0;
		prev = n;
		if (audit_verify(dir, NULL, &res, err, sizeof(err)) != EG_OK) {
			printf("  reader: verify: %s %s\n", err, res.why);
			ok = 0;
		}
		rounds++;
		if (r == 0)
			break;  /* parent closed the pipe after its last flush */
	}
	printf("  reader process: %llu rounds while writing, saw %llu records at the end\n",
	    (unsigned long long)rounds, (unsigned long long)prev);
	fflush(stdout);
	return ok && prev == 3 * N_RECORDS ? 0 : 1;
}

static void
test_reader_while_writing(void)
{
	struct audit_options o = { subdir("live"), 64 * 1024, AUDIT_SYNC_GROUP, 0, 1, NULL, NULL, NULL };
	struct audit_log *log = NULL;
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	int p[2], st = -1, i, ok = 1;
	pid_t pid;

	CHECK(audit_open(&o, &log) == EG_OK);
	make_record(0, &r, &b);
	CHECK(audit_append(log, &r, NULL) == EG_OK && audit_flush(log) == EG_OK);
	CHECK(pipe(p) == 0);
	CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p[1]);
		_exit(reader_child(o.dir, p[0]));
	}
	close(p[0]);
	for (i = 1; i < 3 * N_RECORDS; i++) {
		make_record(i, &r, &b);
		if (audit_append(log, &r, NULL) != EG_OK)
			ok = 0;
		if (i % 1000 == 0)
			usleep(2000);   /* let the reader see the log at many sizes */
	}
	CHECK(ok);
	CHECK(audit_flush(log) == EG_OK);
	close(p[1]);
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	audit_close(log);
}

/* A P-256 key in PEM under base, with the given mode. */
static char *
make_key(const char *name, mode_t mode)
{
	char *path = subdir(name);
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *f = fopen(path, "w");

	CHECK(k != NULL && f != NULL);
	if (k == NULL || f == NULL)
		return path;
	CHECK(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	CHECK(chmod(path, mode) == 0);
	EVP_PKEY_free(k);
	return path;
}

/* Records another process sees in dir (the writer's own process may not look). */
static uint64_t
count_elsewhere(const char *dir)
{
	int st = 0, ok;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		uint64_t n = query_count(dir, NULL, &ok);

		_exit(ok ? (int)(n > 200 ? 200 : n) : 255);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 999;
	return (uint64_t)WEXITSTATUS(st);
}

/* FULL: committed when append returns. GROUP: committed within batch_ms without a flush.
 * NONE: the environment does not fsync. */
static void
test_sync_modes(void)
{
	struct audit_options o = { subdir("sync-full"), 0, AUDIT_SYNC_FULL, 0, 0, NULL, NULL, NULL };
	struct audit_log *log = NULL;
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	unsigned int flags = 0;
	int i;

	make_record(1, &r, &b);
	CHECK(audit_open(&o, &log) == EG_OK);
	CHECK(audit_append(log, &r, NULL) == EG_OK);
	CHECK(count_elsewhere(o.dir) == 1);
	CHECK(mdb_env_get_flags(log->env, &flags) == 0 && !(flags & MDB_NOSYNC));
	audit_close(log);

	o = (struct audit_options){ subdir("sync-group"), 0, AUDIT_SYNC_GROUP, 0, 20, NULL, NULL, NULL };
	CHECK(audit_open(&o, &log) == EG_OK);
	CHECK(audit_append(log, &r, NULL) == EG_OK);
	for (i = 0; i < 100 && count_elsewhere(o.dir) != 1; i++)
		usleep(10000);
	CHECK(i < 100);
	printf("  group: visible to another process after ~%d ms (batch_ms 20)\n", i * 10);
	CHECK(mdb_env_get_flags(log->env, &flags) == 0 && !(flags & MDB_NOSYNC));
	audit_close(log);

	o = (struct audit_options){ subdir("sync-none"), 0, AUDIT_SYNC_NONE, 0, 0, NULL, NULL, NULL };
	CHECK(audit_open(&o, &log) == EG_OK);
	CHECK(mdb_env_get_flags(log->env, &flags) == 0 && (flags & MDB_NOSYNC));
	CHECK(audit_append(log, &r, NULL) == EG_OK && audit_flush(log) == EG_OK);
	audit_close(log);
	CHECK(count_elsewhere(o.dir) == 1);
}

/*
 * A log that cannot be written (here a file size limit, as a full disk) refuses new
 * records while it retries, keeps every record it accepted (followups too), and takes
 * records again once it can write: in the child, records accepted are counted and sent
 * to the parent, which finds exactly those in an intact chain.
 */
static uint64_t
fail_and_recover(const char *dir)
{
	struct audit_options o = { dir, 0, AUDIT_SYNC_GROUP, 0, 1, NULL, NULL, NULL };
	struct audit_log *log = NULL;
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	struct rlimit lim;
	struct stat st;
	char path[256];
	uint64_t accepted = 0;
	int i, refused = 0;

	signal(SIGXFSZ, SIG_IGN);
	if (audit_open(&o, &log) != EG_OK)
		return 0;
	for (i = 0; i < 200; i++) {
		make_record(i, &r, &b);
		accepted += audit_append(log, &r, NULL) == EG_OK;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (audit_flush(log) != EG_OK || stat(path, &st) != 0)
		return 0;
	lim.rlim_cur = (rlim_t)st.st_size;
	lim.rlim_max = RLIM_INFINITY;
	setrlimit(RLIMIT_FSIZE, &lim);
	for (i = 200; i < 200000 && !refused; i++) {
		make_record(i, &r, &b);
		if (audit_append(log, &r, NULL) == EG_OK)
			accepted++;
		else
			refused = 1;
	}
	if (!refused || audit_writable(log))
		return 0;
	make_record(i, &r, &b);
	accepted += audit_append_followup(log, &r) == EG_OK;
	lim.rlim_cur = RLIM_INFINITY;
	setrlimit(RLIMIT_FSIZE, &lim);
	for (i = 0; i < 500 && !audit_writable(log); i++)
		usleep(10000);
	accepted += audit_append(log, &r, NULL) == EG_OK;
	if (audit_flush(log) != EG_OK)
		return 0;
	audit_close(log);
	return accepted;
}

static void
test_write_failure(void)
{
	struct audit_verify_result res;
	const char *dir = subdir("failing");
	uint64_t accepted = 0;
	char err[256];
	int p[2], st = -1, ok;
	pid_t pid;

	CHECK(pipe(p) == 0);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		uint64_t n = fail_and_recover(dir);

		close(p[0]);
		_exit(write(p[1], &n, sizeof(n)) == sizeof(n) ? 0 : 1);
	}
	close(p[1]);
	CHECK(read(p[0], &accepted, sizeof(accepted)) == sizeof(accepted));
	close(p[0]);
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(accepted > 202);
	CHECK(audit_verify(dir, NULL, &res, err, sizeof(err)) == EG_OK);
	CHECK(res.records == accepted);
	CHECK(query_count(dir, NULL, &ok) == accepted && ok);
	printf("  write failure: %llu records accepted before, during and after, all kept\n",
	    (unsigned long long)accepted);
}

struct lthr {
	struct audit_log *log;
	int n, ok;
};

static void *
lappender(void *arg)
{
	struct lthr *t = arg;
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	int i;

	t->ok = 1;
	for (i = 0; i < t->n; i++) {
		make_record(i, &r, &b);
		if (audit_append(t->log, &r, NULL) != EG_OK)
			t->ok = 0;
	}
	return NULL;
}

/* Appends n records from nt FULL threads; returns records per commit. */
static double
full_run(const char *name, int nt, int linger_us, double *rate)
{
	struct audit_options o = { subdir(name), 0, AUDIT_SYNC_FULL, 0, 0, NULL, NULL, NULL };
	struct audit_log *log = NULL;
	struct lthr t[4];
	pthread_t tid[4];
	uint64_t commits;
	int64_t t0;
	int i;

	CHECK(audit_open(&o, &log) == EG_OK);
	if (log == NULL)
		return 0;
	pthread_mutex_lock(&log->mu);
	log->linger_us = linger_us;
	pthread_mutex_unlock(&log->mu);
	t0 = eg_now_us();
	for (i = 0; i < nt; i++) {
		t[i] = (struct lthr){ log, 400, 0 };
		CHECK(pthread_create(&tid[i], NULL, lappender, &t[i]) == 0);
	}
	for (i = 0; i < nt; i++) {
		pthread_join(tid[i], NULL);
		CHECK(t[i].ok);
	}
	t0 = eg_now_us() - t0;
	*rate = t0 > 0 ? nt * 400 * 1e6 / (double)t0 : 0;
	commits = log->n_commits;
	audit_close(log);
	return commits ? nt * 400.0 / (double)commits : 0;
}

/* The FULL linger gathers concurrent appenders into one fsync; a lone appender never
 * waits for company. */
static void
test_full_linger(void)
{
	double r4, r4n, r1, per4 = full_run("linger4", 4, AUDIT_FULL_LINGER_US, &r4);
	double per4n = full_run("linger4-off", 4, 0, &r4n);
	double per1 = full_run("linger1", 1, AUDIT_FULL_LINGER_US, &r1);

	printf("  full, 4 threads: %.1f records/commit (%.0f/s) with the linger, %.1f (%.0f/s) "
	    "without; 1 thread: %.1f (%.0f/s)\n", per4, r4, per4n, r4n, per1, r1);
	CHECK(per4 >= 2.0);
	CHECK(per1 == 1.0);
}

/* A reader process killed inside a transaction leaves a slot; the writer frees it. */
static void
test_reader_check(void)
{
	struct audit_options o = { subdir("readers"), 0, AUDIT_SYNC_GROUP, 0, 0, NULL, NULL, NULL };
	struct audit_log *log = NULL;
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	int st, i;
	uint64_t dead = 0;
	pid_t pid;

	make_record(1, &r, &b);
	CHECK(audit_open(&o, &log) == EG_OK);
	/* Under mu before the append below: the writer reads them after taking that batch. */
	pthread_mutex_lock(&log->mu);
	log->reader_check_ms = 50;
	log->reader_check_at = 0;
	pthread_mutex_unlock(&log->mu);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		MDB_env *env;
		MDB_txn *txn;

		if (audit_env_open_ro(o.dir, &env, NULL, 0) != EG_OK ||
		    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
			_exit(1);
		_exit(0);       /* dies holding a reader slot */
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	CHECK(audit_append(log, &r, NULL) == EG_OK && audit_flush(log) == EG_OK);
	for (i = 0; i < 300 && dead == 0; i++) {
		usleep(10000);
		pthread_mutex_lock(&log->mu);
		dead = log->n_dead_readers;
		pthread_mutex_unlock(&log->mu);
	}
	printf("  stale reader slot freed by the writer after ~%d ms\n", i * 10);
	CHECK(dead == 1);
	audit_close(log);
}

static uint64_t
verified_ckpts(const char *dir, const char *keypath, int *ok)
{
	struct audit_verify_opts vo;
	struct audit_verify_result res;
	struct audit_key *key = NULL;
	char err[256];

	memset(&vo, 0, sizeof(vo));
	*ok = audit_key_load(keypath, 0, &key, err, sizeof(err)) == EG_OK;
	vo.key = key;
	*ok = *ok && audit_verify(dir, &vo, &res, err, sizeof(err)) == EG_OK;
	audit_key_free(key);
	return res.checkpoints;
}

/* Every 1,000 records, after a quiet second (here 50 ms), at close; a key others can
 * read is refused. */
static void
test_checkpoints(void)
{
	char *key = make_key("ckpt.key", 0600), *loose = make_key("loose.key", 0644);
	struct audit_options o = { subdir("ckpt"), 0, AUDIT_SYNC_GROUP, 0, 0, key, NULL, NULL };
	struct audit_log *log = NULL;
	struct audit_record r;
	struct recbuf b = { "", "", "", "" };
	struct audit_ckpt latest;
	uint64_t n = 0, n0 = 0;
	int i, ok = 1;

	CHECK(audit_open(&o, &log) == EG_OK);
	for (i = 0; i < 2500; i++) {
		make_record(i, &r, &b);
		ok &= audit_append(log, &r, NULL) == EG_OK;
	}
	CHECK(ok && audit_flush(log) == EG_OK);
	/* 1000 and 2000 by count (and maybe more by time on a slow disk); then the quiet
	 * period signs 2501 (seq 1 names the key) without a new record and before close. */
	pthread_mutex_lock(&log->mu);
	n0 = log->n_ckpts;
	log->ckpt_every_ms = 50;
	pthread_mutex_unlock(&log->mu);
	for (i = 0; i < 300 && n <= n0; i++) {
		usleep(10000);
		pthread_mutex_lock(&log->mu);
		n = log->n_ckpts;
		pthread_mutex_unlock(&log->mu);
	}
	CHECK(n0 >= 2 && n == n0 + 1);
	if (n != n0 + 1)
		printf("  checkpoints: %llu after the burst, %llu after the pause\n",
		    (unsigned long long)n0, (unsigned long long)n);
	audit_close(log);       /* nothing left to sign */
	CHECK(audit_ckpt_latest(o.dir, &latest, NULL, 0) == EG_OK && latest.seq == 2501);
	CHECK(verified_ckpts(o.dir, key, &ok) == n && ok);
	CHECK(audit_open(&o, &log) == EG_OK);
	CHECK(audit_append(log, &r, NULL) == EG_OK);
	audit_close(log);       /* signs 2502 */
	CHECK(verified_ckpts(o.dir, key, &ok) == n + 1 && ok);
	o.signing_key = loose;
	log = NULL;
	CHECK(audit_open(&o, &log) == EG_ERR_AUDIT && log == NULL);
}

/* Verifies dir trusting keys (paths; NULL-terminated), the first as --key; fills res. */
static int
verify_with(const char *dir, const char *const *keys, struct audit_verify_result *res)
{
	struct audit_verify_opts vo;
	struct audit_key *k[4] = { NULL };
	char err[256];
	size_t i;
	int rc;

	memset(&vo, 0, sizeof(vo));
	for (i = 0; i < 4 && keys[i] != NULL; i++)
		CHECK(audit_key_load(keys[i], 0, &k[i], err, sizeof(err)) == EG_OK);
	vo.key = k[0];
	for (i = 1; i < 4 && k[i] != NULL; i++)
		vo.more_keys[vo.nmore++] = k[i];
	rc = audit_verify(dir, &vo, res, err, sizeof(err));
	for (i = 0; i < 4; i++)
		audit_key_free(k[i]);
	return rc;
}

static void
append_some(struct audit_log *log, int n)
{
	struct recbuf b = { "", "", "", "" };
	struct audit_record r;
	int i, ok = 1;

	for (i = 0; i < n; i++) {
		make_record(i, &r, &b);
		ok &= audit_append(log, &r, NULL) == EG_OK;
	}
	CHECK(ok && audit_flush(log) == EG_OK);
}

/*
 * Key changes ("Key changes" in audit.h). A rotation while the log runs: the old key
 * signs a checkpoint at the key-change record, so verify with the old key alone follows
 * it, and refuses the old key after it. A key changed while no writer ran: recorded,
 * but only verify given both keys (or the gateway's own check) accepts it.
 */
static void
test_key_changes(void)
{
	char *a = make_key("rot-a.key", 0600), *b = make_key("rot-b.key", 0600);
	char *c = make_key("rot-c.key", 0600);
	struct audit_options o = { subdir("rotation"), 0, AUDIT_SYNC_GROUP, 0, 0, a, NULL, NULL };
	const char *only_a[] = { a, NULL }, *only_b[] = { b, NULL };
	const char *a_and_c[] = { a, c, NULL };
	struct audit_verify_result res;
	struct audit_live_status st;
	struct audit_log *log = NULL;
	struct audit_key *kb = NULL;
	char err[256];

	CHECK(audit_open(&o, &log) == EG_OK);
	append_some(log, 1200);
	CHECK(audit_key_load(b, 1, &kb, err, sizeof(err)) == EG_OK);
	CHECK(audit_name_key(log, kb, "checkpoint-key-rotated", 0) == EG_OK);
	append_some(log, 1200);
	CHECK(audit_verify_live(log, &st) == EG_OK);
	audit_close(log);
	CHECK(verify_with(o.dir, only_a, &res) == EG_OK && res.key_changes == 1 &&
	    res.unproven_key_changes == 0 && res.checkpoints >= 3);
	CHECK(verify_with(o.dir, only_b, &res) == EG_ERR_AUDIT && res.fail == AUDIT_VF_CKPT_KEY);

	/* Opened later with yet another key (changed while nothing ran). */
	o.signing_key = c;
	CHECK(audit_open(&o, &log) == EG_OK);
	append_some(log, 10);
	CHECK(audit_verify_live(log, &st) == EG_OK);
	audit_close(log);
	CHECK(verify_with(o.dir, only_a, &res) == EG_ERR_AUDIT &&
	    res.fail == AUDIT_VF_CKPT_KEY && strstr(res.why, "not proven") != NULL);
	CHECK(verify_with(o.dir, a_and_c, &res) == EG_OK && res.key_changes == 1 &&
	    res.unproven_key_changes == 1);
}

/* Runs cmd_audit with stdout and stderr in files; returns the exit code. */
static int
cli(char **out, char **err, const char *a1, const char *a2, const char *a3,
    const char *a4, const char *a5)
{
	char *argv[] = { "audit", (char *)a1, (char *)a2, (char *)a3, (char *)a4,
	    (char *)a5, NULL };
	static char fo[128], fe[128];
	int argc = 1, so, se, fdo, fde, rc;
	size_t len;

	while (argv[argc] != NULL)
		argc++;
	snprintf(fo, sizeof(fo), "%s/cli.out", base);
	snprintf(fe, sizeof(fe), "%s/cli.err", base);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	fdo = open(fo, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fde = open(fe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fdo, 1);
	dup2(fde, 2);
	rc = cmd_audit(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fdo);
	close(fde);
	*out = *err = NULL;
	CHECK(eg_read_file(fo, 1 << 24, out, &len) == EG_OK);
	CHECK(eg_read_file(fe, 1 << 24, err, &len) == EG_OK);
	return rc;
}

#define CLI(code, a1, a2, a3, a4, a5)                                                \
	do {                                                                         \
		free(out);                                                           \
		free(err);                                                           \
		CHECK(cli(&out, &err, a1, a2, a3, a4, a5) == (code));                \
	} while (0)

#define JSON_HEAD ",\"seq\":1,\"time\":\"2025-11-22T20:01:53.000000Z\",\"kind\":\"rights\","
#define CSV_HEAD "instance,seq,time,kind,request_id,client,nrn,cert_sha256,session,org,facility," \
	"capacity,method,path,rule,decision,reason,backend,policy_version,upstream_status," \
	"bytes,latency_us,actor,action,target,role,scope,acting_org,acting_facility,key,grants," \
	"context,capacities,facility_orgs,revocation,policy_sha256,intent,intent_cert,until,authority,hash\r\n"

static void
test_cli(void)
{
	char *out = NULL, *err = NULL, *rt = subdir("rt"), *full = subdir("full");
	char *tampered = subdir("group"), *missing = subdir("missing");
	char want[256];

	CLI(0, "--help", NULL, NULL, NULL, NULL);
	CHECK(strncmp(out, "usage:", 6) == 0);
	CLI(0, "query", "--help", NULL, NULL, NULL);
	CHECK(strstr(out, "--since") != NULL);
	CLI(0, "verify", "--help", NULL, NULL, NULL);
	CLI(2, "query", NULL, NULL, NULL, NULL);
	CLI(2, "frobnicate", NULL, NULL, NULL, NULL);
	CLI(2, "query", "--db", rt, "--decision", "maybe");
	CLI(2, "query", "--db", rt, "--since", "yesterday");
	CLI(2, "query", "--db", rt, "--bogus", "1");
	CLI(1, "query", "--db", missing, NULL, NULL);
	snprintf(want, sizeof(want), "eidgate: audit log %s: No such file or directory\n",
	    missing);
	CHECK(strcmp(err, want) == 0);
	CLI(0, "query", "--db", rt, "--format", "json");
	CHECK(strncmp(out, "{\"instance\":\"", 13) == 0 && strstr(out, JSON_HEAD) != NULL);
	CHECK(strstr(out, "\"actor\"") == NULL && strstr(out, "\"reason\":\"\"") != NULL);
	CHECK(strstr(out, "\"hash\":\"") != NULL && strchr(out, '\n') == out + strlen(out) - 1);
	CLI(0, "query", "--db", rt, "--format", "csv");
	CHECK(strncmp(out, CSV_HEAD, sizeof(CSV_HEAD) - 1) == 0);
	CHECK(strstr(out, ",\"'=HYPERLINK(\"\"x\"\")\x1b[31m\",") != NULL);
	CLI(0, "query", "--db", rt, NULL, NULL);
	CHECK(strncmp(out, "instance", 8) == 0 && strchr(out, '\x1b') == NULL);
	printf("%s", out);
	CHECK(strstr(out, "=HYPERLINK(\"x\")?[31m") != NULL);
	CLI(0, "query", "--db", full, "--limit", "3");
	CHECK(strstr(out, "  3  ") != NULL && strstr(out, "  4  ") == NULL);
	CLI(0, "verify", "--db", full, NULL, NULL);
	CHECK(strncmp(out, "ok: 10000 records, head ", 24) == 0);
	CLI(1, "verify", "--db", tampered, NULL, NULL);
	CHECK(strstr(err, "chain broken at seq 10001") != NULL);
	free(out);
	free(err);
}

int
main(void)
{
	static const char *names[] = { "full", "group", "none" };
	enum audit_sync modes[] = { AUDIT_SYNC_FULL, AUDIT_SYNC_GROUP, AUDIT_SYNC_NONE };
	int i;

	log_init("eidgate", LOG_LVL_WARN);
	/* Lines in order with the warnings on stderr; the summary stays the last line. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(base, sizeof(base), "/tmp/eidgate-audit-XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (i = 0; i < 3; i++) {
		double rate = fill(subdir(names[i]), modes[i], N_RECORDS, 0);

		printf("  rate %s, 1 thread: %.0f records/s (information only)\n", names[i],
		    rate);
	}
	test_queries(subdir("group"));
	test_newest_first(subdir("group"));
	test_field_ids();
	test_roundtrip();
	test_reopen(subdir("group"));
	test_tamper(subdir("group"));
	test_map_growth();
	test_threads();
	test_reader_while_writing();
	test_sync_modes();
	test_write_failure();
	test_full_linger();
	test_reader_check();
	test_checkpoints();
	test_key_changes();
	test_cli();
	check_rm_tree(base);
	return check_report();
}
