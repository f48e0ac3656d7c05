/*
 * common.c - what both demo backends share; see common.h.
 *
 * The Makefile links exactly one shared object into each backend, so this file holds
 * several small concerns in sections: demo directory data, per-request state, the
 * `received` report, replies, the test endpoints (echo, big, slow, status, stats), request
 * dispatch, and the program around the daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/evp.h>

#include "eidgate/err.h"
#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"

#include "demo/internal.h"

/* Largest /__big body: the gateway's streaming is tested beyond 4 GiB (32-bit wrap). */
#define BK_BIG_MAX (8ULL * 1024 * 1024 * 1024)
/* Bytes /__big produces per callback; also MHD's buffer size for that response. */
#define BK_BIG_BLOCK (64 * 1024)
/* The /__big pattern repeats every 251 bytes (a prime, so it never lines up with
 * power-of-two buffer sizes and a misplaced block shows). */
#define BK_BIG_PERIOD 251
/* Longest /__slow wait: above any gateway timeout a test would configure. */
#define BK_SLOW_MAX_MS 600000
/* Idle keep-alive connections are closed after this; suspended ones are exempt. */
#define BK_CONN_TIMEOUT_S 120
/* Length cap for --name. */
#define BK_MAX_NAME 64

/* ---- demo directory data (mirrors demo/directory/organisations.tsv) ---- */

const struct bk_facility bk_facilities[] = {
	{ "ckg-molenberg", "CKG Molenberg", "limburg" },
	{ "ckg-betlehem", "CKG Betlehem", "antwerpen" },
	{ "ckg-de-schommel", "CKG De Schommel", "vlaams-brabant-brussel" },
	{ "ckg-den-boomgaard", "CKG Den Boomgaard", "oost-vlaanderen" },
	{ "cig-ten-anker", "CIG Ten Anker", "west-vlaanderen" },
};
const size_t bk_nfacilities = sizeof(bk_facilities) / sizeof(bk_facilities[0]);

const char *const bk_regions[] = {
	"antwerpen", "limburg", "oost-vlaanderen", "vlaams-brabant-brussel", "west-vlaanderen",
};
const size_t bk_nregions = sizeof(bk_regions) / sizeof(bk_regions[0]);

const struct bk_facility *
bk_facility_find(const char *id)
{
	size_t i;

	for (i = 0; i < bk_nfacilities; i++)
		if (strcmp(bk_facilities[i].bf_id, id) == 0)
			return &bk_facilities[i];
	return NULL;
}

int
bk_region_valid(const char *region)
{
	size_t i;

	for (i = 0; i < bk_nregions; i++)
		if (strcmp(bk_regions[i], region) == 0)
			return 1;
	return 0;
}

/* ---- process-wide settings, written in bk_main before the daemon starts ---- */

static char bk_name_buf[BK_MAX_NAME + 1];
static const struct bk_app *bk_the_app;
static unsigned char bk_big_pattern[BK_BIG_PERIOD + BK_BIG_BLOCK];

const char *
bk_name(void)
{
	return bk_name_buf;
}

int
bk_is_read(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* ---- per-request state ---- */

enum bk_kind { BK_APP, BK_ECHO, BK_BIG, BK_SLOW, BK_STATUS, BK_STATS };

/*
 * What the gateway did to this backend, for /__stats: tests use it to see from the
 * backend's side that connections are reused and that abandoned requests are abandoned
 * upstream too (the gateway's own view could be wrong in exactly the way being tested).
 */
static struct {
	atomic_ulong connections;       /* TCP connections accepted */
	atomic_ulong requests;          /* requests started */
	atomic_ulong big_aborted;       /* /__big responses whose reader went away early */
	atomic_ulong slow_peer_closed;  /* /__slow requests whose peer had closed at wake-up */
} bk_stats;
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

#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

/* MHD calls this with the raw target before it unescapes the path and strips the
 * query, which is the only way to report the path exactly as the gateway sent it. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct bk_req *req;

	(void)cls;
	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return NULL;
	req->br_target = strdup(uri != NULL ? uri : "");
	if (req->br_target == NULL) {
		free(req);
		return NULL;
	}
	req->br_fnv = FNV64_OFFSET;
	req->br_conn = conn;
	return req;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct bk_req *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req == NULL)
		return;
	free(req->br_target);
	free(req->br_body);
	EVP_MD_CTX_free(req->br_sha);
	free(req);
	*con_cls = NULL;
}

/* ---- the `received` report ---- */

/* JSON strings must be UTF-8, request bytes need not be: escape what jansson refuses
 * as %XX so a test still sees every byte instead of a missing field. */
static json_t *
text_value(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	json_t *j;
	char *esc;
	size_t i, n = 0, len = strlen(s);

	j = json_string(s);
	if (j != NULL)
		return j;
	esc = malloc(len * 3 + 1);
	if (esc == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			esc[n++] = (char)c;
			continue;
		}
		esc[n++] = '%';
		esc[n++] = hex[c >> 4];
		esc[n++] = hex[c & 0xf];
	}
	esc[n] = '\0';
	j = json_string(esc);
	free(esc);
	return j;
}

static json_t *
header_or_null(struct MHD_Connection *conn, const char *name)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

	return v != NULL ? text_value(v) : json_null();
}

static int
is_identity_header(const char *name)
{
	return strncasecmp(name, "X-Eidgate-", 10) == 0 ||
	    strncasecmp(name, "X-Forwarded-", 12) == 0 ||
	    strcasecmp(name, "Forwarded") == 0;
}

/* A header sent twice is exactly what a smuggling test looks for, so repeats become
 * an array of all values in arrival order instead of overwriting each other. */
static int
add_identity_value(json_t *ids, const char *key, json_t *val)
{
	json_t *old = json_object_get(ids, key);
	json_t *arr;

	if (old == NULL)
		return json_object_set_new(ids, key, val);
	if (json_is_array(old))
		return json_array_append_new(old, val);
	arr = json_array();
	if (arr == NULL || json_array_append(arr, old) != 0 ||
	    json_array_append_new(arr, val) != 0) {
		json_decref(arr);
		json_decref(val);
		return -1;
	}
	return json_object_set_new(ids, key, arr);
}

/* Keys are lower-cased: header names are case-insensitive and tests need one spelling. */
static enum MHD_Result
collect_identity(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
	json_t *ids = cls;
	char *key;
	size_t i;
	int rc;

	(void)kind;
	if (name == NULL || !is_identity_header(name))
		return MHD_YES;
	key = strdup(name);
	if (key == NULL)
		return MHD_NO;
	for (i = 0; key[i] != '\0'; i++)
		if (key[i] >= 'A' && key[i] <= 'Z')
			key[i] = (char)(key[i] - 'A' + 'a');
	rc = add_identity_value(ids, key, text_value(value != NULL ? value : ""));
	free(key);
	return rc == 0 ? MHD_YES : MHD_NO;
}

static json_t *
identity_headers(struct MHD_Connection *conn)
{
	json_t *ids = json_object();
	int n;

	if (ids == NULL)
		return NULL;
	n = MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_identity, ids);
	if (n < 0) {
		json_decref(ids);
		return NULL;
	}
	return ids;
}

/* The credentials' values are never echoed: a test only needs to know whether the
 * gateway let the user's session cookie or bearer token through to the backend. */
static json_t *
received_object(const struct bk_call *call)
{
	struct MHD_Connection *c = call->bc_conn;

	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b}",
	    "assertion", header_or_null(c, "X-Eidgate-Assertion"),
	    "request_id", header_or_null(c, "X-Request-Id"),
	    "forwarded_for", header_or_null(c, "X-Forwarded-For"),
	    "forwarded_proto", header_or_null(c, "X-Forwarded-Proto"),
	    "method", text_value(call->bc_method),
	    "path", text_value(call->bc_req->br_target),
	    "identity_headers", identity_headers(c),
	    "authorization",
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization") != NULL,
	    "cookie", MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie") != NULL);
}

/* ---- replies ---- */

static enum MHD_Result
queue(struct MHD_Connection *conn, unsigned int status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_json(struct MHD_Connection *conn, unsigned int status, json_t *obj,
    const char *allow)
{
	struct MHD_Response *resp;
	char *text;

	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json; charset=utf-8") != MHD_YES ||
	    (allow != NULL &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return queue(conn, status, resp);
}

static enum MHD_Result
reply_json_allow(const struct bk_call *call, unsigned int status, json_t *body,
    const char *allow)
{
	if (body == NULL)
		return MHD_NO;
	if (!json_is_object(body) ||
	    json_object_set_new(body, "backend", json_string(bk_name())) != 0 ||
	    json_object_set_new(body, "received", received_object(call)) != 0) {
		json_decref(body);
		return MHD_NO;
	}
	return send_json(call->bc_conn, status, body, allow);
}

enum MHD_Result
bk_reply_json(const struct bk_call *call, unsigned int status, json_t *body)
{
	return reply_json_allow(call, status, body, NULL);
}

enum MHD_Result
bk_reply_error(const struct bk_call *call, unsigned int status, const char *msg)
{
	return bk_reply_json(call, status, json_pack("{s:s}", "error", msg));
}

enum MHD_Result
bk_reply_error_field(const struct bk_call *call, unsigned int status, const char *msg,
    const char *field)
{
	return bk_reply_json(call, status,
	    json_pack("{s:s, s:s}", "error", msg, "field", field));
}

enum MHD_Result
bk_reply_405(const struct bk_call *call, const char *allow)
{
	return reply_json_allow(call, MHD_HTTP_METHOD_NOT_ALLOWED,
	    json_pack("{s:s}", "error", "method not allowed"), allow);
}

/* A buffer response of known size 0: with an unknown-size response libmicrohttpd
 * 0.9.75 sends a chunked terminator even where no body is allowed (304, HEAD). */
enum MHD_Result
bk_reply_empty(const struct bk_call *call, unsigned int status)
{
	return queue(call->bc_conn, status,
	    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

/* ---- body helpers for routers ---- */

json_t *
bk_body_object(const struct bk_call *call, enum MHD_Result *result)
{
	json_error_t jerr;
	json_t *obj;

	if (call->bc_body == NULL) {
		*result = bk_reply_error(call, MHD_HTTP_BAD_REQUEST, "a JSON body is required");
		return NULL;
	}
	obj = json_loadb(call->bc_body, call->bc_body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		*result = bk_reply_json(call, MHD_HTTP_BAD_REQUEST, json_pack("{s:s, s:s}",
		    "error", "malformed JSON", "detail", jerr.text));
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		*result = bk_reply_error(call, MHD_HTTP_BAD_REQUEST,
		    "the body must be a JSON object");
		return NULL;
	}
	return obj;
}

const char *
bk_string_field(const struct bk_call *call, json_t *obj, const char *key, size_t max,
    int required, int *failed, enum MHD_Result *result)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (v == NULL && !required)
		return NULL;
	s = json_string_value(v);
	if (s != NULL && s[0] != '\0' && json_string_length(v) <= max &&
	    strlen(s) == json_string_length(v))
		return s;
	*failed = 1;
	*result = bk_reply_error_field(call, MHD_HTTP_BAD_REQUEST,
	    v == NULL ? "missing field" : "must be a non-empty string of limited length",
	    key);
	return NULL;
}

/* ---- /__echo: body size and FNV-1a 64, computed as the body streams past ---- */

static void
echo_take(struct bk_req *req, const char *data, size_t len)
{
	uint64_t h = req->br_fnv;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= FNV64_PRIME;
	}
	req->br_fnv = h;
	/* SHA-256 as well: a client can compute it at C speed, FNV it cannot for 1 GiB. */
	if (req->br_sha == NULL && req->br_body_bytes == len) {
		req->br_sha = EVP_MD_CTX_new();
		if (req->br_sha != NULL && EVP_DigestInit_ex(req->br_sha, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(req->br_sha);
			req->br_sha = NULL;
		}
	}
	if (req->br_sha != NULL && EVP_DigestUpdate(req->br_sha, data, len) != 1) {
		EVP_MD_CTX_free(req->br_sha);
		req->br_sha = NULL;
	}
}

/* Hex SHA-256 of the echoed body ("" when it could not be computed). */
static void
echo_sha256(struct bk_req *req, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	EVP_MD_CTX *c = req->br_sha;

	out[0] = '\0';
	if (c == NULL) {
		/* No body at all: the digest of nothing. */
		if ((c = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(c);
			return;
		}
		req->br_sha = c;
	}
	if (EVP_DigestFinal_ex(c, md, &len) != 1 || len != sizeof(md))
		return;
	eg_hex(md, sizeof(md), out);
}

static enum MHD_Result
collect_name(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
	json_t *names = cls;
	char lower[128];
	size_t i;

	(void)kind;
	(void)value;
	for (i = 0; name[i] != '\0' && i + 1 < sizeof(lower); i++)
		lower[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
	lower[i] = '\0';
	return json_array_append_new(names, text_value(lower)) == 0 ? MHD_YES : MHD_NO;
}

/* The names of every request header (lower case), so that a test can see which
 * headers the gateway removed (hop-by-hop ones) and which it let through. */
static json_t *
header_names(struct MHD_Connection *conn)
{
	json_t *names = json_array();

	if (names != NULL &&
	    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_name, names) < 0) {
		json_decref(names);
		return NULL;
	}
	return names;
}

static enum MHD_Result
echo_reply(const struct bk_call *call)
{
	char hex[17], sha[65];

	snprintf(hex, sizeof(hex), "%016" PRIx64, call->bc_req->br_fnv);
	echo_sha256(call->bc_req, sha);
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:I, s:s, s:s, s:o}",
	    "body_bytes", (json_int_t)call->bc_req->br_body_bytes, "body_fnv64", hex,
	    "body_sha256", sha, "header_names", header_names(call->bc_conn)));
}

/* ---- /__big?bytes=N: byte i is i % 251, produced on demand ---- */

static void
big_pattern_init(void)
{
	size_t i;

	for (i = 0; i < sizeof(bk_big_pattern); i++)
		bk_big_pattern[i] = (unsigned char)(i % BK_BIG_PERIOD);
}

/* One /__big response. `abort_after` lets a test break the body mid-way, the way a
 * crashing backend would, to see that the gateway does not pass it off as complete. */
struct big_state {
	uint64_t total;
	uint64_t sent;
	uint64_t abort_after;       /* UINT64_MAX: never */
};

static ssize_t
big_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct big_state *st = cls;
	uint64_t left;
	size_t n = max < BK_BIG_BLOCK ? max : BK_BIG_BLOCK;

	if (pos >= st->total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (pos >= st->abort_after)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	left = (st->abort_after < st->total ? st->abort_after : st->total) - pos;
	if (left < n)
		n = (size_t)left;
	memcpy(buf, bk_big_pattern + pos % BK_BIG_PERIOD, n);
	st->sent = pos + n;
	return (ssize_t)n;
}

/* Runs when MHD lets go of the response: a body not sent to the end means its reader
 * (the gateway) went away, which is what the cancellation tests look for. */
static void
big_free(void *cls)
{
	struct big_state *st = cls;

	if (st->sent < st->total && st->abort_after == UINT64_MAX)
		atomic_fetch_add(&bk_stats.big_aborted, 1);
	free(st);
}

/* Parses query argument `name` as an integer in [min, max]; answers 400 when it is
 * missing or out of range. */
static int
query_number(const struct bk_call *call, const char *name, long long min, long long max,
    long long *out, enum MHD_Result *result)
{
	const char *s;

	s = MHD_lookup_connection_value(call->bc_conn, MHD_GET_ARGUMENT_KIND, name);
	if (s != NULL && eg_strtonum(s, min, max, out) == EG_OK)
		return 0;
	*result = bk_reply_error_field(call, MHD_HTTP_BAD_REQUEST,
	    "missing or out-of-range number", name);
	return -1;
}

/* The size is known up front so MHD sends Content-Length, which is what lets a test
 * check that the gateway forwards every byte and does not fall back to chunking. */
/* Optional query argument: absent gives dflt. */
static int
query_optional(const struct bk_call *call, const char *name, long long max, long long dflt,
    long long *out, enum MHD_Result *result)
{
	if (MHD_lookup_connection_value(call->bc_conn, MHD_GET_ARGUMENT_KIND, name) == NULL) {
		*out = dflt;
		return 0;
	}
	return query_number(call, name, 0, max, out, result);
}

/* The size is known up front so MHD sends Content-Length, which is what lets a test
 * check that the gateway forwards every byte and does not fall back to chunking;
 * chunked=1 sends the same body chunked, abort_after=M breaks it after M bytes. */
static enum MHD_Result
big_reply(const struct bk_call *call)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct big_state *st;
	long long n, chunked, abort_after;

	if (!bk_is_read(call->bc_method))
		return bk_reply_405(call, "GET, HEAD");
	if (query_number(call, "bytes", 0, (long long)BK_BIG_MAX, &n, &ret) != 0 ||
	    query_optional(call, "chunked", 1, 0, &chunked, &ret) != 0 ||
	    query_optional(call, "abort_after", (long long)BK_BIG_MAX, -1, &abort_after,
	    &ret) != 0)
		return ret;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return MHD_NO;
	st->total = (uint64_t)n;
	st->abort_after = abort_after < 0 ? UINT64_MAX : (uint64_t)abort_after;
	resp = MHD_create_response_from_callback(chunked ? MHD_SIZE_UNKNOWN : st->total,
	    BK_BIG_BLOCK, big_read, st, big_free);
	if (resp == NULL) {
		free(st);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/octet-stream") != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return queue(call->bc_conn, MHD_HTTP_OK, resp);
}

/* ---- /__slow?ms=N: the connection is suspended and a timer thread resumes it, so a
 * slow request never holds one of MHD's two worker threads ---- */

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

static int
slow_start(void)
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

static void
slow_stop(void)
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

static enum MHD_Result
slow_reply(const struct bk_call *call)
{
	enum MHD_Result ret;
	long long ms;

	if (query_number(call, "ms", 0, BK_SLOW_MAX_MS, &ms, &ret) != 0)
		return ret;
	if (call->bc_req->br_slow_state == BK_SLOW_NONE && ms > 0 &&
	    slow_enqueue(call->bc_req, ms) == 0)
		return MHD_YES;
	if (call->bc_req->br_slow_state == BK_SLOW_DONE && peer_closed(call->bc_conn))
		atomic_fetch_add(&bk_stats.slow_peer_closed, 1);
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:I}", "slept_ms",
	    (json_int_t)ms));
}

/* ---- /__status?code=N ---- */

static enum MHD_Result
status_reply(const struct bk_call *call)
{
	enum MHD_Result ret;
	long long code;

	if (query_number(call, "code", 200, 599, &code, &ret) != 0)
		return ret;
	if (code == MHD_HTTP_NO_CONTENT || code == MHD_HTTP_NOT_MODIFIED)
		return bk_reply_empty(call, (unsigned int)code);
	return bk_reply_json(call, (unsigned int)code, json_pack("{s:I}", "status",
	    (json_int_t)code));
}

/* ---- /__stats ---- */

static enum MHD_Result
stats_reply(const struct bk_call *call)
{
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:I, s:I, s:I, s:I}",
	    "connections", (json_int_t)atomic_load(&bk_stats.connections),
	    "requests", (json_int_t)atomic_load(&bk_stats.requests),
	    "big_aborted", (json_int_t)atomic_load(&bk_stats.big_aborted),
	    "slow_peer_closed", (json_int_t)atomic_load(&bk_stats.slow_peer_closed)));
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)conn;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&bk_stats.connections, 1);
}

/* ---- dispatch ---- */

static enum bk_kind
classify(const char *url)
{
	if (strcmp(url, "/__echo") == 0 || strncmp(url, "/__echo/", 8) == 0)
		return BK_ECHO;
	if (strcmp(url, "/__big") == 0)
		return BK_BIG;
	if (strcmp(url, "/__slow") == 0)
		return BK_SLOW;
	if (strcmp(url, "/__status") == 0)
		return BK_STATUS;
	if (strcmp(url, "/__stats") == 0)
		return BK_STATS;
	return BK_APP;
}

/* Only application routes keep the body, and only up to BK_MAX_BODY; the rest is
 * counted and dropped so that memory stays flat whatever a client sends. */
static void
take_body(struct bk_req *req, const char *data, size_t len)
{
	size_t cap;
	char *nb;

	req->br_body_bytes += len;
	if (req->br_kind == BK_ECHO)
		echo_take(req, data, len);
	if (req->br_kind != BK_APP || req->br_body_overflow)
		return;
	if (len > BK_MAX_BODY - req->br_body_len) {
		req->br_body_overflow = 1;
		return;
	}
	if (req->br_body_len + len > req->br_body_cap) {
		cap = req->br_body_cap == 0 ? 4096 : req->br_body_cap;
		while (cap < req->br_body_len + len)
			cap *= 2;
		nb = realloc(req->br_body, cap);
		if (nb == NULL) {
			req->br_body_overflow = 1;
			return;
		}
		req->br_body = nb;
		req->br_body_cap = cap;
	}
	memcpy(req->br_body + req->br_body_len, data, len);
	req->br_body_len += len;
}

/* Splits the decoded path into call->bc_seg, backed by buf. Returns -1 when the path
 * does not fit (the router would not match it anyway). */
static int
split_path(const char *url, char *buf, size_t buflen, struct bk_call *call)
{
	char *p, *slash;

	call->bc_nseg = 0;
	if (url[0] != '/')
		return 0;
	if (eg_strlcpy(buf, url + 1, buflen) >= buflen)
		return -1;
	for (p = buf;; p = slash + 1) {
		if (call->bc_nseg == BK_MAX_SEGS)
			return -1;
		call->bc_seg[call->bc_nseg++] = p;
		slash = strchr(p, '/');
		if (slash == NULL)
			return 0;
		*slash = '\0';
	}
}

static enum MHD_Result
finish(struct bk_req *req, struct MHD_Connection *conn, const char *url,
    const char *method)
{
	struct bk_call call;
	char buf[EG_MAX_PATH];

	memset(&call, 0, sizeof(call));
	call.bc_conn = conn;
	call.bc_req = req;
	call.bc_method = method;
	switch (req->br_kind) {
	case BK_ECHO:
		return echo_reply(&call);
	case BK_BIG:
		return big_reply(&call);
	case BK_SLOW:
		return slow_reply(&call);
	case BK_STATUS:
		return status_reply(&call);
	case BK_STATS:
		return stats_reply(&call);
	case BK_APP:
		break;
	}
	if (req->br_body_overflow)
		return bk_reply_error(&call, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	if (split_path(url, buf, sizeof(buf), &call) != 0)
		return bk_reply_error(&call, MHD_HTTP_NOT_FOUND, "not found");
	if (req->br_body_bytes > 0) {
		call.bc_body = req->br_body;
		call.bc_body_len = req->br_body_len;
	}
	return bk_the_app->ba_route(&call);
}

/* MHD calls this once for the headers, once per chunk of body, and once more at the
 * end (again after a resume): only the last call answers. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size,
    void **con_cls)
{
	struct bk_req *req = *con_cls;

	(void)cls;
	(void)version;
	if (req == NULL)
		return MHD_NO;
	if (!req->br_started) {
		req->br_started = 1;
		req->br_kind = classify(url);
		atomic_fetch_add(&bk_stats.requests, 1);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		take_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return finish(req, conn, url, method);
}

/* ---- the program ---- */

struct bk_opts {
	const char *bo_listen;
	const char *bo_name;
	char bo_host[256];
	char bo_port[8];
	unsigned short bo_portnum;
	struct sockaddr_storage bo_addr;
	int bo_ipv6;
};

static void
usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s --listen HOST:PORT [--name NAME]\n"
	    "  --listen HOST:PORT  address to serve plain HTTP on (port 0 picks a free one)\n"
	    "  --name NAME         backend name reported in every response\n"
	    "  --help              show this text\n", prog);
}

static int
usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "eidgate: %s%s%s (see --help)\n", msg, arg != NULL ? ": " : "",
	    arg != NULL ? arg : "");
	return 2;
}

/* Splits "host:port" or "[v6]:port" into bo_host and bo_port. */
static int
split_listen(struct bk_opts *o)
{
	const char *s = o->bo_listen, *colon = strrchr(s, ':');
	const char *h = s;
	size_t hlen;
	long long port;

	if (colon == NULL || eg_strtonum(colon + 1, 0, 65535, &port) != EG_OK)
		return -1;
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		h = s + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(o->bo_host))
		return -1;
	memcpy(o->bo_host, h, hlen);
	o->bo_host[hlen] = '\0';
	snprintf(o->bo_port, sizeof(o->bo_port), "%lld", port);
	o->bo_portnum = (unsigned short)port;
	return 0;
}

static int
resolve_listen(struct bk_opts *o)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(o->bo_host, o->bo_port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "eidgate: cannot resolve %s: %s\n", o->bo_host, gai_strerror(rc));
		return -1;
	}
	memcpy(&o->bo_addr, res->ai_addr, res->ai_addrlen);
	o->bo_ipv6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

static int
valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > BK_MAX_NAME)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Returns -1 to continue, otherwise the exit status. */
static int
parse_args(int argc, char **argv, struct bk_opts *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->bo_listen = optarg;
			break;
		case 'n':
			o->bo_name = optarg;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		case ':':
			return usage_error("option needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (o->bo_listen == NULL)
		return usage_error("--listen HOST:PORT is required", NULL);
	if (split_listen(o) != 0)
		return usage_error("--listen wants HOST:PORT", o->bo_listen);
	if (!valid_name(o->bo_name))
		return usage_error("--name wants 1-64 printable characters", o->bo_name);
	if (resolve_listen(o) != 0)
		return 2;
	return -1;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* MHD's messages end in a newline; log_* adds its own. */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warnx("libmicrohttpd: %s", msg);
}

static struct MHD_Daemon *
start_daemon(const struct bk_opts *o)
{
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_SUSPEND_RESUME;

	if (o->bo_ipv6)
		flags |= MHD_USE_IPv6;
	/* The logger goes first: MHD reports problems with the later options through it. */
	return MHD_start_daemon(flags, o->bo_portnum, NULL, NULL, on_request, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&o->bo_addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)BK_CONN_TIMEOUT_S,
	    MHD_OPTION_END);
}

static unsigned int
bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	return info != NULL ? info->port : 0;
}

/* SIGTERM and SIGINT are blocked before any thread exists, so every thread inherits
 * the mask and only sigwait() in the main thread ever sees them. */
static int
block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -1;
	return pthread_sigmask(SIG_BLOCK, set, NULL) == 0 ? 0 : -1;
}

static void
wait_for_stop(const sigset_t *set)
{
	int sig;

	while (sigwait(set, &sig) != 0)
		;
	log_info("%s: signal %d, stopping", bk_name(), sig);
}

static int
serve(const struct bk_opts *o, const sigset_t *set)
{
	struct MHD_Daemon *d;

	if (slow_start() != 0) {
		fprintf(stderr, "eidgate: cannot start the slow-request timer\n");
		return 1;
	}
	d = start_daemon(o);
	if (d == NULL) {
		fprintf(stderr, "eidgate: cannot listen on %s\n", o->bo_listen);
		slow_stop();
		return 1;
	}
	if (o->bo_ipv6)
		printf("listening on [%s]:%u\n", o->bo_host, bound_port(d));
	else
		printf("listening on %s:%u\n", o->bo_host, bound_port(d));
	fflush(stdout);
	wait_for_stop(set);
	/* Suspended /__slow requests must be resumed before the daemon may stop. */
	slow_stop();
	MHD_stop_daemon(d);
	return 0;
}

int
bk_main(int argc, char **argv, const struct bk_app *app)
{
	struct bk_opts o;
	sigset_t set;
	int rc;

	memset(&o, 0, sizeof(o));
	o.bo_name = app->ba_default_name;
	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	log_init("eidgate", LOG_LVL_INFO);
	eg_strlcpy(bk_name_buf, o.bo_name, sizeof(bk_name_buf));
	bk_the_app = app;
	big_pattern_init();
	/* jansson seeds its hash function lazily; do it before MHD's threads race to. */
	json_object_seed(0);
	if (block_signals(&set) != 0) {
		fprintf(stderr, "eidgate: cannot set up signal handling\n");
		return 1;
	}
	if (app->ba_init != NULL && app->ba_init() != 0) {
		fprintf(stderr, "eidgate: cannot initialise the %s backend\n", bk_name());
		return 1;
	}
	rc = serve(&o, &set);
	if (app->ba_fini != NULL)
		app->ba_fini();
	return rc;
}
