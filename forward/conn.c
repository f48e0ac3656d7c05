/*
 * conn.c - connections to backends, the transport under an exchange (exchange.c): a
 * non-blocking connect, TLS for https backends, the per-loop pool of kept-alive
 * connections and cache of resolved addresses, and what epoll watches for. Owns struct
 * up_conn but its exchange block, and the worker's connection block (internal.h).
 *
 * Why per loop: a connection is used only by the event-loop thread that opened it, so
 * the pool and the cache need no lock, and a backend's bytes never cross threads. Why a
 * pool at all: a new connection costs a TCP handshake and, for https, a TLS one; the
 * ratio of requests to connects in /eidgate/metrics shows how often that is saved.
 * Nothing here knows HTTP: whether a connection may be kept is the exchange's call.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "eidgate/util.h"
#include "forward/internal.h"

/* Kept-alive backend connections per loop. */
#define MAX_IDLE 64
/* A connection's receive buffer: a usual response head fits, body bytes pass through;
 * exchange.c grows it for a larger head (conn_rx_grow). */
#define IN_BUF (16 * 1024)
/* How long a resolved address is used before the name is looked up again. */
#define ADDR_TTL_MS 60000

/* Which kept-alive connections can carry a request to t: same scheme, host and port. */
static void
conn_key(const struct up_target *t, char *key, size_t len)
{
	snprintf(key, len, "%s://%s:%s", t->tls ? "https" : "http", t->host, t->port);
}

/* ---- reading, writing, epoll --------------------------------------------------------- */

void
conn_watch(struct up_conn *uc, uint32_t ev)
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

void
conn_detach(struct up_conn *uc)
{
	if (!uc->detached && epoll_ctl(uc->w->epfd, EPOLL_CTL_DEL, uc->fd, NULL) == 0) {
		uc->detached = 1;
		uc->events = 0;
	}
}

static ssize_t
tls_want(struct up_conn *uc, int n)
{
	int e = SSL_get_error(uc->ssl, n);

	if (e == SSL_ERROR_WANT_READ)
		return CONN_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return CONN_WANT_WRITE;
	return e == SSL_ERROR_ZERO_RETURN ? 0 : CONN_ERROR;
}

/* A reset counts as an error: the exchange tells a stale kept-alive connection from a
 * broken answer by what it had received. */
ssize_t
conn_read(struct up_conn *uc, void *buf, size_t len)
{
	ssize_t n;

	if (uc->ssl == NULL) {
		do
			n = recv(uc->fd, buf, len, 0);
		while (n < 0 && errno == EINTR);
		if (n >= 0)
			return n;
		return errno == EAGAIN || errno == EWOULDBLOCK ? CONN_WANT_READ : CONN_ERROR;
	}
	ERR_clear_error();
	if ((n = SSL_read(uc->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len))) > 0)
		return n;
	return tls_want(uc, (int)n);
}

ssize_t
conn_write(struct up_conn *uc, const void *buf, size_t len)
{
	ssize_t n;

	if (uc->ssl == NULL) {
		do
			n = send(uc->fd, buf, len, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n > 0)
			return n;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? CONN_WANT_WRITE :
		    CONN_ERROR;
	}
	ERR_clear_error();
	if ((n = SSL_write(uc->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len))) > 0)
		return n;
	n = tls_want(uc, (int)n);
	return n == 0 ? CONN_ERROR : n;
}

/* The buffer keeps its size for the connection's later requests rather than costing a
 * realloc on each of them; that is at most EG_MAX_BACKEND_HEAD + 1 bytes per connection. */
int
conn_rx_grow(struct up_conn *uc, size_t cap)
{
	char *n;

	if ((n = realloc(uc->in, cap)) == NULL)
		return -1;
	uc->in = n;
	uc->incap = cap;
	return 0;
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
	slot->expires_ms = now + ADDR_TTL_MS;
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
	uc->state = CONN_HANDSHAKE;
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

struct up_conn *
conn_open(struct up_worker *w, const struct up_target *t, char *err, size_t errlen)
{
	char key[sizeof(((struct up_conn *)0)->key)];
	struct sockaddr_storage sa;
	socklen_t salen;
	struct epoll_event e;
	struct up_conn *uc;
	int one = 1;

	err[0] = '\0';
	if (resolve(w, t, &sa, &salen) != 0) {
		snprintf(err, errlen, "cannot resolve %s", t->host);
		return NULL;
	}
	conn_key(t, key, sizeof(key));
	if ((uc = conn_new(w, key)) == NULL)
		return NULL;
	uc->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (uc->fd < 0)
		goto fail;
	setsockopt(uc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(uc->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (connect(uc->fd, (struct sockaddr *)&sa, salen) != 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "connect to %s:%s: %s", t->host, t->port, strerror(errno));
		goto fail;
	}
	memset(&e, 0, sizeof(e));
	e.events = uc->events = EPOLLOUT;
	e.data.ptr = uc;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, uc->fd, &e) != 0)
		goto fail;
	uc->state = CONN_CONNECTING;
	atomic_fetch_add(&w->pool->connects, 1);
	return uc;
fail:
	conn_close(uc);
	return NULL;
}

void
conn_close(struct up_conn *uc)
{
	if (uc->ssl != NULL)
		SSL_free(uc->ssl);
	if (uc->fd >= 0)
		close(uc->fd);          /* also leaves the epoll set */
	free(uc->in);
	free(uc);
}

/* 1 when connected (https: the handshake begins), 0 while it goes on, -1 when it failed
 * (uc is freed). */
static int
connect_finished(struct up_conn *uc)
{
	const struct up_target *t = &uc->x->req.target;
	char why[XFER_ERRLEN];
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(uc->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return 0;
	if (err != 0) {
		snprintf(why, sizeof(why), "connect to %s:%s: %s", t->host, t->port, strerror(err));
		exchange_fail(uc, why);
		return -1;
	}
	if (t->tls) {
		if (tls_begin(uc, t) != 0) {
			exchange_fail(uc, "cannot set up TLS to the backend");
			return -1;
		}
		return 1;
	}
	uc->state = CONN_OPEN;
	return 1;
}

/* 1 when the handshake is complete, 0 while it goes on, -1 when it failed (uc freed). */
static int
handshake(struct up_conn *uc)
{
	char why[XFER_ERRLEN];
	long v;
	int r, e;

	ERR_clear_error();
	if ((r = SSL_do_handshake(uc->ssl)) == 1) {
		uc->state = CONN_OPEN;
		return 1;
	}
	e = SSL_get_error(uc->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		/* Level-triggered: watch only for what the handshake waits for. */
		conn_watch(uc, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLIN | EPOLLOUT);
		return 0;
	}
	v = SSL_get_verify_result(uc->ssl);
	snprintf(why, sizeof(why), "TLS to the backend: %s",
	    v != X509_V_OK ? X509_verify_cert_error_string(v) : "handshake failed");
	exchange_fail(uc, why);
	return -1;
}

/* ---- idle connections ---------------------------------------------------------------- */

struct up_conn *
conn_idle(struct up_worker *w, const struct up_target *t)
{
	char key[sizeof(((struct up_conn *)0)->key)];
	struct up_conn **pp, *uc;

	conn_key(t, key, sizeof(key));
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

void
conn_release(struct up_conn *uc, int reusable)
{
	struct up_worker *w = uc->w;

	/* Bytes already decrypted inside OpenSSL, where no epoll event would ever tell, are
	 * not the next request's answer. */
	if (!reusable || (uc->ssl != NULL && SSL_has_pending(uc->ssl)) || uc->detached ||
	    w->nidle >= MAX_IDLE || atomic_load(&w->pool->shutting_down)) {
		conn_close(uc);
		return;
	}
	/* Readable while idle means the backend closed it (or sent garbage): drop it then. */
	conn_watch(uc, EPOLLIN);
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
	conn_close(uc);
}

void
conn_close_idle(struct up_worker *w, int64_t older_than_ms)
{
	struct up_conn **pp = &w->idle, *uc;

	while ((uc = *pp) != NULL) {
		if (uc->idle_since_ms <= older_than_ms) {
			*pp = uc->next;
			w->nidle--;
			conn_close(uc);
		} else {
			pp = &uc->next;
		}
	}
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

void
conn_worker_free(struct up_worker *w)
{
	SSL_CTX_free(w->tls);
	w->tls = NULL;
}

/* ---- events -------------------------------------------------------------------------- */

void
conn_event(struct up_conn *uc, uint32_t events)
{
	if (uc->x == NULL) {            /* idle: the backend closed it or spoke out of turn */
		if (!(events & (EPOLLERR | EPOLLHUP)) && idle_tls_quiet(uc))
			return;
		idle_drop(uc);
		return;
	}
	if (uc->state == CONN_OPEN) {
		exchange_event(uc, events);
		return;
	}
	if (uc->state == CONN_CONNECTING && connect_finished(uc) <= 0)
		return;
	if (uc->state == CONN_HANDSHAKE && handshake(uc) <= 0)
		return;
	exchange_opened(uc);            /* just connected: the request goes out */
}
