/*
 * dispatch.c - the libmicrohttpd daemon and the life of one request in it: state from
 * the request line on, the body as it streams in, then the answer from a test endpoint
 * or the backend's router.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"

#include "demo/internal.h"

/* Idle keep-alive connections are closed after this; suspended ones are exempt. */
#define BK_CONN_TIMEOUT_S 120

/* MHD calls this with the raw target before it unescapes the path and strips the
 * query, which is the only way to report the path exactly as the gateway sent it. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct bk_req *req;

	(void)cls;
	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return NULL;
	req->br_target = strdup(uri != NULL ? uri : "");
	if (req->br_target == NULL) {
		free(req);
		return NULL;
	}
	req->br_fnv = BK_FNV64_OFFSET;
	req->br_conn = conn;
	return req;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct bk_req *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req == NULL)
		return;
	free(req->br_target);
	free(req->br_body);
	EVP_MD_CTX_free(req->br_sha);
	free(req);
	*con_cls = NULL;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)conn;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		bk_count(BK_CONNECTIONS);
}

static enum bk_kind
classify(const char *url)
{
	if (strcmp(url, "/__echo") == 0 || strncmp(url, "/__echo/", 8) == 0)
		return BK_ECHO;
	if (strcmp(url, "/__big") == 0)
		return BK_BIG;
	if (strcmp(url, "/__slow") == 0)
		return BK_SLOW;
	if (strcmp(url, "/__status") == 0)
		return BK_STATUS;
	if (strcmp(url, "/__stats") == 0)
		return BK_STATS;
	return BK_APP;
}

/* Only application routes keep the body, and only up to BK_MAX_BODY; the rest is
 * counted and dropped so that memory stays flat whatever a client sends. */
static void
take_body(struct bk_req *req, const char *data, size_t len)
{
	size_t cap;
	char *nb;

	req->br_body_bytes += len;
	if (req->br_kind == BK_ECHO)
		bk_echo_take(req, data, len);
	if (req->br_kind != BK_APP || req->br_body_overflow)
		return;
	if (len > BK_MAX_BODY - req->br_body_len) {
		req->br_body_overflow = 1;
		return;
	}
	if (req->br_body_len + len > req->br_body_cap) {
		cap = req->br_body_cap == 0 ? 4096 : req->br_body_cap;
		while (cap < req->br_body_len + len)
			cap *= 2;
		nb = realloc(req->br_body, cap);
		if (nb == NULL) {
			req->br_body_overflow = 1;
			return;
		}
		req->br_body = nb;
		req->br_body_cap = cap;
	}
	memcpy(req->br_body + req->br_body_len, data, len);
	req->br_body_len += len;
}

/* Splits the decoded path into call->bc_seg, backed by buf. Returns -1 when the path
 * does not fit (the router would not match it anyway). */
static int
split_path(const char *url, char *buf, size_t buflen, struct bk_call *call)
{
	char *p, *slash;

	call->bc_nseg = 0;
	if (url[0] != '/')
		return 0;
	if (eg_strlcpy(buf, url + 1, buflen) >= buflen)
		return -1;
	for (p = buf;; p = slash + 1) {
		if (call->bc_nseg == BK_MAX_SEGS)
			return -1;
		call->bc_seg[call->bc_nseg++] = p;
		slash = strchr(p, '/');
		if (slash == NULL)
			return 0;
		*slash = '\0';
	}
}

static enum MHD_Result
finish(const struct bk_app *app, struct bk_req *req, struct MHD_Connection *conn,
    const char *url, const char *method)
{
	struct bk_call call;
	char buf[EG_MAX_PATH];

	memset(&call, 0, sizeof(call));
	call.bc_conn = conn;
	call.bc_req = req;
	call.bc_method = method;
	switch (req->br_kind) {
	case BK_ECHO:
		return bk_echo_reply(&call);
	case BK_BIG:
		return bk_big_reply(&call);
	case BK_SLOW:
		return bk_slow_reply(&call);
	case BK_STATUS:
		return bk_status_reply(&call);
	case BK_STATS:
		return bk_stats_reply(&call);
	case BK_APP:
		break;
	}
	if (req->br_body_overflow)
		return bk_reply_error(&call, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	if (split_path(url, buf, sizeof(buf), &call) != 0)
		return bk_reply_error(&call, MHD_HTTP_NOT_FOUND, "not found");
	if (req->br_body_bytes > 0) {
		call.bc_body = req->br_body;
		call.bc_body_len = req->br_body_len;
	}
	return app->ba_route(&call);
}

/* MHD calls this once for the headers, once per chunk of body, and once more at the
 * end (again after a resume): only the last call answers. cls is the backend's app. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size,
    void **con_cls)
{
	const struct bk_app *app = cls;
	struct bk_req *req = *con_cls;

	(void)version;
	if (req == NULL)
		return MHD_NO;
	if (!req->br_started) {
		req->br_started = 1;
		req->br_kind = classify(url);
		bk_count(BK_REQUESTS);
		if (req->br_kind != BK_STATS)
			bk_journal(conn, method, url);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		take_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return finish(app, req, conn, url, method);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* MHD's messages end in a newline; log_* adds its own. */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warnx("libmicrohttpd: %s", msg);
}

struct MHD_Daemon *
bk_daemon_start(const struct bk_opts *o, const struct bk_app *app)
{
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_SUSPEND_RESUME;

	if (o->bo_ipv6)
		flags |= MHD_USE_IPv6;
	/* The logger goes first: MHD reports problems with the later options through it. */
	return MHD_start_daemon(flags, o->bo_portnum, NULL, NULL, on_request, (void *)app,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&o->bo_addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)BK_CONN_TIMEOUT_S,
	    MHD_OPTION_END);
}
