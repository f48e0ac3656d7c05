/* upstream_int.h - the transfer state shared by upstream.c (curl side) and forward.c
 * (libmicrohttpd side); proxy/ only. Every field below `mu` is guarded by it. */
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

/* What the libmicrohttpd side waits for while its connection is suspended. */
enum wait_for { WAIT_NONE, WAIT_HEADERS, WAIT_BODY, WAIT_UPLOAD_SPACE };

struct upstream_xfer {
	atomic_int refs;
	pthread_mutex_t mu;
	struct up_worker *w;
	CURL *easy;
	struct curl_slist *req_headers;
	char errbuf[CURL_ERROR_SIZE];
	struct MHD_Connection *conn;    /* NULL once the request completed */
	enum wait_for waiting;
	int is_head;
	/* upload: client -> backend */
	unsigned char *up;
	size_t up_len;
	int up_done, up_paused;
	uint64_t up_total, max_body;
	/* download: backend -> client, a ring buffer */
	unsigned char *down;
	size_t down_head, down_len;
	int down_paused;
	uint64_t down_total;
	/* response */
	long status;
	int headers_ready;
	int64_t content_length;
	struct resp_header *headers;
	int done, cancelled;
	CURLcode result;
	int64_t start_ms;
	int64_t timeout_ms;
};


struct upstream_xfer *upstream_xfer_new(struct MHD_Connection *conn, int has_body);
void upstream_xfer_put(struct upstream_xfer *x);
/* Hands x to a worker (round robin). 0 or -1. */
int upstream_submit(struct upstream_pool *p, struct upstream_xfer *x);
/* Asks x's worker to resume a paused transfer / to abort it. Call without x->mu. */
void upstream_unpause(struct upstream_xfer *x);
void upstream_cancel(struct upstream_xfer *x);
/* Call with x->mu held: resumes the connection if it waits for `what`. */
void upstream_wake_client(struct upstream_xfer *x, enum wait_for what);

size_t upstream_on_header(char *buf, size_t size, size_t n, void *arg);
size_t upstream_on_write(char *data, size_t size, size_t n, void *arg);
size_t upstream_on_read(char *buf, size_t size, size_t n, void *arg);

#endif
