/*
 * demo/internal.h - the one header of the two demo backends (eidgate-demo-modules and
 * eidgate-demo-dossiers), which stand in for the module database and INSISTO behind the
 * gateway in integration tests and the demo. Not part of eidgate itself, so its header
 * lives with it rather than in include/.
 *
 * modules.c and dossiers.c each supply only a router for their own paths (struct bk_app)
 * and use the first part of this header. The other files are the same in both programs:
 *   main.c        the program: settings, signals, start and clean stop (bk_main)
 *   args.c        the command line
 *   dispatch.c    the libmicrohttpd daemon, per-request state, body collection, dispatch
 *   received.c    the `received` object that reports what the gateway forwarded
 *   reply.c       JSON and empty replies
 *   input.c       reading the request: method, JSON body, query arguments (400 if bad)
 *   echo.c, big.c, slow.c, status.c, stats.c
 *                 the test endpoints /__echo, /__big, /__slow, /__status, /__stats
 *   facilities.c  the facilities and regions of the demo directory
 * What those files share among themselves is the second part, which routers do not use.
 *
 * Threads: libmicrohttpd runs a pool of two epoll threads; a router runs on either of
 * them, concurrently, so any state it shares must be locked by the backend. Every
 * bk_reply_* function may be called from any MHD thread for the connection in hand.
 */
#ifndef EIDGATE_DEMO_INTERNAL_H
#define EIDGATE_DEMO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>

/* Path segments a router can see; longer paths simply match no route. */
#define BK_MAX_SEGS 16
/* Request bodies handed to routers are JSON documents typed by a person: 64 KiB is far
 * above any module or A-document, and keeps a hostile client from growing memory. */
#define BK_MAX_BODY (64 * 1024)

struct bk_req;

/*
 * One request as a router sees it, valid only during the router call.
 * `seg` holds the percent-decoded path split at '/', without the leading empty segment:
 * "/modules/catalog/modules" gives nseg 3. An empty segment (from "//" or a trailing
 * '/') is kept, so such paths match no route rather than a neighbouring one.
 * `body` is the request body (NULL when there was none), at most BK_MAX_BODY bytes;
 * a larger body never reaches the router (dispatch.c answers 413).
 */
struct bk_call {
	struct MHD_Connection *bc_conn;
	struct bk_req *bc_req;
	const char *bc_method;
	const char *bc_seg[BK_MAX_SEGS];
	size_t bc_nseg;
	const char *bc_body;
	size_t bc_body_len;
};

/*
 * What a backend plugs into bk_main().
 * ba_init runs once before the daemon starts (seed data, locks); returns 0 or -1.
 * ba_route answers one request with one of the bk_reply_* functions and returns its
 *   result; it runs on MHD threads, concurrently.
 * ba_fini runs once after the daemon stopped.
 */
struct bk_app {
	const char *ba_default_name;
	int (*ba_init)(void);
	enum MHD_Result (*ba_route)(const struct bk_call *call);
	void (*ba_fini)(void);
};

/*
 * Parses the command line (--listen HOST:PORT, --name NAME, --help), starts the daemon,
 * prints "listening on HOST:PORT" on stdout, waits for SIGTERM or SIGINT, stops.
 * Returns the process exit status: 0 after a clean stop, 1 when the daemon cannot start,
 * 2 on bad usage (with one "eidgate: ..." line on stderr).
 */
int bk_main(int argc, char **argv, const struct bk_app *app);

/* The --name given on the command line (or the default); valid after bk_main started. */
const char *bk_name(void);

/* True for GET and HEAD: every readable resource answers both, HEAD without a body. */
int bk_is_read(const char *method);

/*
 * Replies. Each adds "backend" and "received" to the object, sends it as
 * application/json with `status`, and returns MHD_YES or MHD_NO (connection dropped).
 * bk_reply_json steals the reference to `body` (which must be a JSON object), also on
 * failure. bk_reply_error sends {"error": msg}; bk_reply_error_field adds "field" so a
 * client knows which input was wrong. bk_reply_405 also sets Allow.
 * bk_reply_empty sends a status with no body at all (204, 304).
 */
enum MHD_Result bk_reply_json(const struct bk_call *call, unsigned int status, json_t *body);
enum MHD_Result bk_reply_error(const struct bk_call *call, unsigned int status,
    const char *msg);
enum MHD_Result bk_reply_error_field(const struct bk_call *call, unsigned int status,
    const char *msg, const char *field);
enum MHD_Result bk_reply_405(const struct bk_call *call, const char *allow);
enum MHD_Result bk_reply_empty(const struct bk_call *call, unsigned int status);

/*
 * Parses the request body as a JSON object. Returns a new reference, or NULL after it
 * has already answered 400 (missing body, bad JSON, not an object); then the router
 * returns *result.
 */
json_t *bk_body_object(const struct bk_call *call, enum MHD_Result *result);

/*
 * Reads string member `key` of `obj`: a non-empty string of at most `max` bytes. Returns
 * it (owned by obj), or NULL when absent and `required` is 0. Otherwise answers 400
 * naming the field, sets *failed to 1 and *result to the reply's result.
 */
const char *bk_string_field(const struct bk_call *call, json_t *obj, const char *key,
    size_t max, int required, int *failed, enum MHD_Result *result);

/* The facilities and regions of the demo directory (demo/directory/organisations.tsv). */
struct bk_facility {
	const char *bf_id;
	const char *bf_name;
	const char *bf_region;
};
extern const struct bk_facility bk_facilities[];
extern const size_t bk_nfacilities;
extern const char *const bk_regions[];
extern const size_t bk_nregions;

/* The facility with this id, or NULL. */
const struct bk_facility *bk_facility_find(const char *id);
/* 1 when `region` is one of the five ITP regions. */
int bk_region_valid(const char *region);

/* ==== Private to the shared files of demo/: routers do not use what follows. ==== */

/* Length cap for --name. */
#define BK_MAX_NAME 64

/* args.c: the command line, resolved. */
struct bk_opts {
	const char *bo_listen;
	const char *bo_name;
	const char *bo_journal;         /* --journal FILE, or NULL */
	char bo_host[256];
	char bo_port[8];
	unsigned short bo_portnum;
	struct sockaddr_storage bo_addr;
	int bo_ipv6;
};

/* Fills o (bo_name preset to the default). Returns -1 to go on, otherwise the exit
 * status: 0 after --help, 2 on bad usage (one "eidgate: ..." line on stderr). */
int bk_parse_args(int argc, char **argv, struct bk_opts *o);

/* dispatch.c */
/* The test endpoints are told apart by path when the headers arrive, because each treats
 * the body differently while it streams in (hashed, or dropped). */
enum bk_kind { BK_APP, BK_ECHO, BK_BIG, BK_SLOW, BK_STATUS, BK_STATS };
enum bk_slow_state { BK_SLOW_NONE, BK_SLOW_WAITING, BK_SLOW_DONE };

/*
 * Lives from the request line (on_uri) to MHD's completion callback (on_completed).
 * Only the MHD thread serving the connection touches it, except br_slow_* and br_next,
 * which the slow timer owns while the connection is suspended.
 */
struct bk_req {
	char *br_target;             /* raw request target, query string included */
	int br_started;
	enum bk_kind br_kind;
	uint64_t br_body_bytes;
	uint64_t br_fnv;             /* FNV-1a 64 of the body, for /__echo */
	EVP_MD_CTX *br_sha;          /* SHA-256 of the body, for /__echo (NULL: none) */
	char *br_body;               /* buffered body, BK_APP only */
	size_t br_body_len;
	size_t br_body_cap;
	int br_body_overflow;
	enum bk_slow_state br_slow_state;
	int64_t br_slow_deadline_ms; /* eg_mono_ms() clock */
	struct MHD_Connection *br_conn;
	struct bk_req *br_next;
};

/* Starts libmicrohttpd on o's address, with app's router behind the test endpoints.
 * NULL when it cannot (the reason is logged). */
struct MHD_Daemon *bk_daemon_start(const struct bk_opts *o, const struct bk_app *app);

/* received.c */
/* s as a JSON string, bytes that are not UTF-8 escaped as %XX; NULL without memory. */
json_t *bk_text_value(const char *s);
/* The `received` object of a reply: what the gateway sent this request with. */
json_t *bk_received(const struct bk_call *call);

/* reply.c */
/* Queues resp (NULL: MHD_NO) and drops our reference to it. */
enum MHD_Result bk_queue(struct MHD_Connection *conn, unsigned int status,
    struct MHD_Response *resp);

/* input.c */
/* Query argument `name` as an integer in [min, max] into *out. Returns 0, or -1 after
 * answering 400 (missing or out of range); then *result is the reply's result. */
int bk_query_number(const struct bk_call *call, const char *name, long long min,
    long long max, long long *out, enum MHD_Result *result);
/* The same in [0, max] for an optional argument: absent gives dflt. */
int bk_query_optional(const struct bk_call *call, const char *name, long long max,
    long long dflt, long long *out, enum MHD_Result *result);

/* echo.c: /__echo */
/* The standard FNV-1a 64 offset basis, which on_uri starts br_fnv from: clients check
 * body_fnv64 against the standard hash, and eidgate's EG_FNV1A_INIT is another value. */
#define BK_FNV64_OFFSET 0xcbf29ce484222325ULL
/* Hashes the next len bytes of req's body (br_body_bytes already counts them). */
void bk_echo_take(struct bk_req *req, const char *data, size_t len);
enum MHD_Result bk_echo_reply(const struct bk_call *call);

/* big.c: /__big; bk_big_init runs once before the daemon starts. */
void bk_big_init(void);
enum MHD_Result bk_big_reply(const struct bk_call *call);

/* slow.c: /__slow and its timer thread, which bk_slow_stop ends after resuming every
 * suspended request (MHD cannot stop with any still suspended). */
int bk_slow_start(void);
void bk_slow_stop(void);
enum MHD_Result bk_slow_reply(const struct bk_call *call);

/* status.c: /__status */
enum MHD_Result bk_status_reply(const struct bk_call *call);

/* stats.c: /__stats and the counters it reports, safe to bump from any thread. */
enum bk_counter {
	BK_CONNECTIONS,         /* TCP connections accepted */
	BK_REQUESTS,            /* requests started */
	BK_BIG_ABORTED,         /* /__big responses whose reader went away early */
	BK_SLOW_PEER_CLOSED,    /* /__slow requests whose peer had closed at wake-up */
	BK_NCOUNTERS
};
void bk_count(enum bk_counter c);
enum MHD_Result bk_stats_reply(const struct bk_call *call);
/* --journal: one line per request started, "REQUEST-ID METHOD PATH", appended with one
 * write(2) each, so that a test can compare what this backend ran with the gateways'
 * access logs even after a gateway was killed. Opened before the daemon starts. */
int bk_journal_open(const char *path);
void bk_journal(struct MHD_Connection *conn, const char *method, const char *url);

#endif
