/*
 * stats.c - /__stats: what the gateway did to this backend. Tests use it to see from the
 * backend's side that connections are reused and that abandoned requests are abandoned
 * upstream too (the gateway's own view could be wrong in exactly the way being tested).
 */
#include <stdatomic.h>

#include "demo/internal.h"

static atomic_ulong bk_counters[BK_NCOUNTERS];

void
bk_count(enum bk_counter c)
{
	atomic_fetch_add(&bk_counters[c], 1);
}

enum MHD_Result
bk_stats_reply(const struct bk_call *call)
{
	return bk_reply_json(call, MHD_HTTP_OK, json_pack("{s:I, s:I, s:I, s:I}",
	    "connections", (json_int_t)atomic_load(&bk_counters[BK_CONNECTIONS]),
	    "requests", (json_int_t)atomic_load(&bk_counters[BK_REQUESTS]),
	    "big_aborted", (json_int_t)atomic_load(&bk_counters[BK_BIG_ABORTED]),
	    "slow_peer_closed", (json_int_t)atomic_load(&bk_counters[BK_SLOW_PEER_CLOSED])));
}
