/*
 * exchange.c - one request and its response over a backend connection: the request
 * head and the upload out, the response head in (read with h1.c) and the body passed
 * into the download ring, one retry on a fresh connection when a kept-alive one turns
 * out stale. Owns the transfer's backend and response blocks and the exchange block of
 * the connection (internal.h); the connection itself (connect, TLS, epoll) is conn.c's.
 *
 * Why not libcurl here: with one multi handle per loop thread, perf still showed
 * curl_multi_perform as the largest single cost of a proxied request (URL parsing,
 * header building and scanning, its own connection bookkeeping and poll() calls per
 * transfer). What a gateway needs from an HTTP/1.1 client is small: write a head we
 * already built, stream bytes both ways and find where the response ends. The part that
 * must be right, where a response ends, is forward/h1.c, strict and tested on its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "eidgate/util.h"
#include "forward/internal.h"

static void start_on(struct up_worker *w, struct upstream_xfer *x, struct up_conn *uc);

/* ---- binding a transfer to a connection ------------------------------------------------ */

/* Takes the transfer off uc; the connection is then free to keep or close. */
static struct upstream_xfer *
unbind(struct up_conn *uc)
{
	struct upstream_xfer *x = uc->x;

	uc->x = NULL;
	x->backend.uc = NULL;
	return x;
}

/* The response is complete (or the transfer broke off with the connection open). */
static void
finish(struct up_conn *uc, int broken)
{
	const struct up_exchange *e = &uc->ex;
	struct upstream_xfer *x = uc->x;
	/* A libmicrohttpd 0.9.75 backend sends a stray chunked body after a HEAD answer
	 * (LIBNOTES.md): a connection that carried a HEAD is not reused. Nor is one with
	 * bytes after the answer: they are not the next request's answer. */
	int reusable = !broken && e->h.keep_alive && e->body != BODY_EOF && e->sent_all &&
	    !x->req.is_head && e->inoff == e->inlen;

	unbind(uc);
	conn_release(uc, reusable);
	upstream_finish(x->run.w, x, broken);
}

void
exchange_fail(struct up_conn *uc, const char *why)
{
	struct upstream_xfer *x = uc->x;

	if (x != NULL) {
		upstream_error(x, why);
		unbind(uc);
	}
	conn_close(uc);
	if (x != NULL)
		upstream_finish(x->run.w, x, 1);
}

/* ---- response ------------------------------------------------------------------------ */

/* Keeps the backend's Connection header aside: the headers it names are hop-by-hop
 * too, and may come before it, so forward.c filters them when it builds the response. */
static void
note_connection(struct xfer_response *resp, const char *v, size_t len)
{
	size_t old = resp->connection ? strlen(resp->connection) : 0;
	char *n = realloc(resp->connection, old + len + 2);

	if (n == NULL)
		return;
	if (old > 0)
		n[old++] = ',';
	memcpy(n + old, v, len);
	n[old + len] = '\0';
	resp->connection = n;
}

static void
on_field(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct xfer_response *resp = arg;
	struct resp_header *h;

	if (nlen == 10 && strncasecmp(name, "connection", 10) == 0)
		note_connection(resp, value, vlen);
	/* Content-Length is libmicrohttpd's to write, from the size the response gets. */
	if (hop_by_hop(name, nlen) || (nlen == 14 && strncasecmp(name, "content-length", 14) == 0) ||
	    (h = calloc(1, sizeof(*h))) == NULL)
		return;
	h->name = strndup(name, nlen);
	h->value = strndup(value, vlen);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		free(h);
		return;
	}
	*resp->headers_tail = h;        /* in the backend's order: Set-Cookie, Link... */
	resp->headers_tail = &h->next;
}

/* A complete final head: the status, the fields and how the body is framed. */
static void
head_complete(struct up_conn *uc)
{
	struct up_exchange *e = &uc->ex;
	struct upstream_xfer *x = uc->x;
	int body = h1_has_body(&e->h, x->req.is_head);

	if (!body)
		e->body = BODY_NONE;
	else if (e->h.chunked)
		e->body = BODY_CHUNKED;
	else if (e->h.content_length >= 0)
		e->body = e->h.content_length > 0 ? BODY_LENGTH : BODY_NONE;
	else
		e->body = BODY_EOF;
	e->body_left = e->h.content_length > 0 ? (uint64_t)e->h.content_length : 0;
	e->head_done = 1;
	x->resp.status = e->h.status;
	x->resp.content_length = body || x->req.is_head || e->h.status == 304 ?
	    e->h.content_length : 0;
	x->resp.headers_ready = 1;
	/* When a body follows, the client is woken by its first bytes (or the end of the
	 * transfer) instead: the response then leaves with data, after one suspension of
	 * the connection rather than two. */
	if (e->body == BODY_NONE)
		client_resume(x, WAIT_HEADERS);
}

/* Parses the head once it is all there. 1 when done, 0 for more bytes, -1 on error. */
static int
read_head(struct up_conn *uc)
{
	struct up_exchange *e = &uc->ex;
	const char *p = uc->in + e->inoff;
	size_t avail = e->inlen - e->inoff;
	ssize_t n;

	for (;;) {
		if ((n = h1_parse_head(p, avail, &e->h, NULL, NULL)) <= 0)
			return (int)n;
		if (e->h.status >= 200)
			break;
		if (e->h.status == 101)
			return -1;              /* no protocol switches through the gateway */
		p += n;                         /* an interim response: skipped */
		avail -= (size_t)n;
		e->inoff += (size_t)n;
	}
	h1_parse_head(p, avail, &e->h, on_field, &uc->x->resp);
	e->inoff += (size_t)n;
	head_complete(uc);
	return 1;
}

/* Body bytes are in the download ring: a client still waiting for the head gets the
 * response now, with data (see head_complete); one waiting for more body goes on. */
static void
body_arrived(struct upstream_xfer *x)
{
	client_resume(x, x->client.waiting == WAIT_HEADERS ? WAIT_HEADERS : WAIT_BODY);
}

/* Moves body bytes from the receive buffer into the download ring, never more than the
 * ring has room for. 1 when the body is complete, 0 when it goes on (or the ring is
 * full: down_paused), -1 on bad framing or when the ring could not grow. */
static int
pass_body(struct up_conn *uc)
{
	struct up_exchange *e = &uc->ex;
	struct upstream_xfer *x = uc->x;
	const char *data, *p;
	size_t used, dlen, want, room, moved = 0;
	int end = 0, ret = 0;

	while (!end && e->inoff < e->inlen) {
		p = uc->in + e->inoff;
		want = e->inlen - e->inoff;
		if ((room = EG_PROXY_BUF - x->down.len) == 0) {
			x->backend.down_paused = 1;
			break;
		}
		/* Framing takes input but no room, so input up to `room` always fits. */
		if (want > room)
			want = room;
		if (e->body == BODY_CHUNKED) {
			enum h1_chunk_result cr = h1_chunk_step(&e->ch, p, want, &used, &data, &dlen);
			if (cr == H1_CHUNK_ERROR) {
				ret = -1;
				break;
			}
			end = cr == H1_CHUNK_END;
		} else {
			if (e->body == BODY_LENGTH && want > e->body_left)
				want = (size_t)e->body_left;
			data = p;
			used = dlen = want;
			if (e->body == BODY_LENGTH)
				end = (e->body_left -= want) == 0;
		}
		if (dlen > 0 && ring_put(&x->down, data, dlen) != dlen) {
			ret = -1;               /* out of memory: x->down.oom */
			break;
		}
		e->inoff += used;
		moved += dlen;
	}
	if (e->inoff == e->inlen)
		e->inoff = e->inlen = 0;
	if (moved > 0)
		body_arrived(x);
	return ret < 0 ? -1 : end;
}

/* A head that does not fit the receive buffer gets room up to EG_MAX_BACKEND_HEAD (and
 * one byte more, so that h1_parse_head sees a head over the limit as too large). */
static int
grow_for_head(struct up_conn *uc)
{
	struct up_exchange *e = &uc->ex;

	if (e->inoff > 0) {             /* an interim answer was skipped: make room first */
		memmove(uc->in, uc->in + e->inoff, e->inlen - e->inoff);
		e->inlen -= e->inoff;
		e->inoff = 0;
		return 0;
	}
	if (e->head_done || uc->incap > EG_MAX_BACKEND_HEAD)
		return -1;
	return conn_rx_grow(uc, EG_MAX_BACKEND_HEAD + 1);
}

/*
 * A kept-alive connection the backend closed (or reset) just as the request went out:
 * nothing came back, so the request was not processed. A safe request is sent again,
 * once, on a fresh connection (as browsers and curl do); anything else, or an upload
 * already streamed, gets its 502.
 */
static int
retry_fresh(struct up_conn *uc)
{
	struct upstream_xfer *x = uc->x;
	struct xfer_backend *b = &x->backend;

	if (!uc->reused || uc->ex.got > 0 || b->retried || !x->req.idempotent ||
	    x->req.has_body)
		return 0;
	b->retried = 1;
	b->connected = 0;
	b->start_ms = b->last_activity_ms = eg_mono_ms();   /* the connect timeout anew */
	unbind(uc);
	conn_close(uc);
	start_on(x->run.w, x, NULL);
	return 1;
}

/* The backend closed its side. */
static void
on_eof(struct up_conn *uc)
{
	if (uc->ex.head_done && uc->ex.body == BODY_EOF) {
		finish(uc, 0);
		return;
	}
	if (retry_fresh(uc))
		return;
	exchange_fail(uc, uc->ex.head_done ? "the backend closed the connection in the body" :
	    "the backend closed the connection without an answer");
}

/* The download ring is full: the backend's unread bytes would wake the loop forever. */
static void
stop_reading(struct up_conn *uc)
{
	conn_watch(uc, uc->ex.sent_all ? 0 : uc->events & ~(uint32_t)EPOLLIN);
}

/*
 * Where the next read goes: body bytes of a length- or close-delimited body go straight
 * into the download ring (one copy less, and reads as large as its free space); the head
 * and chunked bodies go through the receive buffer. 0 with *dst and *room set; 1 when
 * on_readable must stop (ring full: paused; or failed, uc freed).
 */
static int
read_target(struct up_conn *uc, int *direct, char **dst, size_t *room)
{
	struct up_exchange *e = &uc->ex;
	struct upstream_xfer *x = uc->x;
	unsigned char *p;

	*direct = e->head_done && e->inoff == e->inlen && e->body != BODY_CHUNKED;
	if (*direct) {
		*room = ring_space(&x->down, e->body == BODY_LENGTH && e->body_left < EG_PROXY_BUF ?
		    (size_t)e->body_left : EG_PROXY_BUF, &p);
		if (*room == 0) {
			if (x->down.oom) {
				exchange_fail(uc, "out of memory for the response");
				return 1;
			}
			x->backend.down_paused = 1;
			stop_reading(uc);
			return 1;
		}
		if (e->body == BODY_LENGTH && *room > e->body_left)
			*room = (size_t)e->body_left;
		*dst = (char *)p;
		return 0;
	}
	if (e->inoff == e->inlen)
		e->inoff = e->inlen = 0;
	if (e->inlen == uc->incap && grow_for_head(uc) != 0) {
		exchange_fail(uc, "response head too large");
		return 1;
	}
	*dst = uc->in + e->inlen;
	*room = uc->incap - e->inlen;
	return 0;
}

/* n body bytes were read straight into the ring. 1 when the body is complete. */
static int
took_direct(struct up_conn *uc, size_t n)
{
	struct up_exchange *e = &uc->ex;
	struct upstream_xfer *x = uc->x;

	ring_commit(&x->down, n);
	body_arrived(x);
	return e->body == BODY_LENGTH && (e->body_left -= n) == 0;
}

/* Reads what the socket has; stops when the ring is full. May free uc. */
static void
on_readable(struct up_conn *uc)
{
	struct up_exchange *e = &uc->ex;
	struct upstream_xfer *x = uc->x;
	size_t room;
	ssize_t n;
	char *dst;
	int r, direct;

	for (;;) {
		if (e->head_done && e->inoff < e->inlen) {
			if ((r = pass_body(uc)) < 0) {
				exchange_fail(uc, x->down.oom ? "out of memory for the response" :
				    "bad chunked framing from the backend");
				return;
			}
			if (r == 1) {
				finish(uc, 0);
				return;
			}
			if (x->backend.down_paused) {
				stop_reading(uc);
				return;
			}
		}
		if (read_target(uc, &direct, &dst, &room) != 0)
			return;
		n = conn_read(uc, dst, room);
		if (n == CONN_WANT_READ) {
			if (e->sent_all)        /* drop an EPOLLOUT a TLS read asked for */
				conn_watch(uc, EPOLLIN);
			return;
		}
		if (n == CONN_WANT_WRITE) {
			conn_watch(uc, EPOLLIN | EPOLLOUT);
			return;
		}
		if (n == CONN_ERROR) {
			if (!retry_fresh(uc))
				exchange_fail(uc, "read from the backend failed");
			return;
		}
		if (n == 0) {
			on_eof(uc);
			return;
		}
		e->got += (size_t)n;
		x->backend.last_activity_ms = eg_mono_ms();
		if (direct) {
			if (took_direct(uc, (size_t)n)) {
				finish(uc, 0);
				return;
			}
			continue;
		}
		e->inlen += (size_t)n;
		if (!e->head_done) {
			if ((r = read_head(uc)) < 0) {
				exchange_fail(uc, "malformed response head from the backend");
				return;
			}
			if (r == 1 && e->body == BODY_NONE) {
				finish(uc, 0);
				return;
			}
		}
	}
}

/* ---- request ------------------------------------------------------------------------- */

/* Frames the next piece of a chunked upload, or its end. 1 when there is something to
 * send, 0 when the upload waits for the client. */
static int
next_chunk(struct up_exchange *e, struct upstream_xfer *x)
{
	if (x->up.len > 0) {
		e->chunk_open = 1;
		e->chunk_left = x->up.len;
		e->frame_len = (size_t)snprintf(e->frame, sizeof(e->frame), "%zx\r\n",
		    e->chunk_left);
		e->frame_off = 0;
		return 1;
	}
	if (!x->client.up_done)
		return 0;
	memcpy(e->frame, "0\r\n\r\n", 5);
	e->frame_len = 5;
	e->frame_off = 0;
	e->last_chunk = 1;
	return 1;
}

/* Sends upload bytes from the ring: never more than the current chunk, nor past the
 * announced Content-Length. 1 when some went out (or the upload is complete), 0 when the
 * ring is empty and the client not done (up_paused), or a CONN_ code. */
static int
send_upload(struct up_conn *uc, struct upstream_xfer *x)
{
	struct up_exchange *e = &uc->ex;
	int64_t length = x->req.up_length;
	const unsigned char *p;
	size_t n = ring_peek(&x->up, &p);
	ssize_t w;

	if (length < 0 && n > e->chunk_left)
		n = e->chunk_left;
	if (length >= 0 && n > (uint64_t)length - e->up_sent)
		n = (size_t)((uint64_t)length - e->up_sent);
	if (n == 0) {
		if (!x->client.up_done)
			x->backend.up_paused = 1;
		return x->client.up_done ? 1 : 0;
	}
	if ((w = conn_write(uc, p, n)) < 0)
		return (int)w;
	ring_drop(&x->up, (size_t)w);
	e->up_sent += (uint64_t)w;
	if (length < 0)
		e->chunk_left -= (size_t)w;
	x->backend.last_activity_ms = eg_mono_ms();
	client_resume(x, WAIT_UPLOAD_SPACE);
	return 1;
}

/* One step of the upload; 1 to go on, 0 to wait for the client, or a CONN_ code. */
static int
upload_step(struct up_conn *uc, struct upstream_xfer *x)
{
	struct up_exchange *e = &uc->ex;
	ssize_t w;

	if (e->frame_off < e->frame_len) {
		if ((w = conn_write(uc, e->frame + e->frame_off, e->frame_len - e->frame_off)) < 0)
			return (int)w;
		e->frame_off += (size_t)w;
		if (e->frame_off == e->frame_len && e->last_chunk)
			e->sent_all = 1;
		return 1;
	}
	if (x->req.up_length >= 0) {
		if (e->up_sent == (uint64_t)x->req.up_length) {
			/* The announced length went out: more from the client would be a second
			 * request smuggled into the backend connection. */
			if (x->up.len > 0)
				return CONN_ERROR;
			e->sent_all = 1;
			return 1;
		}
		if (x->client.up_done && x->up.len == 0)
			return CONN_ERROR;      /* the client sent less than it announced */
		return send_upload(uc, x);
	}
	if (e->chunk_left > 0)
		return send_upload(uc, x);
	if (e->chunk_open) {
		/* the data of a chunk went out: its CRLF */
		e->chunk_open = 0;
		memcpy(e->frame, "\r\n", 2);
		e->frame_len = 2;
		e->frame_off = 0;
		return 1;
	}
	if ((w = next_chunk(e, x)) == 0)
		x->backend.up_paused = 1;
	return (int)w;
}

/* Sends what can be sent now: the head, then the upload. Watches for room in the
 * socket only while something is waiting to go. -1 when it failed and freed uc. */
static int
on_writable(struct up_conn *uc)
{
	struct up_exchange *e = &uc->ex;
	struct upstream_xfer *x = uc->x;
	const struct hbuf *head = &x->req.head;
	ssize_t w = 1;

	while (e->head_off < head->len && w > 0) {
		w = conn_write(uc, head->p + e->head_off, head->len - e->head_off);
		if (w > 0) {
			e->head_off += (size_t)w;
			x->backend.last_activity_ms = eg_mono_ms();
		}
	}
	if (w > 0 && !x->req.has_body)
		e->sent_all = 1;
	while (w > 0 && !e->sent_all)
		w = upload_step(uc, x);
	if (w == CONN_ERROR) {
		if (retry_fresh(uc))
			return -1;
		exchange_fail(uc, "write to the backend failed");
		return -1;
	}
	/* 0: nothing more until the client brings more (exchange_resume). Reading stays off
	 * while the download ring is full: the backend's unread bytes would fire forever. */
	if (w == CONN_WANT_READ)
		conn_watch(uc, EPOLLIN);
	else
		conn_watch(uc, (x->backend.down_paused ? 0 : EPOLLIN) |
		    (w == CONN_WANT_WRITE ? EPOLLOUT : 0));
	return 0;
}

/* ---- events -------------------------------------------------------------------------- */

void
exchange_opened(struct up_conn *uc)
{
	struct xfer_backend *b = &uc->x->backend;

	b->connected = 1;               /* only now is the backend reached (502 before) */
	b->last_activity_ms = eg_mono_ms();
	on_writable(uc);
}

void
exchange_event(struct up_conn *uc, uint32_t events)
{
	int tls = uc->ssl != NULL;

	/* With TLS a write may wait for readability and a read for writability. */
	if (!uc->ex.sent_all && ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ||
	    (tls && (events & EPOLLIN)))) {
		if (on_writable(uc) < 0)
			return;
	}
	if (uc->x->backend.down_paused) {
		if (!(events & (EPOLLERR | EPOLLHUP)))
			return;
		if (!uc->ex.sent_all)   /* the upload cannot go on: no wait for the timeout */
			exchange_fail(uc, "the backend closed the connection during the upload");
		else
			conn_detach(uc);        /* exchange_resume reads to the end or the error */
		return;
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || (tls && (events & EPOLLOUT)))
		on_readable(uc);
}

/* ---- starting and resuming ------------------------------------------------------------- */

/* Sends x on uc, or on a new connection when uc is NULL. */
static void
start_on(struct up_worker *w, struct upstream_xfer *x, struct up_conn *uc)
{
	char err[XFER_ERRLEN];

	if (uc == NULL && (uc = conn_open(w, &x->req.target, err, sizeof(err))) == NULL) {
		upstream_error(x, err[0] != '\0' ? err : "cannot open a connection");
		upstream_finish(w, x, 1);
		return;
	}
	uc->x = x;
	x->backend.uc = uc;
	memset(&uc->ex, 0, sizeof(uc->ex));
	if (uc->state == CONN_OPEN) {
		x->backend.connected = 1;
		on_writable(uc);
	}
}

void
exchange_start(struct up_worker *w, struct upstream_xfer *x)
{
	x->resp.content_length = -1;
	x->resp.headers_tail = &x->resp.headers;
	x->backend.start_ms = x->backend.last_activity_ms = eg_mono_ms();
	start_on(w, x, conn_idle(w, &x->req.target));
}

void
exchange_resume(struct up_conn *uc)
{
	struct upstream_xfer *x = uc->x;

	if (x == NULL || uc->state != CONN_OPEN)
		return;
	if (!uc->ex.sent_all && on_writable(uc) < 0)
		return;
	if (uc->ex.head_done && !x->backend.down_paused) {
		conn_watch(uc, uc->events | EPOLLIN);
		on_readable(uc);
	}
}

/* ---- what the client side asks of the backend side --------------------------------------- */

/* The client side let a paused side go on: the wait was the client's, not the
 * backend's, so the backend's clock starts again. */
static int
unpause(struct upstream_xfer *x, int *paused)
{
	if (!*paused)
		return 0;
	*paused = 0;
	x->backend.last_activity_ms = eg_mono_ms();
	return 1;
}

int
exchange_upload_fed(struct upstream_xfer *x)
{
	return unpause(x, &x->backend.up_paused);
}

int
exchange_download_drained(struct upstream_xfer *x)
{
	return unpause(x, &x->backend.down_paused);
}

int
exchange_upload_ended(struct upstream_xfer *x)
{
	int paused = x->backend.up_paused;

	x->backend.up_paused = 0;
	return paused;
}
