/*
 * slow.c - /__slow?ms=N: the connection is suspended and a timer thread resumes it, so a
 * slow request never holds one of MHD's two worker threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "eidgate/log.h"
#include "eidgate/util.h"

#include "demo/internal.h"

/* Longest /__slow wait: above any gateway timeout a test would configure. */
#define BK_SLOW_MAX_MS 600000

static struct {
	pthread_mutex_t st_lock;
	pthread_cond_t st_cond;     /* signalled when st_head or st_stopping changes */
	pthread_t st_thread;
	struct bk_req *st_head;     /* suspended requests, in no particular order */
	int st_stopping;
	int st_running;
} bk_slow = { .st_lock = PTHREAD_MUTEX_INITIALIZER };

/* Called with st_lock held. The request is handed back to MHD by the resume, so it is
 * unlinked and marked first and never touched after. */
static void
slow_resume_due(int64_t now, int all)
{
	struct bk_req **pp = &bk_slow.st_head;
	struct bk_req *req;

	while ((req = *pp) != NULL) {
		if (!all && req->br_slow_deadline_ms > now) {
			pp = &req->br_next;
			continue;
		}
		*pp = req->br_next;
		req->br_next = NULL;
		req->br_slow_state = BK_SLOW_DONE;
		MHD_resume_connection(req->br_conn);
	}
}

static int64_t
slow_next_deadline(void)
{
	const struct bk_req *req;
	int64_t next = INT64_MAX;

	for (req = bk_slow.st_head; req != NULL; req = req->br_next)
		if (req->br_slow_deadline_ms < next)
			next = req->br_slow_deadline_ms;
	return next;
}

static void
slow_wait_until(int64_t deadline_ms)
{
	struct timespec ts;
	int rc;

	if (deadline_ms == INT64_MAX) {
		rc = pthread_cond_wait(&bk_slow.st_cond, &bk_slow.st_lock);
	} else {
		/* st_cond runs on CLOCK_MONOTONIC, the clock eg_mono_ms() reads. */
		ts.tv_sec = (time_t)(deadline_ms / 1000);
		ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
		rc = pthread_cond_timedwait(&bk_slow.st_cond, &bk_slow.st_lock, &ts);
	}
	if (rc != 0 && rc != ETIMEDOUT)
		log_warnx("slow timer: wait failed: %s", strerror(rc));
}

static void *
slow_thread(void *arg)
{
	(void)arg;
	if (pthread_mutex_lock(&bk_slow.st_lock) != 0)
		return NULL;
	while (!bk_slow.st_stopping) {
		slow_resume_due(eg_mono_ms(), 0);
		slow_wait_until(slow_next_deadline());
	}
	/* MHD_stop_daemon() aborts the process while connections are still suspended. */
	slow_resume_due(0, 1);
	pthread_mutex_unlock(&bk_slow.st_lock);
	return NULL;
}

int
bk_slow_start(void)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&bk_slow.st_cond, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		return -1;
	if (pthread_create(&bk_slow.st_thread, NULL, slow_thread, NULL) != 0) {
		pthread_cond_destroy(&bk_slow.st_cond);
		return -1;
	}
	bk_slow.st_running = 1;
	return 0;
}

void
bk_slow_stop(void)
{
	if (!bk_slow.st_running)
		return;
	if (pthread_mutex_lock(&bk_slow.st_lock) != 0) {
		log_warnx("slow timer: cannot lock; suspended requests stay suspended");
		return;
	}
	bk_slow.st_stopping = 1;
	pthread_cond_signal(&bk_slow.st_cond);
	pthread_mutex_unlock(&bk_slow.st_lock);
	pthread_join(bk_slow.st_thread, NULL);
	pthread_cond_destroy(&bk_slow.st_cond);
	bk_slow.st_running = 0;
}

/* Returns 0 when the request is now suspended, -1 when the timer is shutting down (the
 * caller then answers at once). Suspending before the request becomes visible to the
 * timer guarantees that a resume never precedes its suspend. */
static int
slow_enqueue(struct bk_req *req, long long ms)
{
	int queued = 0;

	if (pthread_mutex_lock(&bk_slow.st_lock) != 0)
		return -1;
	if (!bk_slow.st_stopping) {
		MHD_suspend_connection(req->br_conn);
		req->br_slow_state = BK_SLOW_WAITING;
		req->br_slow_deadline_ms = eg_mono_ms() + ms;
		req->br_next = bk_slow.st_head;
		bk_slow.st_head = req;
		pthread_cond_signal(&bk_slow.st_cond);
		queued = 1;
	}
	pthread_mutex_unlock(&bk_slow.st_lock);
	return queued ? 0 : -1;
}

/* Has the peer of conn closed its side? TCP_INFO says so without reading anything. */
static int
peer_closed(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (ci == NULL || getsockopt(ci->connect_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_state == TCP_CLOSE_WAIT || ti.tcpi_state == TCP_CLOSE;
}

enum MHD_Result
bk_slow_reply(const struct bk_call *call)
{
	enum MHD_Result ret;
	long long ms;

	if (bk_query_number(call, "ms", 0, BK_SLOW_MAX_MS, &ms, &ret) != 0)
		return ret;
	if (call->bc_req->br_slow_state == BK_SLOW_NONE && ms > 0 &&
	    slow_enqueue(call->bc_req, ms) == 0)
		return MHD_YES;
	if (call->bc_req->br_slow_state == BK_SLOW_DONE && peer_closed(call->bc_conn))
		bk_count(BK_SLOW_PEER_CLOSED);
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:I}", "slept_ms",
	    (json_int_t)ms));
}
