/*
 * big.c - /__big?bytes=N: a body of any size up to 8 GiB, byte i being i % 251, produced
 * on demand so that the gateway's streaming is tested without the backend holding it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "demo/internal.h"

/* Largest /__big body: the gateway's streaming is tested beyond 4 GiB (32-bit wrap). */
#define BK_BIG_MAX (8ULL * 1024 * 1024 * 1024)
/* Bytes /__big produces per callback; also MHD's buffer size for that response. */
#define BK_BIG_BLOCK (64 * 1024)
/* The /__big pattern repeats every 251 bytes (a prime, so it never lines up with
 * power-of-two buffer sizes and a misplaced block shows). */
#define BK_BIG_PERIOD 251

/* Filled once by bk_big_init before the daemon starts; read-only after. */
static unsigned char bk_big_pattern[BK_BIG_PERIOD + BK_BIG_BLOCK];

void
bk_big_init(void)
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
		bk_count(BK_BIG_ABORTED);
	free(st);
}

/* The size is known up front so MHD sends Content-Length, which is what lets a test
 * check that the gateway forwards every byte and does not fall back to chunking;
 * chunked=1 sends the same body chunked, abort_after=M breaks it after M bytes. */
enum MHD_Result
bk_big_reply(const struct bk_call *call)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct big_state *st;
	long long n, chunked, abort_after;

	if (!bk_is_read(call->bc_method))
		return bk_reply_405(call, "GET, HEAD");
	if (bk_query_number(call, "bytes", 0, (long long)BK_BIG_MAX, &n, &ret) != 0 ||
	    bk_query_optional(call, "chunked", 1, 0, &chunked, &ret) != 0 ||
	    bk_query_optional(call, "abort_after", (long long)BK_BIG_MAX, -1, &abort_after,
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
	return bk_queue(call->bc_conn, MHD_HTTP_OK, resp);
}
