/*
 * common.h - shared plumbing of the two demo backends (eidgate-demo-modules and
 * eidgate-demo-dossiers), which stand in for the module database and INSISTO behind the
 * gateway in integration tests and the demo. Not part of eidgate itself, so this is the
 * one header outside include/.
 *
 * common.c owns everything that is the same in both programs: the command line, the
 * libmicrohttpd daemon, the per-request state, the `received` object that reports what
 * the gateway forwarded, JSON replies, and the test endpoints /__echo, /__big, /__slow,
 * /__status and /__stats. A backend supplies only a router for its own paths (struct bk_app).
 *
 * Threads: libmicrohttpd runs a pool of two epoll threads; a router runs on either of
 * them, concurrently, so any state it shares must be locked by the backend. Every
 * bk_reply_* function may be called from any MHD thread for the connection in hand.
 */
#ifndef EIDGATE_BACKENDS_COMMON_H
#define EIDGATE_BACKENDS_COMMON_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

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
 * a larger body never reaches the router (common.c answers 413).
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

#endif
