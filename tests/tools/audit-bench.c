/*
 * audit-bench - figures for the access log (bench/audit.sh runs it):
 *   append rate per sync mode with 1 and 4 threads (and FULL without the linger, to
 *   show what gathering concurrent appenders buys), then a log of --records records
 *   (default 10,000,000): time to write it, bytes per record, query latency by person,
 *   and verify speed.
 *
 * usage: audit-bench [--records N] [--seconds S] [--dir DIR] [--skip-rates]
 *                    [--skip-big]
 * It includes audit/internal.h to set the linger and to read the commit counters.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "audit/internal.h"
#include "tests/unit/check.h"       /* check_rm_tree */

#define PERSONS 100000
#define T0 1763841713000000LL

struct bench {
	char dir[512], key[600];
	long long records, seconds;
	int skip_rates, skip_big;
};

static void
make_record(uint64_t i, struct audit_record *r, char *nrn, char *org, char *fac,
    char *path)
{
	memset(r, 0, sizeof(*r));
	/* A multiplicative hash spreads persons so one query touches scattered pages. */
	snprintf(nrn, 16, "85%09llu", (unsigned long long)((i * 2654435761u) % PERSONS));
	snprintf(org, 16, "org%llu", (unsigned long long)(i % 50));
	snprintf(fac, 16, "fac%llu", (unsigned long long)(i % 500));
	snprintf(path, 64, "/modules/dossiers/%llu", (unsigned long long)(i % 100000));
	r->time_us = T0 + (int64_t)i * 1000;
	r->kind = "request";
	r->request_id = "0123456789abcdef";
	r->client = "192.0.2.17";
	r->nrn = nrn;
	r->cert_sha256 = "3f1a9c0d5e7b2a4f6c8e0d1b3a5c7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809";
	r->session = "9c8b7a6f5e4d3c2b";
	r->org = org;
	r->facility = fac;
	r->capacity = "vte";
	r->method = "GET";
	r->path = path;
	r->rule = "dossier-read";
	r->decision = i % 10 == 0 ? "deny" : "allow";
	r->reason = i % 10 == 0 ? "no-rule" : NULL;
	r->backend = "dossiers";
	r->upstream_status = 200;
	r->bytes = 1234;
	r->latency_us = 2500;
}

static int
write_key(struct bench *b)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *f;
	int ok;

	snprintf(b->key, sizeof(b->key), "%s/bench.key", b->dir);
	if (k == NULL || (f = fopen(b->key, "w")) == NULL) {
		fprintf(stderr, "audit-bench: cannot make a key in %s\n", b->dir);
		EVP_PKEY_free(k);
		return -1;
	}
	ok = chmod(b->key, 0600) == 0 &&
	    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fclose(f) == 0 && ok;
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

struct worker {
	struct audit_log *log;
	int64_t until_us;
	uint64_t n, start;
	int failed;
};

static void *
appender(void *arg)
{
	struct worker *w = arg;
	char nrn[16], org[16], fac[16], path[64];
	struct audit_record r;

	while (eg_now_us() < w->until_us) {
		make_record(w->start + w->n, &r, nrn, org, fac, path);
		if (audit_append(w->log, &r, NULL) != EG_OK) {
			w->failed = 1;
			break;
		}
		w->n++;
	}
	return NULL;
}

/* Appends for b->seconds from nthreads threads; prints one line. */
static int
rate(struct bench *b, const char *name, enum audit_sync sync, int nthreads, int linger)
{
	char dir[600];
	struct audit_options o = { dir, 0, sync, 0, 0, b->key, NULL, NULL };
	struct audit_log *log = NULL;
	struct worker w[4];
	pthread_t t[4];
	uint64_t total = 0, commits;
	int64_t t0, el;
	int i, bad = 0;

	snprintf(dir, sizeof(dir), "%s/rate-%s-%d-%d", b->dir, name, nthreads, linger);
	if (audit_open(&o, &log) != EG_OK)
		return -1;
	pthread_mutex_lock(&log->mu);
	log->linger_us = linger;
	commits = log->n_commits;
	pthread_mutex_unlock(&log->mu);
	t0 = eg_now_us();
	for (i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ log, t0 + b->seconds * 1000000, 0,
		    (uint64_t)i * 100000000u, 0 };
		if (pthread_create(&t[i], NULL, appender, &w[i]) != 0)
			return -1;
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		total += w[i].n;
		bad |= w[i].failed;
	}
	bad |= audit_flush(log) != EG_OK;
	el = eg_now_us() - t0;
	pthread_mutex_lock(&log->mu);
	commits = log->n_commits - commits;
	pthread_mutex_unlock(&log->mu);
	audit_close(log);
	printf("append %-5s %d thread%s linger %4d us: %10.0f records/s  %7.1f records/commit%s\n",
	    name, nthreads, nthreads > 1 ? "s" : " ", linger, (double)total * 1e6 / (double)el,
	    commits ? (double)total / (double)commits : 0.0, bad ? "  (FAILED)" : "");
	fflush(stdout);
	check_rm_tree(dir);
	return bad ? -1 : 0;
}

static int
rates(struct bench *b)
{
	static const struct { const char *name; enum audit_sync s; } m[] = {
		{ "full", AUDIT_SYNC_FULL }, { "group", AUDIT_SYNC_GROUP },
		{ "none", AUDIT_SYNC_NONE },
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < 3; i++) {
		rc |= rate(b, m[i].name, m[i].s, 1, AUDIT_FULL_LINGER_US);
		rc |= rate(b, m[i].name, m[i].s, 4, AUDIT_FULL_LINGER_US);
	}
	/* Before/after for the FULL linger. */
	rc |= rate(b, "full", AUDIT_SYNC_FULL, 4, 0);
	rc |= rate(b, "full", AUDIT_SYNC_FULL, 1, 0);
	return rc;
}

static int
fill_big(struct bench *b, const char *dir)
{
	struct audit_options o = { dir, 4ULL << 30, AUDIT_SYNC_GROUP, 0, 0, b->key, NULL, NULL };
	char nrn[16], org[16], fac[16], path[64];
	struct audit_log *log = NULL;
	struct audit_record r;
	int64_t t0 = eg_now_us();
	long long i;

	if (audit_open(&o, &log) != EG_OK)
		return -1;
	for (i = 0; i < b->records; i++) {
		make_record((uint64_t)i, &r, nrn, org, fac, path);
		if (audit_append(log, &r, NULL) != EG_OK) {
			audit_close(log);
			return -1;
		}
		/* The queue refuses after AUDIT_APPEND_WAIT_MS when full; one generator thread
		 * outruns the fsyncs, so let each 50,000 land (a gateway never appends this
		 * fast from one thread). */
		if (i % 50000 == 49999 && audit_flush(log) != EG_OK) {
			audit_close(log);
			return -1;
		}
		if (i > 0 && i % 1000000 == 0)
			fprintf(stderr, "  ... %lld records, %.0f s\n", i,
			    (double)(eg_now_us() - t0) / 1e6);
	}
	if (audit_flush(log) != EG_OK)
		return -1;
	audit_close(log);
	printf("wrote %lld records (group) in %.1f s: %.0f records/s\n", b->records,
	    (double)(eg_now_us() - t0) / 1e6, (double)b->records * 1e6 /
	    (double)(eg_now_us() - t0));
	return 0;
}

static int
size_report(const char *dir, long long records)
{
	MDB_env *env;
	MDB_envinfo info;
	MDB_stat st;
	char path[700];
	struct stat fs;

	if (audit_env_open_ro(dir, &env, NULL, 0) != EG_OK)
		return -1;
	if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &st) != 0) {
		mdb_env_close(env);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &fs) != 0)
		fs.st_blocks = 0;
	printf("size: %zu pages x %u bytes = %.1f MiB; %.1f bytes/record (file on disk "
	    "%.1f MiB)\n", info.me_last_pgno + 1, st.ms_psize,
	    (double)(info.me_last_pgno + 1) * st.ms_psize / 1048576.0,
	    (double)(info.me_last_pgno + 1) * st.ms_psize / (double)records,
	    (double)fs.st_blocks * 512 / 1048576.0);
	mdb_env_close(env);
	return 0;
}

static int
count_cb(const struct audit_record *r, void *arg)
{
	(void)r;
	(*(uint64_t *)arg)++;
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Each audit_query opens the environment and a read txn: what the CLI pays per call. */
static int
query_latency(const char *dir)
{
	enum { NQ = 200 };
	int64_t lat[NQ];
	uint64_t found = 0;
	char nrn[16];
	int i;

	for (i = 0; i < NQ; i++) {
		struct audit_filter f;
		int64_t t0;

		memset(&f, 0, sizeof(f));
		snprintf(nrn, sizeof(nrn), "85%09d", (i * 7919) % PERSONS);
		f.nrn = nrn;
		t0 = eg_now_us();
		if (audit_query(dir, &f, count_cb, &found, NULL, 0) != EG_OK)
			return -1;
		lat[i] = eg_now_us() - t0;
	}
	qsort(lat, NQ, sizeof(lat[0]), cmp_i64);
	printf("query by person (%d persons, %.0f records each): median %.2f ms, p99 %.2f ms, "
	    "max %.2f ms\n", NQ, (double)found / NQ, (double)lat[NQ / 2] / 1000.0,
	    (double)lat[NQ * 99 / 100] / 1000.0, (double)lat[NQ - 1] / 1000.0);
	return 0;
}

static int
verify_speed(struct bench *b, const char *dir)
{
	struct audit_verify_opts vo;
	struct audit_verify_result res;
	struct audit_key *key = NULL;
	char err[512];
	int rc;

	if (audit_key_load(b->key, 0, &key, err, sizeof(err)) != EG_OK)
		return -1;
	memset(&vo, 0, sizeof(vo));
	vo.key = key;
	rc = audit_verify(dir, &vo, &res, err, sizeof(err));
	audit_key_free(key);
	printf("verify: %s, %llu records, %llu checkpoints in %.1f s: %.0f records/s\n",
	    rc == EG_OK ? "ok" : "FAILED", (unsigned long long)res.records,
	    (unsigned long long)res.checkpoints, (double)res.elapsed_us / 1e6,
	    res.elapsed_us ? (double)res.records * 1e6 / (double)res.elapsed_us : 0.0);
	return rc == EG_OK ? 0 : -1;
}

static int
big(struct bench *b)
{
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/big", b->dir);
	if (fill_big(b, dir) != 0 || size_report(dir, b->records) != 0 ||
	    query_latency(dir) != 0 || verify_speed(b, dir) != 0) {
		fprintf(stderr, "audit-bench: the %lld-record log failed\n", b->records);
		return -1;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, struct bench *b)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--skip-rates") == 0)
			b->skip_rates = 1;
		else if (strcmp(a, "--skip-big") == 0)
			b->skip_big = 1;
		else if (v != NULL && strcmp(a, "--records") == 0 && ++i &&
		    eg_strtonum(v, 1, 1000000000, &b->records) == EG_OK)
			;
		else if (v != NULL && strcmp(a, "--seconds") == 0 && ++i &&
		    eg_strtonum(v, 1, 3600, &b->seconds) == EG_OK)
			;
		else if (v != NULL && strcmp(a, "--dir") == 0 && ++i)
			eg_strlcpy(b->dir, v, sizeof(b->dir));
		else {
			fprintf(stderr, "usage: audit-bench [--records N] [--seconds S] "
			    "[--dir DIR] [--skip-rates] [--skip-big]\n");
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	int64_t t0 = eg_now_us();
	int rc = 0;

	memset(&b, 0, sizeof(b));
	b.records = 10000000;
	b.seconds = 3;
	log_init("audit-bench", LOG_LVL_WARN);
	if (parse_args(argc, argv, &b) != 0)
		return 2;
	if (b.dir[0] == '\0') {
		eg_strlcpy(b.dir, "/tmp/audit-bench-XXXXXX", sizeof(b.dir));
		if (mkdtemp(b.dir) == NULL) {
			fprintf(stderr, "audit-bench: mkdtemp: %s\n", strerror(errno));
			return 1;
		}
	} else if (mkdir(b.dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "audit-bench: %s: %s\n", b.dir, strerror(errno));
		return 1;
	}
	if (write_key(&b) != 0)
		return 1;
	printf("audit-bench in %s, %ld CPUs\n", b.dir, sysconf(_SC_NPROCESSORS_ONLN));
	if (!b.skip_rates)
		rc |= rates(&b);
	if (!b.skip_big)
		rc |= big(&b);
	printf("elapsed %.1f s\n", (double)(eg_now_us() - t0) / 1e6);
	return rc ? 1 : 0;
}
