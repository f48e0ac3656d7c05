/*
 * internal.h - shared by the files of forward/ only (and their unit tests): the backend
 * response reader (h1.c), the transfer state and streaming rings (upstream.c), the
 * backend connections (upconn.c), the libmicrohttpd side (forward.c) and the assertion
 * (assertion.c).
 */
#ifndef EIDGATE_FORWARD_INTERNAL_H
#define EIDGATE_FORWARD_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "eidgate/forward.h"
#include "eidgate/request.h"

/* ---- h1.c: reading a backend's HTTP/1.1 response --------------------------------------
 *
 * The head (status line and header fields) and the chunked transfer coding; no I/O, no
 * allocation.
 *
 * The backend is trusted less than it seems: a compromised or confused one must not be
 * able to smuggle a second response into the client's connection or make the gateway
 * misjudge where a body ends. So the parser is strict where framing is concerned
 * (RFC 9112 §6.3): a Content-Length must be digits only and agree with any repeat, a
 * Transfer-Encoding other than exactly "chunked" is refused, both together are refused,
 * and a field line with a control character, a space before the colon or an obs-fold
 * is refused. Everything else about the fields is passed on as it came.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest response head accepted (status line and all fields), and most fields. */
#define H1_MAX_HEAD (64 * 1024)
#define H1_MAX_FIELDS 200

struct h1_head {
	int status;                 /* 100..999 */
	int minor;                  /* HTTP/1.x: 0 or 1 */
	int64_t content_length;     /* -1 when absent */
	int chunked;                /* Transfer-Encoding: chunked */
	int keep_alive;             /* HTTP/1.1 without "Connection: close"; a body that
	                             * ends with the connection (neither length nor
	                             * chunked) rules reuse out as well: the caller's part */
	int nfields;
};

/* Called once per field of a complete head; name and value are not NUL-terminated, the
 * value has no leading or trailing whitespace. */
typedef void (*h1_field_cb)(void *arg, const char *name, size_t nlen, const char *value,
    size_t vlen);

/*
 * Parses the response head at the start of buf[0..len). Returns the length of the head
 * (up to and including the empty line) once it is complete, 0 when more bytes are needed
 * (and len is still under H1_MAX_HEAD), or -1 when it is malformed or too large; *h is
 * filled only on success, and on_field (may be NULL) is called only then. An interim
 * (1xx) head parses like any other: the caller skips it.
 */
ssize_t h1_parse_head(const char *buf, size_t len, struct h1_head *h, h1_field_cb on_field,
    void *arg);

/* Does a response to this request method with this head carry a body at all? */
int h1_has_body(const struct h1_head *h, int is_head_request);

/* The chunked transfer coding, decoded as bytes arrive. Start from all zero. */
struct h1_chunked {
	int state;
	uint64_t left;              /* data bytes left in the current chunk */
	unsigned digits, ext, trailer;
};

enum h1_chunk_result {
	H1_CHUNK_MORE = 0,          /* all input used, the body goes on */
	H1_CHUNK_DATA = 1,          /* *data, *dlen is body data */
	H1_CHUNK_END = 2,           /* the last chunk and the trailer section are complete */
	H1_CHUNK_ERROR = -1,        /* malformed framing: the body cannot be trusted */
};

/*
 * Consumes framing from in[0..len), stopping after at most one piece of body data:
 * *used is how many input bytes were consumed (the data returned is among them).
 * Call again with the rest until it returns MORE (needs input) or END. Trailer fields
 * are read and dropped. Chunk sizes are bounded (at most 16 hex digits, no overflow);
 * extensions and trailers are bounded in length.
 */
enum h1_chunk_result h1_chunk_step(struct h1_chunked *c, const char *in, size_t len,
    size_t *used, const char **data, size_t *dlen);

/* ---- the transfer state ----------------------------------------------------------------
 *
 * Shared by upstream.c and upconn.c (the backend side) and forward.c (the libmicrohttpd
 * side). Both sides run on the same
 * event-loop thread (loop.c), the one that owns the client's connection, so the state
 * needs no lock. The reference count is atomic all the same: at shutdown the main
 * thread frees what the stopped loops left. */

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct up_worker;
struct up_conn;
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
/* The first contiguous stretch of data (its length; 0 when empty), and dropping n bytes
 * of it once they were sent. */
size_t ring_peek(const struct ring *r, const unsigned char **p);
void ring_drop(struct ring *r, size_t n);
/* The first contiguous stretch of free space, after growing the ring towards `want` more
 * bytes (0: full, or it could not grow: `oom`), and counting n bytes written into it. */
size_t ring_space(struct ring *r, size_t want, unsigned char **p);
void ring_commit(struct ring *r, size_t n);
void ring_free(struct ring *r);

/* A growing byte buffer: the request head. */
struct hbuf {
	char *p;
	size_t len, cap;
	int failed;                     /* an append did not fit in memory or the limit */
};
void hbuf_add(struct hbuf *b, const char *s, size_t n);
void hbuf_adds(struct hbuf *b, const char *s);

/* Where the backend is: the transfer's own copy of the policy's split url (the policy
 * may be reloaded away while the transfer ends). */
struct up_target {
	int tls;                        /* https */
	char host[256];                 /* without brackets */
	char port[8];
};

/* What the libmicrohttpd side waits for while its connection is suspended. */
enum wait_for { WAIT_NONE, WAIT_HEADERS, WAIT_BODY, WAIT_UPLOAD_SPACE };

/* Why a transfer ended without a usable answer. */
enum xfer_fail { FAIL_NONE, FAIL_TIMEOUT, FAIL_CLIENT_GONE, FAIL_OOM, FAIL_BACKEND };

struct upstream_xfer {
	atomic_int refs;
	struct up_worker *w;
	/* the worker's: its list of running transfers and of pending actions */
	struct upstream_xfer *prev, *next;
	struct upstream_xfer *pnext;
	unsigned pending;               /* PEND_* bits */
	int started, finished;          /* on the active list / taken off it */
	struct up_conn *uc;             /* the backend connection while running */
	struct up_target target;
	struct hbuf head;               /* the request line and header fields, as sent */
	int64_t up_length;              /* the upload's length, -1 when sent chunked */
	int retried;                    /* sent again once on a fresh connection */
	int idempotent;                 /* GET, HEAD, OPTIONS: may be sent again */
	int responding;                 /* the response is queued: the client drains `down` */
	char errbuf[200];
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
	struct resp_header *headers, **headers_tail;
	char *resp_connection;          /* the backend's Connection header: more hop-by-hop */
	int done, cancelled, connected;
	int broken;                     /* ended without a complete response */
	enum xfer_fail fail;
	int64_t start_ms;
	int64_t connect_timeout_ms;
	int64_t timeout_ms;             /* backend inactivity allowed (read timeout) */
	int64_t last_activity_ms;       /* last byte to or from the backend */
};

/* Creates a transfer on the worker of conn's event loop. NULL when out of memory. */
struct upstream_xfer *upstream_xfer_new(struct upstream_pool *p, struct MHD_Connection *conn,
    int has_body);
void upstream_xfer_put(struct upstream_xfer *x);
/* Hands x to its worker. 0, or -1 when the pool is shutting down. */
int upstream_submit(struct upstream_xfer *x);
/* Asks x's worker to resume a paused transfer / to abort it. The worker acts once libmicrohttpd's callbacks have returned, never inside them. */
void upstream_unpause(struct upstream_xfer *x);
void upstream_cancel(struct upstream_xfer *x);
/* forward.c: is name (len bytes) a hop-by-hop header (RFC 9110 §7.6.1), in either
 * direction? Those named in a Connection header are too; callers check that. */
int hop_by_hop(const char *name, size_t len);
/* Resumes the client's connection if it waits for `what`. */
void upstream_wake_client(struct upstream_xfer *x, enum wait_for what);

/* ---- a worker: one per event loop (upstream.c and upconn.c) ------------------------- */

enum { PEND_START = 1, PEND_UNPAUSE = 2, PEND_CANCEL = 4 };

/* Resolved backend addresses, so that a host name costs a lookup a minute, not one per
 * connection. */
struct up_addr {
	char key[270];                  /* host/port */
	struct sockaddr_storage sa;
	socklen_t salen;
	int64_t expires_ms;
};
#define UP_ADDRS 16

struct up_worker {
	struct upstream_pool *pool;
	struct MHD_Daemon *daemon;
	int epfd;
	struct upstream_xfer *active;   /* running transfers */
	struct upstream_xfer *phead, *ptail;    /* transfers with pending actions */
	struct up_conn *idle;           /* kept-alive backend connections, newest first */
	int nidle;
	void *tls;                      /* SSL_CTX for https backends, made when first needed */
	struct up_addr addrs[UP_ADDRS];
};

struct upstream_pool {
	int n;
	atomic_int shutting_down;
	atomic_long active;             /* transfers running */
	atomic_ulong requests, connects;
	struct up_worker *w;
};

/* upstream.c: the end of a transfer (the connection was released or closed first). */
void upstream_finish(struct up_worker *w, struct upstream_xfer *x, int broken);
/* upconn.c: the backend connections. */
void upconn_start(struct up_worker *w, struct upstream_xfer *x);
void upconn_resume(struct up_conn *uc);
void upconn_abort(struct up_conn *uc);
void upconn_event(struct up_conn *uc, uint32_t events);
void upconn_close_idle(struct up_worker *w, int64_t older_than_ms);

/* ---- assertion.c ------------------------------------------------------------------------ */

/* The assertion for r to backend b: from the cache when one for the same session,
 * backend and acting scope is within half its lifetime, else freshly signed. *jws is
 * malloc'd. EG_OK or EG_ERR_CRYPTO / EG_ERR_NOMEM. */
int assertion_make(struct request *r, const struct policy_backend *b, char **jws);

#endif
