/*
 * metrics_test.c - core/metrics.c (metrics.h): label values reduced to a safe alphabet,
 * the bound on series, cumulative histogram buckets, logins written twice, gauges, and
 * several threads counting at once (a lost update shows as a wrong total).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/metrics.h"
#include "check.h"

/* The exposition of m, NUL-terminated; the caller frees it. */
static char *
written(struct metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	CHECK(out != NULL);
	if (out == NULL)
		return NULL;
	CHECK(metrics_write(m, out) == 0);
	fclose(out);
	return text;
}

static void
test_labels(void)
{
	struct metrics *m = NULL;
	char *text;

	CHECK(metrics_new(&m) == EG_OK);
	metrics_decision(m, "request", 1, "ok");
	metrics_decision(m, "request", 1, "ok");
	metrics_decision(m, "request", 0, "rule \"x\"}\nevil 1");
	metrics_decision(m, "request", 0, "a-reason-that-is-far-too-long-to-be-a-label");
	metrics_decision(m, NULL, 0, NULL);
	text = written(m);
	CHECK(text != NULL && strstr(text, "eidgate_decisions_total{kind=\"request\","
	    "decision=\"allow\",reason=\"ok\"} 2\n") != NULL);
	CHECK(text != NULL && strstr(text, "reason=\"rule__x___evil_1\"} 1\n") != NULL);
	CHECK(text != NULL && strstr(text, "reason=\"other\"} 1\n") != NULL);
	CHECK(text != NULL && strstr(text, "\nevil") == NULL);
	free(text);
	metrics_free(m);
}

static void
test_bound(void)
{
	struct metrics *m = NULL;
	char reason[16], *text, *p;
	int i, lines = 0;

	CHECK(metrics_new(&m) == EG_OK);
	for (i = 0; i < EG_MAX_METRIC_SERIES + 50; i++) {
		snprintf(reason, sizeof(reason), "r%d", i);
		metrics_decision(m, "request", 0, reason);
	}
	text = written(m);
	for (p = text; p != NULL && (p = strstr(p, "\neidgate_decisions_total{")) != NULL; p++)
		lines++;
	CHECK(lines == EG_MAX_METRIC_SERIES);
	free(text);
	metrics_free(m);
}

static void
test_histogram_and_logins(void)
{
	struct metrics *m = NULL;
	char *text;

	CHECK(metrics_new(&m) == EG_OK);
	metrics_observe(m, MH_REQUEST, 500);            /* 0.0005 s: first bucket */
	metrics_observe(m, MH_REQUEST, 30000);          /* 0.03 s */
	metrics_observe(m, MH_REQUEST, 60000000);       /* a minute: only +Inf */
	metrics_decision(m, "login", 1, "ok");
	metrics_decision(m, "login-refused", 0, "revoked");
	metrics_gauge_add(m, MG_CONNECTIONS, 3);
	metrics_gauge_add(m, MG_CONNECTIONS, -1);
	metrics_count(m, MC_UPSTREAM_ERRORS);
	text = written(m);
	CHECK(text != NULL && strstr(text, "eidgate_request_duration_seconds_bucket{le=\"0.001\"} 1\n"));
	CHECK(text != NULL && strstr(text, "eidgate_request_duration_seconds_bucket{le=\"0.05\"} 2\n"));
	CHECK(text != NULL && strstr(text, "eidgate_request_duration_seconds_bucket{le=\"10\"} 2\n"));
	CHECK(text != NULL && strstr(text, "eidgate_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
	CHECK(text != NULL && strstr(text, "eidgate_request_duration_seconds_count 3\n"));
	CHECK(text != NULL && strstr(text, "eidgate_request_duration_seconds_sum 60.030500\n"));
	CHECK(text != NULL && strstr(text, "eidgate_logins_total{result=\"ok\",reason=\"ok\"} 1\n"));
	CHECK(text != NULL && strstr(text,
	    "eidgate_logins_total{result=\"refused\",reason=\"revoked\"} 1\n"));
	CHECK(text != NULL && strstr(text, "\neidgate_connections_open 2\n"));
	CHECK(text != NULL && strstr(text, "\neidgate_upstream_errors_total 1\n"));
	free(text);
	metrics_free(m);
}

#define THREADS 4
#define ROUNDS 20000

static void *
counter(void *arg)
{
	struct metrics *m = arg;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		metrics_decision(m, "request", i & 1, "ok");
		metrics_observe(m, MH_BACKEND, (uint64_t)i);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct metrics *m = NULL;
	pthread_t t[THREADS];
	char want[128], *text;
	int i;

	CHECK(metrics_new(&m) == EG_OK);
	for (i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, counter, m) == 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	text = written(m);
	snprintf(want, sizeof(want), "decision=\"allow\",reason=\"ok\"} %d\n", THREADS * ROUNDS / 2);
	CHECK(text != NULL && strstr(text, want) != NULL);
	snprintf(want, sizeof(want), "eidgate_backend_duration_seconds_count %d\n", THREADS * ROUNDS);
	CHECK(text != NULL && strstr(text, want) != NULL);
	free(text);
	metrics_free(m);
}

int
main(void)
{
	test_labels();
	test_bound();
	test_histogram_and_logins();
	test_threads();
	return check_report();
}
