/*
 * upstream_test.c - forward/upstream.c on its own: the streaming rings against a plain
 * model (random puts, gets, peeks/drops and direct writes as exchange.c does them must give
 * back exactly the bytes put in, in order, never hold more than EG_PROXY_BUF, and wrap
 * correctly). (Backend urls are split by the policy parser: tests/unit/policy_test.c.)
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/limits.h"
#include "forward/internal.h"
#include "tests/unit/check.h"

#define STEPS 200000

static unsigned char next_in, next_out;
static int order_ok = 1;

static void
fill(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = next_in++;
}

static void
verify(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != next_out++)
			order_ok = 0;
}

int
main(void)
{
	static unsigned char buf[EG_PROXY_BUF];
	struct ring r;
	const unsigned char *cp;
	unsigned char *wp;
	size_t held = 0, n, got;
	int i, bounded = 1;

	memset(&r, 0, sizeof(r));
	srand(7);
	for (i = 0; i < STEPS; i++) {
		n = (size_t)(rand() % 70000);
		switch (rand() % 4) {
		case 0:                 /* put */
			fill(buf, n);
			got = ring_put(&r, buf, n);
			next_in = (unsigned char)(next_in - (n - got));  /* what did not fit */
			held += got;
			break;
		case 1:                 /* get */
			got = ring_get(&r, buf, n);
			verify(buf, got);
			held -= got;
			break;
		case 2:                 /* peek and drop part of it, as a send would */
			got = ring_peek(&r, &cp);
			if (got > n)
				got = n;
			verify(cp, got);
			ring_drop(&r, got);
			held -= got;
			break;
		default:                /* write into the free space, as a recv would */
			got = ring_space(&r, n, &wp);
			if (got > n)
				got = n;
			fill(wp, got);
			ring_commit(&r, got);
			held += got;
			break;
		}
		if (r.len != held || r.cap > EG_PROXY_BUF || r.len > r.cap)
			bounded = 0;
	}
	got = ring_get(&r, buf, sizeof(buf));
	verify(buf, got);
	CHECK(order_ok);
	CHECK(bounded);
	CHECK(r.len == 0 && !r.oom);
	CHECK(r.cap == EG_PROXY_BUF);
	ring_free(&r);
	return check_report();
}
