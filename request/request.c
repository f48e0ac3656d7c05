/*
 * request.c - the pipeline of one request: target normalisation, identification,
 * directory, policy, then a built-in route or the backend (request.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "eidgate/err.h"
#include "eidgate/forward.h"
#include "eidgate/log.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/util.h"
#include "request/internal.h"

static void
client_address(struct MHD_Connection *conn, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	eg_strlcpy(out, "?", outlen);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		    (socklen_t)outlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)outlen);
}

/* A random prefix per gateway start and a counter: unique across restarts and
 * instances, and cheaper than random bytes per request (ids are not secrets). */
static void
new_request_id(struct gateway *gw, char *out, size_t outlen)
{
	unsigned long n = atomic_fetch_add(&gw->request_counter, 1);

	snprintf(out, outlen, "%s%016lx", gw->id_prefix, n);
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
		eg_strlcpy(r->path, "?", sizeof(r->path));
		r->query[0] = '\0';
	}
	return r;
}

const char *
req_capacity(const struct req_user *u)
{
	return u->org != NULL && u->org->ncapacities > 0 ? u->org->capacities[0] : NULL;
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
		return NULL;
	}
	/* Copied into the request: the decision uses it at once, the entry may go. */
	eg_strlcpy(r->facility_org, f->org, sizeof(r->facility_org));
	dir_release(f);
	return r->facility_org;
}

static void
decide(struct request *r)
{
	struct eg_subject s;
	const struct req_user *u = &r->user;

	memset(&s, 0, sizeof(s));
	s.authenticated = u->authenticated;
	if (u->person != NULL) {
		s.grants = u->person->grants;
		s.ngrants = u->person->ngrants;
	}
	s.context_facility = u->context_facility[0] ? u->context_facility : NULL;
	s.context_org = u->context_org[0] ? u->context_org : NULL;
	if (u->org != NULL) {
		s.capacities = u->org->capacity_ptrs;
		s.ncapacities = u->org->ncapacities;
	}
	s.facility_org = facility_org_cb;
	s.facility_org_arg = r;
	policy_decide(r->snap->policy, r->method, r->path, &s, &r->decision);
}

/*
 * How the body is framed, read once from the headers into r->has_body and r->body_len
 * (-1: chunked). -1 when it is ambiguous: Transfer-Encoding together with Content-Length
 * is how requests are smuggled past a proxy (RFC 9112 §6.3), any coding but chunked is
 * one libmicrohttpd would not decode, and libmicrohttpd takes lengths up to 2^64-1 where
 * eidgate holds what fits in int64_t. Transfer-Encoding wins otherwise: libmicrohttpd
 * decodes a chunked body whatever a Content-Length says.
 */
static int
read_framing(struct request *r)
{
	const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Transfer-Encoding");
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
	long long v = 0;

	r->body_len = -1;
	r->has_body = te != NULL || cl != NULL;
	if (cl != NULL && eg_strtonum(cl, 0, INT64_MAX, &v) != EG_OK)
		return -1;
	if (te != NULL)
		return strcasecmp(te, "chunked") != 0 || cl != NULL ? -1 : 0;
	if (cl != NULL)
		r->body_len = v;
	return 0;
}

static enum MHD_Result
start_request(struct request *r, const char *method, const char *upload, size_t *upload_size)
{
	r->snap = gw_snapshot_get(r->gw);
	new_request_id(r->gw, r->id, sizeof(r->id));
	client_address(r->conn, r->client, sizeof(r->client));
	eg_strlcpy(r->method, method, sizeof(r->method));
	if (!policy_method_known(r->method))
		return respond_refused(r, REC_REQUEST, 405, EG_ERR_PARSE, "This method is not supported.");
	if (r->path_err != EG_OK)
		return respond_refused(r, REC_REQUEST, 400, EG_ERR_BAD_PATH, "The request path is not acceptable.");
	if (r->framing_err)
		return respond_refused(r, REC_REQUEST, 400, EG_ERR_PARSE, "The request's length is ambiguous.");
	identify_user(r);
	if (r->user.auth_err == EG_ERR_DIRECTORY)
		return respond_refused(r, REC_REQUEST, 503, EG_ERR_DIRECTORY,
		    "The directory is unavailable; please try again later.");
	if (r->user.auth_err == EG_ERR_AUDIT)
		return respond_audit_unavailable(r);
	if (r->user.auth_err == EG_ERR_SESSION || r->user.auth_err == EG_ERR_SESSION_EXPIRED)
		return respond_refused(r, REC_LOGIN_REFUSED, 401, r->user.auth_err,
		    "Your session is not valid any more; please log in again.");
	if (r->user.auth_err != EG_OK && r->user.auth_err != EG_ERR_NO_CERT)
		return respond_refused(r, REC_LOGIN_REFUSED, 403, r->user.auth_err,
		    "Your certificate or session is not accepted for login.");
	if (policy_path_is_builtin(r->path))
		return route_request(r, upload, upload_size);
	decide(r);
	if (!r->decision.allow) {
		if (!r->user.authenticated)
			return respond_refused(r, REC_REQUEST, 401, EG_ERR_NO_CERT,
			    "Please log in with your eID card.");
		return respond_refused(r, REC_REQUEST, 403, r->decision.reason,
		    "You do not have the rights for this request.");
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
	(void)version;
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
		r->framing_err = read_framing(r) != 0;
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
	route_request_done(r);
	dir_release(r->user.person);
	dir_release(r->user.org);
	free(r->user.set_cookie);
	explicit_bzero(&r->user.sess, sizeof(r->user.sess));
	if (r->snap != NULL)
		gw_snapshot_put(r->snap);
	free(r);
}
