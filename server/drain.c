/*
 * drain.c - SIGTERM: an instance leaves its cluster without breaking what it holds.
 *
 * Every loop stops accepting (its copy of the listening socket is closed, so once all
 * are, the kernel refuses the next connection and HAProxy, with retries and redispatch,
 * sends it to another instance; its health checks fail at once for the same reason, and
 * readyz says "draining" to any check still connected). Connections kept alive between
 * requests are closed; a handshake (a user typing a PIN), a request head on its way and
 * a request being served go on, within their deadlines, and each connection closes after
 * its answer. The gateway stops when none is left, after [listen] drain_timeout at the
 * latest, or at once on a second SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "eidgate/log.h"
#include "eidgate/request.h"
#include "eidgate/util.h"
#include "server/internal.h"

#define DRAIN_POLL_MS 50

static size_t
connections_left(struct gateway *gw)
{
	size_t n = 0;
	int i;

	for (i = 0; i < gw->nloops; i++)
		n += loop_live(gw->loops[i]);
	return n;
}

void
server_drain(struct gateway *gw, int64_t timeout_ms, const sigset_t *set)
{
	const struct timespec poll = { 0, DRAIN_POLL_MS * 1000000L };
	int64_t start = eg_mono_ms();
	size_t left;
	int i, sig;

	atomic_store(&gw->draining, 1);
	for (i = 0; i < gw->nloops; i++)
		loop_drain(gw->loops[i]);
	log_info("draining: accepting nothing new, finishing what is in flight (at most "
	    "%lld ms)", (long long)timeout_ms);
	for (;;) {
		if ((left = connections_left(gw)) == 0) {
			log_info("drained in %lld ms", (long long)(eg_mono_ms() - start));
			return;
		}
		if (eg_mono_ms() - start >= timeout_ms) {
			log_warnx("drain: %zu connections still open after %lld ms; closing them",
			    left, (long long)timeout_ms);
			return;
		}
		/* SIGHUP and SIGCHLD wait: a reload now would be for nothing, and a key
		 * process that died only makes the last requests get 503. */
		sig = sigtimedwait(set, NULL, &poll);
		if (sig == SIGTERM || sig == SIGINT) {
			log_warnx("signal %d while draining: closing %zu connections now", sig,
			    left);
			return;
		}
	}
}
