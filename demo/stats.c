/*
 * stats.c - /__stats: what the gateway did to this backend. Tests use it to see from the
 * backend's side that connections are reused and that abandoned requests are abandoned
 * upstream too (the gateway's own view could be wrong in exactly the way being tested).
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "eidgate/log.h"

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

/* Written once by bk_journal_open before any request thread exists. */
static int journal_fd = -1;

int
bk_journal_open(const char *path)
{
	journal_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return journal_fd < 0 ? -1 : 0;
}

void
bk_journal(struct MHD_Connection *conn, const char *method, const char *url)
{
	const char *id;
	char line[512];
	int n;

	if (journal_fd < 0)
		return;
	id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	n = snprintf(line, sizeof(line), "%s %s %s\n", id != NULL ? id : "-", method, url);
	if (n > 0 && (size_t)n < sizeof(line) && write(journal_fd, line, (size_t)n) != n)
		log_warn("journal");
}
