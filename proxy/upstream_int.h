/* upstream_int.h - the transfer state shared by upstream.c (curl side) and forward.c
 * (libmicrohttpd side); proxy/ only. Every field below `mu` is guarded by it, except
 * where a comment names the one thread that owns it. */
#ifndef EIDGATE_UPSTREAM_INT_H
#define EIDGATE_UPSTREAM_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>
#include <microhttpd.h>

struct up_worker;
struct upstream_pool;

struct resp_header {
	struct resp_header *next;
	char *name, *value;
};

/*
 * A byte ring that grows on demand up to EG_PROXY_BUF: a small response or upload never
 * costs the full buffer, a large one is bounded by it. `oom` is set when growing
 * failed; the transfer is then aborted rather than left waiting for space forever.
 */
struct ring {
	unsigned char *buf;
	size_t cap, head, len;
	int oom;
};

/* Copies up to n bytes in (growing the ring up to EG_PROXY_BUF); returns how many. */
size_t ring_put(struct ring *r, const void *data, size_t n);
/* Copies up to n bytes out; returns how many. */
size_t ring_get(struct ring *r, void *out, size_t n);
void ring_free(struct ring *r);

/* What the libmicrohttpd side waits for while its connection is suspended. */
enum wait_for { WAIT_NONE, WAIT_HEADERS, WAIT_BODY, WAIT_UPLOAD_SPACE };

/* Why a transfer ended without a usable answer (besides curl's own result). */
enum xfer_fail { FAIL_NONE, FAIL_TIMEOUT, FAIL_CLIENT_GONE, FAIL_OOM };

struct upstream_xfer {
	atomic_int refs;
	pthread_mutex_t mu;
	struct up_worker *w;
	/* owned by the worker thread: its list of running transfers and command queue */
	struct upstream_xfer *prev, *next;
	struct upstream_xfer *qnext;
	unsigned cmds;                  /* CMD_* bits pending; guarded by the worker's mu */
	int started;                    /* worker thread only: handed to curl */
	int queued;                     /* on the worker's queue; guarded by the worker's mu */
	CURL *easy;                     /* NULL once the worker has finished with it */
	struct curl_slist *req_headers;
	char errbuf[CURL_ERROR_SIZE];
	struct MHD_Connection *conn;    /* NULL once the request completed */
	int client_fd;                  /* the client's socket (gone check), -1 if unknown */
	enum wait_for waiting;
	int is_head;
	/* upload: client -> backend */
	int has_body;
	struct ring up;
	int up_done, up_paused;
	uint64_t up_total, max_body;
	int too_big;                    /* the body grew past max_body: 413 at its end */
	uint64_t discarded;             /* upload bytes swallowed after the transfer ended */
	/* download: backend -> client */
	struct ring down;
	int down_paused;
	uint64_t down_total;
	/* response */
	long status;
	int headers_ready;
	int64_t content_length;
	struct resp_header *headers;
	char *resp_connection;          /* the backend's Connection header: more hop-by-hop */
	int done, cancelled, connected;
	enum xfer_fail fail;
	CURLcode result;
	int64_t start_ms;
	int64_t timeout_ms;             /* backend inactivity allowed (read timeout) */
	int64_t last_activity_ms;       /* last byte to or from the backend */
};

/* Creates a transfer on one of the pool's workers (round robin), with an easy handle
 * from that worker's spare handles. NULL when out of memory. */
struct upstream_xfer *upstream_xfer_new(struct upstream_pool *p, struct MHD_Connection *conn,
    int has_body);
void upstream_xfer_put(struct upstream_xfer *x);
/* Hands x to its worker. 0, or -1 when the pool is shutting down or out of memory. */
int upstream_submit(struct upstream_xfer *x);
/* Asks x's worker to resume a paused transfer / to abort it. Call without x->mu. */
void upstream_unpause(struct upstream_xfer *x);
void upstream_cancel(struct upstream_xfer *x);
/* Call with x->mu held: resumes the connection if it waits for `what`. */
void upstream_wake_client(struct upstream_xfer *x, enum wait_for what);

size_t upstream_on_header(char *buf, size_t size, size_t n, void *arg);
size_t upstream_on_write(char *data, size_t size, size_t n, void *arg);
size_t upstream_on_read(char *buf, size_t size, size_t n, void *arg);

#endif
