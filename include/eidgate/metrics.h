/*
 * metrics.h - the gateway's counters and histograms for /eidgate/metrics (core/metrics.c),
 * in the Prometheus text format (exposition format 0.0.4).
 *
 * One struct metrics per gateway, made by the server and reached through struct gateway;
 * the stages add to it (record/ the decisions, forward/ the backend's latency), and
 * pages/status.c writes it out together with the gauges other modules report (caches,
 * CRLs, the access log's queue). Counters are what an operator graphs: requests by kind,
 * decision and reason; latency histograms of requests and backends.
 *
 * Threads: every function may be called from any thread at any time. Counting a
 * decision takes a mutex (a labelled counter may be new); histograms and plain counters
 * are atomic.
 */
#ifndef EIDGATE_METRICS_H
#define EIDGATE_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct metrics;

enum metric_hist {
	MH_REQUEST,             /* a forwarded request, start to end (its outcome) */
	MH_BACKEND,             /* a backend, from the request sent to the answer's head */
	MH_COUNT
};

enum metric_counter {
	MC_UPSTREAM_ERRORS,     /* backends unreachable, broken or silent */
	MC_HANDSHAKE_TIMEOUTS,  /* connections dropped: no TLS handshake in [listen]
	                         * handshake_timeout (nor PROXY header) */
	MC_HEAD_TIMEOUTS,       /* dropped: no request head in [listen] head_timeout */
	MC_SHED,                /* idle or slow connections closed to admit a new one at
	                         * the global limit */
	MC_COUNT
};

enum metric_gauge {
	MG_CONNECTIONS,         /* client connections open now */
	MG_COUNT
};

/* EG_OK or EG_ERR_NOMEM. */
int metrics_new(struct metrics **out);
void metrics_free(struct metrics *m);

/* One record of kind (its name in the log), allow or deny, with its reason. kind and
 * reason are copied (at most 31 bytes each, longer ones count as "other"; bytes outside
 * [A-Za-z0-9_.:-] become '_'); beyond EG_MAX_METRIC_SERIES distinct label sets a
 * record is not counted (the access log still has it). */
void metrics_decision(struct metrics *m, const char *kind, int allow, const char *reason);
void metrics_observe(struct metrics *m, enum metric_hist h, uint64_t us);
void metrics_count(struct metrics *m, enum metric_counter c);
void metrics_gauge_add(struct metrics *m, enum metric_gauge g, long delta);

/* Writes the counters, gauges and histograms, each with # HELP and # TYPE; the logins
 * (records of kind login and login-refused) a second time as eidgate_logins_total by
 * result and reason, the family an operator looks for. 0, or -1 when writing failed. */
int metrics_write(struct metrics *m, FILE *out);

/* Helpers for the writers of other families (pages/status.c): one sample of a gauge or
 * counter, with its # HELP and # TYPE lines. */
void metrics_put(FILE *out, const char *name, const char *type, const char *help,
    double value);

#endif
