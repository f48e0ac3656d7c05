/*
 * forward.c - the libmicrohttpd side of a forwarded request: building the upstream
 * request, feeding the upload, answering from the backend's response. Owns the
 * transfer's request and client blocks (internal.h), and is the only file that suspends
 * or resumes a client's connection, so that `waiting` always says why it is suspended.
 * The backend side is exchange.c over a connection of conn.c; upstream.c runs the
 * transfer on its worker.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/metrics.h"
#include "eidgate/util.h"
#include "eidgate/forward.h"
#include "eidgate/pages.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "forward/internal.h"

int
hop_by_hop(const char *name, size_t len)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
		"trailer", "transfer-encoding", "upgrade", "proxy-connection", NULL,
	};
	size_t i;

	for (i = 0; hop[i] != NULL; i++)
		if (strlen(hop[i]) == len && strncasecmp(hop[i], name, len) == 0)
			return 1;
	return 0;
}

/* Headers the client may not send on: hop-by-hop ones, the framing and Host, which
 * eidgate writes itself, and every identity header, which only eidgate may set. */
static int
drop_request_header(const char *name)
{
	/* The override headers: a backend that honours them would run another method or
	 * path than the one the policy decided on (a "deny DELETE" bypassed by a POST). */
	static const char *const exact[] = {
		"host", "content-length", "expect", "forwarded", "x-request-id", "x-real-ip",
		"authorization", "x-http-method-override", "x-method-override", "x-http-method",
		"x-original-url", "x-rewrite-url", "x-original-method", NULL,
	};
	size_t i;

	/* CGI-style backends read "X-Eidgate_Nrn" and "X-Eidgate-Nrn" alike (both become
	 * HTTP_X_EIDGATE_NRN): a name with an underscore could smuggle an identity header
	 * past the prefix checks, so such headers never pass (nginx drops them too). */
	if (strchr(name, '_') != NULL || hop_by_hop(name, strlen(name)))
		return 1;
	for (i = 0; exact[i] != NULL; i++)
		if (strcasecmp(name, exact[i]) == 0)
			return 1;
	return strncasecmp(name, "x-eidgate-", 10) == 0 ||
	    strncasecmp(name, "x-forwarded-", 12) == 0 || strncasecmp(name, "proxy-", 6) == 0;
}

/* Is name listed in the client's Connection header? Those are hop-by-hop too. */
static int
named_in_connection(const char *connection, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = connection;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nlen) == 0 &&
		    (p[nlen] == '\0' || p[nlen] == ',' || p[nlen] == ' ' || p[nlen] == '\t'))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

/* Removes eidgate's own session cookie from a Cookie header value. */
static void
strip_session_cookie(const char *in, char *out, size_t outlen)
{
	const char *p = in;
	size_t o = 0;

	out[0] = '\0';
	while (*p != '\0') {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len > 0 && *p == ' ') {
			p++;
			len--;
		}
		if (len > 0 && strncasecmp(p, "__Host-eidgate=", 15) != 0 && o + len + 3 < outlen) {
			if (o > 0) {
				out[o++] = ';';
				out[o++] = ' ';
			}
			memcpy(out + o, p, len);
			o += len;
			out[o] = '\0';
		}
		p += len;
		if (*p == ';')
			p++;
	}
}

/* A field line for the backend; a name or value that could break the line (CR, LF,
 * NUL, other control characters) is not sent at all. */
static int
field_ok(const char *name, const char *value)
{
	const unsigned char *p;

	if (*name == '\0')
		return 0;
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p <= 0x20 || *p == ':' || *p == 0x7f)
			return 0;
	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

static void
add_field(struct hbuf *h, const char *name, const char *value)
{
	if (!field_ok(name, value)) {
		log_info("header %.64s not passed on: control characters", name);
		return;
	}
	hbuf_adds(h, name);
	hbuf_add(h, ": ", 2);
	hbuf_adds(h, value);
	hbuf_add(h, "\r\n", 2);
}

struct hdr_copy {
	struct hbuf *head;
	const char *connection;
};

static enum MHD_Result
copy_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hdr_copy *hc = cls;
	char cookie[EG_MAX_HEADER];

	(void)kind;
	if (value == NULL || drop_request_header(key) ||
	    (hc->connection != NULL && named_in_connection(hc->connection, key)))
		return MHD_YES;
	if (strcasecmp(key, "cookie") == 0) {
		strip_session_cookie(value, cookie, sizeof(cookie));
		if (cookie[0] == '\0')
			return MHD_YES;
		value = cookie;
	}
	add_field(hc->head, key, value);
	return MHD_YES;
}

/* identity=headers: plain headers for backends that cannot verify a JWS. Values come from
 * a verified certificate and the directory; control characters were replaced there. */
static void
add_identity_headers(struct request *r, struct hbuf *h)
{
	const struct req_user *u = &r->user;
	const char *org, *fac;

	assertion_place(r, &org, &fac);
	add_field(h, "X-Eidgate-Nrn", u->id.nrn);
	add_field(h, "X-Eidgate-Name", u->id.name);
	add_field(h, "X-Eidgate-Org", org);
	add_field(h, "X-Eidgate-Facility", fac);
}

/*
 * The request as the backend receives it: the decided path (nothing else: the policy
 * saw exactly this) under the backend's own prefix, the client's headers that may pass,
 * the framing of the body and eidgate's own headers.
 */
/* The request's head as the backend gets it. EG_OK, EG_ERR_KEYS when the assertion
 * cannot be signed (the key process is gone), or -1. */
static int
build_head(struct request *r, const struct policy_backend *b, struct upstream_xfer *x,
    int64_t body_len)
{
	struct hdr_copy hc = { &x->req.head, NULL };
	struct hbuf *h = &x->req.head;
	char num[32];
	char *jws = NULL;
	int rc;

	hbuf_adds(h, r->method);
	hbuf_add(h, " ", 1);
	hbuf_adds(h, b->url + b->path_at);
	hbuf_adds(h, r->path);
	if (r->query[0] != '\0') {
		hbuf_add(h, "?", 1);
		hbuf_adds(h, r->query);
	}
	hbuf_adds(h, " HTTP/1.1\r\nHost: ");
	hbuf_adds(h, b->authority);
	hbuf_add(h, "\r\n", 2);
	hc.connection = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Connection");
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, copy_header, &hc);
	if (x->req.has_body) {
		if (body_len >= 0) {
			snprintf(num, sizeof(num), "%lld", (long long)body_len);
			add_field(h, "Content-Length", num);
		} else {
			add_field(h, "Transfer-Encoding", "chunked");
		}
	}
	add_field(h, "X-Request-Id", r->id);
	add_field(h, "X-Forwarded-For", r->client);
	add_field(h, "X-Forwarded-Proto", "https");
	if (r->user.authenticated) {
		if (b->identity == POLICY_IDENTITY_HEADERS) {
			add_identity_headers(r, h);
		} else {
			if ((rc = assertion_make(r, b, &jws)) != EG_OK)
				return rc == EG_ERR_KEYS ? rc : -1;
			add_field(h, "X-Eidgate-Assertion", jws);
			free(jws);
		}
	}
	return h->failed ? -1 : 0;
}

/*
 * The end of the head, once the decision is recorded: where its record is, so that the
 * backend can ask for a receipt later (audit.h, "Decision receipts"). Only the instance
 * and seq: with sync = group the writer computes the record's hash when its batch
 * commits, which may be after the request went out. The assertion is reused across
 * requests, so the position has a header of its own.
 */
static int
end_head(struct request *r, struct upstream_xfer *x)
{
	struct hbuf *h = &x->req.head;
	char pos[REC_POSITION_MAX];

	if (record_position(r, pos, sizeof(pos)) != EG_OK)
		return -1;
	add_field(h, "X-Eidgate-Record", pos);
	hbuf_add(h, "\r\n", 2);
	return h->failed ? -1 : 0;
}

/* Connect timeout when the backend line names no timeout; its read timeout then is
 * DEFAULT_TIMEOUT_MS of silence. */
#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_TIMEOUT_MS 30000
/* libmicrohttpd's buffer for a streamed response; small bodies get their own size
 * (it is allocated and zeroed per response, which perf showed for 1 KiB bodies). */
#define RESPONSE_BLOCK (32 * 1024)

static int
client_fd(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci != NULL ? ci->connect_fd : -1;
}

/* The request block, set once before the transfer is submitted. */
static void
set_request(struct upstream_xfer *x, const struct request *r, const struct policy_backend *b,
    uint64_t max_body)
{
	struct xfer_request *q = &x->req;

	q->has_body = r->has_body;
	q->up_length = r->has_body ? r->body_len : 0;
	q->max_body = max_body;
	q->is_head = strcmp(r->method, "HEAD") == 0;
	q->idempotent = q->is_head || strcmp(r->method, "GET") == 0 ||
	    strcmp(r->method, "OPTIONS") == 0;
	q->timeout_ms = b->timeout_ms > 0 ? b->timeout_ms : DEFAULT_TIMEOUT_MS;
	q->connect_timeout_ms = b->timeout_ms > 0 ? b->timeout_ms : DEFAULT_CONNECT_MS;
	q->target.tls = b->tls;
	eg_strlcpy(q->target.host, b->host, sizeof(q->target.host));
	eg_strlcpy(q->target.port, b->port, sizeof(q->target.port));
}

/* Nothing reaches a backend without a signed assertion: with the key process gone the
 * request is refused, and recorded as such. */
static enum MHD_Result
refuse_unsigned(struct request *r)
{
	if (record_decision(r, REC_REQUEST, 0, EG_ERR_KEYS, NULL, 503, 0) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_error(r, 503, "keys-unavailable", NULL);
}

static enum MHD_Result
refuse_too_big(struct request *r)
{
	if (record_decision(r, REC_REQUEST, 0, EG_ERR_TOO_BIG, NULL, 413, 0) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_error(r, 413, "body-too-large", NULL);
}

/* A body the pipeline read whole (a form, checked before it goes): all of it is in the
 * upload ring before the transfer starts (it is smaller than the ring). */
static void
send_read_body(struct request *r, struct upstream_xfer *x)
{
	x->client.up_total = ring_put(&x->up, r->body, r->body_size);
	x->client.up_done = 1;
}

/* The answer is settled: what the outcome record will say (the first word stays). */
static void
settle(struct upstream_xfer *x, int status, const char *end)
{
	if (x->client.end != NULL)
		return;
	x->client.status = status;
	x->client.end = end;
}

/*
 * The outcome record of a forwarded request, when it completes: how it ended, with the
 * bytes the client was given (not what the backend announced). A body the backend
 * broke off, or a client that left before the end, changes a "complete".
 */
static void
record_end(struct request *r, struct upstream_xfer *x, int client_gone)
{
	const char *end = x->client.end;

	if (end == NULL || strcmp(end, "complete") == 0) {
		if (client_gone)
			end = "client-gone";
		else if (x->outcome.broken)
			end = x->outcome.fail == FAIL_TIMEOUT ? "upstream-timeout" : "backend-broken";
		else if (end == NULL)
			end = "unanswered";
	}
	(void)record_outcome(r, end, x->client.status, x->client.down_total);
}

enum MHD_Result
forward_start(struct request *r, const struct policy_backend *b)
{
	struct upstream_xfer *x;
	int64_t body_len = r->body_len;
	int has_body = r->has_body;
	uint64_t max_body = b->max_body ? b->max_body : EG_DEFAULT_MAX_BODY;
	int rc;

	if (has_body && body_len >= 0 && (uint64_t)body_len > max_body)
		return refuse_too_big(r);
	if ((x = upstream_xfer_new(r->gw->upstream, r->conn)) == NULL)
		goto fail;
	x->client.conn = r->conn;
	x->client.fd = client_fd(r->conn);
	set_request(x, r, b, max_body);
	if ((rc = build_head(r, b, x, body_len)) != 0) {
		upstream_xfer_put(x);
		if (rc == EG_ERR_KEYS)
			return refuse_unsigned(r);
		goto fail;
	}
	if (r->body != NULL)
		send_read_body(r, x);
	/* The decision is in the log before a byte goes to the backend (PRODUCT.md §7):
	 * committed with sync = full, accepted into the batch with group. */
	if (record_decision(r, REC_REQUEST, 1, EG_OK, NULL, 0, 0) != EG_OK) {
		upstream_xfer_put(x);
		(void)record_outcome(r, "audit-unavailable", 503, 0);
		return respond_audit_unavailable(r);
	}
	if (end_head(r, x) != 0) {
		upstream_xfer_put(x);
		log_warnx("request %s: cannot build the backend request", r->id);
		(void)record_outcome(r, "internal", 500, 0);
		return respond_error(r, 500, "internal", NULL);
	}
	r->xfer = x;
	r->phase = REQ_FORWARDING;
	x->req.submitted_us = eg_now_us();
	if (upstream_submit(x) != 0) {
		settle(x, 500, "internal");
		log_warnx("request %s: cannot start the upstream transfer", r->id);
		return respond_error(r, 500, "internal", NULL);
	}
	return MHD_YES;
fail:
	log_warnx("request %s: cannot start the upstream transfer", r->id);
	if (record_decision(r, REC_REQUEST, 0, EG_ERR_INTERNAL, NULL, 500, 0) != EG_OK)
		return respond_audit_unavailable(r);
	return respond_error(r, 500, "internal", NULL);
}

/* ---- waking: the backend side calls, the client side acts ------------------------ */

void
client_resume(struct upstream_xfer *x, enum wait_for what)
{
	if (x->client.conn != NULL && what != WAIT_NONE && x->client.waiting == what) {
		x->client.waiting = WAIT_NONE;
		MHD_resume_connection(x->client.conn);
	}
}

/* ---- upload: client -> ring (libmicrohttpd thread) ---------------------------------- */

/*
 * Moves what fits of the client's upload into the transfer's ring; suspends the
 * connection when the ring is full. Once the answer is settled (body too large, or the
 * backend finished or failed before taking the whole body) the rest is swallowed.
 * Returns -1 when the connection must be closed (too much to swallow).
 */
static int
feed_upload(struct upstream_xfer *x, const char *data, size_t *size, int *wake_backend)
{
	struct xfer_client *c = &x->client;
	size_t take;
	int cancel = 0;

	if (c->too_big || x->outcome.done) {
		c->discarded += *size;
		*size = 0;
		return c->discarded > EG_MAX_DISCARD ? -1 : 0;
	}
	take = ring_put(&x->up, data, *size);
	c->up_total += take;
	*size -= take;
	if (c->up_total > x->req.max_body) {
		c->too_big = cancel = 1;
		*size = 0;
	} else if (take > 0 && exchange_upload_fed(x)) {
		*wake_backend = 1;
	}
	if (*size > 0 && !x->up.oom) {
		/* Ring full: wait until some of it went to the backend. */
		c->waiting = WAIT_UPLOAD_SPACE;
		MHD_suspend_connection(c->conn);
	}
	if (cancel)
		upstream_cancel(x);
	return 0;
}

static void
finish_upload(struct upstream_xfer *x)
{
	int wake = 0;

	if (!x->client.up_done) {
		x->client.up_done = 1;
		wake = exchange_upload_ended(x);
	}
	if (wake)
		upstream_unpause(x);
}

/* ---- download: ring -> client (libmicrohttpd thread) -------------------------------- */

static ssize_t
read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct upstream_xfer *x = cls;
	int wake = 0;
	ssize_t ret;
	size_t n;

	(void)pos;
	if ((n = ring_get(&x->down, buf, max)) > 0) {
		x->client.down_total += n;
		wake = exchange_download_drained(x);
		ret = (ssize_t)n;
	} else if (x->outcome.done) {
		/* A body that broke off must not look complete: with a Content-Length the
		 * client sees a short read, chunked gets no terminating chunk. */
		ret = !x->outcome.broken ? MHD_CONTENT_READER_END_OF_STREAM :
		    MHD_CONTENT_READER_END_WITH_ERROR;
		if (x->outcome.broken)
			log_warnx("backend broke off after %llu bytes: %s",
			    (unsigned long long)x->client.down_total, x->outcome.errbuf);
	} else {
		/* Nothing yet: sleep until the backend delivers (LIBNOTES: return 0 only together
		 * with a suspend, or libmicrohttpd spins). */
		x->client.waiting = WAIT_BODY;
		MHD_suspend_connection(x->client.conn);
		ret = 0;
	}
	if (wake)
		upstream_unpause(x);
	return ret;
}

static void
free_body(void *cls)
{
	upstream_xfer_put(cls);
}

static int
no_body_status(long status)
{
	return status == 204 || (status >= 100 && status < 200);
}

/* Is name listed in the backend's Connection header (hop-by-hop)? */
static int
resp_hop_by_hop(const struct upstream_xfer *x, const char *name)
{
	return x->resp.connection != NULL && named_in_connection(x->resp.connection, name);
}

/*
 * libmicrohttpd 0.9.75 sends a stray chunked body for unknown-size HEAD and 304
 * responses (LIBNOTES.md): those get a known size, which for HEAD and 304 is the
 * backend's Content-Length (libmicrohttpd then sends the header and no body).
 */
static struct MHD_Response *
make_response(struct request *r, struct upstream_xfer *x)
{
	struct MHD_Response *resp;
	struct resp_header *h;
	int64_t cl = x->resp.content_length;
	int bodyless = x->req.is_head || x->resp.status == 304;
	size_t block = cl > 0 && cl < RESPONSE_BLOCK ? (size_t)cl : RESPONSE_BLOCK;

	if (no_body_status(x->resp.status) || (bodyless && cl < 0)) {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_callback(cl >= 0 ? (uint64_t)cl : MHD_SIZE_UNKNOWN,
		    bodyless ? 1 : block, read_body, x, free_body);
		if (resp != NULL)
			upstream_xfer_hold(x);
	}
	if (resp == NULL)
		return NULL;
	for (h = x->resp.headers; h != NULL; h = h->next)
		if (!resp_hop_by_hop(x, h->name))
			MHD_add_response_header(resp, h->name, h->value);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	websession_add_cookie(r, resp);
	return resp;
}

/*
 * The transfer ended without an answer to pass on. A refused or timed-out connect is an
 * unreachable backend (502); a backend that accepted the request and then stayed silent
 * past its timeout is a slow one (504). Neither answer shows the reason to the client.
 */
static enum MHD_Result
answer_upstream_failure(struct request *r, struct upstream_xfer *x)
{
	int slow = x->outcome.fail == FAIL_TIMEOUT && x->backend.connected;
	const char *bname = r->decision.backend->name;

	metrics_count(r->gw->metrics, MC_UPSTREAM_ERRORS);
	if (x->outcome.fail == FAIL_CLIENT_GONE) {
		log_info("request %s: client went away while backend %s worked on it", r->id, bname);
		settle(x, 0, "client-gone");
		return MHD_NO;
	}
	if (slow)
		log_warnx("request %s: backend %s: no answer within %lld ms", r->id, bname,
		    (long long)x->req.timeout_ms);
	else
		log_warnx("request %s: backend %s: %s", r->id, bname, x->outcome.errbuf);
	settle(x, slow ? 504 : 502, slow ? "upstream-timeout" : "upstream-unreachable");
	return slow ? respond_error(r, 504, "upstream-timeout", NULL) :
	    respond_error(r, 502, "upstream-unreachable", NULL);
}

static enum MHD_Result
answer_from_upstream(struct request *r, struct upstream_xfer *x)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if ((resp = make_response(r, x)) == NULL) {
		upstream_cancel(x);
		settle(x, 500, "internal");
		return respond_error(r, 500, "internal", NULL);
	}
	metrics_observe(r->gw->metrics, MH_BACKEND, (uint64_t)(eg_now_us() - x->req.submitted_us));
	/* "complete" until the body's end says otherwise (forward_done). */
	settle(x, (int)x->resp.status, "complete");
	ret = MHD_queue_response(r->conn, (unsigned)x->resp.status, resp);
	MHD_destroy_response(resp);
	x->client.responding = 1;
	r->phase = REQ_RESPONDED;
	return ret;
}

/* The body has arrived (or there was none): answer once the backend's headers are in,
 * suspending until then. */
static enum MHD_Result
answer_when_ready(struct request *r, struct upstream_xfer *x)
{
	int ready, done, too_big;

	if (x->req.has_body)
		finish_upload(x);
	too_big = x->client.too_big;
	ready = x->resp.headers_ready && !too_big;
	done = x->outcome.done;
	if (!too_big && !ready && !done) {
		x->client.waiting = WAIT_HEADERS;
		MHD_suspend_connection(r->conn);
	}
	if (too_big) {
		/* Decided and forwarded already: the 413 is this request's outcome. */
		settle(x, 413, "body-too-large");
		return respond_error(r, 413, "body-too-large", NULL);
	}
	if (ready)
		return answer_from_upstream(r, x);
	if (done)
		return answer_upstream_failure(r, x);
	return MHD_YES;
}

/*
 * The answer was settled (the body too large, or the transfer over) while the client
 * went on sending more than is worth swallowing; libmicrohttpd 0.9.75 cannot answer
 * before it has read the whole body, so the connection closes unanswered. Its record
 * names the answer the client would have had.
 */
static void
record_unanswered(struct request *r, struct upstream_xfer *x)
{
	int slow = x->outcome.fail == FAIL_TIMEOUT && x->backend.connected;

	log_info("request %s: closing: too much upload after the answer was settled", r->id);
	if (x->client.too_big)
		settle(x, 413, "body-too-large");
	else if (x->outcome.broken)
		settle(x, slow ? 504 : 502, slow ? "upstream-timeout" : "upstream-unreachable");
	else
		settle(x, (int)x->resp.status, "upload-not-read");
}

enum MHD_Result
forward_continue(struct request *r, const char *upload, size_t *upload_size)
{
	struct upstream_xfer *x = r->xfer;
	int wake = 0;

	if (*upload_size == 0)
		return answer_when_ready(r, x);
	if (!x->req.has_body) {         /* body on a request declared without one */
		x->client.discarded += *upload_size;
		*upload_size = 0;
		if (x->client.discarded <= EG_MAX_DISCARD)
			return MHD_YES;
		record_unanswered(r, x);
		r->phase = REQ_RESPONDED;
		return MHD_NO;
	}
	if (feed_upload(x, upload, upload_size, &wake) != 0) {
		record_unanswered(r, x);
		r->phase = REQ_RESPONDED;
		return MHD_NO;
	}
	if (wake)
		upstream_unpause(x);
	return MHD_YES;
}

void
forward_done(struct request *r, int client_gone)
{
	struct upstream_xfer *x = r->xfer;
	int running;

	if (x == NULL)
		return;
	record_end(r, x, client_gone);
	x->client.conn = NULL;
	x->client.waiting = WAIT_NONE;
	running = !x->outcome.done;
	if (running && client_gone)
		upstream_cancel(x);
	r->xfer = NULL;
	upstream_xfer_put(x);
}
