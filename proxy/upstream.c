/*
 * upstream.c - forwarding to backends without blocking a gateway thread.
 *
 * A pool of worker threads, each driving its own libcurl multi handle (one thread
 * carrying every transfer is the bottleneck LIBNOTES.md measured). libmicrohttpd threads
 * hand a transfer to a worker through a command queue and curl_multi_wakeup(); the two
 * sides meet in a struct upstream_xfer with two bounded rings (upload and download)
 * under one mutex. When a ring is full or empty the side that cannot go on pauses: curl
 * with CURL_{READ,WRITE}FUNC_PAUSE, libmicrohttpd by suspending the connection. The
 * other side wakes it. Memory per request is therefore bounded by the two rings,
 * whatever the body sizes.
 *
 * libmicrohttpd neither times out nor notices a client going away while a connection is
 * suspended (LIBNOTES.md), so each worker checks its transfers every TICK_MS: a backend
 * silent for longer than its timeout is given up (504), and a client whose socket was
 * closed while it waited has its upstream request cancelled.
 *
 * Ownership: a transfer is referenced by the request (until the request completes), by
 * its worker (until curl is done with it), by each queued command batch and by the
 * libmicrohttpd response (until the response is destroyed); the last one frees it.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "proxy/internal.h"
#include "proxy/upstream_int.h"

/* How often a worker looks for timed-out backends and vanished clients. */
#define TICK_MS 100
/* Spare easy handles kept per worker: a handle costs kilobytes to set up and tear down
 * (perf showed curl_easy_init/cleanup on every request); more than the concurrent
 * transfers of one worker need is waste. */
#define SPARE_EASY 64
/* Cached upstream connections per worker. */
#define MAX_CONNECTS 64L

enum { CMD_ADD = 1, CMD_UNPAUSE = 2, CMD_CANCEL = 4 };
enum { STOP_NO, STOP_CANCEL, STOP_EXIT };

struct up_worker {
	pthread_t thread;
	CURLM *multi;
	pthread_mutex_t mu;             /* guards the queue, the spares and stop */
	struct upstream_xfer *qhead, *qtail;
	CURL *spare[SPARE_EASY];
	int nspare;
	int stop;
	struct upstream_xfer *active;   /* worker thread only */
	struct upstream_pool *pool;
};

struct upstream_pool {
	int n;
	atomic_uint next;
	atomic_int shutting_down;
	atomic_long active;             /* transfers curl is running */
	atomic_ulong requests, connects;
	struct up_worker *w;
};

/* ---- rings ----------------------------------------------------------------------- */

static int
ring_grow(struct ring *r, size_t need)
{
	size_t cap = r->cap ? r->cap : 16 * 1024, first;
	unsigned char *nb;

	while (cap < need && cap < EG_PROXY_BUF)
		cap *= 2;
	if (cap > EG_PROXY_BUF)
		cap = EG_PROXY_BUF;
	if (cap <= r->cap)
		return 0;
	if ((nb = malloc(cap)) == NULL) {
		r->oom = 1;
		return -1;
	}
	/* Unwrapped into the new buffer, so head restarts at 0. */
	first = r->len < r->cap - r->head ? r->len : r->cap - r->head;
	if (r->len > 0) {
		memcpy(nb, r->buf + r->head, first);
		memcpy(nb + first, r->buf, r->len - first);
	}
	free(r->buf);
	r->buf = nb;
	r->cap = cap;
	r->head = 0;
	return 0;
}

size_t
ring_put(struct ring *r, const void *data, size_t n)
{
	size_t tail, first;

	if (r->cap - r->len < n && r->cap < EG_PROXY_BUF)
		ring_grow(r, r->len + n);
	if (n > r->cap - r->len)
		n = r->cap - r->len;
	if (n == 0)
		return 0;
	tail = (r->head + r->len) % r->cap;
	first = n < r->cap - tail ? n : r->cap - tail;
	memcpy(r->buf + tail, data, first);
	memcpy(r->buf, (const unsigned char *)data + first, n - first);
	r->len += n;
	return n;
}

size_t
ring_get(struct ring *r, void *out, size_t n)
{
	size_t first;

	if (n > r->len)
		n = r->len;
	if (n == 0)
		return 0;
	first = n < r->cap - r->head ? n : r->cap - r->head;
	memcpy(out, r->buf + r->head, first);
	memcpy((unsigned char *)out + first, r->buf, n - first);
	r->head = (r->head + n) % r->cap;
	r->len -= n;
	if (r->len == 0)
		r->head = 0;
	return n;
}

void
ring_free(struct ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

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
	if (x->easy != NULL)            /* never submitted */
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->req_headers);
	free(x->resp_connection);
	ring_free(&x->up);
	ring_free(&x->down);
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
	if (x->conn != NULL && what != WAIT_NONE && x->waiting == what) {
		x->waiting = WAIT_NONE;
		MHD_resume_connection(x->conn);
	}
}

/* ---- worker command queue ---------------------------------------------------------- */

/*
 * Commands are bits on the transfer, and a transfer is queued at most once: no
 * allocation per command, and a burst of unpauses for a busy worker costs one wakeup
 * (the worker is only woken when its queue goes from empty to non-empty; a non-empty
 * queue means a wakeup is already on its way).
 */
static void
post_cmd(struct up_worker *w, unsigned cmd, struct upstream_xfer *x)
{
	int wake = 0;

	pthread_mutex_lock(&w->mu);
	x->cmds |= cmd;
	if (!x->queued) {
		x->queued = 1;
		atomic_fetch_add(&x->refs, 1);  /* the queue's reference */
		x->qnext = NULL;
		if (w->qtail != NULL)
			w->qtail->qnext = x;
		else {
			w->qhead = x;
			wake = 1;
		}
		w->qtail = x;
	}
	pthread_mutex_unlock(&w->mu);
	if (wake)
		curl_multi_wakeup(w->multi);
}

/* ---- curl callbacks (worker thread) ------------------------------------------------ */

static int
is_hop_by_hop(const char *name, size_t len)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
		"trailer", "transfer-encoding", "upgrade", "content-length", "proxy-connection",
		NULL,
	};
	size_t i;

	for (i = 0; hop[i] != NULL; i++)
		if (strlen(hop[i]) == len && strncasecmp(hop[i], name, len) == 0)
			return 1;
	return 0;
}

/* Keeps the backend's Connection header aside: the headers it names are hop-by-hop
 * too, and may come before it, so forward.c filters them when it builds the response. */
static void
note_connection(struct upstream_xfer *x, const char *v, size_t len)
{
	size_t old = x->resp_connection ? strlen(x->resp_connection) : 0;
	char *n = realloc(x->resp_connection, old + len + 2);

	if (n == NULL)
		return;
	if (old > 0)
		n[old++] = ',';
	memcpy(n + old, v, len);
	n[old + len] = '\0';
	x->resp_connection = n;
}

static void
add_resp_header(struct upstream_xfer *x, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	const char *v, *end = line + len;
	struct resp_header *h;
	size_t nlen;

	if (colon == NULL || colon == line)
		return;
	nlen = (size_t)(colon - line);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	if (nlen == 10 && strncasecmp(line, "connection", 10) == 0)
		note_connection(x, v, (size_t)(end - v));
	if (is_hop_by_hop(line, nlen) || (h = calloc(1, sizeof(*h))) == NULL)
		return;
	h->name = strndup(line, nlen);
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

static void
headers_complete(struct upstream_xfer *x)
{
	curl_off_t cl = -1;

	if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK)
		x->content_length = cl;
	x->headers_ready = 1;
	/* When a body follows, the client is woken by its first bytes (or the end of the
	 * transfer) instead: the response then leaves with data, after one suspension of
	 * the connection rather than two (each costs epoll changes and a wake-up). */
	if (x->is_head || cl == 0 || x->status == 204 || x->status == 304)
		upstream_wake_client(x, WAIT_HEADERS);
}

size_t
upstream_on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t len = size * n;

	pthread_mutex_lock(&x->mu);
	x->last_activity_ms = eg_mono_ms();
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new status line: headers of an interim (1xx) response are dropped. */
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	} else if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n')) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
		if (x->status >= 200)
			headers_complete(x);
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
	size_t len = size * n;

	pthread_mutex_lock(&x->mu);
	if (x->cancelled) {
		pthread_mutex_unlock(&x->mu);
		return 0;       /* makes curl abort the transfer */
	}
	/* curl cannot take part of a write: all of it fits, or pause and get it again. */
	if (EG_PROXY_BUF - x->down.len < len || ring_put(&x->down, data, len) != len) {
		x->down_paused = !x->down.oom;
		pthread_mutex_unlock(&x->mu);
		return x->down.oom ? 0 : CURL_WRITEFUNC_PAUSE;
	}
	x->last_activity_ms = eg_mono_ms();
	upstream_wake_client(x, x->waiting == WAIT_HEADERS ? WAIT_HEADERS : WAIT_BODY);
	pthread_mutex_unlock(&x->mu);
	return len;
}

size_t
upstream_on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upstream_xfer *x = arg;
	size_t take;

	pthread_mutex_lock(&x->mu);
	if (x->cancelled) {
		pthread_mutex_unlock(&x->mu);
		return CURL_READFUNC_ABORT;
	}
	x->last_activity_ms = eg_mono_ms();
	if (x->up.len == 0) {
		if (x->up_done) {
			pthread_mutex_unlock(&x->mu);
			return 0;
		}
		x->up_paused = 1;
		pthread_mutex_unlock(&x->mu);
		return CURL_READFUNC_PAUSE;
	}
	take = ring_get(&x->up, buf, size * n);
	upstream_wake_client(x, WAIT_UPLOAD_SPACE);
	pthread_mutex_unlock(&x->mu);
	return take;
}

/* ---- worker thread: transfers ------------------------------------------------------ */

static void
give_back_easy(struct up_worker *w, CURL *e)
{
	int kept = 0;

	/* Reset here, on the worker, so that the next user starts from defaults. */
	curl_easy_reset(e);
	pthread_mutex_lock(&w->mu);
	if (w->nspare < SPARE_EASY) {
		w->spare[w->nspare++] = e;
		kept = 1;
	}
	pthread_mutex_unlock(&w->mu);
	if (!kept)
		curl_easy_cleanup(e);
}

static void
unlink_active(struct up_worker *w, struct upstream_xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else if (w->active == x)
		w->active = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

static void
finish_xfer(struct up_worker *w, struct upstream_xfer *x, CURLcode result)
{
	long connects = 0;
	curl_off_t connect_us = 0, pretransfer_us = 0;
	CURL *e = x->easy;

	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
	curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us);
	/* A reused connection has no connect time, but the request was about to be sent. */
	curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
	curl_multi_remove_handle(w->multi, e);
	unlink_active(w, x);
	atomic_fetch_sub(&w->pool->active, 1);
	atomic_fetch_add(&w->pool->connects, (unsigned long)connects);
	pthread_mutex_lock(&x->mu);
	x->easy = NULL;
	x->done = 1;
	x->result = result;
	x->connected = connect_us > 0 || pretransfer_us > 0 || x->status > 0;
	if (result != CURLE_OK && x->errbuf[0] == '\0')
		eg_strlcpy(x->errbuf, curl_easy_strerror(result), sizeof(x->errbuf));
	/* The end of the transfer answers every wait: headers (a body never came, or the
	 * backend broke off), body, or upload space. */
	upstream_wake_client(x, x->waiting);
	pthread_mutex_unlock(&x->mu);
	give_back_easy(w, e);
	upstream_xfer_put(x);    /* the worker's reference */
}

static void
start_xfer(struct up_worker *w, struct upstream_xfer *x)
{
	atomic_fetch_add(&x->refs, 1);  /* the worker's reference while running */
	atomic_fetch_add(&w->pool->active, 1);
	atomic_fetch_add(&w->pool->requests, 1);
	x->next = w->active;
	if (w->active != NULL)
		w->active->prev = x;
	w->active = x;
	pthread_mutex_lock(&x->mu);
	x->last_activity_ms = eg_mono_ms();
	pthread_mutex_unlock(&x->mu);
	if (curl_multi_add_handle(w->multi, x->easy) != CURLM_OK)
		finish_xfer(w, x, CURLE_FAILED_INIT);
}

/* ADD always comes first for a transfer; after it, x->easy is NULL once curl is done. */
static void
run_cmds(struct up_worker *w, struct upstream_xfer *x, unsigned cmds)
{
	if ((cmds & CMD_ADD) && !x->started) {
		x->started = 1;
		start_xfer(w, x);
	}
	if (!x->started || x->easy == NULL)
		return;         /* never started (refused at submit), or already finished */
	if (cmds & CMD_CANCEL)
		finish_xfer(w, x, CURLE_ABORTED_BY_CALLBACK);
	else if (cmds & CMD_UNPAUSE)
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
}

static void
drain_cmds(struct up_worker *w)
{
	struct upstream_xfer *x, *next;
	unsigned cmds;

	pthread_mutex_lock(&w->mu);
	x = w->qhead;
	w->qhead = w->qtail = NULL;
	pthread_mutex_unlock(&w->mu);
	for (; x != NULL; x = next) {
		pthread_mutex_lock(&w->mu);
		next = x->qnext;
		x->qnext = NULL;
		cmds = x->cmds;
		x->cmds = 0;
		x->queued = 0;
		pthread_mutex_unlock(&w->mu);
		run_cmds(w, x, cmds);
		upstream_xfer_put(x);    /* the queue's reference */
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

/* ---- worker thread: timeouts and vanished clients ---------------------------------- */

/* Has the peer closed the socket? TCP_INFO tells without reading: a suspended
 * connection must not have its bytes (a pipelined request, TLS records) taken. */
static int
client_closed(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_CLOSE;
}

/* Why x should be given up now, or FAIL_NONE. Called with x->mu held. While curl waits
 * for the client (a paused side), the backend is not the slow one. The client socket is
 * only looked at while its connection is suspended: then libmicrohttpd is not using it
 * and cannot close it under us (it is resumed only with x->mu held). */
static enum xfer_fail
check_xfer(struct upstream_xfer *x, int64_t now)
{
	if (x->conn != NULL && x->waiting != WAIT_NONE && client_closed(x->client_fd))
		return FAIL_CLIENT_GONE;
	if (x->down.oom || x->up.oom)
		return FAIL_OOM;
	if (!x->down_paused && !x->up_paused && now - x->last_activity_ms > x->timeout_ms)
		return FAIL_TIMEOUT;
	return FAIL_NONE;
}

static void
tick(struct up_worker *w)
{
	struct upstream_xfer *x, *next;
	int64_t now = eg_mono_ms();
	enum xfer_fail f;

	for (x = w->active; x != NULL; x = next) {
		next = x->next;
		pthread_mutex_lock(&x->mu);
		f = check_xfer(x, now);
		if (f != FAIL_NONE) {
			x->fail = f;
			x->cancelled = 1;
		}
		pthread_mutex_unlock(&x->mu);
		if (f == FAIL_TIMEOUT)
			finish_xfer(w, x, CURLE_OPERATION_TIMEDOUT);
		else if (f != FAIL_NONE)
			finish_xfer(w, x, CURLE_ABORTED_BY_CALLBACK);
	}
}

/* Shutting down: every transfer ends now (see upstream_pool_shutdown). */
static void
cancel_all(struct up_worker *w)
{
	while (w->active != NULL) {
		struct upstream_xfer *x = w->active;
		pthread_mutex_lock(&x->mu);
		x->cancelled = 1;
		pthread_mutex_unlock(&x->mu);
		finish_xfer(w, x, CURLE_ABORTED_BY_CALLBACK);
	}
}

static void *
worker_main(void *arg)
{
	struct up_worker *w = arg;
	int running = 0, stop;
	int64_t next_tick = eg_mono_ms() + TICK_MS, now;

	for (;;) {
		drain_cmds(w);
		curl_multi_perform(w->multi, &running);
		reap_done(w);
		if ((now = eg_mono_ms()) >= next_tick) {
			tick(w);
			next_tick = now + TICK_MS;
		}
		pthread_mutex_lock(&w->mu);
		stop = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (stop == STOP_CANCEL)
			cancel_all(w);
		else if (stop == STOP_EXIT)
			break;
		curl_multi_poll(w->multi, NULL, 0, w->active != NULL ? TICK_MS : 1000, NULL);
	}
	return NULL;
}

/* ---- the libmicrohttpd side's entry points ----------------------------------------- */

static CURL *
take_easy(struct up_worker *w)
{
	CURL *e = NULL;

	pthread_mutex_lock(&w->mu);
	if (w->nspare > 0)
		e = w->spare[--w->nspare];
	pthread_mutex_unlock(&w->mu);
	return e != NULL ? e : curl_easy_init();
}

struct upstream_xfer *
upstream_xfer_new(struct upstream_pool *p, struct MHD_Connection *conn, int has_body)
{
	struct upstream_xfer *x = calloc(1, sizeof(*x));
	unsigned i = atomic_fetch_add(&p->next, 1) % (unsigned)p->n;

	if (x == NULL)
		return NULL;
	atomic_init(&x->refs, 1);
	pthread_mutex_init(&x->mu, NULL);
	x->w = &p->w[i];
	x->conn = conn;
	x->client_fd = -1;
	x->has_body = has_body;
	x->content_length = -1;
	if ((x->easy = take_easy(x->w)) == NULL) {
		upstream_xfer_put(x);
		return NULL;
	}
	return x;
}

int
upstream_submit(struct upstream_xfer *x)
{
	if (atomic_load(&x->w->pool->shutting_down))
		return -1;
	post_cmd(x->w, CMD_ADD, x);
	return 0;
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

void
upstream_stats(struct upstream_pool *p, long *active, unsigned long *requests,
    unsigned long *connects)
{
	*active = atomic_load(&p->active);
	*requests = atomic_load(&p->requests);
	*connects = atomic_load(&p->connects);
}

/* ---- the pool ---------------------------------------------------------------------- */

int
upstream_pool_new(int nworkers, struct upstream_pool **out)
{
	struct upstream_pool *p = calloc(1, sizeof(*p));
	int i;

	*out = NULL;
	if (p == NULL || (p->w = calloc((size_t)nworkers, sizeof(*p->w))) == NULL) {
		free(p);
		log_warnx("upstream: out of memory for %d workers", nworkers);
		return EG_ERR_NOMEM;
	}
	for (i = 0; i < nworkers; i++) {
		struct up_worker *w = &p->w[i];
		pthread_mutex_init(&w->mu, NULL);
		w->pool = p;
		if ((w->multi = curl_multi_init()) == NULL)
			break;
		/* Upstream connections are reused per worker: the cache lives in the multi. */
		curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, MAX_CONNECTS);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			curl_multi_cleanup(w->multi);
			break;
		}
		p->n++;
	}
	if (p->n != nworkers) {
		log_warnx("upstream: cannot start worker %d of %d", p->n + 1, nworkers);
		upstream_pool_free(p);
		return EG_ERR_INTERNAL;
	}
	*out = p;
	return EG_OK;
}

/*
 * Ends every transfer and resumes every connection suspended on one, and makes new
 * transfers fail at once: libmicrohttpd must not be stopped with suspended connections
 * (LIBNOTES.md), so this runs before MHD_stop_daemon(). The workers do it on their own
 * threads (curl handles are theirs); this waits, a bounded time, until they did.
 */
void
upstream_pool_shutdown(struct upstream_pool *p)
{
	int i, tries;

	if (p == NULL)
		return;
	atomic_store(&p->shutting_down, 1);
	for (i = 0; i < p->n; i++) {
		pthread_mutex_lock(&p->w[i].mu);
		p->w[i].stop = STOP_CANCEL;
		pthread_mutex_unlock(&p->w[i].mu);
		curl_multi_wakeup(p->w[i].multi);
	}
	for (tries = 0; atomic_load(&p->active) > 0 && tries < 500; tries++)
		usleep(10000);
	if (atomic_load(&p->active) > 0)
		log_warnx("upstream: %ld transfers still running at shutdown",
		    atomic_load(&p->active));
}

void
upstream_pool_free(struct upstream_pool *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		struct up_worker *w = &p->w[i];
		pthread_mutex_lock(&w->mu);
		w->stop = STOP_EXIT;
		pthread_mutex_unlock(&w->mu);
		curl_multi_wakeup(w->multi);
		pthread_join(w->thread, NULL);
		/* The worker is gone: its last commands and transfers end on this thread. */
		drain_cmds(w);
		cancel_all(w);
		while (w->nspare > 0)
			curl_easy_cleanup(w->spare[--w->nspare]);
		curl_multi_cleanup(w->multi);
		pthread_mutex_destroy(&w->mu);
	}
	free(p->w);
	free(p);
}
