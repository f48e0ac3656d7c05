/*
 * upstream.c - forwarding to backends without blocking a gateway thread.
 *
 * A pool of worker threads, each driving its own libcurl multi handle (one thread
 * carrying every transfer is the bottleneck LIBNOTES.md measured). libmicrohttpd threads
 * hand a transfer to a worker through a small command queue and curl_multi_wakeup();
 * the two sides meet in a struct upstream_xfer with two bounded buffers (upload and
 * download) under one mutex. When a buffer is full or empty the side that cannot go on
 * pauses: curl with CURL_{READ,WRITE}FUNC_PAUSE, libmicrohttpd by suspending the
 * connection. The other side wakes it. Memory per request is therefore bounded by the
 * two buffers, whatever the body sizes.
 *
 * Ownership: a transfer is referenced by the request (until the request completes), by
 * its worker (until curl is done with it) and by the libmicrohttpd response (until the
 * response is destroyed); the last one frees it.
 */
#include <stdatomic.h>
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

enum cmd_type { CMD_ADD, CMD_UNPAUSE, CMD_CANCEL };

struct up_cmd {
	struct up_cmd *next;
	enum cmd_type type;
	struct upstream_xfer *x;
};

struct up_worker {
	pthread_t thread;
	CURLM *multi;
	pthread_mutex_t mu;
	struct up_cmd *head, *tail;
	int stop;
};

struct upstream_pool {
	int n;
	atomic_uint next;
	struct up_worker *w;
};

/* ---- reference counting ------------------------------------------------------------ */

static void
xfer_free(struct upstream_xfer *x)
{
	struct resp_header *h, *next;

	for (h = x->headers; h != NULL; h = next) {
		next = h->next;
		free(h->name);
		free(h->value);
		free(h);
	}
	curl_slist_free_all(x->req_headers);
	free(x->up);
	free(x->down);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

void
upstream_xfer_put(struct upstream_xfer *x)
{
	if (atomic_fetch_sub(&x->refs, 1) == 1)
		xfer_free(x);
}

/* ---- waking the libmicrohttpd side (call with x->mu held) --------------------------- */

void
upstream_wake_client(struct upstream_xfer *x, enum wait_for what)
{
	if (x->conn != NULL && x->waiting == what) {
		x->waiting = WAIT_NONE;
		MHD_resume_connection(x->conn);
	}
}

/* ---- worker command queue ---------------------------------------------------------- */

static int
post_cmd(struct up_worker *w, enum cmd_type type, struct upstream_xfer *x)
{
	struct up_cmd *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	c->type = type;
	c->x = x;
	atomic_fetch_add(&x->refs, 1);
	pthread_mutex_lock(&w->mu);
	if (w->tail != NULL)
		w->tail->next = c;
	else
		w->head = c;
	w->tail = c;
	pthread_mutex_unlock(&w->mu);
	curl_multi_wakeup(w->multi);
	return 0;
}

/* ---- curl callbacks (worker thread) ------------------------------------------------ */

static int
is_hop_by_hop(const char *name, size_t len)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
		"trailer", "transfer-encoding", "upgrade", "content-length", NULL,
	};
	size_t i;

	for (i = 0; hop[i] != NULL; i++)
		if (strlen(hop[i]) == len && strncasecmp(hop[i], name, len) == 0)
			return 1;
	return 0;
}

static void
add_resp_header(struct upstream_xfer *x, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	const char *v, *end = line + len;
	struct resp_header *h;

	if (colon == NULL || colon == line || is_hop_by_hop(line, (size_t)(colon - line)))
		return;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return;
	h->name = strndup(line, (size_t)(colon - line));
	h->value = strndup(v, (size_t)(end - v));
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		free(h);
		return;
	}
	h->next = x->headers;
	x->headers = h;
}

size_t
upstream_on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t len = size * n;
	curl_off_t cl = -1;

	pthread_mutex_lock(&x->mu);
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new status line: drop headers of an interim (1xx) response. */
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	} else if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n')) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
		if (x->status >= 200) {
			if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
			    CURLE_OK)
				x->content_length = cl;
			x->headers_ready = 1;
			upstream_wake_client(x, WAIT_HEADERS);
		}
	} else if (x->status >= 200 || x->status == 0) {
		add_resp_header(x, buf, len);
	}
	pthread_mutex_unlock(&x->mu);
	return len;
}

size_t
upstream_on_write(char *data, size_t size, size_t n, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t len = size * n, tail, first;

	pthread_mutex_lock(&x->mu);
	if (x->cancelled) {
		pthread_mutex_unlock(&x->mu);
		return 0;       /* makes curl abort the transfer */
	}
	if (EG_PROXY_BUF - x->down_len < len) {
		x->down_paused = 1;
		pthread_mutex_unlock(&x->mu);
		return CURL_WRITEFUNC_PAUSE;
	}
	tail = (x->down_head + x->down_len) % EG_PROXY_BUF;
	first = len < EG_PROXY_BUF - tail ? len : EG_PROXY_BUF - tail;
	memcpy(x->down + tail, data, first);
	memcpy(x->down, data + first, len - first);
	x->down_len += len;
	upstream_wake_client(x, WAIT_BODY);
	pthread_mutex_unlock(&x->mu);
	return len;
}

size_t
upstream_on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t want = size * n, take;

	pthread_mutex_lock(&x->mu);
	if (x->cancelled) {
		pthread_mutex_unlock(&x->mu);
		return CURL_READFUNC_ABORT;
	}
	if (x->up_len == 0) {
		if (x->up_done) {
			pthread_mutex_unlock(&x->mu);
			return 0;
		}
		x->up_paused = 1;
		pthread_mutex_unlock(&x->mu);
		return CURL_READFUNC_PAUSE;
	}
	take = want < x->up_len ? want : x->up_len;
	memcpy(buf, x->up, take);
	memmove(x->up, x->up + take, x->up_len - take);
	x->up_len -= take;
	upstream_wake_client(x, WAIT_UPLOAD_SPACE);
	pthread_mutex_unlock(&x->mu);
	return take;
}

/* ---- worker thread ----------------------------------------------------------------- */

static void
finish_xfer(struct up_worker *w, struct upstream_xfer *x, CURLcode result)
{
	curl_multi_remove_handle(w->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	pthread_mutex_lock(&x->mu);
	x->done = 1;
	x->result = result;
	if (result != CURLE_OK && x->errbuf[0] == '\0')
		eg_strlcpy(x->errbuf, curl_easy_strerror(result), sizeof(x->errbuf));
	upstream_wake_client(x, x->headers_ready ? WAIT_BODY : WAIT_HEADERS);
	upstream_wake_client(x, WAIT_UPLOAD_SPACE);
	pthread_mutex_unlock(&x->mu);
	upstream_xfer_put(x);    /* the worker's reference */
}

static void
run_cmd(struct up_worker *w, struct up_cmd *c)
{
	struct upstream_xfer *x = c->x;

	switch (c->type) {
	case CMD_ADD:
		atomic_fetch_add(&x->refs, 1);  /* the worker's reference while running */
		if (curl_multi_add_handle(w->multi, x->easy) != CURLM_OK)
			finish_xfer(w, x, CURLE_FAILED_INIT);
		break;
	case CMD_UNPAUSE:
		if (x->easy != NULL)
			curl_easy_pause(x->easy, CURLPAUSE_CONT);
		break;
	case CMD_CANCEL:
		if (x->easy != NULL)
			finish_xfer(w, x, CURLE_ABORTED_BY_CALLBACK);
		break;
	}
	upstream_xfer_put(x);    /* the command's reference */
}

static void
drain_cmds(struct up_worker *w)
{
	struct up_cmd *c, *next;

	pthread_mutex_lock(&w->mu);
	c = w->head;
	w->head = w->tail = NULL;
	pthread_mutex_unlock(&w->mu);
	for (; c != NULL; c = next) {
		next = c->next;
		run_cmd(w, c);
		free(c);
	}
}

static void
reap_done(struct up_worker *w)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
		struct upstream_xfer *x = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			finish_xfer(w, x, m->data.result);
	}
}

static void *
worker_main(void *arg)
{
	struct up_worker *w = arg;
	int running = 0, stop;

	for (;;) {
		drain_cmds(w);
		curl_multi_perform(w->multi, &running);
		reap_done(w);
		pthread_mutex_lock(&w->mu);
		stop = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (stop)
			break;
		curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
	}
	return NULL;
}

struct upstream_xfer *
upstream_xfer_new(struct MHD_Connection *conn, int has_body)
{
	struct upstream_xfer *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	atomic_init(&x->refs, 1);
	pthread_mutex_init(&x->mu, NULL);
	x->conn = conn;
	x->content_length = -1;
	x->down = malloc(EG_PROXY_BUF);
	x->up = has_body ? malloc(EG_PROXY_BUF) : NULL;
	x->easy = curl_easy_init();
	if (x->down == NULL || (has_body && x->up == NULL) || x->easy == NULL) {
		if (x->easy != NULL)
			curl_easy_cleanup(x->easy);
		x->easy = NULL;
		upstream_xfer_put(x);
		return NULL;
	}
	return x;
}

int
upstream_submit(struct upstream_pool *p, struct upstream_xfer *x)
{
	unsigned i = atomic_fetch_add(&p->next, 1) % (unsigned)p->n;

	x->w = &p->w[i];
	return post_cmd(x->w, CMD_ADD, x);
}

void
upstream_unpause(struct upstream_xfer *x)
{
	post_cmd(x->w, CMD_UNPAUSE, x);
}

void
upstream_cancel(struct upstream_xfer *x)
{
	post_cmd(x->w, CMD_CANCEL, x);
}

int
upstream_pool_new(int nworkers, struct upstream_pool **out)
{
	struct upstream_pool *p = calloc(1, sizeof(*p));
	int i;

	*out = NULL;
	if (p == NULL || (p->w = calloc((size_t)nworkers, sizeof(*p->w))) == NULL) {
		free(p);
		return EG_ERR_NOMEM;
	}
	for (i = 0; i < nworkers; i++) {
		struct up_worker *w = &p->w[i];
		pthread_mutex_init(&w->mu, NULL);
		if ((w->multi = curl_multi_init()) == NULL)
			break;
		/* Upstream connections are reused per worker: the cache lives in the multi. */
		curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, 64L);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			curl_multi_cleanup(w->multi);
			break;
		}
		p->n++;
	}
	if (p->n != nworkers) {
		upstream_pool_free(p);
		return EG_ERR_INTERNAL;
	}
	*out = p;
	return EG_OK;
}

void
upstream_pool_free(struct upstream_pool *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		pthread_mutex_lock(&p->w[i].mu);
		p->w[i].stop = 1;
		pthread_mutex_unlock(&p->w[i].mu);
		curl_multi_wakeup(p->w[i].multi);
		pthread_join(p->w[i].thread, NULL);
		drain_cmds(&p->w[i]);
		curl_multi_cleanup(p->w[i].multi);
		pthread_mutex_destroy(&p->w[i].mu);
	}
	free(p->w);
	free(p);
}
