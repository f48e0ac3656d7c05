/*
 * request.c - the pipeline of one request: target normalisation, identification,
 * directory, policy, then a built-in page or the backend; and its access-log record.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "eidgate/audit.h"
#include "eidgate/err.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "eidgate/request.h"

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

/* The fields every record of this request shares: who, from where, what, when. */
static void
record_base(const struct request *r, struct audit_record *rec, const char *kind, int allow,
    const char *reason)
{
	const struct req_user *u = &r->user;

	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	rec->request_id = r->id;
	rec->client = r->client;
	rec->nrn = u->id.nrn[0] ? u->id.nrn : NULL;
	rec->cert_sha256 = u->id.fingerprint[0] ? u->id.fingerprint : NULL;
	rec->session = u->session_id[0] ? u->session_id : NULL;
	rec->method = r->method;
	rec->path = r->path;
	rec->decision = allow ? "allow" : "deny";
	rec->reason = reason;
	rec->latency_us = (uint64_t)(eg_now_us() - r->start_us);
}

static int
record_append(const struct request *r, const struct audit_record *rec)
{
	if (audit_append(r->gw->audit, rec, NULL) != EG_OK) {
		log_warnx("request %s: access log cannot be written: refusing", r->id);
		return EG_ERR_AUDIT;
	}
	return EG_OK;
}

int
req_audit(struct request *r, const char *kind, int allow, int reason_err,
    const char *reason_text, int upstream_status, uint64_t bytes)
{
	struct audit_record rec;
	const struct req_user *u = &r->user;

	record_base(r, &rec, kind, allow, reason_text != NULL ? reason_text :
	    eg_err_code(reason_err));
	rec.org = u->context_org[0] ? u->context_org : NULL;
	rec.facility = u->context_facility[0] ? u->context_facility : NULL;
	rec.capacity = req_capacity(u);
	rec.rule = r->decision.rule;
	rec.backend = r->decision.backend != NULL ? r->decision.backend->name : NULL;
	rec.policy_version = r->snap != NULL && r->snap->policy != NULL ?
	    policy_version(r->snap->policy) : NULL;
	rec.upstream_status = upstream_status;
	rec.bytes = bytes;
	atomic_fetch_add(allow ? &r->gw->stat_allowed : &r->gw->stat_denied, 1);
	if (strcmp(kind, "request") == 0)
		r->decided = 1;
	return record_append(r, &rec);
}

/* The organisation (and facility) a rights change belongs to, so that the
 * organisation's security officers see it. */
static void
scope_place(struct request *r, const char *scope, char *org, char *fac)
{
	const struct dir_facility *f = NULL;

	org[0] = fac[0] = '\0';
	if (scope == NULL)
		return;
	if (strncmp(scope, "organisation:", 13) == 0) {
		eg_strlcpy(org, scope + 13, EG_MAX_ID);
	} else if (strncmp(scope, "facility:", 9) == 0 &&
	    dir_facility(r->gw->dir, scope + 9, &f) == EG_OK && f->found) {
		eg_strlcpy(org, f->org, EG_MAX_ID);
		eg_strlcpy(fac, f->id, EG_MAX_ID);
	}
	dir_release(f);
}

int
req_audit_rights(struct request *r, int allow, const char *reason, const char *action,
    const char *target, const char *role, const char *scope)
{
	struct audit_record rec;
	char org[EG_MAX_ID], fac[EG_MAX_ID];

	scope_place(r, scope, org, fac);
	record_base(r, &rec, "rights", allow, reason);
	rec.org = org[0] ? org : NULL;
	rec.facility = fac[0] ? fac : NULL;
	rec.actor = rec.nrn;
	rec.action = action;
	rec.target = target;
	rec.role = role;
	rec.scope = scope;
	return record_append(r, &rec);
}

int
req_audit_builtin(struct request *r, const char *what)
{
	return req_audit(r, "request", 1, EG_OK, what, 0, 0);
}

const char *
req_capacity(const struct req_user *u)
{
	return u->org != NULL && u->org->ncapacities > 0 ? u->org->capacities[0] : NULL;
}

enum MHD_Result
req_refuse(struct request *r, const char *kind, unsigned status, int err, const char *message)
{
	if (req_audit(r, kind, 0, err, NULL, 0, 0) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_error(r, status, eg_err_code(err), message);
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
		return req_refuse(r, "request", 405, EG_ERR_PARSE, "This method is not supported.");
	if (r->path_err != EG_OK)
		return req_refuse(r, "request", 400, EG_ERR_BAD_PATH, "The request path is not acceptable.");
	if (r->framing_err)
		return req_refuse(r, "request", 400, EG_ERR_PARSE, "The request's length is ambiguous.");
	identify_user(r);
	if (r->user.auth_err == EG_ERR_DIRECTORY)
		return req_refuse(r, "request", 503, EG_ERR_DIRECTORY,
		    "The directory is unavailable; please try again later.");
	if (r->user.auth_err == EG_ERR_AUDIT)
		return respond_audit_unavailable(r);
	if (r->user.auth_err == EG_ERR_SESSION || r->user.auth_err == EG_ERR_SESSION_EXPIRED)
		return req_refuse(r, "login-refused", 401, r->user.auth_err,
		    "Your session is not valid any more; please log in again.");
	if (r->user.auth_err != EG_OK && r->user.auth_err != EG_ERR_NO_CERT)
		return req_refuse(r, "login-refused", 403, r->user.auth_err,
		    "Your certificate or session is not accepted for login.");
	if (policy_path_is_builtin(r->path))
		return builtin_handle(r, upload, upload_size);
	decide(r);
	if (!r->decision.allow) {
		if (!r->user.authenticated)
			return req_refuse(r, "request", 401, EG_ERR_NO_CERT,
			    "Please log in with your eID card.");
		return req_refuse(r, "request", 403, r->decision.reason,
		    "You do not have the rights for this request.");
	}
	return upstream_start(r, r->decision.backend);
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
		return builtin_handle(r, upload_data, upload_data_size);
	case REQ_FORWARDING:
		return upstream_continue(r, upload_data, upload_data_size);
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
	upstream_request_done(r, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
	builtin_request_done(r);
	dir_release(r->user.person);
	dir_release(r->user.org);
	free(r->user.set_cookie);
	explicit_bzero(&r->user.sess, sizeof(r->user.sess));
	if (r->snap != NULL)
		gw_snapshot_put(r->snap);
	free(r);
}
