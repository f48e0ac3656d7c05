/*
 * clients.c - one event loop's client connections, from accept to close.
 *
 * The gateway accepts connections itself instead of letting libmicrohttpd do it, for
 * three things libmicrohttpd 0.9.75 cannot do: read a PROXY protocol v2 header before
 * the TLS handshake (the client's address then comes from it, for the records and the
 * limits), count connections per address and shed idle ones at the global limit, and
 * bound the handshake and the request head by a deadline that activity does not move
 * (its own timeout restarts at every byte: a header line every 8 s kept a connection a
 * minute and more).
 *
 * Each connection is a struct client, found by its descriptor. Its stage:
 *   C_PROXY      a balancer's connection, waiting for its PROXY header
 *   C_PEEK       a direct one, first bytes checked for a PROXY header it may not send
 *   C_HANDSHAKE  with libmicrohttpd, TLS handshake under way     } deadline: handshake
 *   C_HEAD       handshake done or request started, head not whole } deadline: head
 *   C_BUSY       a request being served (libmicrohttpd's own timeout applies)
 *   C_IDLE       keep-alive, between requests                   } deadline: head
 *   C_SHED       shut down by us; libmicrohttpd closes it at its next event
 * GnuTLS reads and writes through pull/push functions here, which count the bytes that
 * move: loop.c believes libmicrohttpd's zero timeout only after a run that moved
 * something (a handshake in progress keeps it at zero forever, see loop.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/metrics.h"
#include "eidgate/record.h"
#include "eidgate/request.h"
#include "eidgate/util.h"
#include "server/internal.h"

#define ACCEPT_BURST 64         /* accepts per wake: the other loops get their share */
#define RECORDS_PER_S 20        /* refusal records per loop and second; beyond, counted
                                 * only: a flood must not fill the access log */

enum cstate { C_PROXY, C_PEEK, C_HANDSHAKE, C_HEAD, C_BUSY, C_IDLE, C_SHED };

struct client {
	int fd;
	enum cstate state;
	int admitted;           /* holds a slot in admit.c, given back at close */
	int64_t since_ms;       /* when the current stage began */
	int64_t deadline_ms;    /* 0: none */
	struct sockaddr_storage sa;
	socklen_t salen;
	char addr[INET6_ADDRSTRLEN];    /* the client's address as records and limits
	                                 * name it */
	struct clients *owner;
};

struct clients {
	struct gateway *gw;
	struct admit *admit;
	struct MHD_Daemon *daemon;
	int lfd, epfd;
	char listen_src;
	struct client **byfd;
	size_t nbyfd;
	int64_t hs_ms, head_ms;
	int64_t next_due;       /* no deadline before this: the sweep is not run (it scans
	                         * every connection, and the loop turns once per event) */
	unsigned long progress;
	int64_t rec_window;
	int rec_count;
	unsigned long rec_dropped;
	size_t live;            /* clients in byfd */
	int draining;           /* clients_drain ran: nothing new, nothing kept alive */
};

int
clients_new(struct gateway *gw, struct admit *a, int listen_fd, struct clients **out)
{
	struct gw_snapshot *snap = gw_snapshot_get(gw);
	struct clients *c = calloc(1, sizeof(*c));
	struct epoll_event e;

	*out = NULL;
	if (c == NULL) {
		gw_snapshot_put(snap);
		return EG_ERR_NOMEM;
	}
	c->gw = gw;
	c->admit = a;
	c->lfd = listen_fd;
	c->hs_ms = snap->cfg.handshake_timeout_ms;
	c->head_ms = snap->cfg.head_timeout_ms;
	c->next_due = INT64_MAX;
	gw_snapshot_put(snap);
	memset(&e, 0, sizeof(e));
	/* Exclusive: a new connection wakes one loop, not all of them. */
	e.events = EPOLLIN | EPOLLEXCLUSIVE;
	e.data.ptr = &c->listen_src;
	if ((c->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, listen_fd, &e) != 0) {
		log_warn("connections: cannot watch the listening socket");
		clients_free(c);
		return EG_ERR_INTERNAL;
	}
	*out = c;
	return EG_OK;
}

static void client_free(struct clients *c, struct client *cl, int close_fd);

void
clients_free(struct clients *c)
{
	size_t i;

	if (c == NULL)
		return;
	/* What libmicrohttpd still holds it closes itself; pending ones are ours. */
	for (i = 0; i < c->nbyfd; i++)
		if (c->byfd[i] != NULL)
			client_free(c, c->byfd[i],
			    c->byfd[i]->state == C_PROXY || c->byfd[i]->state == C_PEEK);
	free(c->byfd);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->lfd >= 0)
		close(c->lfd);
	free(c);
}

void
clients_set_daemon(struct clients *c, struct MHD_Daemon *d)
{
	c->daemon = d;
}

int
clients_fd(const struct clients *c)
{
	return c->epfd;
}

unsigned long
clients_progress(struct clients *c)
{
	unsigned long p = c->progress;

	c->progress = 0;
	return p;
}

static struct client *
client_of(struct clients *c, int fd)
{
	return fd >= 0 && (size_t)fd < c->nbyfd ? c->byfd[fd] : NULL;
}

static struct client *
client_new(struct clients *c, int fd, const struct sockaddr_storage *sa, socklen_t salen)
{
	struct client *cl, **nb;
	size_t n;

	if ((size_t)fd >= c->nbyfd) {
		n = (size_t)fd * 2 + 64;
		if ((nb = realloc(c->byfd, n * sizeof(*nb))) == NULL)
			return NULL;
		memset(nb + c->nbyfd, 0, (n - c->nbyfd) * sizeof(*nb));
		c->byfd = nb;
		c->nbyfd = n;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	cl->fd = fd;
	cl->owner = c;
	cl->sa = *sa;
	cl->salen = salen;
	cl->since_ms = eg_mono_ms();
	cl->deadline_ms = cl->since_ms + c->hs_ms;
	if (cl->deadline_ms < c->next_due)
		c->next_due = cl->deadline_ms;
	c->byfd[fd] = cl;
	c->live++;
	return cl;
}

static void
client_free(struct clients *c, struct client *cl, int close_fd)
{
	if (cl->admitted)
		admit_release(c->admit, cl->addr);
	if (close_fd) {
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
		close(cl->fd);
	}
	c->byfd[cl->fd] = NULL;
	c->live--;
	free(cl);
}

static void
addr_text(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
	const void *a = sa->ss_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (inet_ntop(sa->ss_family, a, out, (socklen_t)outlen) == NULL)
		eg_strlcpy(out, "?", outlen);
}

static void
set_stage(struct client *cl, enum cstate st, int64_t timeout_ms)
{
	cl->state = st;
	cl->since_ms = eg_mono_ms();
	cl->deadline_ms = timeout_ms > 0 ? cl->since_ms + timeout_ms : 0;
	if (cl->deadline_ms != 0 && cl->deadline_ms < cl->owner->next_due)
		cl->owner->next_due = cl->deadline_ms;
}

/* ---- refusals ----------------------------------------------------------------------- */

static void
refuse(struct clients *c, struct client *cl, const char *reason, const char *detail)
{
	struct gateway *gw = c->gw;
	int64_t now = eg_mono_ms();
	char id[48];

	if (now - c->rec_window >= 1000) {
		if (c->rec_dropped > 0)
			log_warnx("connections: %lu more refusals in the last second, counted in "
			    "the metrics but not recorded one by one", c->rec_dropped);
		c->rec_window = now;
		c->rec_count = 0;
		c->rec_dropped = 0;
	}
	snprintf(id, sizeof(id), "c-%s-%lu", gw->id_prefix,
	    (unsigned long)atomic_fetch_add(&gw->request_counter, 1));
	if (c->rec_count++ < RECORDS_PER_S) {
		log_info("connection %s from %s refused: %s%s%s", id, cl->addr, reason,
		    detail != NULL ? ": " : "", detail != NULL ? detail : "");
		(void)record_connection_refused(gw->audit, gw->metrics, id, cl->addr, reason,
		    detail);
	} else {
		metrics_decision(gw->metrics, record_kind_name(REC_CONNECTION_REFUSED), 0, reason);
		c->rec_dropped++;
	}
	/* Every refusal comes before libmicrohttpd has the socket. */
	client_free(c, cl, 1);
}

/* ---- shedding and deadlines ---------------------------------------------------------- */

static void
shut(struct clients *c, struct client *cl)
{
	/* libmicrohttpd sees the end of the stream at its next event and closes it. */
	(void)shutdown(cl->fd, SHUT_RDWR);
	cl->state = C_SHED;
	cl->deadline_ms = 0;
	c->progress++;
}

/* At the global limit: close this loop's idle keep-alive connection that waited
 * longest, else its slowest handshake or head. 1 when one was shed. */
static int
shed_one(struct clients *c)
{
	struct client *best = NULL, *cl;
	size_t i;

	for (i = 0; i < c->nbyfd; i++) {
		if ((cl = c->byfd[i]) == NULL || (cl->state != C_IDLE && cl->state != C_HEAD &&
		    cl->state != C_HANDSHAKE))
			continue;
		if (best == NULL || (cl->state == C_IDLE && best->state != C_IDLE) ||
		    ((cl->state == C_IDLE) == (best->state == C_IDLE) &&
		    cl->since_ms < best->since_ms))
			best = cl;
	}
	if (best == NULL)
		return 0;
	metrics_count(c->gw->metrics, MC_SHED);
	shut(c, best);
	return 1;
}

static void
expire(struct clients *c, struct client *cl)
{
	switch (cl->state) {
	case C_PROXY:
		metrics_count(c->gw->metrics, MC_HANDSHAKE_TIMEOUTS);
		refuse(c, cl, "proxy-header", "no PROXY header within handshake_timeout");
		return;
	case C_PEEK:
		metrics_count(c->gw->metrics, MC_HANDSHAKE_TIMEOUTS);
		client_free(c, cl, 1);
		return;
	case C_HANDSHAKE:
		metrics_count(c->gw->metrics, MC_HANDSHAKE_TIMEOUTS);
		break;
	case C_HEAD:
		metrics_count(c->gw->metrics, MC_HEAD_TIMEOUTS);
		break;
	default:
		break;
	}
	shut(c, cl);
}

int
clients_sweep(struct clients *c, int64_t now_ms, int max_ms)
{
	int64_t next = INT64_MAX;
	struct client *cl;
	size_t i;

	if (now_ms < c->next_due)
		return c->next_due - now_ms < max_ms ? (int)(c->next_due - now_ms) : max_ms;
	for (i = 0; i < c->nbyfd; i++) {
		if ((cl = c->byfd[i]) == NULL || cl->deadline_ms == 0)
			continue;
		if (cl->deadline_ms <= now_ms)
			expire(c, cl);
		else if (cl->deadline_ms < next)
			next = cl->deadline_ms;
	}
	c->next_due = next;
	return next - now_ms < max_ms ? (int)(next - now_ms) : max_ms;
}

/* ---- admission and hand-over --------------------------------------------------------- */

/* Counts cl against the limits, shedding at the global one. 0, or -1 after a refusal. */
static int
admit_client(struct clients *c, struct client *cl)
{
	enum admit_verdict v = admit_take(c->admit, cl->addr, 0);

	if (v == ADMIT_FULL && shed_one(c))
		v = admit_take(c->admit, cl->addr, 1);
	if (v != ADMIT_OK) {
		refuse(c, cl, v == ADMIT_FULL ? "connection-limit" : "address-limit", NULL);
		return -1;
	}
	cl->admitted = 1;
	return 0;
}

static void
hand_over(struct clients *c, struct client *cl)
{
	int fd = cl->fd;

	if (cl->state == C_PROXY || cl->state == C_PEEK)
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
	cl->state = C_HANDSHAKE;        /* deadline: from accept, PROXY header included */
	c->progress++;
	/* libmicrohttpd closes the socket when it fails, after its close notification
	 * when it got that far (clients_notify frees cl then). */
	if (MHD_add_connection(c->daemon, fd, (const struct sockaddr *)&cl->sa, cl->salen) !=
	    MHD_YES && client_of(c, fd) == cl) {
		log_warn("connection from %s: libmicrohttpd refused it", cl->addr);
		client_free(c, cl, 0);
	}
}

static int
watch_pending(struct clients *c, struct client *cl)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	/* Edge-triggered: the bytes are only peeked at until the header is whole, so a
	 * level-triggered watch would wake the loop again and again for a partial one. */
	e.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	e.data.ptr = cl;
	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, cl->fd, &e);
}

static void read_pending(struct clients *c, struct client *cl);

static void
on_accept(struct clients *c, int fd, const struct sockaddr_storage *sa, socklen_t salen)
{
	struct client *cl = client_new(c, fd, sa, salen);

	if (cl == NULL) {
		log_warnx("connections: out of memory, closing a new connection");
		close(fd);
		return;
	}
	addr_text(sa, cl->addr, sizeof(cl->addr));
	if (admit_expects_proxy(c->admit, (const struct sockaddr *)sa)) {
		cl->state = C_PROXY;    /* counted once its header names the client */
	} else {
		if (admit_client(c, cl) != 0)
			return;
		if (!admit_proxy_on(c->admit)) {
			hand_over(c, cl);
			return;
		}
		cl->state = C_PEEK;
	}
	if (watch_pending(c, cl) != 0) {
		log_warn("connection from %s: cannot watch it", cl->addr);
		client_free(c, cl, 1);
		return;
	}
	/* The first bytes often came with the connection. */
	read_pending(c, cl);
}

static void
accept_burst(struct clients *c)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	int i, fd;

	for (i = 0; i < ACCEPT_BURST; i++) {
		salen = sizeof(sa);
		fd = accept4(c->lfd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_warn("connections: cannot accept (raise the descriptor limit "
				    "or lower [listen] max_connections)");
			else if (errno == ECONNABORTED || errno == EINTR)
				continue;
			return;
		}
		c->progress++;
		on_accept(c, fd, &sa, salen);
	}
}

static void
header_read(struct clients *c, struct client *cl, const unsigned char *buf, ssize_t n)
{
	struct proxy_hdr h;
	const char *why;
	int len = proxyhdr_parse(buf, (size_t)n, &h, &why);

	if (len == 0)
		return;
	if (len < 0) {
		refuse(c, cl, "proxy-header", why);
		return;
	}
	/* Only the header: what follows is the client's TLS, for libmicrohttpd. */
	if (recv(cl->fd, (void *)buf, (size_t)len, 0) != len) {
		refuse(c, cl, "proxy-header", "PROXY header could not be consumed");
		return;
	}
	if (!h.local) {
		cl->sa = h.src;
		cl->salen = h.srclen;
		addr_text(&cl->sa, cl->addr, sizeof(cl->addr));
	}
	if (admit_client(c, cl) == 0)
		hand_over(c, cl);
}

static void
read_pending(struct clients *c, struct client *cl)
{
	unsigned char buf[EG_MAX_PROXY_HEADER];
	ssize_t n = recv(cl->fd, buf, sizeof(buf), MSG_PEEK);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	c->progress++;
	if (n <= 0) {
		/* Gone before a byte was sent: a port scan or a balancer's TCP check. */
		client_free(c, cl, 1);
		return;
	}
	if (cl->state == C_PROXY)
		header_read(c, cl, buf, n);
	else if (proxyhdr_looks_like(buf, (size_t)n))
		refuse(c, cl, "proxy-header", "a PROXY header from an address not in proxy_from");
	else
		hand_over(c, cl);
}

int
clients_on_event(struct clients *c)
{
	struct epoll_event ev[64];
	unsigned long before = c->progress;
	int i, n = epoll_wait(c->epfd, ev, 64, 0);

	for (i = 0; i < n; i++) {
		if (ev[i].data.ptr == &c->listen_src)
			accept_burst(c);
		else
			read_pending(c, ev[i].data.ptr);
	}
	return c->progress != before;
}

/* ---- GnuTLS transport: the same system calls, counted --------------------------------- */

static ssize_t
tls_pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
	struct client *cl = p;
	ssize_t r = recv(cl->fd, buf, n, 0);

	if (r >= 0)
		cl->owner->progress++;
	return r;
}

static ssize_t
tls_vec_push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
	struct client *cl = p;
	struct msghdr m;
	ssize_t r;

	memset(&m, 0, sizeof(m));
	m.msg_iov = (struct iovec *)(uintptr_t)iov;
	m.msg_iovlen = (size_t)iovcnt;
	if ((r = sendmsg(cl->fd, &m, MSG_NOSIGNAL)) > 0)
		cl->owner->progress++;
	return r;
}

static ssize_t
tls_push(gnutls_transport_ptr_t p, const void *buf, size_t n)
{
	struct client *cl = p;
	ssize_t r = send(cl->fd, buf, n, MSG_NOSIGNAL);

	if (r > 0)
		cl->owner->progress++;
	return r;
}

static int
tls_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct client *cl = p;
	struct pollfd pfd = { cl->fd, POLLIN, 0 };

	return poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

/* The client's Finished message, the last of its handshake (in TLS 1.3 the server sends
 * its own in its first flight, so that one says nothing): from now on the request
 * head's clock runs. */
static int
tls_finished(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
    const gnutls_datum_t *msg)
{
	struct client *cl = gnutls_transport_get_ptr(s);

	(void)htype;
	(void)when;
	(void)msg;
	if (incoming && cl != NULL && cl->state == C_HANDSHAKE)
		set_stage(cl, C_HEAD, cl->owner->head_ms);
	return 0;
}

static void
tls_attach(struct client *cl, gnutls_session_t s)
{
	gnutls_transport_set_ptr(s, cl);
	gnutls_transport_set_pull_function(s, tls_pull);
	gnutls_transport_set_pull_timeout_function(s, tls_pull_timeout);
	gnutls_transport_set_push_function(s, tls_push);
	gnutls_transport_set_vec_push_function(s, tls_vec_push);
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_POST,
	    tls_finished);
}

/* ---- libmicrohttpd's callbacks -------------------------------------------------------- */

static struct client *
client_of_conn(struct clients *c, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci != NULL ? client_of(c, ci->connect_fd) : NULL;
}

static void
conn_started(struct clients *c, struct client *cl, struct MHD_Connection *conn,
    void **socket_context)
{
	struct gateway *gw = c->gw;
	const union MHD_ConnectionInfo *ci;
	struct gw_snapshot *snap;
	struct conn_ctx *cc;
	gnutls_session_t s = NULL;

	metrics_gauge_add(gw->metrics, MG_CONNECTIONS, 1);
	*socket_context = cc = calloc(1, sizeof(*cc));
	/* The pipeline reads the address from here rather than asking libmicrohttpd and
	 * formatting it again per request. */
	if (cc != NULL && cl != NULL)
		eg_strlcpy(cc->addr, cl->addr, sizeof(cc->addr));
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci != NULL)
		s = (gnutls_session_t)ci->tls_session;
	if (s == NULL)
		return;
	if (cl != NULL)
		tls_attach(cl, s);
	/* Session tickets (TLS 1.3 and 1.2) and TLS 1.2 session ids let a returning client
	 * skip the full handshake; its certificate is still available and its verdict comes
	 * from the verdict cache. */
	if (gw->ticket_key != NULL)
		gnutls_session_ticket_enable_server(s, (const gnutls_datum_t *)gw->ticket_key);
	if (gw->tls_cache != NULL)
		tlscache_attach(gw->tls_cache, s);
	/* libmicrohttpd can only request a certificate; requiring one is GnuTLS's job. */
	snap = gw_snapshot_get(gw);
	if (snap->cfg.client_cert == CFG_CLIENT_CERT_REQUIRE)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gw_snapshot_put(snap);
}

void
clients_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct clients *c = cls;
	struct client *cl = client_of_conn(c, conn);

	c->progress++;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_started(c, cl, conn, socket_context);
		return;
	}
	req_conn_ctx_free(*socket_context);
	*socket_context = NULL;
	metrics_gauge_add(c->gw->metrics, MG_CONNECTIONS, -1);
	if (cl != NULL)
		client_free(c, cl, 0);
}

void *
clients_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct clients *c = cls;
	struct client *cl = client_of_conn(c, conn);

	c->progress++;
	/* A keep-alive connection's next request: its head's clock started when the last
	 * answer was sent (C_IDLE). */
	if (cl != NULL && cl->state == C_IDLE)
		cl->state = C_HEAD;
	return req_uri_log(c->gw, uri, conn);
}

enum MHD_Result
clients_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct clients *c = cls;
	struct client *cl;

	c->progress++;
	if (upload_data == NULL && (cl = client_of_conn(c, conn)) != NULL &&
	    cl->state != C_BUSY && cl->state != C_SHED)
		set_stage(cl, C_BUSY, 0);
	return req_access_handler(c->gw, conn, url, method, version, upload_data,
	    upload_data_size, con_cls);
}

void
clients_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct clients *c = cls;
	struct client *cl = client_of_conn(c, conn);

	c->progress++;
	req_completed(c->gw, conn, con_cls, toe);
	if (cl == NULL || cl->state != C_BUSY)
		return;
	/* Draining: the answer is out, and the next request belongs to another instance. */
	if (c->draining)
		shut(c, cl);
	else
		set_stage(cl, C_IDLE, c->head_ms);
}

/* ---- drain (SIGTERM) ------------------------------------------------------------------ */

void
clients_drain(struct clients *c)
{
	struct client *cl;
	size_t i;

	if (c->draining)
		return;
	c->draining = 1;
	/* This loop's copy of the listening socket goes; once every loop's has, the kernel
	 * refuses new connections and a balancer retries them on another instance. */
	if (c->lfd >= 0) {
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->lfd, NULL);
		close(c->lfd);
		c->lfd = -1;
	}
	for (i = 0; i < c->nbyfd; i++) {
		if ((cl = c->byfd[i]) == NULL)
			continue;
		switch (cl->state) {
		case C_PROXY:
		case C_PEEK:            /* not libmicrohttpd's yet: ours to close */
			client_free(c, cl, 1);
			break;
		case C_IDLE:            /* kept alive between requests: nothing in flight */
			shut(c, cl);
			break;
		case C_HANDSHAKE:
		case C_HEAD:
		case C_BUSY:
		case C_SHED:
			/* A login under way (a PIN being typed) or a request being sent or served
			 * is finished, within its deadline; its connection closes after the
			 * answer. */
			break;
		}
	}
	c->progress++;
}

size_t
clients_live(const struct clients *c)
{
	return c->live;
}
