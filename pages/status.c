/*
 * status.c - answers for machines: liveness (healthz), readiness (readyz), the Prometheus
 * metrics and the JWK set backends fetch the assertion key from (PRODUCT.md §6). None
 * needs a login.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/audit.h"
#include "eidgate/auth.h"
#include "eidgate/directory.h"
#include "eidgate/err.h"
#include "eidgate/forward.h"
#include "eidgate/keys.h"
#include "eidgate/log.h"
#include "eidgate/metrics.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/signer.h"
#include "eidgate/util.h"

enum MHD_Result
page_jwks(struct request *r)
{
	return respond_json(r, 200, signer_jwks(r->snap->signer));
}

enum MHD_Result
page_healthz(struct request *r)
{
	return respond_json_obj(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* The metrics tell who uses the gateway and how much: only for the monitoring the
 * operator configured ([metrics] allow_from, certificates). */
static int
may_read_metrics(const struct request *r)
{
	const struct eg_config *cfg = &r->snap->cfg;

	return eg_list_has(cfg->metrics_allow_from, r->client) ||
	    (r->user.authenticated && eg_list_has(cfg->metrics_certificates,
	    r->user.id.fingerprint));
}

/* The gauges and counters the other modules keep, in the families an operator graphs
 * (the decision counters and histograms are metrics_write's). One row per family: its
 * name, type and help, and where its value is in the modules' figures. */
struct module_figures {
	long active;
	unsigned long reqs, conns, a_hits, a_misses, d_hits, d_misses, d_errors;
	int feed_up;
	unsigned long feed_drops, feed_breaks, end_failures;
	struct auth_stats au;
	struct audit_stats as;
};

#define FIG(field) offsetof(struct module_figures, field)
static const struct {
	const char *name, *type, *help;
	size_t off;
	enum { F_LONG, F_ULONG, F_I64, F_SIZE, F_U64, F_INT } kind;
} families[] = {
	{ "eidgate_upstream_active", "gauge", "Requests at the backends now.",
	    FIG(active), F_LONG },
	{ "eidgate_upstream_requests_total", "counter", "Requests sent to the backends.",
	    FIG(reqs), F_ULONG },
	{ "eidgate_upstream_connections_total", "counter", "Connections opened to the backends.",
	    FIG(conns), F_ULONG },
	{ "eidgate_assertions_reused_total", "counter",
	    "Identity assertions reused while still fresh.", FIG(a_hits), F_ULONG },
	{ "eidgate_assertions_signed_total", "counter", "Identity assertions signed.",
	    FIG(a_misses), F_ULONG },
	{ "eidgate_directory_cache_hits_total", "counter",
	    "Directory lookups answered from the cache.", FIG(d_hits), F_ULONG },
	{ "eidgate_directory_cache_misses_total", "counter",
	    "Directory lookups that asked the directory.", FIG(d_misses), F_ULONG },
	{ "eidgate_directory_errors_total", "counter", "Directory searches that failed.",
	    FIG(d_errors), F_ULONG },
	{ "eidgate_directory_feed_up", "gauge",
	    "1 while the directory's change feed is followed, 0 while changes wait for "
	    "[ldap] cache_ttl.", FIG(feed_up), F_INT },
	{ "eidgate_directory_invalidations_total", "counter",
	    "Cache entries dropped and sessions ended by the directory's change feed.",
	    FIG(feed_drops), F_ULONG },
	{ "eidgate_directory_feed_breaks_total", "counter",
	    "Times the directory's change feed broke.", FIG(feed_breaks), F_ULONG },
	{ "eidgate_session_end_write_failures_total", "counter",
	    "Logouts ended here but not written to the directory.", FIG(end_failures), F_ULONG },
	{ "eidgate_ocsp_cache_hits_total", "counter",
	    "OCSP answers taken from the cache (since the last reload).", FIG(au.ocsp_hits),
	    F_ULONG },
	{ "eidgate_ocsp_cache_misses_total", "counter",
	    "OCSP answers asked of a responder (since the last reload).", FIG(au.ocsp_misses),
	    F_ULONG },
	{ "eidgate_ocsp_errors_total", "counter",
	    "OCSP responders that failed (since the last reload).", FIG(au.ocsp_errors),
	    F_ULONG },
	{ "eidgate_crl_loaded_timestamp_seconds", "gauge",
	    "When the CRLs in use were loaded (0: no CRLs configured).", FIG(au.crl_loaded),
	    F_I64 },
	{ "eidgate_crl_next_update_timestamp_seconds", "gauge",
	    "The earliest nextUpdate of the CRLs in use (0: none).", FIG(au.crl_next_update),
	    F_I64 },
	{ "eidgate_log_queue_records", "gauge", "Access-log records waiting for the writer.",
	    FIG(as.queued), F_SIZE },
	{ "eidgate_log_writable", "gauge",
	    "1 while the access log takes new records, 0 while it refuses them.",
	    FIG(as.writable), F_INT },
	{ "eidgate_log_committed_seq", "gauge", "The last access-log record committed.",
	    FIG(as.committed_seq), F_U64 },
};
#undef FIG

static double
figure(const struct module_figures *f, size_t i)
{
	const char *p = (const char *)f + families[i].off;

	switch (families[i].kind) {
	case F_LONG: return (double)*(const long *)(const void *)p;
	case F_ULONG: return (double)*(const unsigned long *)(const void *)p;
	case F_I64: return (double)*(const int64_t *)(const void *)p;
	case F_SIZE: return (double)*(const size_t *)(const void *)p;
	case F_U64: return (double)*(const uint64_t *)(const void *)p;
	default: return (double)*(const int *)(const void *)p;
	}
}

static void
write_module_metrics(struct request *r, FILE *out)
{
	struct module_figures f;
	size_t i;

	memset(&f, 0, sizeof(f));
	forward_stats(r->gw->upstream, &f.active, &f.reqs, &f.conns);
	forward_assertion_stats(r->gw->assertions, &f.a_hits, &f.a_misses);
	dir_stats(r->gw->dir, &f.d_hits, &f.d_misses, &f.d_errors);
	dir_feed_stats(r->gw->feed, &f.feed_up, &f.feed_drops, &f.feed_breaks);
	f.end_failures = dir_sessions_failures(r->gw->dsessions);
	auth_stats(r->snap->auth, &f.au);
	audit_stats(r->gw->audit, &f.as);
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		metrics_put(out, families[i].name, families[i].type, families[i].help,
		    figure(&f, i));
	fprintf(out, "# HELP eidgate_log_commit_seconds Access-log transactions and the time "
	    "they took.\n# TYPE eidgate_log_commit_seconds summary\n"
	    "eidgate_log_commit_seconds_sum %.6f\neidgate_log_commit_seconds_count %llu\n",
	    (double)f.as.commit_us_sum / 1e6, (unsigned long long)f.as.commits);
}

enum MHD_Result
page_metrics(struct request *r)
{
	char *body = NULL;
	size_t len = 0;
	FILE *out;
	int bad;

	if (!may_read_metrics(r))
		return respond_refused(r, REC_REQUEST, 403, EG_ERR_DENIED, NULL);
	if ((out = open_memstream(&body, &len)) == NULL) {
		log_warn("request %s: metrics", r->id);
		return respond_error(r, 500, "internal", NULL);
	}
	bad = metrics_write(r->gw->metrics, out) != 0;
	write_module_metrics(r, out);
	bad |= ferror(out) != 0;
	if (fclose(out) != 0 || bad) {
		log_warnx("request %s: the metrics could not be written", r->id);
		free(body);
		return respond_error(r, 500, "internal", NULL);
	}
	return respond_take(r, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

/*
 * Readiness, for load balancers and systemd: 200 when a request could be served now,
 * 503 naming what is missing. The directory is probed (at most one search per two
 * seconds, dir_probe); the log is writable unless a write failed and is being retried.
 * The change feed is reported ("feed") but does not make the instance unready: without
 * it requests are still decided correctly, only changes wait up to [ldap] cache_ttl,
 * and every instance's feed breaks at once when the directory does, so a load balancer
 * that took them out would turn slower freshness into an outage.
 */
enum MHD_Result
page_readyz(struct request *r)
{
	int dir_ok = dir_probe(r->gw->dir) == EG_OK;
	int log_ok = audit_writable(r->gw->audit);
	int policy_ok = r->snap->policy != NULL;
	int keys_ok = r->snap->signer != NULL && keys_alive(r->gw->keys);
	/* A draining instance (SIGTERM) finishes what it holds but takes nothing new. */
	int serving = !atomic_load(&r->gw->draining);
	int ready = dir_ok && log_ok && policy_ok && keys_ok && serving;
	int feed_up;
	unsigned long drops, breaks;

	if (!ready)
		log_warnx("readyz: not ready:%s%s%s%s%s", dir_ok ? "" : " directory unreachable",
		    log_ok ? "" : " access log not writable", policy_ok ? "" : " no policy",
		    keys_ok ? "" : " keys not available", serving ? "" : " draining");
	dir_feed_stats(r->gw->feed, &feed_up, &drops, &breaks);
	return respond_json_obj(r, ready ? 200 : 503, json_pack(
	    "{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s}}",
	    "status", ready ? "ready" : "not-ready", "checks",
	    "serving", serving ? "ok" : "draining",
	    "directory", dir_ok ? "ok" : "unreachable",
	    "feed", feed_up ? "following" : "ttl-only",
	    "log", log_ok ? "ok" : "not-writable",
	    "policy", policy_ok ? "ok" : "missing",
	    "keys", keys_ok ? "ok" : "unavailable"));
}
