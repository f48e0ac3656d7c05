/*
 * loop.c - the gateway's event-loop threads. Each runs one libmicrohttpd daemon (all
 * accept from the same listening socket) and the backend connections of the requests
 * that daemon serves, in one epoll set: a proxied request is handled start to end on one
 * thread, without hand-overs (upstream.c says why that matters). The loop accepts its
 * clients itself (clients.c) and hands them to its daemon.
 *
 * Sleeping: libmicrohttpd 0.9.75 reports a timeout of 0 for as long as a TLS handshake
 * is unfinished. GnuTLS reads the socket itself during the handshake, so libmicrohttpd
 * never sees the EAGAIN that would clear the connection's "read ready" mark, and the
 * connection stays in its list of ready ones (daemon.c, eready_head) until the client
 * sends its next flight: a browser at the PIN prompt kept a core busy. So a zero
 * timeout is believed only after a run that made progress (bytes moved, a callback ran,
 * a connection came or went: clients_progress); after a run that did nothing, the loop
 * sleeps until a descriptor is ready or a real timer (a deadline of clients.c, the
 * backends' tick) is due. Every connection libmicrohttpd holds is in its epoll set
 * (edge-triggered), so new bytes wake the loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "eidgate/forward.h"
#include "eidgate/log.h"
#include "eidgate/util.h"
#include "server/internal.h"

#define MAX_EVENTS 64

struct gw_loop {
	/* epoll data.ptr of the daemon's own epoll fd and of wakefd: every other event is a
	 * backend connection's (forward.h) */
	char mhd_src, wake_src, clients_src;
	pthread_t thread;
	int started;
	struct MHD_Daemon *daemon;
	struct clients *clients;
	struct up_worker *w;
	int epfd, wakefd;
	atomic_int stop;
	atomic_int drain;       /* loop_drain asked; the loop thread acts on it */
	atomic_size_t live;     /* connections left, for loop_live (any thread) */
};

static int
watch(int epfd, int fd, void *ptr)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = ptr;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

struct gw_loop *
loop_new(struct MHD_Daemon *daemon, struct clients *c, struct up_worker *w)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
	struct gw_loop *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		MHD_stop_daemon(daemon);
		clients_free(c);
		return NULL;
	}
	l->daemon = daemon;
	l->clients = c;
	clients_set_daemon(c, daemon);
	l->w = w;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (di == NULL || l->epfd < 0 || l->wakefd < 0 ||
	    watch(l->epfd, di->epoll_fd, &l->mhd_src) != 0 ||
	    watch(l->epfd, l->wakefd, &l->wake_src) != 0 ||
	    watch(l->epfd, clients_fd(c), &l->clients_src) != 0) {
		log_warn("event loop: cannot set up epoll");
		loop_free(l);
		return NULL;
	}
	forward_worker_attach(w, l->epfd, daemon);
	return l;
}

/* How long epoll may sleep: until libmicrohttpd's next timeout, the next tick or the
 * next deadline of a connection; libmicrohttpd's 0 only after a run that made progress
 * (see the top of this file). */
static int
sleep_ms(struct gw_loop *l, int until_ms)
{
	MHD_UNSIGNED_LONG_LONG t;
	unsigned long moved = clients_progress(l->clients);

	if (MHD_get_timeout(l->daemon, &t) == MHD_YES && t < (MHD_UNSIGNED_LONG_LONG)until_ms &&
	    (t > 0 || moved > 0))
		return (int)t;
	return until_ms;
}

/* Runs the daemon, the backends' work and the connections' deadlines; returns how long
 * the loop may sleep. */
static int
run_once(struct gw_loop *l, int64_t *next_tick, int *tick_ms)
{
	int64_t now;
	int until;

	MHD_run(l->daemon);
	forward_run_pending(l->w);
	if ((now = eg_mono_ms()) >= *next_tick) {
		*tick_ms = forward_tick(l->w, now);
		*next_tick = now + *tick_ms;
	}
	until = clients_sweep(l->clients, now, (int)(*next_tick - now));
	return sleep_ms(l, until < 0 ? 0 : until);
}

static void *
loop_main(void *arg)
{
	struct gw_loop *l = arg;
	struct epoll_event ev[MAX_EVENTS];
	int64_t next_tick = eg_mono_ms();
	int i, n, tick_ms = 0, wait_ms = 0;

	while (!atomic_load(&l->stop)) {
		n = epoll_wait(l->epfd, ev, MAX_EVENTS, wait_ms);
		if (n < 0 && errno != EINTR) {
			log_warn("event loop: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			void *src = ev[i].data.ptr;
			if (src == &l->clients_src)
				(void)clients_on_event(l->clients);
			else if (src != &l->mhd_src && src != &l->wake_src)
				forward_on_event(l->w, src, ev[i].events);
		}
		if (atomic_load(&l->drain))
			clients_drain(l->clients);
		/* Always, also without an event of its own: the backend events above may have
		 * resumed connections, and libmicrohttpd's timeouts must run. */
		wait_ms = run_once(l, &next_tick, &tick_ms);
		atomic_store(&l->live, clients_live(l->clients));
	}
	/* Every transfer ends, which resumes its connection; libmicrohttpd then answers or
	 * closes them, and may be stopped (LIBNOTES.md: never with suspended ones). */
	forward_cancel_all(l->w);
	MHD_run(l->daemon);
	forward_run_pending(l->w);
	return NULL;
}

int
loop_start(struct gw_loop *l)
{
	if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
		log_warnx("event loop: cannot start a thread");
		return -1;
	}
	l->started = 1;
	return 0;
}

static void
wake(struct gw_loop *l)
{
	uint64_t one = 1;

	if (write(l->wakefd, &one, sizeof(one)) != sizeof(one))
		log_warn("event loop: wake-up");
}

void
loop_drain(struct gw_loop *l)
{
	if (l == NULL || !l->started)
		return;
	atomic_store(&l->live, (size_t)1);      /* until the loop has counted */
	atomic_store(&l->drain, 1);
	wake(l);
}

size_t
loop_live(struct gw_loop *l)
{
	return l != NULL && l->started ? atomic_load(&l->live) : 0;
}

void
loop_stop(struct gw_loop *l)
{
	if (l == NULL || !l->started)
		return;
	atomic_store(&l->stop, 1);
	wake(l);
	pthread_join(l->thread, NULL);
	l->started = 0;
}

/* After loop_stop: the daemon is stopped here too. */
void
loop_free(struct gw_loop *l)
{
	if (l == NULL)
		return;
	loop_stop(l);
	if (l->daemon != NULL)
		MHD_stop_daemon(l->daemon);
	clients_free(l->clients);
	if (l->wakefd >= 0)
		close(l->wakefd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}
