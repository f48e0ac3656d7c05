/*
 * internal.h - shared by the files of forward/ only (and their unit tests). Each section
 * below is one file's: what it exports, and the state it alone writes.
 *
 *   h1.c        reading a backend's HTTP/1.1 answer (no I/O, no allocation)
 *   upstream.c  a transfer's life on its worker, the streaming rings, the head buffer
 *   forward.c   the libmicrohttpd side: the request, the upload in, the answer out
 *   exchange.c  one request and its response over a backend connection
 *   conn.c      backend connections: connect, TLS, the idle pool, the DNS cache, epoll
 *   assertion.c the signed assertion of who the user is
 *
 * One writer per field: a struct shared by several files is split into blocks, each
 * written by the one file named on it. Any file may read any block; a file that needs
 * another's field changed asks the owner through the function declared in the owner's
 * section. Everything runs on the event-loop thread of the transfer's client
 * (server/loop.c), so none of this takes a lock.
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
#include "eidgate/limits.h"
#include "eidgate/request.h"

struct up_worker;
struct up_conn;
struct upstream_pool;
struct upstream_xfer;
struct ssl_st;                          /* OpenSSL's SSL, kept out of this header */
struct ssl_ctx_st;                      /* OpenSSL's SSL_CTX */

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
 * is refused. Everything else about the fields is passed on as it came. The head is
 * capped at EG_MAX_BACKEND_HEAD bytes and EG_MAX_BACKEND_FIELDS fields (limits.h).
 */

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
 * (and len is still under EG_MAX_BACKEND_HEAD), or -1 when it is malformed or too large;
 * *h is filled only on success, and on_field (may be NULL) is called only then. An
 * interim (1xx) head parses like any other: the caller skips it.
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

/* ---- upstream.c: buffers ----------------------------------------------------------------
 *
 * A byte ring that grows on demand up to EG_PROXY_BUF: a small response or upload never
 * costs the full buffer, a large one is bounded by it. `oom` is set when growing
 * failed; the transfer is then aborted rather than left waiting for space forever.
 * A ring has one producer and one consumer, each a different file (see the transfer).
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

/* A growing byte buffer, at most EG_MAX_FORWARD_HEAD: the request head. */
struct hbuf {
	char *p;
	size_t len, cap;
	int failed;                     /* an append did not fit in memory or the limit */
};
void hbuf_add(struct hbuf *b, const char *s, size_t n);
void hbuf_adds(struct hbuf *b, const char *s);

/* ---- the transfer: one forwarded request, its blocks owned by three files -------------
 *
 * The libmicrohttpd side (forward.c) and the backend side (exchange.c, over a connection
 * of conn.c, which writes none of it) meet here; upstream.c runs it on its worker. The
 * reference count is atomic all the same: at shutdown the main thread frees what the
 * stopped loops left. Every block is freed with the transfer (upstream.c), whoever wrote
 * it.
 */

struct resp_header {
	struct resp_header *next;
	char *name, *value;
};

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

/* forward.c, in forward_start before upstream_submit; nobody writes it after, so the
 * backend side reads it without asking. */
struct xfer_request {
	struct up_target target;
	struct hbuf head;               /* the request line and header fields, as sent */
	int has_body;
	int64_t up_length;              /* the upload's length, -1 when sent chunked */
	uint64_t max_body;
	int is_head;
	int idempotent;                 /* GET, HEAD, OPTIONS: may be sent again */
	int64_t connect_timeout_ms;
	int64_t timeout_ms;             /* backend inactivity allowed (read timeout) */
	int64_t submitted_us;           /* handed to the backend side (the backend's latency) */
};

/* forward.c: the client's side of the transfer. */
struct xfer_client {
	struct MHD_Connection *conn;    /* NULL once the request completed */
	int fd;                         /* the client's socket (gone check), -1 if unknown */
	enum wait_for waiting;          /* set with each suspend, cleared by client_resume */
	int responding;                 /* the response is queued: the client drains `down` */
	int up_done;                    /* the client sent the whole upload */
	uint64_t up_total;
	int too_big;                    /* the body grew past max_body: 413 at its end */
	uint64_t discarded;             /* upload bytes swallowed after the answer was settled */
	uint64_t down_total;            /* body bytes handed to the client's connection */
	/* What the client was answered and why the request ended, for its outcome record:
	 * the status (the backend's, or the gateway's 502, 504, 413, 500) and a reason
	 * (NULL until the answer is settled). */
	int status;
	const char *end;
};

/* exchange.c: the backend's side, the clock of its timeouts included. */
struct xfer_backend {
	struct up_conn *uc;             /* the backend connection while running */
	int connected;                  /* the backend was reached (timeouts then give 504) */
	int retried;                    /* sent again once on a fresh connection */
	int up_paused;                  /* the upload waits for the client to bring more */
	int down_paused;                /* reading waits for the client to drain `down` */
	int64_t start_ms;               /* the current connection attempt began */
	int64_t last_activity_ms;       /* last byte to or from the backend */
};

/* exchange.c, once the backend's final head is in (headers_ready); forward.c reads it
 * from then on. */
struct xfer_response {
	long status;
	int headers_ready;
	int64_t content_length;         /* -1: unknown (read to the end, or chunked) */
	struct resp_header *headers, **headers_tail;
	char *connection;               /* the backend's Connection header: more hop-by-hop */
};

/* upstream.c: references, and the worker's lists. */
struct xfer_run {
	atomic_int refs;
	struct up_worker *w;
	struct upstream_xfer *prev, *next;      /* the worker's running transfers */
	struct upstream_xfer *pnext;    /* the worker's pending actions */
	unsigned pending;               /* PEND_* bits */
	int started, finished;          /* on the active list / taken off it */
};

/* A failure's reason, for the log: a sentence with a host name and a system error. */
#define XFER_ERRLEN 200

/* upstream.c: how the transfer ended; written once, by upstream_finish (and the reason
 * by upstream_error, on the way there). */
struct xfer_outcome {
	int done;
	int broken;                     /* ended without a complete response */
	int cancelled;                  /* given up by the gateway (upstream_cancel, timeouts) */
	enum xfer_fail fail;
	char errbuf[XFER_ERRLEN];       /* why, for the log; the first cause wins */
};

struct upstream_xfer {
	struct xfer_run run;            /* upstream.c */
	struct xfer_outcome outcome;    /* upstream.c */
	struct xfer_request req;        /* forward.c, then constant */
	struct xfer_client client;      /* forward.c */
	struct xfer_backend backend;    /* exchange.c */
	struct xfer_response resp;      /* exchange.c */
	/* The one place two files write: each ring has one producer and one consumer, and
	 * only ever through ring_*. `up`: forward.c puts, exchange.c takes; `down`:
	 * exchange.c puts, forward.c takes. */
	struct ring up;
	struct ring down;
};

/* ---- upstream.c: a transfer's life on its worker ----------------------------------------
 *
 * A worker per event loop. libmicrohttpd's callbacks only post what they want (start,
 * unpause, cancel); the worker carries it out after MHD_run returned.
 */

enum { PEND_START = 1, PEND_UNPAUSE = 2, PEND_CANCEL = 4 };

/* Creates a transfer on the worker of conn's event loop (conn is not kept: that is the
 * client block's, forward.c's). NULL when out of memory. */
struct upstream_xfer *upstream_xfer_new(struct upstream_pool *p, struct MHD_Connection *conn);
/* Takes one more reference (the libmicrohttpd response's) / gives one back. */
void upstream_xfer_hold(struct upstream_xfer *x);
void upstream_xfer_put(struct upstream_xfer *x);
/* Hands x to its worker. 0, or -1 when the pool is shutting down. */
int upstream_submit(struct upstream_xfer *x);
/* Asks x's worker to resume a paused transfer / to give it up (cancelled). The worker
 * acts once libmicrohttpd's callbacks have returned, never inside them. */
void upstream_unpause(struct upstream_xfer *x);
void upstream_cancel(struct upstream_xfer *x);
/* Notes why x failed, unless a reason is noted already: the first cause is the one the
 * log needs, the rest are its consequences. */
void upstream_error(struct upstream_xfer *x, const char *why);
/* The end of a transfer; the backend side has let go of its connection first. */
void upstream_finish(struct up_worker *w, struct upstream_xfer *x, int broken);

/* ---- the worker and the pool: blocks of upstream.c and conn.c ---------------------------
 *
 * One worker per event loop, made with the pool (forward_pool_new) and used by that
 * loop's thread only; the pool's counters are atomic because /eidgate/metrics reads
 * them from any thread.
 */

/* conn.c: resolved backend addresses, so that a host name costs a lookup a minute, not
 * one per connection. */
struct up_addr {
	char key[270];                  /* host/port */
	struct sockaddr_storage sa;
	socklen_t salen;
	int64_t expires_ms;
};
#define UP_ADDRS 16

struct up_worker {
	/* upstream.c, when the pool is made and the loop attached; read-only after */
	struct upstream_pool *pool;
	struct MHD_Daemon *daemon;
	int epfd;
	/* upstream.c: the transfers */
	struct upstream_xfer *active;   /* running transfers */
	struct upstream_xfer *phead, *ptail;    /* transfers with pending actions */
	/* conn.c: the backend connections */
	struct up_conn *idle;           /* kept-alive backend connections, newest first */
	int nidle;
	struct ssl_ctx_st *tls;         /* for https backends, made when first needed */
	struct up_addr addrs[UP_ADDRS];
};

struct upstream_pool {
	/* upstream.c */
	int n;
	struct up_worker *w;
	atomic_int shutting_down;
	atomic_long active;             /* transfers running */
	atomic_ulong requests;
	/* conn.c */
	atomic_ulong connects;
};

/* ---- forward.c: the libmicrohttpd side --------------------------------------------------- */

/* Is name (len bytes) a hop-by-hop header (RFC 9110 §7.6.1), in either direction? Those
 * named in a Connection header are too; callers check that. */
int hop_by_hop(const char *name, size_t len);
/* Resumes the client's connection if it waits for `what`: the backend side brought what
 * it waited for (or the transfer ended). */
void client_resume(struct upstream_xfer *x, enum wait_for what);

/* ---- exchange.c: one request and its response over a backend connection ------------------
 *
 * Writes the request head and streams the upload, reads the response head (h1.c) and
 * passes the body into the download ring, sends a safe request again once when a
 * kept-alive connection turns out stale. Its state on the connection is reset for every
 * request; the connection itself is conn.c's.
 */

enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF };

/* exchange.c: one request/response on a connection. Zeroed when a transfer takes the
 * connection, so nothing of a kept-alive connection's earlier request carries over. */
struct up_exchange {
	/* the request */
	size_t head_off;                /* head bytes sent */
	uint64_t up_sent;               /* upload bytes sent (without chunk framing) */
	int sent_all;
	char frame[24];                 /* chunk framing waiting to be sent */
	size_t frame_len, frame_off;
	size_t chunk_left;              /* upload bytes of the current chunk still to send */
	int chunk_open;                 /* a chunk's data is being sent: its CRLF is due */
	int last_chunk;                 /* the terminating chunk was framed */
	/* the response */
	size_t inoff, inlen;            /* unread bytes in the connection's receive buffer */
	int head_done;
	struct h1_head h;
	struct h1_chunked ch;
	enum body_mode body;
	uint64_t body_left;
	size_t got;                     /* response bytes received for this request */
};

/* Takes x to its backend: over a kept-alive connection when there is one, else a new
 * one. Starts the clock of x's timeouts. */
void exchange_start(struct up_worker *w, struct upstream_xfer *x);
/* The client side made room in the download ring or put upload bytes in: go on. */
void exchange_resume(struct up_conn *uc);
/* The connection (TLS included) is open: the request goes out. */
void exchange_opened(struct up_conn *uc);
/* Events on an open connection carrying a request. May free uc. */
void exchange_event(struct up_conn *uc, uint32_t events);
/* The exchange on uc ends without an answer (why: for the log; "cancelled" when the
 * gateway gives up); uc is closed and the transfer finished. */
void exchange_fail(struct up_conn *uc, const char *why);
/* The client side put upload bytes in / ended the upload / took bytes out of the
 * download ring. 1 when that side of the exchange was paused for it: the caller then
 * has the worker resume it (upstream_unpause). */
int exchange_upload_fed(struct upstream_xfer *x);
int exchange_upload_ended(struct upstream_xfer *x);
int exchange_download_drained(struct upstream_xfer *x);

/* ---- conn.c: backend connections -------------------------------------------------------
 *
 * Non-blocking connect, TLS (OpenSSL) for https backends, the per-worker pool of
 * kept-alive connections and cache of resolved addresses, epoll interest. Knows nothing
 * of HTTP: the exchange a connection carries is exchange.c's.
 */

enum conn_state { CONN_CONNECTING, CONN_HANDSHAKE, CONN_OPEN };

/* epoll's data.ptr of a backend connection is the connection itself (forward.h). */
struct up_conn {
	/* conn.c */
	int fd;
	struct ssl_st *ssl;             /* https only */
	struct up_worker *w;
	enum conn_state state;
	char key[300];                  /* https?://authority it is connected to */
	uint32_t events;                /* what epoll watches for */
	int detached;                   /* taken out of the epoll set (hung up while paused) */
	int reused;                     /* carried an earlier request */
	int64_t idle_since_ms;
	struct up_conn *next;           /* idle list */
	char *in;                       /* the receive buffer, kept across requests; the */
	size_t incap;                   /* bytes in it are the exchange's (ex.inoff, inlen) */
	/* exchange.c */
	struct upstream_xfer *x;        /* the transfer it carries; NULL while idle */
	struct up_exchange ex;
};

/* What conn_read and conn_write return besides a byte count: go on once the socket is
 * readable (CONN_WANT_READ) or writable (CONN_WANT_WRITE), or give up. With TLS either
 * call may need either direction (a handshake message, a key update). */
enum { CONN_WANT_READ = -1, CONN_ERROR = -2, CONN_WANT_WRITE = -3 };

/* A kept-alive connection to t, taken off the idle list; NULL when there is none. */
struct up_conn *conn_idle(struct up_worker *w, const struct up_target *t);
/* A new connection to t, connecting; NULL when it failed (why in err, or "" when out of
 * memory or descriptors). */
struct up_conn *conn_open(struct up_worker *w, const struct up_target *t, char *err,
    size_t errlen);
/* Keeps uc for the next request of the same backend when reusable and the pool has
 * room, otherwise closes it. uc carries no exchange any more. */
void conn_release(struct up_conn *uc, int reusable);
void conn_close(struct up_conn *uc);
/* Closes the idle connections unused since older_than_ms (INT64_MAX: all). */
void conn_close_idle(struct up_worker *w, int64_t older_than_ms);
/* Frees what the worker's connections shared (the TLS context); they are closed. */
void conn_worker_free(struct up_worker *w);
/* An event from the loop for a connection: conn.c deals with idle and opening ones. */
void conn_event(struct up_conn *uc, uint32_t events);
/* Bytes read (> 0), 0 at the end of the stream, or a CONN_ code; a reset is CONN_ERROR. */
ssize_t conn_read(struct up_conn *uc, void *buf, size_t len);
/* Bytes written (> 0) or a CONN_ code (never 0). */
ssize_t conn_write(struct up_conn *uc, const void *buf, size_t len);
/* What epoll should watch for on uc (nothing while detached). */
void conn_watch(struct up_conn *uc, uint32_t events);
/* Takes uc out of the epoll set: a hang-up while the download ring is full would be
 * reported again and again, EPOLLIN off or not. */
void conn_detach(struct up_conn *uc);
/* Grows the receive buffer to cap bytes. 0, or -1 when out of memory. */
int conn_rx_grow(struct up_conn *uc, size_t cap);

/* ---- assertion.c ------------------------------------------------------------------------ */

/* The assertion for r to backend b: from the cache when one for the same session,
 * backend and acting scope is within half its lifetime, else freshly signed. *jws is
 * malloc'd. EG_OK or EG_ERR_CRYPTO / EG_ERR_NOMEM. */
int assertion_make(struct request *r, const struct policy_backend *b, char **jws);
/* The organisation and facility the assertion (and identity=headers) speak for: what
 * the request is about (its decision's scope), else the acting ones; never NULL. */
void assertion_place(const struct request *r, const char **org, const char **fac);

#endif
