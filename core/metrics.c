/*
 * metrics.c - counters and histograms for /eidgate/metrics (metrics.h).
 *
 * The labelled decision counters are few (kinds x decisions x reasons: a few dozen in
 * practice) and found by a linear scan under one mutex; the access log's own append takes
 * a mutex per record too, so this adds no new kind of cost. The histograms use fixed
 * buckets (the Prometheus defaults, in seconds) and atomic counts.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/metrics.h"

#define LABEL_MAX 32

/* Upper bounds of the histogram buckets, in microseconds (+Inf is implicit). */
static const uint64_t bounds_us[] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000,
};
#define NBOUNDS (sizeof(bounds_us) / sizeof(bounds_us[0]))

struct hist {
	atomic_ulong buckets[NBOUNDS + 1];      /* per bucket, not cumulative */
	atomic_ullong sum_us;
	atomic_ulong count;
};

struct series {
	char kind[LABEL_MAX], reason[LABEL_MAX];
	int allow;
	unsigned long n;
};

struct metrics {
	pthread_mutex_t mu;
	struct series series[EG_MAX_METRIC_SERIES];     /* guarded by mu */
	size_t nseries;
	struct hist hist[MH_COUNT];
	atomic_ulong counters[MC_COUNT];
	atomic_long gauges[MG_COUNT];
};

static const struct {
	const char *name, *help;
} hist_names[MH_COUNT] = {
	[MH_REQUEST] = { "eidgate_request_duration_seconds",
	    "Forwarded requests, from their start to their end." },
	[MH_BACKEND] = { "eidgate_backend_duration_seconds",
	    "Backends, from the request sent to the head of their answer." },
};

static const struct {
	const char *name, *help;
} counter_names[MC_COUNT] = {
	[MC_UPSTREAM_ERRORS] = { "eidgate_upstream_errors_total",
	    "Backends that were unreachable, broke off or did not answer in time." },
	[MC_HANDSHAKE_TIMEOUTS] = { "eidgate_connection_handshake_timeouts_total",
	    "Connections closed because their TLS handshake (or PROXY header) did not finish "
	    "within [listen] handshake_timeout." },
	[MC_HEAD_TIMEOUTS] = { "eidgate_connection_head_timeouts_total",
	    "Connections closed because a request head did not arrive whole within [listen] "
	    "head_timeout." },
	[MC_SHED] = { "eidgate_connections_shed_total",
	    "Idle or slow connections closed to make room for a new one at [listen] "
	    "max_connections." },
}, gauge_names[MG_COUNT] = {
	[MG_CONNECTIONS] = { "eidgate_connections_open",
	    "Client connections open now." },
};

int
metrics_new(struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (m == NULL)
		return EG_ERR_NOMEM;
	if (pthread_mutex_init(&m->mu, NULL) != 0) {
		free(m);
		return EG_ERR_NOMEM;
	}
	*out = m;
	return EG_OK;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* A label value as written: kinds and reason codes are the gateway's own words, but a
 * reason may come from the policy file, so anything beyond [A-Za-z0-9_.:-] becomes '_'
 * (no escaping needed) and a longer one counts as "other". */
static void
label(const char *in, char out[LABEL_MAX])
{
	size_t i, n = strlen(in);

	if (n >= LABEL_MAX) {
		memcpy(out, "other", sizeof("other"));
		return;
	}
	for (i = 0; i < n; i++) {
		char c = in[i];
		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-' ? c : '_';
	}
	out[n] = '\0';
}

/* Called with mu held: the series of this label set, or NULL when there is no room. */
static struct series *
series_of(struct metrics *m, const char *kind_in, int allow, const char *reason_in)
{
	char kind[LABEL_MAX], reason[LABEL_MAX];
	size_t i;

	label(kind_in, kind);
	label(reason_in, reason);
	for (i = 0; i < m->nseries; i++) {
		struct series *s = &m->series[i];
		if (s->allow == allow && strcmp(s->kind, kind) == 0 && strcmp(s->reason, reason) == 0)
			return s;
	}
	if (m->nseries == EG_MAX_METRIC_SERIES)
		return NULL;
	memcpy(m->series[m->nseries].kind, kind, sizeof(kind));
	memcpy(m->series[m->nseries].reason, reason, sizeof(reason));
	m->series[m->nseries].allow = allow;
	return &m->series[m->nseries++];
}

void
metrics_decision(struct metrics *m, const char *kind, int allow, const char *reason)
{
	struct series *s;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	if ((s = series_of(m, kind != NULL ? kind : "", allow, reason != NULL ? reason : "")) != NULL)
		s->n++;
	pthread_mutex_unlock(&m->mu);
}

void
metrics_observe(struct metrics *m, enum metric_hist h, uint64_t us)
{
	size_t i;

	if (m == NULL || (unsigned)h >= MH_COUNT)
		return;
	for (i = 0; i < NBOUNDS && us > bounds_us[i]; i++)
		;
	atomic_fetch_add(&m->hist[h].buckets[i], 1);
	atomic_fetch_add(&m->hist[h].sum_us, us);
	atomic_fetch_add(&m->hist[h].count, 1);
}

void
metrics_count(struct metrics *m, enum metric_counter c)
{
	if (m != NULL && (unsigned)c < MC_COUNT)
		atomic_fetch_add(&m->counters[c], 1);
}

void
metrics_gauge_add(struct metrics *m, enum metric_gauge g, long delta)
{
	if (m != NULL && (unsigned)g < MG_COUNT)
		atomic_fetch_add(&m->gauges[g], delta);
}

void
metrics_put(FILE *out, const char *name, const char *type, const char *help, double value)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name,
	    value);
}

static int
is_login(const char *kind)
{
	return strcmp(kind, "login") == 0 || strcmp(kind, "login-refused") == 0;
}

static void
write_series(struct metrics *m, FILE *out)
{
	size_t i;

	fputs("# HELP eidgate_decisions_total Access-log records by kind, decision and "
	    "reason.\n# TYPE eidgate_decisions_total counter\n", out);
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->nseries; i++)
		fprintf(out, "eidgate_decisions_total{kind=\"%s\",decision=\"%s\",reason=\"%s\"} "
		    "%lu\n", m->series[i].kind, m->series[i].allow ? "allow" : "deny",
		    m->series[i].reason, m->series[i].n);
	fputs("# HELP eidgate_logins_total Logins with a card, by result and reason.\n"
	    "# TYPE eidgate_logins_total counter\n", out);
	for (i = 0; i < m->nseries; i++)
		if (is_login(m->series[i].kind))
			fprintf(out, "eidgate_logins_total{result=\"%s\",reason=\"%s\"} %lu\n",
			    m->series[i].allow ? "ok" : "refused", m->series[i].reason,
			    m->series[i].n);
	pthread_mutex_unlock(&m->mu);
}

static void
write_hist(const struct hist *h, const char *name, const char *help, FILE *out)
{
	unsigned long cum = 0;
	size_t i;

	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i < NBOUNDS; i++) {
		cum += atomic_load(&h->buckets[i]);
		fprintf(out, "%s_bucket{le=\"%g\"} %lu\n", name, (double)bounds_us[i] / 1e6, cum);
	}
	cum += atomic_load(&h->buckets[NBOUNDS]);
	fprintf(out, "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.6f\n%s_count %lu\n", name, cum, name,
	    (double)atomic_load(&h->sum_us) / 1e6, name, cum);
}

int
metrics_write(struct metrics *m, FILE *out)
{
	size_t i;

	write_series(m, out);
	for (i = 0; i < MH_COUNT; i++)
		write_hist(&m->hist[i], hist_names[i].name, hist_names[i].help, out);
	for (i = 0; i < MC_COUNT; i++)
		metrics_put(out, counter_names[i].name, "counter", counter_names[i].help,
		    (double)atomic_load(&m->counters[i]));
	for (i = 0; i < MG_COUNT; i++)
		metrics_put(out, gauge_names[i].name, "gauge", gauge_names[i].help,
		    (double)atomic_load(&m->gauges[i]));
	return ferror(out) ? -1 : 0;
}
