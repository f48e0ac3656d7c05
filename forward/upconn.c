/*
 * upconn.c - connections to backends: non-blocking connect (TLS for https backends),
 * sending the request head and the upload, reading the response into the transfer's
 * ring, keeping connections alive for the next request of the same event loop.
 *
 * Why not libcurl here: with one multi handle per loop thread, perf still showed
 * curl_multi_perform as the largest single cost of a proxied request (URL parsing,
 * header building and scanning, its own connection bookkeeping and poll() calls per
 * transfer). What a gateway needs from an HTTP/1.1 client is small: write a head we
 * already built, stream bytes both ways and find where the response ends. The part that
 * must be right, where a response ends, is forward/h1.c, strict and tested on its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "forward/internal.h"

/* Kept-alive backend connections per loop. */
#define MAX_IDLE 64
/* A connection's receive buffer: a response head must fit (h1.h), body bytes pass. */
#define IN_BUF (16 * 1024)

enum uc_state { UC_CONNECTING, UC_HANDSHAKE, UC_OPEN };
enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF };

/* epoll's data.ptr of a backend connection is the connection itself (forward.h). */
struct up_conn {
	int fd;
	SSL *ssl;
	struct up_worker *w;
	struct upstream_xfer *x;        /* NULL while idle */
	enum uc_state state;
	char key[300];                  /* https?://authority it is connected to */
	uint32_t events;                /* what epoll watches for */
	int detached;                   /* taken out of the epoll set (hung up while paused) */
	int reused;                     /* carried an earlier request */
	int64_t idle_since_ms;
	struct up_conn *next;           /* idle list */
	/* response */
	char *in;
	size_t incap, inoff, inlen;
	int head_done;
	struct h1_head h;
	struct h1_chunked ch;
	enum body_mode body;
	uint64_t body_left;
	size_t got;                     /* response bytes received for this request */
	/* request */
	size_t head_off;
	uint64_t up_sent;               /* upload bytes sent (without chunk framing) */
	int sent_all;
	char frame[24];                 /* chunk framing waiting to be sent */
	size_t frame_len, frame_off;
	size_t chunk_left;              /* upload bytes of the current chunk still to send */
	int chunk_open;                 /* a chunk's data is being sent: its CRLF is due */
	int last_chunk;                 /* the terminating chunk was framed */
};

static void conn_free(struct up_conn *uc);
static void conn_fail(struct up_conn *uc, const char *why);
static void start_on(struct up_worker *w, struct upstream_xfer *x, struct up_conn *uc);

/* Which kept-alive connections can carry x: same scheme, host and port. */
static void
conn_key(const struct upstream_xfer *x, char *key, size_t len)
{
	snprintf(key, len, "%s://%s:%s", x->target.tls ? "https" : "http", x->target.host,
	    x->target.port);
}

/* ---- low-level I/O ------------------------------------------------------------------- */

static void
set_events(struct up_conn *uc, uint32_t ev)
{
	struct epoll_event e;

	if (ev == uc->events || uc->detached)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = uc;
	if (epoll_ctl(uc->w->epfd, EPOLL_CTL_MOD, uc->fd, &e) == 0)
		uc->events = ev;
}

/*
 * What io_read and io_write return besides a byte count: go on once the socket is
 * readable (IO_WANT_READ) or writable (IO_WANT_WRITE), or give up. With TLS either call
 * may need either direction (a handshake message, a key update).
 */
enum { IO_WANT_READ = -1, IO_ERROR = -2, IO_WANT_WRITE = -3 };

static ssize_t
tls_want(struct up_conn *uc, int n)
{
	int e = SSL_get_error(uc->ssl, n);

	if (e == SSL_ERROR_WANT_READ)
		return IO_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return IO_WANT_WRITE;
	return e == SSL_ERROR_ZERO_RETURN ? 0 : IO_ERROR;
}

/* Bytes read (> 0), 0 at the end of the stream, or an IO_ code. A reset counts as an
 * error (on_eof tells a stale kept-alive connection from a broken answer). */
static ssize_t
io_read(struct up_conn *uc, void *buf, size_t len)
{
	ssize_t n;

	if (uc->ssl == NULL) {
		do
			n = recv(uc->fd, buf, len, 0);
		while (n < 0 && errno == EINTR);
		if (n >= 0)
			return n;
		return errno == EAGAIN || errno == EWOULDBLOCK ? IO_WANT_READ : IO_ERROR;
	}
	ERR_clear_error();
	if ((n = SSL_read(uc->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len))) > 0)
		return n;
	return tls_want(uc, (int)n);
}

/* Bytes written (> 0) or an IO_ code (never 0). */
static ssize_t
io_write(struct up_conn *uc, const void *buf, size_t len)
{
	ssize_t n;

	if (uc->ssl == NULL) {
		do
			n = send(uc->fd, buf, len, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n > 0)
			return n;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? IO_WANT_WRITE : IO_ERROR;
	}
	ERR_clear_error();
	if ((n = SSL_write(uc->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len))) > 0)
		return n;
	n = tls_want(uc, (int)n);
	return n == 0 ? IO_ERROR : n;
}

/* ---- addresses and connecting ---------------------------------------------------------- */

/* The backend's address: numeric hosts directly, names through a per-loop cache (a
 * lookup blocks this loop, at most once a minute per backend). */
static int
resolve(struct up_worker *w, const struct up_target *t, struct sockaddr_storage *sa,
    socklen_t *salen)
{
	struct addrinfo hints, *res = NULL;
	struct up_addr *slot = &w->addrs[0];
	char key[sizeof(slot->key)];
	int64_t now = eg_mono_ms();
	size_t i;

	snprintf(key, sizeof(key), "%s/%s", t->host, t->port);
	for (i = 0; i < UP_ADDRS; i++) {
		if (strcmp(w->addrs[i].key, key) == 0 && w->addrs[i].expires_ms > now) {
			memcpy(sa, &w->addrs[i].sa, w->addrs[i].salen);
			*salen = w->addrs[i].salen;
			return 0;
		}
		if (w->addrs[i].expires_ms < slot->expires_ms)
			slot = &w->addrs[i];
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(t->host, t->port, &hints, &res) != 0 || res == NULL ||
	    res->ai_addrlen > sizeof(*sa)) {
		if (res != NULL)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	eg_strlcpy(slot->key, key, sizeof(slot->key));
	memcpy(&slot->sa, sa, *salen);
	slot->salen = *salen;
	slot->expires_ms = now + 60000;
	return 0;
}

static SSL_CTX *
tls_ctx(struct up_worker *w)
{
	SSL_CTX *ctx;

	if (w->tls != NULL)
		return w->tls;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A write retried after WANT_WRITE may start from a grown (moved) ring and carry
	 * more bytes than the first try. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	w->tls = ctx;
	return ctx;
}

/* https: a TLS client on the connected socket, verifying the backend's name. */
static int
tls_begin(struct up_conn *uc, const struct up_target *t)
{
	SSL_CTX *ctx = tls_ctx(uc->w);
	struct in6_addr a6;
	struct in_addr a4;
	int ip = inet_pton(AF_INET, t->host, &a4) == 1 || inet_pton(AF_INET6, t->host, &a6) == 1;

	if (ctx == NULL || (uc->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(uc->ssl, uc->fd) != 1)
		return -1;
	if (!ip && SSL_set_tlsext_host_name(uc->ssl, t->host) != 1)
		return -1;
	if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(uc->ssl), t->host) != 1 :
	    SSL_set1_host(uc->ssl, t->host) != 1)
		return -1;
	SSL_set_connect_state(uc->ssl);
	uc->state = UC_HANDSHAKE;
	return 0;
}

static struct up_conn *
conn_new(struct up_worker *w, const char *key)
{
	struct up_conn *uc = calloc(1, sizeof(*uc));

	if (uc == NULL || (uc->in = malloc(IN_BUF)) == NULL) {
		free(uc);
		return NULL;
	}
	uc->fd = -1;
	uc->w = w;
	uc->incap = IN_BUF;
	eg_strlcpy(uc->key, key, sizeof(uc->key));
	return uc;
}

static struct up_conn *
conn_open(struct up_worker *w, struct upstream_xfer *x, const char *key)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	struct epoll_event e;
	struct up_conn *uc;
	int one = 1;

	if (resolve(w, &x->target, &sa, &salen) != 0) {
		snprintf(x->errbuf, sizeof(x->errbuf), "cannot resolve %s", x->target.host);
		return NULL;
	}
	if ((uc = conn_new(w, key)) == NULL)
		return NULL;
	uc->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (uc->fd < 0)
		goto fail;
	setsockopt(uc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(uc->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (connect(uc->fd, (struct sockaddr *)&sa, salen) != 0 && errno != EINPROGRESS) {
		snprintf(x->errbuf, sizeof(x->errbuf), "connect to %s:%s: %s", x->target.host,
		    x->target.port, strerror(errno));
		goto fail;
	}
	memset(&e, 0, sizeof(e));
	e.events = uc->events = EPOLLOUT;
	e.data.ptr = uc;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, uc->fd, &e) != 0)
		goto fail;
	uc->state = UC_CONNECTING;
	atomic_fetch_add(&w->pool->connects, 1);
	return uc;
fail:
	conn_free(uc);
	return NULL;
}

static void
conn_free(struct up_conn *uc)
{
	if (uc->ssl != NULL)
		SSL_free(uc->ssl);
	if (uc->fd >= 0)
		close(uc->fd);          /* also leaves the epoll set */
	free(uc->in);
	free(uc);
}

/* ---- idle connections ---------------------------------------------------------------- */

static struct up_conn *
idle_take(struct up_worker *w, const char *key)
{
	struct up_conn **pp, *uc;

	for (pp = &w->idle; (uc = *pp) != NULL; pp = &uc->next) {
		if (strcmp(uc->key, key) == 0) {
			*pp = uc->next;
			uc->next = NULL;
			w->nidle--;
			return uc;
		}
	}
	return NULL;
}

/* Keeps uc for the next request when its response ended cleanly and nothing else came;
 * otherwise closes it. */
static void
idle_put(struct up_conn *uc, int reusable)
{
	struct up_worker *w = uc->w;

	uc->x = NULL;
	/* Bytes after the answer, in our buffer or already decrypted inside OpenSSL (where
	 * no epoll event would ever tell), are not the next request's answer. */
	if (!reusable || uc->inoff != uc->inlen || (uc->ssl != NULL && SSL_has_pending(uc->ssl)) ||
	    uc->detached || w->nidle >= MAX_IDLE || atomic_load(&w->pool->shutting_down)) {
		conn_free(uc);
		return;
	}
	/* Readable while idle means the backend closed it (or sent garbage): drop it then. */
	set_events(uc, EPOLLIN);
	uc->reused = 1;
	uc->idle_since_ms = eg_mono_ms();
	uc->next = w->idle;
	w->idle = uc;
	w->nidle++;
}

static void
idle_drop(struct up_conn *uc)
{
	struct up_conn **pp;

	for (pp = &uc->w->idle; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == uc) {
			*pp = uc->next;
			uc->w->nidle--;
			break;
		}
	}
	conn_free(uc);
}

void
upconn_close_idle(struct up_worker *w, int64_t older_than_ms)
{
	struct up_conn **pp = &w->idle, *uc;

	while ((uc = *pp) != NULL) {
		if (uc->idle_since_ms <= older_than_ms) {
			*pp = uc->next;
			w->nidle--;
			conn_free(uc);
		} else {
			pp = &uc->next;
		}
	}
}

/* ---- ending a transfer ----------------------------------------------------------------- */

static void
conn_done(struct up_conn *uc, int broken)
{
	struct upstream_xfer *x = uc->x;
	int reusable = !broken && uc->h.keep_alive && uc->body != BODY_EOF && uc->sent_all &&
	    !x->is_head;

	/* A libmicrohttpd 0.9.75 backend sends a stray chunked body after a HEAD answer
	 * (LIBNOTES.md): a connection that carried a HEAD is not reused. */
	uc->x = NULL;
	idle_put(uc, reusable);
	upstream_finish(x->w, x, broken);
}

static void
conn_fail(struct up_conn *uc, const char *why)
{
	struct upstream_xfer *x = uc->x;

	if (x != NULL && x->errbuf[0] == '\0')
		eg_strlcpy(x->errbuf, why, sizeof(x->errbuf));
	uc->x = NULL;
	conn_free(uc);
	if (x != NULL)
		upstream_finish(x->w, x, 1);
}

void
upconn_abort(struct up_conn *uc)
{
	conn_fail(uc, "cancelled");
}

/* ---- response ------------------------------------------------------------------------ */

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
on_field(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct upstream_xfer *x = arg;
	struct resp_header *h;

	if (nlen == 10 && strncasecmp(name, "connection", 10) == 0)
		note_connection(x, value, vlen);
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
	*x->headers_tail = h;           /* in the backend's order: Set-Cookie, Link... */
	x->headers_tail = &h->next;
}

/* A complete final head: the status, the fields and how the body is framed. */
static void
head_complete(struct up_conn *uc)
{
	struct upstream_xfer *x = uc->x;
	int body = h1_has_body(&uc->h, x->is_head);

	if (!body)
		uc->body = BODY_NONE;
	else if (uc->h.chunked)
		uc->body = BODY_CHUNKED;
	else if (uc->h.content_length >= 0)
		uc->body = uc->h.content_length > 0 ? BODY_LENGTH : BODY_NONE;
	else
		uc->body = BODY_EOF;
	uc->body_left = uc->h.content_length > 0 ? (uint64_t)uc->h.content_length : 0;
	uc->head_done = 1;
	x->status = uc->h.status;
	x->content_length = body || x->is_head || uc->h.status == 304 ? uc->h.content_length : 0;
	x->headers_ready = 1;
	/* When a body follows, the client is woken by its first bytes (or the end of the
	 * transfer) instead: the response then leaves with data, after one suspension of
	 * the connection rather than two. */
	if (uc->body == BODY_NONE)
		upstream_wake_client(x, WAIT_HEADERS);
}

/* Parses the head once it is all there. 1 when done, 0 for more bytes, -1 on error. */
static int
read_head(struct up_conn *uc)
{
	const char *p = uc->in + uc->inoff;
	size_t avail = uc->inlen - uc->inoff;
	ssize_t n;

	for (;;) {
		if ((n = h1_parse_head(p, avail, &uc->h, NULL, NULL)) <= 0)
			return (int)n;
		if (uc->h.status >= 200)
			break;
		if (uc->h.status == 101)
			return -1;              /* no protocol switches through the gateway */
		p += n;                         /* an interim response: skipped */
		avail -= (size_t)n;
		uc->inoff += (size_t)n;
	}
	h1_parse_head(p, avail, &uc->h, on_field, uc->x);
	uc->inoff += (size_t)n;
	head_complete(uc);
	return 1;
}

/* Moves body bytes from the receive buffer into the download ring, never more than the
 * ring has room for. 1 when the body is complete, 0 when it goes on (or the ring is
 * full: down_paused), -1 on bad framing or when the ring could not grow. */
static int
pass_body(struct up_conn *uc)
{
	struct upstream_xfer *x = uc->x;
	const char *data, *p;
	size_t used, dlen, want, room, moved = 0;
	int end = 0, ret = 0;

	while (!end && uc->inoff < uc->inlen) {
		p = uc->in + uc->inoff;
		want = uc->inlen - uc->inoff;
		if ((room = EG_PROXY_BUF - x->down.len) == 0) {
			x->down_paused = 1;
			break;
		}
		/* Framing takes input but no room, so input up to `room` always fits. */
		if (want > room)
			want = room;
		if (uc->body == BODY_CHUNKED) {
			enum h1_chunk_result cr = h1_chunk_step(&uc->ch, p, want, &used, &data, &dlen);
			if (cr == H1_CHUNK_ERROR) {
				ret = -1;
				break;
			}
			end = cr == H1_CHUNK_END;
		} else {
			if (uc->body == BODY_LENGTH && want > uc->body_left)
				want = (size_t)uc->body_left;
			data = p;
			used = dlen = want;
			if (uc->body == BODY_LENGTH)
				end = (uc->body_left -= want) == 0;
		}
		if (dlen > 0 && ring_put(&x->down, data, dlen) != dlen) {
			ret = -1;               /* out of memory: x->down.oom */
			break;
		}
		uc->inoff += used;
		moved += dlen;
	}
	if (uc->inoff == uc->inlen)
		uc->inoff = uc->inlen = 0;
	if (moved > 0)
		upstream_wake_client(x, x->waiting == WAIT_HEADERS ? WAIT_HEADERS : WAIT_BODY);
	return ret < 0 ? -1 : end;
}

/* A head that does not fit the receive buffer gets room up to H1_MAX_HEAD (and one
 * byte more, so that h1_parse_head sees a head over the limit as too large). */
static int
grow_for_head(struct up_conn *uc)
{
	char *n;

	if (uc->inoff > 0) {            /* an interim answer was skipped: make room first */
		memmove(uc->in, uc->in + uc->inoff, uc->inlen - uc->inoff);
		uc->inlen -= uc->inoff;
		uc->inoff = 0;
		return 0;
	}
	if (uc->head_done || uc->incap > H1_MAX_HEAD)
		return -1;
	if ((n = realloc(uc->in, H1_MAX_HEAD + 1)) == NULL)
		return -1;
	uc->in = n;
	uc->incap = H1_MAX_HEAD + 1;
	return 0;
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

	if (!uc->reused || uc->got > 0 || x->retried || !x->idempotent || x->has_body)
		return 0;
	x->retried = 1;
	x->connected = 0;
	x->start_ms = x->last_activity_ms = eg_mono_ms();     /* the connect timeout anew */
	uc->x = NULL;
	x->uc = NULL;
	conn_free(uc);
	start_on(x->w, x, NULL);
	return 1;
}

/* The backend closed its side. */
static void
on_eof(struct up_conn *uc)
{
	if (uc->head_done && uc->body == BODY_EOF) {
		conn_done(uc, 0);
		return;
	}
	if (retry_fresh(uc))
		return;
	conn_fail(uc, uc->head_done ? "the backend closed the connection in the body" :
	    "the backend closed the connection without an answer");
}

/*
 * Where the next read goes: body bytes of a length- or close-delimited body go straight
 * into the download ring (one copy less, and reads as large as its free space); the head
 * and chunked bodies go through uc->in. 0 with *dst and *room set; 1 when on_readable
 * must stop (ring full: paused; or failed, uc freed).
 */
static int
read_target(struct up_conn *uc, int *direct, char **dst, size_t *room)
{
	struct upstream_xfer *x = uc->x;
	unsigned char *p;

	*direct = uc->head_done && uc->inoff == uc->inlen && uc->body != BODY_CHUNKED;
	if (*direct) {
		*room = ring_space(&x->down, uc->body == BODY_LENGTH && uc->body_left < EG_PROXY_BUF ?
		    (size_t)uc->body_left : EG_PROXY_BUF, &p);
		if (*room == 0) {
			if (x->down.oom) {
				conn_fail(uc, "out of memory for the response");
				return 1;
			}
			x->down_paused = 1;
			set_events(uc, uc->sent_all ? 0 : uc->events & ~(uint32_t)EPOLLIN);
			return 1;
		}
		if (uc->body == BODY_LENGTH && *room > uc->body_left)
			*room = (size_t)uc->body_left;
		*dst = (char *)p;
		return 0;
	}
	if (uc->inoff == uc->inlen)
		uc->inoff = uc->inlen = 0;
	if (uc->inlen == uc->incap && grow_for_head(uc) != 0) {
		conn_fail(uc, "response head too large");
		return 1;
	}
	*dst = uc->in + uc->inlen;
	*room = uc->incap - uc->inlen;
	return 0;
}

/* n body bytes were read straight into the ring. 1 when the body is complete. */
static int
took_direct(struct up_conn *uc, size_t n)
{
	struct upstream_xfer *x = uc->x;

	ring_commit(&x->down, n);
	upstream_wake_client(x, x->waiting == WAIT_HEADERS ? WAIT_HEADERS : WAIT_BODY);
	return uc->body == BODY_LENGTH && (uc->body_left -= n) == 0;
}

/* Reads what the socket has; stops when the ring is full. May free uc. */
static void
on_readable(struct up_conn *uc)
{
	struct upstream_xfer *x = uc->x;
	size_t room;
	ssize_t n;
	char *dst;
	int r, direct;

	for (;;) {
		if (uc->head_done && uc->inoff < uc->inlen) {
			if ((r = pass_body(uc)) < 0) {
				conn_fail(uc, x->down.oom ? "out of memory for the response" :
				    "bad chunked framing from the backend");
				return;
			}
			if (r == 1) {
				conn_done(uc, 0);
				return;
			}
			if (x->down_paused) {
				set_events(uc, uc->sent_all ? 0 : uc->events & ~(uint32_t)EPOLLIN);
				return;
			}
		}
		if (read_target(uc, &direct, &dst, &room) != 0)
			return;
		n = io_read(uc, dst, room);
		if (n == IO_WANT_READ) {
			if (uc->sent_all)       /* drop an EPOLLOUT a TLS read asked for */
				set_events(uc, EPOLLIN);
			return;
		}
		if (n == IO_WANT_WRITE) {
			set_events(uc, EPOLLIN | EPOLLOUT);
			return;
		}
		if (n == IO_ERROR) {
			if (!retry_fresh(uc))
				conn_fail(uc, "read from the backend failed");
			return;
		}
		if (n == 0) {
			on_eof(uc);
			return;
		}
		uc->got += (size_t)n;
		x->last_activity_ms = eg_mono_ms();
		if (direct) {
			if (took_direct(uc, (size_t)n)) {
				conn_done(uc, 0);
				return;
			}
			continue;
		}
		uc->inlen += (size_t)n;
		if (!uc->head_done) {
			if ((r = read_head(uc)) < 0) {
				conn_fail(uc, "malformed response head from the backend");
				return;
			}
			if (r == 1 && uc->body == BODY_NONE) {
				conn_done(uc, 0);
				return;
			}
		}
	}
}

/* ---- request ------------------------------------------------------------------------- */

/* Frames the next piece of a chunked upload, or its end. 1 when there is something to
 * send, 0 when the upload waits for the client. */
static int
next_chunk(struct up_conn *uc, struct upstream_xfer *x)
{
	if (x->up.len > 0) {
		uc->chunk_open = 1;
		uc->chunk_left = x->up.len;
		uc->frame_len = (size_t)snprintf(uc->frame, sizeof(uc->frame), "%zx\r\n",
		    uc->chunk_left);
		uc->frame_off = 0;
		return 1;
	}
	if (!x->up_done)
		return 0;
	memcpy(uc->frame, "0\r\n\r\n", 5);
	uc->frame_len = 5;
	uc->frame_off = 0;
	uc->last_chunk = 1;
	return 1;
}

/* Sends upload bytes from the ring: never more than the current chunk, nor past the
 * announced Content-Length. 1 when some went out (or the upload is complete), 0 when the
 * ring is empty and the client not done (up_paused), or an IO_ code. */
static int
send_upload(struct up_conn *uc, struct upstream_xfer *x)
{
	const unsigned char *p;
	size_t n = ring_peek(&x->up, &p);
	ssize_t w;

	if (x->up_length < 0 && n > uc->chunk_left)
		n = uc->chunk_left;
	if (x->up_length >= 0 && n > (uint64_t)x->up_length - uc->up_sent)
		n = (size_t)((uint64_t)x->up_length - uc->up_sent);
	if (n == 0) {
		if (!x->up_done)
			x->up_paused = 1;
		return x->up_done ? 1 : 0;
	}
	if ((w = io_write(uc, p, n)) < 0)
		return (int)w;
	ring_drop(&x->up, (size_t)w);
	uc->up_sent += (uint64_t)w;
	if (x->up_length < 0)
		uc->chunk_left -= (size_t)w;
	x->last_activity_ms = eg_mono_ms();
	upstream_wake_client(x, WAIT_UPLOAD_SPACE);
	return 1;
}

/* One step of the upload; 1 to go on, 0 to wait for the client, or an IO_ code. */
static int
upload_step(struct up_conn *uc, struct upstream_xfer *x)
{
	ssize_t w;

	if (uc->frame_off < uc->frame_len) {
		if ((w = io_write(uc, uc->frame + uc->frame_off, uc->frame_len - uc->frame_off)) < 0)
			return (int)w;
		uc->frame_off += (size_t)w;
		if (uc->frame_off == uc->frame_len && uc->last_chunk)
			uc->sent_all = 1;
		return 1;
	}
	if (x->up_length >= 0) {
		if (uc->up_sent == (uint64_t)x->up_length) {
			/* The announced length went out: more from the client would be a second
			 * request smuggled into the backend connection. */
			if (x->up.len > 0)
				return IO_ERROR;
			uc->sent_all = 1;
			return 1;
		}
		if (x->up_done && x->up.len == 0)
			return IO_ERROR;        /* the client sent less than it announced */
		return send_upload(uc, x);
	}
	if (uc->chunk_left > 0)
		return send_upload(uc, x);
	if (uc->chunk_open) {
		/* the data of a chunk went out: its CRLF */
		uc->chunk_open = 0;
		memcpy(uc->frame, "\r\n", 2);
		uc->frame_len = 2;
		uc->frame_off = 0;
		return 1;
	}
	if ((w = next_chunk(uc, x)) == 0)
		x->up_paused = 1;
	return (int)w;
}

/* Sends what can be sent now: the head, then the upload. Watches for room in the
 * socket only while something is waiting to go. -1 when it failed and freed uc. */
static int
on_writable(struct up_conn *uc)
{
	struct upstream_xfer *x = uc->x;
	ssize_t w = 1;

	while (uc->head_off < x->head.len && w > 0) {
		w = io_write(uc, x->head.p + uc->head_off, x->head.len - uc->head_off);
		if (w > 0) {
			uc->head_off += (size_t)w;
			x->last_activity_ms = eg_mono_ms();
		}
	}
	if (w > 0 && !x->has_body)
		uc->sent_all = 1;
	while (w > 0 && !uc->sent_all)
		w = upload_step(uc, x);
	if (w == IO_ERROR) {
		if (retry_fresh(uc))
			return -1;
		conn_fail(uc, "write to the backend failed");
		return -1;
	}
	/* 0: nothing more until the client brings more (upconn_resume). Reading stays off
	 * while the download ring is full: the backend's unread bytes would fire forever. */
	if (w == IO_WANT_READ)
		set_events(uc, EPOLLIN);
	else
		set_events(uc, (x->down_paused ? 0 : EPOLLIN) | (w == IO_WANT_WRITE ? EPOLLOUT : 0));
	return 0;
}

/* ---- events -------------------------------------------------------------------------- */

static int
connect_finished(struct up_conn *uc)
{
	struct upstream_xfer *x = uc->x;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(uc->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return 0;
	if (err != 0) {
		snprintf(x->errbuf, sizeof(x->errbuf), "connect to %s:%s: %s", x->target.host,
		    x->target.port, strerror(err));
		conn_fail(uc, x->errbuf);
		return -1;
	}
	if (x->target.tls) {
		if (tls_begin(uc, &x->target) != 0) {
			conn_fail(uc, "cannot set up TLS to the backend");
			return -1;
		}
		return 1;
	}
	uc->state = UC_OPEN;
	x->connected = 1;
	x->last_activity_ms = eg_mono_ms();
	return 1;
}

/* 1 when the handshake is complete, 0 while it goes on, -1 when it failed. */
static int
handshake(struct up_conn *uc)
{
	long v;
	int r, e;

	ERR_clear_error();
	if ((r = SSL_do_handshake(uc->ssl)) == 1) {
		uc->state = UC_OPEN;
		uc->x->connected = 1;   /* only now is the backend reached (502 before) */
		uc->x->last_activity_ms = eg_mono_ms();
		return 1;
	}
	e = SSL_get_error(uc->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		/* Level-triggered: watch only for what the handshake waits for. */
		set_events(uc, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLIN | EPOLLOUT);
		return 0;
	}
	v = SSL_get_verify_result(uc->ssl);
	snprintf(uc->x->errbuf, sizeof(uc->x->errbuf), "TLS to the backend: %s",
	    v != X509_V_OK ? X509_verify_cert_error_string(v) : "handshake failed");
	conn_fail(uc, uc->x->errbuf);
	return -1;
}

/* TLS records on an idle connection that carry no data (a TLS 1.3 session ticket after
 * the first answer) keep it; data or the end of the stream do not. */
static int
idle_tls_quiet(struct up_conn *uc)
{
	char b;
	int n;

	if (uc->ssl == NULL)
		return 0;
	ERR_clear_error();
	n = SSL_read(uc->ssl, &b, 1);
	return n <= 0 && SSL_get_error(uc->ssl, n) == SSL_ERROR_WANT_READ;
}

/*
 * A hang-up or error while the download ring is full: epoll reports those even with
 * EPOLLIN off, so the connection leaves the epoll set until the client has made room
 * (upconn_resume then reads what is left and meets the end or the error).
 */
static void
detach(struct up_conn *uc)
{
	if (!uc->detached && epoll_ctl(uc->w->epfd, EPOLL_CTL_DEL, uc->fd, NULL) == 0) {
		uc->detached = 1;
		uc->events = 0;
	}
}

void
upconn_event(struct up_conn *uc, uint32_t events)
{
	int tls = uc->ssl != NULL;

	if (uc->x == NULL) {            /* idle: the backend closed it or spoke out of turn */
		if (!(events & (EPOLLERR | EPOLLHUP)) && idle_tls_quiet(uc))
			return;
		idle_drop(uc);
		return;
	}
	if (uc->state != UC_OPEN) {
		if (uc->state == UC_CONNECTING && connect_finished(uc) <= 0)
			return;
		if (uc->state == UC_HANDSHAKE && handshake(uc) <= 0)
			return;
		on_writable(uc);        /* just connected: the request goes out */
		return;
	}
	/* With TLS a write may wait for readability and a read for writability. */
	if (!uc->sent_all && ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ||
	    (tls && (events & EPOLLIN)))) {
		if (on_writable(uc) < 0)
			return;
	}
	if (uc->x->down_paused) {
		if (!(events & (EPOLLERR | EPOLLHUP)))
			return;
		if (!uc->sent_all)      /* the upload cannot go on: no wait for the timeout */
			conn_fail(uc, "the backend closed the connection during the upload");
		else
			detach(uc);
		return;
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || (tls && (events & EPOLLOUT)))
		on_readable(uc);
}

/* Sends x on uc, or on a new connection when uc is NULL. */
static void
start_on(struct up_worker *w, struct upstream_xfer *x, struct up_conn *uc)
{
	char key[sizeof(((struct up_conn *)0)->key)];

	if (uc == NULL)
		conn_key(x, key, sizeof(key));
	if (uc == NULL && (uc = conn_open(w, x, key)) == NULL) {
		if (x->errbuf[0] == '\0')
			eg_strlcpy(x->errbuf, "cannot open a connection", sizeof(x->errbuf));
		upstream_finish(w, x, 1);
		return;
	}
	uc->x = x;
	x->uc = uc;
	uc->head_done = uc->sent_all = uc->last_chunk = uc->chunk_open = 0;
	uc->head_off = uc->frame_len = uc->frame_off = uc->chunk_left = uc->got = 0;
	uc->up_sent = uc->body_left = 0;
	memset(&uc->ch, 0, sizeof(uc->ch));
	memset(&uc->h, 0, sizeof(uc->h));
	if (uc->state == UC_OPEN) {
		x->connected = 1;
		on_writable(uc);
	}
}

void
upconn_start(struct up_worker *w, struct upstream_xfer *x)
{
	char key[sizeof(((struct up_conn *)0)->key)];

	conn_key(x, key, sizeof(key));
	start_on(w, x, idle_take(w, key));
}

/* The client side made room in the download ring or put upload bytes in. */
void
upconn_resume(struct up_conn *uc)
{
	struct upstream_xfer *x = uc->x;

	if (x == NULL || uc->state != UC_OPEN)
		return;
	if (!uc->sent_all && on_writable(uc) < 0)
		return;
	if (uc->head_done && !x->down_paused) {
		if (!uc->detached)
			set_events(uc, uc->events | EPOLLIN);
		on_readable(uc);
	}
}
