/*
 * status.c - answers for machines: liveness (healthz), the Prometheus metrics and the JWK
 * set backends fetch the assertion key from (PRODUCT.md §6). None needs a login.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "eidgate/err.h"
#include "eidgate/forward.h"
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

enum MHD_Result
page_metrics(struct request *r)
{
	unsigned long reqs = 0, conns = 0, hits = 0, misses = 0, allowed = 0, denied = 0;
	long active = 0;
	char body[2048];

	if (!may_read_metrics(r))
		return respond_refused(r, REC_REQUEST, 403, EG_ERR_DENIED,
		    "The metrics are not for this client.");
	forward_stats(r->gw->upstream, &active, &reqs, &conns);
	forward_assertion_stats(r->gw->assertions, &hits, &misses);
	record_stats(r, &allowed, &denied);
	snprintf(body, sizeof(body),
	    "# TYPE eidgate_requests_allowed_total counter\neidgate_requests_allowed_total %lu\n"
	    "# TYPE eidgate_requests_denied_total counter\neidgate_requests_denied_total %lu\n"
	    "# TYPE eidgate_upstream_errors_total counter\neidgate_upstream_errors_total %lu\n"
	    "# TYPE eidgate_upstream_active gauge\neidgate_upstream_active %ld\n"
	    "# TYPE eidgate_upstream_requests_total counter\neidgate_upstream_requests_total %lu\n"
	    "# TYPE eidgate_upstream_connections_total counter\n"
	    "eidgate_upstream_connections_total %lu\n"
	    "# TYPE eidgate_assertions_reused_total counter\neidgate_assertions_reused_total %lu\n"
	    "# TYPE eidgate_assertions_signed_total counter\neidgate_assertions_signed_total %lu\n",
	    allowed, denied, atomic_load(&r->gw->stat_upstream_errors), active, reqs, conns,
	    hits, misses);
	return respond_buffer(r, 200, "text/plain; version=0.0.4", body, strlen(body));
}
