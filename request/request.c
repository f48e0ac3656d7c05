/*
 * request.c - the pipeline of one request: target normalisation, identification,
 * directory, policy, then a built-in route or the backend (request.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "eidgate/api.h"
#include "eidgate/err.h"
#include "eidgate/forward.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "request/internal.h"

/* The client's address text, as the server took it at accept (or from the PROXY
 * header); "?" for a connection without its context (out of memory at its start). */
static void
client_address(struct MHD_Connection *conn, char *out, size_t outlen)
{
	const struct conn_ctx *cc = req_conn_context(conn);

	eg_strlcpy(out, cc != NULL && cc->addr[0] != '\0' ? cc->addr : "?", outlen);
}

/* A random prefix per gateway start and a counter: unique across restarts and
 * instances, and cheaper than random bytes per request (ids are not secrets). */
static void
new_request_id(struct gateway *gw, char *out, size_t outlen)
{
	unsigned long n = atomic_fetch_add(&gw->request_counter, 1);

	snprintf(out, outlen, "%s%016lx", gw->id_prefix, n);
}

/* A target that cannot be normalised is recorded as it came, up to its query: printable
 * bytes as they are, the rest as %XX, so the record shows what was tried without
 * carrying control characters into a terminal or a spreadsheet. */
static void
raw_path(const char *uri, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *uri != '\0' && *uri != '?' && o + 4 < outlen; uri++) {
		unsigned char c = (unsigned char)*uri;
		if (c <= 0x20 || c >= 0x7f) {
			out[o++] = '%';
			eg_hex(&c, 1, out + o);
			o += 2;
			continue;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
}

/*
 * libmicrohttpd hands us the raw request target here, before it splits off the query and
 * decodes anything; the decision must be taken on exactly what the backend will receive,
 * so the request state starts here.
 */
void *
req_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->gw = cls;
	r->conn = conn;
	r->start_us = eg_now_us();
	r->path_err = policy_normalise_path(uri, r->path, sizeof(r->path), r->query,
	    sizeof(r->query));
	if (r->path_err != EG_OK) {
		raw_path(uri, r->path, sizeof(r->path));
		r->query[0] = '\0';
	}
	return r;
}

const char *
req_capacity(const struct req_user *u)
{
	return u->org != NULL && u->org->ncapacities > 0 ? u->org->capacities[0] : NULL;
}

const char *
req_scope_capacity(const struct request *r)
{
	const struct dir_org *o = r->scope_org;

	if (o != NULL && o->found && o->ncapacities > 0)
		return o->capacities[0];
	return req_capacity(&r->user);
}

/* What the decision learnt from the directory goes into its record, so that a replay
 * decides on the same facts; an answer that does not fit is left out (a replay then
 * sees that facility as unknown, and says the decision differs). */
static void
consulted(struct request *r, const char *facility, const char *org)
{
	size_t len = strlen(r->consulted);
	struct rec_text t = { r->consulted, sizeof(r->consulted), len };

	if (record_text_pair(&t, facility, org) != 0)
		r->consulted[len] = '\0';
}

static const char *
facility_org_cb(void *arg, const char *facility)
{
	struct request *r = arg;
	const struct dir_facility *f = NULL;

	if (dir_facility(r->gw->dir, facility, &f) != EG_OK || f == NULL)
		return NULL;
	if (!f->found) {
		dir_release(f);
		consulted(r, facility, NULL);
		return NULL;
	}
	/* Copied into the request: the decision uses it at once, the entry may go. */
	eg_strlcpy(r->facility_org, f->org, sizeof(r->facility_org));
	dir_release(f);
	consulted(r, facility, r->facility_org);
	return r->facility_org;
}

/* The organisation the request is about, for its capacity: the acting one when it is
 * the same (no lookup), else the directory's (cached; unknown is no capacity, not an
 * error: the decision is taken already). */
static void
scope_org(struct request *r)
{
	const char *org = r->decision.scope.org;

	if (org[0] == '\0')
		return;
	if (r->user.org != NULL && strcmp(r->user.org->id, org) == 0) {
		dir_retain(r->user.org);
		r->scope_org = r->user.org;
		return;
	}
	if (dir_org(r->gw->dir, org, &r->scope_org) != EG_OK)
		r->scope_org = NULL;
}

/* The user of r as the policy sees them. */
static void
subject_of(struct request *r, struct eg_subject *s)
{
	const struct req_user *u = &r->user;

	memset(s, 0, sizeof(*s));
	s->authenticated = u->authenticated;
	if (u->person != NULL) {
		s->grants = u->person->grants;
		s->ngrants = u->person->ngrants;
	}
	s->context_facility = u->context_facility[0] ? u->context_facility : NULL;
	s->context_org = u->context_org[0] ? u->context_org : NULL;
	if (u->org != NULL) {
		s->capacities = u->org->capacity_ptrs;
		s->ncapacities = u->org->ncapacities;
	}
	s->facility_org = facility_org_cb;
	s->facility_org_arg = r;
}

static void
decide(struct request *r)
{
	struct eg_subject s;

	subject_of(r, &s);
	r->consulted[0] = '\0';
	policy_decide(r->snap->policy, r->method, r->path, &s, &r->decision);
	r->policy_decided = 1;
	scope_org(r);
}

int
req_would_allow(struct request *r, const char *method, const char *path)
{
	struct policy_decision d;
	struct eg_subject s;

	subject_of(r, &s);
	policy_decide(r->snap->policy, method, path, &s, &d);
	return d.allow;
}

static enum MHD_Result
count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	framing_field(cls, key, value);
	return MHD_YES;
}

/* How the body is framed (request/framing.c), read once from the headers into
 * r->has_body and r->body_len (-1: chunked); -1 when it is ambiguous. */
static int
read_framing(struct request *r, const char *version)
{
	struct framing f;

	framing_init(&f);
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, &f);
	return framing_decide(&f, version, &r->has_body, &r->body_len);
}

static int
is_safe_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

static int
origin_listed(const char *origin, const struct policy_backend *b)
{
	size_t i;

	for (i = 0; b != NULL && i < b->norigins; i++)
		if (strcmp(origin, b->origins[i]) == 0)
			return 1;
	return 0;
}

/*
 * A browser sends the card's certificate, and the cookie where it may, with any site's
 * requests to the gateway (PRODUCT.md §6): a page elsewhere must not change anything in
 * the card holder's name. So a state-changing request authenticated by either comes from
 * the gateway's own pages (Origin is the gateway's, Sec-Fetch-Site same-origin or none)
 * or from a site the backend lists; Bearer clients hold a token no page elsewhere can
 * read, and clients that send neither header are not browsers.
 */
static int
cross_site(const struct request *r, const struct policy_backend *b)
{
	const char *sfs = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	int listed = origin != NULL && origin_listed(origin, b);

	if (!r->user.authenticated || r->user.via_bearer || is_safe_method(r->method))
		return 0;
	if (origin != NULL && strcmp(origin, r->gw->origin) != 0 && !listed)
		return 1;
	if (sfs != NULL && (strcmp(sfs, "cross-site") == 0 || strcmp(sfs, "same-site") == 0))
		return !listed;
	return 0;
}

/* The name of the parameter at p (up to '=', '&', ';' or the end), percent-decoded and
 * '+' as space, into out; "" when it is longer than out. Returns where the parameter
 * ends. */
static const char *
param_name(const char *p, char *out, size_t outlen)
{
	size_t o = 0;
	int hi, lo;

	for (; *p != '\0' && *p != '=' && *p != '&' && *p != ';'; p++) {
		char c = *p;
		if (c == '%' && (hi = eg_hexval(p[1])) >= 0 && (lo = eg_hexval(p[2])) >= 0) {
			c = (char)(hi << 4 | lo);
			p += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 < outlen)
			out[o++] = c;
		else
			o = outlen;
	}
	out[o < outlen ? o : 0] = '\0';
	return p + strcspn(p, "&;");
}

/* Does the query carry a _method parameter (as Rails, Laravel and others read it, once
 * decoded)? A backend that honours it would run a DELETE the policy saw as a POST. */
static int
query_overrides_method(const char *q)
{
	char name[16];

	while (*q != '\0') {
		q = param_name(q, name, sizeof(name));
		if (strcmp(name, "_method") == 0)
			return 1;
		if (*q != '\0')
			q++;
	}
	return 0;
}

int
req_collect_body(struct request *r, const char *upload, size_t *upload_size, size_t max)
{
	char *nb;

	if (*upload_size == 0)
		return 1;
	if (r->body_size + *upload_size > max) {
		r->body_too_big = 1;
	} else if ((nb = realloc(r->body, r->body_size + *upload_size + 1)) != NULL) {
		memcpy(nb + r->body_size, upload, *upload_size);
		r->body = nb;
		r->body_size += *upload_size;
		r->body[r->body_size] = '\0';
	} else {
		r->body_too_big = 1;
	}
	*upload_size = 0;
	return 0;
}

/* An HTML form's body: its fields are parameters a backend reads like the query's, a
 * _method among them; so it is read whole (they are small) and checked before it goes. */
static int
is_form(const struct request *r)
{
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");

	return r->has_body && r->body_len != 0 && ct != NULL &&
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

int
req_form_overrides_method(const struct request *r)
{
	return is_form(r) && query_overrides_method(r->body != NULL ? r->body : "");
}

/* The rest of a form's body, then the check, then forwarding with the body read. */
static enum MHD_Result
continue_form(struct request *r, const char *upload, size_t *upload_size)
{
	if (!req_collect_body(r, upload, upload_size, EG_MAX_FORM_BODY))
		return MHD_YES;
	if (r->body_too_big)
		return respond_refused(r, REC_REQUEST, 413, EG_ERR_TOO_BIG, NULL);
	if (query_overrides_method(r->body != NULL ? r->body : ""))
		return respond_refused(r, REC_REQUEST, 400, EG_ERR_METHOD_OVERRIDE, NULL);
	return forward_start(r, r->decision.backend);
}

static enum MHD_Result
refuse_cross_site(struct request *r)
{
	return respond_refused(r, REC_REQUEST, 403, EG_ERR_CROSS_SITE, NULL);
}

static enum MHD_Result
start_request(struct request *r, const char *method, const char *upload, size_t *upload_size)
{
	r->snap = gw_snapshot_get(r->gw);
	new_request_id(r->gw, r->id, sizeof(r->id));
	client_address(r->conn, r->client, sizeof(r->client));
	eg_strlcpy(r->method, method, sizeof(r->method));
	identify_client(r);
	if (!policy_method_known(r->method))
		return respond_refused(r, REC_REQUEST, 405, EG_ERR_PARSE, "msg.method-unsupported");
	if (r->path_err != EG_OK)
		return respond_refused(r, REC_REQUEST, 400, EG_ERR_BAD_PATH, NULL);
	if (r->framing_err)
		return respond_refused(r, REC_REQUEST, 400, EG_ERR_BAD_FRAMING, NULL);
	if (r->user.auth_err == EG_OK)
		identify_person(r);
	if (r->user.auth_err == EG_ERR_DIRECTORY)
		return respond_refused(r, REC_REQUEST, 503, EG_ERR_DIRECTORY, NULL);
	if (r->user.auth_err == EG_ERR_AUDIT)
		return respond_audit_unavailable(r);
	if (r->user.auth_err == EG_ERR_KEYS)
		return respond_refused(r, REC_REQUEST, 503, EG_ERR_KEYS, NULL);
	if (r->user.session_revoked) {
		if (record_session_end(r, REC_SESSION_REVOKED, r->user.auth_err,
		    r->user.sess.created + r->snap->cfg.absolute_timeout_ms / 1000, NULL) != EG_OK)
			return respond_audit_unavailable(r);
		return respond_error(r, 403, eg_err_code(r->user.auth_err), "msg.session-revoked");
	}
	if (r->user.auth_err == EG_ERR_SESSION || r->user.auth_err == EG_ERR_SESSION_EXPIRED ||
	    r->user.auth_err == EG_ERR_SESSION_ENDED ||
	    r->user.auth_err == EG_ERR_SESSION_UNCHECKED)
		return respond_refused(r, REC_LOGIN_REFUSED, 401, r->user.auth_err, NULL);
	if (r->user.auth_err != EG_OK && r->user.auth_err != EG_ERR_NO_CERT)
		return respond_refused(r, REC_LOGIN_REFUSED, 403, r->user.auth_err, NULL);
	if (policy_path_is_builtin(r->path))
		return cross_site(r, NULL) ? refuse_cross_site(r) :
		    route_request(r, upload, upload_size);
	decide(r);
	if (!r->decision.allow && route_unrouted(r)) {
		r->policy_decided = 0;  /* the gateway's own answer, not the policy's */
		return route_request(r, upload, upload_size);
	}
	if (!r->decision.allow) {
		if (!r->user.authenticated)
			return respond_refused(r, REC_REQUEST, 401, EG_ERR_NO_CERT, NULL);
		return respond_refused(r, REC_REQUEST, 403, r->decision.reason, NULL);
	}
	if (cross_site(r, r->decision.backend))
		return refuse_cross_site(r);
	if (query_overrides_method(r->query))
		return respond_refused(r, REC_REQUEST, 400, EG_ERR_METHOD_OVERRIDE, NULL);
	if (r->decision.signed_intent)
		return intent_start(r);
	if (is_form(r)) {
		r->phase = REQ_FORM;        /* the body comes with the calls that follow */
		return MHD_YES;
	}
	return forward_start(r, r->decision.backend);
}

enum MHD_Result
req_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)url;
	if (r == NULL)
		return MHD_NO;
	r->conn = conn;
	switch (r->phase) {
	case REQ_NEW:
		/*
		 * libmicrohttpd 0.9.75 closes the connection after any response queued in the
		 * first call of a request, body or not, so every refusal and built-in page
		 * would cost the client a new TLS handshake. A request without a body starts
		 * on the second call, which libmicrohttpd makes at once (a Content-Length of 0
		 * is no body). One with a body starts now: its upload must stream, and closing
		 * after an early refusal is right for a body nobody will read.
		 */
		r->framing_err = read_framing(r, version) != 0;
		if (!r->framing_err && (!r->has_body || r->body_len == 0)) {
			r->phase = REQ_HEADERS;
			return MHD_YES;
		}
		/* FALLTHROUGH */
	case REQ_HEADERS:
		r->phase = REQ_STARTED;
		return start_request(r, method, upload_data, upload_data_size);
	case REQ_STARTED:
		return route_request(r, upload_data, upload_data_size);
	case REQ_FORM:
		return continue_form(r, upload_data, upload_data_size);
	case REQ_INTENT:
		return intent_continue(r, upload_data, upload_data_size);
	case REQ_FORWARDING:
		return forward_continue(r, upload_data, upload_data_size);
	case REQ_RESPONDED:
		break;
	}
	/* Already answered: swallow whatever body is still arriving. */
	*upload_data_size = 0;
	return MHD_YES;
}

void
req_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)conn;
	if (r == NULL)
		return;
	*con_cls = NULL;
	forward_done(r, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
	free(r->body);
	free(r->intent_ev);
	free(r->intent_cert);
	api_job_free(r->job);
	dir_release(r->user.person);
	dir_release(r->user.org);
	dir_release(r->scope_org);
	free(r->user.set_cookie);
	explicit_bzero(&r->user.sess, sizeof(r->user.sess));
	if (r->snap != NULL)
		gw_snapshot_put(r->snap);
	free(r);
}
