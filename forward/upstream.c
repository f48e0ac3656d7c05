/*
 * upstream.c - a transfer's life on its worker: forwarding to backends without blocking
 * and without changing threads. Owns the transfer's references, the worker's lists and
 * the outcome (internal.h); the rings and the head buffer both sides use are here too.
 *
 * Every event-loop thread (server/loop.c) runs one libmicrohttpd daemon and one worker
 * here: a transfer lives on the thread that owns its client's connection, so the two
 * sides meet without locks being contended, queues between threads or wake-ups. (The
 * design before this one handed each request to a libcurl thread: perf showed curl and
 * those hand-overs as most of the gateway's CPU, `bench/throughput.sh` 8.6k requests/s;
 * the README has the figures.) The two sides (forward.c, exchange.c) meet in a struct
 * upstream_xfer with two bounded rings (upload and download). When a ring is full or
 * empty the side that cannot go on pauses: the backend connection stops reading or
 * writing, libmicrohttpd suspends the connection. The other side wakes it. Memory per
 * request is therefore bounded by the two rings, whatever the body sizes.
 *
 * libmicrohttpd's callbacks only mark what they want (start, unpause, cancel) on the
 * transfer; the loop carries it out after they returned, so no backend event ever runs
 * inside a libmicrohttpd callback.
 *
 * libmicrohttpd neither times out nor notices a client going away while a connection is
 * suspended (LIBNOTES.md), so the loop ticks every TICK_MS: a backend silent for longer
 * than its timeout is given up (504), and a client whose socket was closed while it
 * waited has its upstream request cancelled.
 *
 * Ownership: a transfer is referenced by the request (until the request completes), by
 * its worker (from start until it is finished), by the pending list while on it, and by
 * the libmicrohttpd response (until the response is destroyed); the last one frees it.
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

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "forward/internal.h"

/* How often a loop looks for timed-out backends and vanished clients. */
#define TICK_MS 100
/* Kept-alive backend connections unused for this long are closed. */
#define IDLE_MS 30000

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
	unsigned char *p;
	size_t done = 0, room;

	while (done < n && (room = ring_space(r, n - done, &p)) > 0) {
		if (room > n - done)
			room = n - done;
		memcpy(p, (const unsigned char *)data + done, room);
		ring_commit(r, room);
		done += room;
	}
	return done;
}

size_t
ring_get(struct ring *r, void *out, size_t n)
{
	const unsigned char *p;
	size_t done = 0, m;

	while (done < n && (m = ring_peek(r, &p)) > 0) {
		if (m > n - done)
			m = n - done;
		memcpy((unsigned char *)out + done, p, m);
		ring_drop(r, m);
		done += m;
	}
	return done;
}

void
ring_free(struct ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

size_t
ring_space(struct ring *r, size_t want, unsigned char **p)
{
	size_t end;

	if (r->cap - r->len < want && r->cap < EG_PROXY_BUF)
		ring_grow(r, r->len + want);
	if (r->len == r->cap)
		return 0;
	end = r->head + r->len;
	if (end < r->cap) {
		*p = r->buf + end;
		return r->cap - end;
	}
	*p = r->buf + (end - r->cap);
	return r->head - (end - r->cap);
}

void
ring_commit(struct ring *r, size_t n)
{
	r->len += n;
}

size_t
ring_peek(const struct ring *r, const unsigned char **p)
{
	if (r->len == 0)
		return 0;               /* (and no arithmetic on a buffer never allocated) */
	*p = r->buf + r->head;
	return r->len < r->cap - r->head ? r->len : r->cap - r->head;
}

void
ring_drop(struct ring *r, size_t n)
{
	if (n > r->len)
		n = r->len;
	r->head = r->cap ? (r->head + n) % r->cap : 0;
	r->len -= n;
	if (r->len == 0)
		r->head = 0;
}

/* ---- request head buffer ------------------------------------------------------------ */

void
hbuf_add(struct hbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *np;

	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > EG_MAX_FORWARD_HEAD || (np = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void
hbuf_adds(struct hbuf *b, const char *s)
{
	hbuf_add(b, s, strlen(s));
}

/* ---- reference counting ------------------------------------------------------------ */

static void
xfer_free(struct upstream_xfer *x)
{
	struct resp_header *h, *next;

	for (h = x->resp.headers; h != NULL; h = next) {
		next = h->next;
		free(h->name);
		free(h->value);
		free(h);
	}
	free(x->req.head.p);
	free(x->resp.connection);
	ring_free(&x->up);
	ring_free(&x->down);
	free(x);
}

void
upstream_xfer_hold(struct upstream_xfer *x)
{
	atomic_fetch_add(&x->run.refs, 1);
}

void
upstream_xfer_put(struct upstream_xfer *x)
{
	if (atomic_fetch_sub(&x->run.refs, 1) == 1)
		xfer_free(x);
}

/* ---- pending actions ------------------------------------------------------------------ */

/* A transfer is on the pending list at most once, its wishes OR-ed together. */
static void
post(struct upstream_xfer *x, unsigned what)
{
	struct up_worker *w = x->run.w;

	x->run.pending |= what;
	if (x->run.pnext != NULL || w->ptail == x)
		return;
	upstream_xfer_hold(x);          /* the pending list's reference */
	if (w->ptail != NULL)
		w->ptail->run.pnext = x;
	else
		w->phead = x;
	w->ptail = x;
}

static void
link_active(struct up_worker *w, struct upstream_xfer *x)
{
	x->run.next = w->active;
	if (w->active != NULL)
		w->active->run.prev = x;
	w->active = x;
}

static void
unlink_active(struct up_worker *w, struct upstream_xfer *x)
{
	struct xfer_run *r = &x->run;

	if (r->prev != NULL)
		r->prev->run.next = r->next;
	else if (w->active == x)
		w->active = r->next;
	if (r->next != NULL)
		r->next->run.prev = r->prev;
	r->prev = r->next = NULL;
}

void
upstream_error(struct upstream_xfer *x, const char *why)
{
	if (x->outcome.errbuf[0] == '\0')
		eg_strlcpy(x->outcome.errbuf, why, sizeof(x->outcome.errbuf));
}

void
upstream_finish(struct up_worker *w, struct upstream_xfer *x, int broken)
{
	if (x->run.finished)
		return;
	x->run.finished = 1;
	unlink_active(w, x);
	atomic_fetch_sub(&w->pool->active, 1);
	x->outcome.done = 1;
	x->outcome.broken = broken;
	if (broken)
		upstream_error(x, x->outcome.cancelled ? "cancelled" : "transfer failed");
	/* The end of the transfer answers every wait: headers (a body never came, or the
	 * backend broke off), body, or upload space. */
	client_resume(x, x->client.waiting);
	upstream_xfer_put(x);    /* the worker's reference */
}

static void
start(struct up_worker *w, struct upstream_xfer *x)
{
	x->run.started = 1;
	upstream_xfer_hold(x);          /* the worker's reference while running */
	atomic_fetch_add(&w->pool->active, 1);
	atomic_fetch_add(&w->pool->requests, 1);
	link_active(w, x);
	exchange_start(w, x);
}

static void
cancel(struct up_worker *w, struct upstream_xfer *x)
{
	if (x->backend.uc != NULL)
		exchange_fail(x->backend.uc, "cancelled");      /* ends x too */
	else
		upstream_finish(w, x, 1);
}

void
forward_run_pending(struct up_worker *w)
{
	struct upstream_xfer *x;
	unsigned what;

	while ((x = w->phead) != NULL) {
		w->phead = x->run.pnext;
		if (w->phead == NULL)
			w->ptail = NULL;
		x->run.pnext = NULL;
		what = x->run.pending;
		x->run.pending = 0;
		if ((what & PEND_START) && !x->run.started)
			start(w, x);
		if (x->run.started && !x->run.finished) {
			if (what & PEND_CANCEL)
				cancel(w, x);
			else if ((what & PEND_UNPAUSE) && x->backend.uc != NULL)
				exchange_resume(x->backend.uc);
		}
		upstream_xfer_put(x);    /* the pending list's reference */
	}
}

/* ---- timeouts and vanished clients ------------------------------------------------- */

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

/* Why x should be given up now, or FAIL_NONE. While the transfer waits for the client
 * (a paused side), the backend is not the slow one. The client socket is only looked at
 * while its connection is suspended: libmicrohttpd is not using it then. */
static enum xfer_fail
check_xfer(struct upstream_xfer *x, int64_t now)
{
	const struct xfer_backend *b = &x->backend;

	if (x->client.conn != NULL && x->client.waiting != WAIT_NONE &&
	    client_closed(x->client.fd))
		return FAIL_CLIENT_GONE;
	if (x->down.oom || x->up.oom)
		return FAIL_OOM;
	if (!b->connected && now - b->start_ms > x->req.connect_timeout_ms) {
		upstream_error(x, "connect timed out");
		return FAIL_TIMEOUT;
	}
	/* A full download ring excuses the backend only once the client is being sent the
	 * response: before that (a backend answering before it read the upload) nothing
	 * drains the ring, and the wait would never end. */
	if (!(b->down_paused && x->client.responding) && !b->up_paused &&
	    now - b->last_activity_ms > x->req.timeout_ms)
		return FAIL_TIMEOUT;
	return FAIL_NONE;
}

int
forward_tick(struct up_worker *w, int64_t now)
{
	struct upstream_xfer *x, *next;
	enum xfer_fail f;

	for (x = w->active; x != NULL; x = next) {
		next = x->run.next;
		if ((f = check_xfer(x, now)) == FAIL_NONE)
			continue;
		x->outcome.fail = f;
		x->outcome.cancelled = 1;
		cancel(w, x);
	}
	conn_close_idle(w, now - IDLE_MS);
	return TICK_MS;
}

void
forward_cancel_all(struct up_worker *w)
{
	forward_run_pending(w);
	while (w->active != NULL) {
		w->active->outcome.cancelled = 1;
		cancel(w, w->active);
	}
	conn_close_idle(w, INT64_MAX);
}

/* ---- the libmicrohttpd side's entry points ----------------------------------------- */

static struct up_worker *
worker_of(struct upstream_pool *p, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
	int i;

	for (i = 0; ci != NULL && i < p->n; i++)
		if (p->w[i].daemon == ci->daemon)
			return &p->w[i];
	return NULL;
}

/* Every block but this file's starts at zero: its owner fills it in (forward_start,
 * exchange_start). */
struct upstream_xfer *
upstream_xfer_new(struct upstream_pool *p, struct MHD_Connection *conn)
{
	struct up_worker *w = worker_of(p, conn);
	struct upstream_xfer *x;

	if (w == NULL || (x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	atomic_init(&x->run.refs, 1);
	x->run.w = w;
	return x;
}

int
upstream_submit(struct upstream_xfer *x)
{
	if (atomic_load(&x->run.w->pool->shutting_down))
		return -1;
	post(x, PEND_START);
	return 0;
}

void
upstream_unpause(struct upstream_xfer *x)
{
	post(x, PEND_UNPAUSE);
}

void
upstream_cancel(struct upstream_xfer *x)
{
	x->outcome.cancelled = 1;
	post(x, PEND_CANCEL);
}

void
forward_stats(struct upstream_pool *p, long *active, unsigned long *requests,
    unsigned long *connects)
{
	*active = atomic_load(&p->active);
	*requests = atomic_load(&p->requests);
	*connects = atomic_load(&p->connects);
}

/* ---- the pool ---------------------------------------------------------------------- */

int
forward_pool_new(int nworkers, struct upstream_pool **out)
{
	struct upstream_pool *p = calloc(1, sizeof(*p));
	int i;

	*out = NULL;
	if (p == NULL || (p->w = calloc((size_t)nworkers, sizeof(*p->w))) == NULL) {
		free(p);
		log_warnx("upstream: out of memory for %d workers", nworkers);
		return EG_ERR_NOMEM;
	}
	p->n = nworkers;
	for (i = 0; i < nworkers; i++) {
		p->w[i].pool = p;
		p->w[i].epfd = -1;
	}
	*out = p;
	return EG_OK;
}

struct up_worker *
forward_worker(struct upstream_pool *p, int i)
{
	return i >= 0 && i < p->n ? &p->w[i] : NULL;
}

void
forward_worker_attach(struct up_worker *w, int epfd, struct MHD_Daemon *daemon)
{
	w->epfd = epfd;
	w->daemon = daemon;
}

void
forward_on_event(struct up_worker *w, void *ptr, uint32_t events)
{
	(void)w;
	conn_event(ptr, events);
}

/* New transfers fail from now on; the loops end the running ones (loop.c). */
void
forward_pool_shutdown(struct upstream_pool *p)
{
	if (p != NULL)
		atomic_store(&p->shutting_down, 1);
}

void
forward_pool_free(struct upstream_pool *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		forward_cancel_all(&p->w[i]);
		conn_worker_free(&p->w[i]);
	}
	free(p->w);
	free(p);
}
