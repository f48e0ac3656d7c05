/*
 * forward.c - the libmicrohttpd side of a forwarded request: building the upstream
 * request, feeding the upload, answering from the backend's response.
 * The curl side and the shared transfer state are in upstream.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "proxy/internal.h"
#include "proxy/upstream_int.h"

/* Headers the client may not send on: hop-by-hop ones (RFC 9110 §7.6.1), ones curl
 * computes itself, and every identity header, which only eidgate may set. */
static int
drop_request_header(const char *name)
{
	static const char *const exact[] = {
		"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
		"trailer", "transfer-encoding", "upgrade", "host", "content-length", "expect",
		"forwarded", "x-request-id", "x-real-ip", "authorization", NULL,
	};
	size_t i;

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
		if (len > 0 && strncmp(p, "__Host-eidgate=", 15) != 0 && o + len + 3 < outlen) {
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

struct hdr_copy {
	struct curl_slist *list;
	const char *connection;
	int failed;
};

static enum MHD_Result
copy_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hdr_copy *hc = cls;
	char line[EG_MAX_HEADER + 128], cookie[EG_MAX_HEADER];
	struct curl_slist *l;

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
	if ((size_t)snprintf(line, sizeof(line), "%s: %s", key, value) >= sizeof(line))
		return MHD_YES;
	if ((l = curl_slist_append(hc->list, line)) == NULL) {
		hc->failed = 1;
		return MHD_NO;
	}
	hc->list = l;
	return MHD_YES;
}

static int
append_header(struct curl_slist **list, const char *name, const char *value)
{
	char line[EG_MAX_HEADER + 128];
	struct curl_slist *l;

	if ((size_t)snprintf(line, sizeof(line), "%s: %s", name, value) >= sizeof(line))
		return -1;
	if ((l = curl_slist_append(*list, line)) == NULL)
		return -1;
	*list = l;
	return 0;
}

/* identity=headers: plain headers for backends that cannot verify a JWS. Values come from
 * a verified certificate and the directory; control characters were replaced there. */
static int
add_identity_headers(struct request *r, struct curl_slist **list)
{
	const struct req_user *u = &r->user;

	return append_header(list, "X-Eidgate-Nrn", u->id.nrn) ||
	    append_header(list, "X-Eidgate-Name", u->id.name) ||
	    append_header(list, "X-Eidgate-Org", u->context_org) ||
	    append_header(list, "X-Eidgate-Facility", u->context_facility);
}

static struct curl_slist *
build_headers(struct request *r, const struct policy_backend *b)
{
	struct hdr_copy hc = { NULL, NULL, 0 };
	char *jws = NULL;
	int bad;

	hc.connection = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Connection");
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, copy_header, &hc);
	if (hc.failed)
		goto fail;
	bad = append_header(&hc.list, "Expect", "") ||
	    append_header(&hc.list, "X-Request-Id", r->id) ||
	    append_header(&hc.list, "X-Forwarded-For", r->client) ||
	    append_header(&hc.list, "X-Forwarded-Proto", "https");
	if (bad)
		goto fail;
	if (r->user.authenticated) {
		if (b->identity == POLICY_IDENTITY_HEADERS) {
			if (add_identity_headers(r, &hc.list) != 0)
				goto fail;
		} else {
			if (assertion_make(r, b, &jws) != EG_OK ||
			    append_header(&hc.list, "X-Eidgate-Assertion", jws) != 0)
				goto fail;
			free(jws);
		}
	}
	return hc.list;
fail:
	free(jws);
	curl_slist_free_all(hc.list);
	return NULL;
}

static int
request_has_body(struct request *r, int64_t *length)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
	const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Transfer-Encoding");
	long long v;

	*length = -1;
	if (cl != NULL && eg_strtonum(cl, 0, INT64_MAX, &v) == EG_OK) {
		*length = v;
		return 1;
	}
	return te != NULL;
}

static int
setup_easy(struct request *r, const struct policy_backend *b, struct upstream_xfer *x,
    int64_t body_len, int has_body)
{
	char url[EG_MAX_PATH * 2 + 1100];
	CURL *e = x->easy;
	int64_t timeout = b->timeout_ms > 0 ? b->timeout_ms : 30000;

	snprintf(url, sizeof(url), "%s%s%s%s", b->url, r->path, r->query[0] ? "?" : "", r->query);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	/* A backend that sends nothing for `timeout` is slow: 504. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)((timeout + 999) / 1000));
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, upstream_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, upstream_on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->req_headers);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (has_body) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, upstream_on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
	return 0;
}

enum MHD_Result
upstream_start(struct request *r, const struct policy_backend *b)
{
	struct upstream_xfer *x;
	int64_t body_len;
	int has_body = request_has_body(r, &body_len);
	uint64_t max_body = b->max_body ? b->max_body : EG_DEFAULT_MAX_BODY;

	if (has_body && body_len >= 0 && (uint64_t)body_len > max_body) {
		req_audit(r, "request", 0, EG_ERR_TOO_BIG, NULL, 0, 0);
		return respond_error(r, 413, "body-too-large", "The request body is too large.");
	}
	if ((x = upstream_xfer_new(r->conn, has_body)) == NULL)
		goto fail;
	x->max_body = max_body;
	x->is_head = strcmp(r->method, "HEAD") == 0;
	x->start_ms = eg_mono_ms();
	if ((x->req_headers = build_headers(r, b)) == NULL ||
	    setup_easy(r, b, x, body_len, has_body) != 0) {
		upstream_xfer_put(x);
		goto fail;
	}
	r->xfer = x;
	r->phase = REQ_FORWARDING;
	if (upstream_submit(r->gw->upstream, x) != 0)
		goto fail;
	return MHD_YES;
fail:
	log_warnx("request %s: cannot start the upstream transfer", r->id);
	req_audit(r, "request", 0, EG_ERR_INTERNAL, NULL, 0, 0);
	return respond_error(r, 500, "internal", "The gateway could not handle the request.");
}

/* ---- upload: client -> buffer (libmicrohttpd thread) -------------------------------- */

/* Moves what fits of the client's upload into the transfer's buffer. Returns 1 when the
 * body grew past max_body. */
static int
feed_upload(struct upstream_xfer *x, const char *data, size_t *size, int *wake_curl)
{
	size_t room, take;

	pthread_mutex_lock(&x->mu);
	room = EG_PROXY_BUF - x->up_len;
	take = *size < room ? *size : room;
	memcpy(x->up + x->up_len, data, take);
	x->up_len += take;
	x->up_total += take;
	*size -= take;
	if (take > 0 && x->up_paused) {
		x->up_paused = 0;
		*wake_curl = 1;
	}
	if (*size > 0 && !x->done) {
		/* Buffer full: wait until curl has sent some of it. */
		x->waiting = WAIT_UPLOAD_SPACE;
		MHD_suspend_connection(x->conn);
	}
	pthread_mutex_unlock(&x->mu);
	return x->up_total > x->max_body;
}

static void
finish_upload(struct upstream_xfer *x)
{
	int wake = 0;

	pthread_mutex_lock(&x->mu);
	if (!x->up_done) {
		x->up_done = 1;
		wake = x->up_paused;
		x->up_paused = 0;
	}
	pthread_mutex_unlock(&x->mu);
	if (wake)
		upstream_unpause(x);
}

/* ---- download: buffer -> client (libmicrohttpd thread) ------------------------------ */

static ssize_t
read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct upstream_xfer *x = cls;
	size_t n, first;
	int wake = 0;
	ssize_t ret;

	(void)pos;
	pthread_mutex_lock(&x->mu);
	if (x->down_len > 0) {
		n = max < x->down_len ? max : x->down_len;
		first = n < EG_PROXY_BUF - x->down_head ? n : EG_PROXY_BUF - x->down_head;
		memcpy(buf, x->down + x->down_head, first);
		memcpy(buf + first, x->down, n - first);
		x->down_head = (x->down_head + n) % EG_PROXY_BUF;
		x->down_len -= n;
		x->down_total += n;
		if (x->down_paused) {
			x->down_paused = 0;
			wake = 1;
		}
		ret = (ssize_t)n;
	} else if (x->done) {
		ret = x->result == CURLE_OK ? MHD_CONTENT_READER_END_OF_STREAM :
		    MHD_CONTENT_READER_END_WITH_ERROR;
	} else {
		/* Nothing yet: sleep until curl delivers (LIBNOTES: return 0 only together
		 * with a suspend, or libmicrohttpd spins). */
		x->waiting = WAIT_BODY;
		MHD_suspend_connection(x->conn);
		ret = 0;
	}
	pthread_mutex_unlock(&x->mu);
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
	return status == 204 || status == 304 || (status >= 100 && status < 200);
}

static struct MHD_Response *
make_response(struct request *r, struct upstream_xfer *x)
{
	struct MHD_Response *resp;
	struct resp_header *h;
	uint64_t size = x->content_length >= 0 ? (uint64_t)x->content_length : MHD_SIZE_UNKNOWN;

	/* libmicrohttpd 0.9.75 sends a stray chunked body for unknown-size HEAD and 304
	 * responses: give those a known size (LIBNOTES.md). */
	if (no_body_status(x->status)) {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else if (x->is_head) {
		resp = x->content_length >= 0 ?
		    MHD_create_response_from_callback(size, 4096, read_body, x, NULL) :
		    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_callback(size, 64 * 1024, read_body, x, free_body);
		if (resp != NULL)
			atomic_fetch_add(&x->refs, 1);
	}
	if (resp == NULL)
		return NULL;
	for (h = x->headers; h != NULL; h = h->next)
		MHD_add_response_header(resp, h->name, h->value);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	websession_add_cookie(r, resp);
	return resp;
}

static enum MHD_Result
answer_upstream_failure(struct request *r, struct upstream_xfer *x)
{
	int timeout = x->result == CURLE_OPERATION_TIMEDOUT;

	log_warnx("request %s: backend %s: %s", r->id, r->decision.backend->name, x->errbuf);
	atomic_fetch_add(&r->gw->stat_upstream_errors, 1);
	req_audit(r, "request", 1, timeout ? EG_ERR_UPSTREAM_TIMEOUT : EG_ERR_UPSTREAM, NULL,
	    timeout ? 504 : 502, 0);
	return timeout ? respond_error(r, 504, "upstream-timeout", "The service did not answer in time.") :
	    respond_error(r, 502, "upstream-unreachable", "The service is unreachable.");
}

static enum MHD_Result
answer_from_upstream(struct request *r, struct upstream_xfer *x)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if ((resp = make_response(r, x)) == NULL)
		return MHD_NO;
	/* Recorded before the response leaves: nothing is served unlogged. */
	if (req_audit(r, "request", 1, EG_OK, NULL, (int)x->status,
	    x->content_length > 0 ? (uint64_t)x->content_length : 0) != EG_OK) {
		MHD_destroy_response(resp);
		upstream_cancel(x);
		return respond_error(r, 503, "audit-unavailable",
		    "The access log cannot be written; the request was refused.");
	}
	ret = MHD_queue_response(r->conn, (unsigned)x->status, resp);
	MHD_destroy_response(resp);
	r->phase = REQ_RESPONDED;
	return ret;
}

enum MHD_Result
upstream_continue(struct request *r, const char *upload, size_t *upload_size)
{
	struct upstream_xfer *x = r->xfer;
	int wake = 0, ready, done;

	if (*upload_size > 0) {
		if (x->up == NULL) {            /* body on a request declared without one */
			*upload_size = 0;
			return MHD_YES;
		}
		if (feed_upload(x, upload, upload_size, &wake)) {
			upstream_cancel(x);
			req_audit(r, "request", 0, EG_ERR_TOO_BIG, NULL, 0, 0);
			*upload_size = 0;
			return respond_error(r, 413, "body-too-large", "The request body is too large.");
		}
		if (wake)
			upstream_unpause(x);
		return MHD_YES;
	}
	if (x->up != NULL)
		finish_upload(x);
	pthread_mutex_lock(&x->mu);
	ready = x->headers_ready;
	done = x->done;
	if (!ready && !done) {
		x->waiting = WAIT_HEADERS;
		MHD_suspend_connection(r->conn);
	}
	pthread_mutex_unlock(&x->mu);
	if (ready)
		return answer_from_upstream(r, x);
	if (done)
		return answer_upstream_failure(r, x);
	return MHD_YES;
}

void
upstream_request_done(struct request *r, int client_gone)
{
	struct upstream_xfer *x = r->xfer;
	int running;

	if (x == NULL)
		return;
	pthread_mutex_lock(&x->mu);
	x->conn = NULL;
	x->waiting = WAIT_NONE;
	running = !x->done;
	if (running && client_gone)
		x->cancelled = 1;
	pthread_mutex_unlock(&x->mu);
	if (running && client_gone)
		upstream_cancel(x);
	r->xfer = NULL;
	upstream_xfer_put(x);
}
