/*
 * proxyhdr.c - the PROXY protocol version 2 header (HAProxy's "PROXY protocol" text,
 * section 2.2) a load balancer in TCP mode sends before the client's first byte, read
 * here before the TLS handshake. A pure function over the bytes received so far: the
 * caller peeks, asks, and drops exactly the header's length from the socket once it is
 * complete, so that the TLS bytes behind it stay unread.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "eidgate/limits.h"
#include "server/internal.h"

static const unsigned char sig_v2[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

#define V2_FIXED 16             /* signature, version and command, family, length */
#define CMD_LOCAL 0x0
#define CMD_PROXY 0x1
#define FAM_INET_STREAM 0x11
#define FAM_INET6_STREAM 0x21
#define INET_BLOCK 12           /* source, destination (4 each), two ports */
#define INET6_BLOCK 36          /* 16 each, two ports */

int
proxyhdr_looks_like(const unsigned char *b, size_t n)
{
	static const char v1[] = "PROXY ";

	if (n == 0)
		return 0;
	if (memcmp(b, sig_v2, n < sizeof(sig_v2) ? n : sizeof(sig_v2)) == 0)
		return 1;
	return memcmp(b, v1, n < sizeof(v1) - 1 ? n : sizeof(v1) - 1) == 0;
}

/* The TLVs after the address block: each type (1), length (2, big-endian), value. Their
 * content is not used; a TLV running past the header makes the header invalid. */
static int
tlvs_valid(const unsigned char *p, size_t n)
{
	size_t len;

	while (n > 0) {
		if (n < 3)
			return 0;
		len = ((size_t)p[1] << 8) | p[2];
		if (len > n - 3)
			return 0;
		p += 3 + len;
		n -= 3 + len;
	}
	return 1;
}

static void
set_inet(struct proxy_hdr *h, const unsigned char *blk)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&h->src;

	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, blk, 4);
	memcpy(&sin->sin_port, blk + 8, 2);     /* network order in both */
	h->srclen = sizeof(*sin);
}

static void
set_inet6(struct proxy_hdr *h, const unsigned char *blk)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&h->src;

	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, blk, 16);
	memcpy(&sin6->sin6_port, blk + 32, 2);
	h->srclen = sizeof(*sin6);
}

static int
invalid(const char **why, const char *what)
{
	*why = what;
	return -1;
}

int
proxyhdr_parse(const unsigned char *b, size_t n, struct proxy_hdr *h, const char **why)
{
	size_t len, block;
	unsigned cmd;

	memset(h, 0, sizeof(*h));
	*why = NULL;
	if (memcmp(b, sig_v2, n < sizeof(sig_v2) ? n : sizeof(sig_v2)) != 0)
		return invalid(why, "no PROXY protocol v2 signature");
	if (n < V2_FIXED)
		return 0;
	if ((b[12] >> 4) != 2)
		return invalid(why, "PROXY protocol version is not 2");
	cmd = b[12] & 0x0f;
	if (cmd != CMD_LOCAL && cmd != CMD_PROXY)
		return invalid(why, "unknown PROXY command");
	len = ((size_t)b[14] << 8) | b[15];
	if (len > EG_MAX_PROXY_HEADER - V2_FIXED)
		return invalid(why, "PROXY header too long");
	if (n < V2_FIXED + len)
		return 0;
	h->len = V2_FIXED + len;
	if (cmd == CMD_LOCAL) {
		/* A health check of the balancer itself: the connection's own address stays. */
		h->local = 1;
		return (int)h->len;
	}
	if (b[13] == FAM_INET_STREAM)
		block = INET_BLOCK;
	else if (b[13] == FAM_INET6_STREAM)
		block = INET6_BLOCK;
	else
		return invalid(why, "PROXY header without a TCP over IPv4 or IPv6 address");
	if (len < block)
		return invalid(why, "PROXY address block cut short");
	if (!tlvs_valid(b + V2_FIXED + block, len - block))
		return invalid(why, "PROXY header TLV runs past its end");
	if (block == INET_BLOCK)
		set_inet(h, b + V2_FIXED);
	else
		set_inet6(h, b + V2_FIXED);
	return (int)h->len;
}
