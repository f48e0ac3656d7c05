/*
 * fuzz_proxyhdr.c - the PROXY protocol v2 header a balancer sends before the TLS
 * handshake (server/proxyhdr.c, proxyhdr_parse), and the check for a PROXY header from a
 * client that may not send one (proxyhdr_looks_like).
 *
 * Input: the bytes received on a new connection, as clients.c peeks at them.
 * Invariants: a header is never longer than the bytes given nor than
 * EG_MAX_PROXY_HEADER; fed in two pieces, every prefix shorter than the header asks
 * for more and the whole gives the same answer; a PROXY (not LOCAL) header names an
 * IPv4 or IPv6 address; a refusal says why; whatever parses also looks like a header.
 */
#include "fuzz.h"
#include "eidgate/limits.h"
#include "server/internal.h"

FUZZ_QUIET_INIT

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *b = fuzz_dup(data, size);
	struct proxy_hdr h, h2;
	const char *why;
	int r = proxyhdr_parse(b, size, &h, &why);
	size_t cut;

	FUZZ_ASSERT(r >= -1);
	if (r < 0)
		FUZZ_ASSERT(why != NULL);
	if (r > 0) {
		FUZZ_ASSERT((size_t)r == h.len && h.len <= size && h.len <= EG_MAX_PROXY_HEADER);
		FUZZ_ASSERT(h.local || ((h.src.ss_family == AF_INET ||
		    h.src.ss_family == AF_INET6) && h.srclen > 0));
		FUZZ_ASSERT(proxyhdr_looks_like(b, size));
		cut = (size_t)b[0] % h.len;
		FUZZ_ASSERT(proxyhdr_parse(b, cut, &h2, &why) == 0);
		FUZZ_ASSERT(proxyhdr_parse(b, h.len, &h2, &why) == r && h2.local == h.local &&
		    memcmp(&h2.src, &h.src, sizeof(h.src)) == 0);
	}
	(void)proxyhdr_looks_like(b, size);
	free(b);
	return 0;
}
