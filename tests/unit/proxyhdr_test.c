/*
 * proxyhdr_test.c - the PROXY protocol v2 header (server/proxyhdr.c) and the networks of
 * [listen] proxy_from (server/admit.c): IPv4 and IPv6 addresses with TLVs, LOCAL, every
 * prefix of a valid header asking for more, the header's length exactly (the TLS bytes
 * behind it untouched), and the refusals: wrong signature, version, command, family,
 * cut address block, TLV past the end, too long; "PROXY " v1 and the v2 signature
 * recognised from a client that may not send them; per-address limits.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "eidgate/config.h"
#include "eidgate/limits.h"
#include "eidgate/util.h"
#include "server/internal.h"
#include "check.h"

static const unsigned char sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

/* A v2 header: ver_cmd, fam, then body of blen bytes; returns its length. */
static size_t
make(unsigned char *b, unsigned ver_cmd, unsigned fam, const unsigned char *body, size_t blen)
{
	memcpy(b, sig, 12);
	b[12] = (unsigned char)ver_cmd;
	b[13] = (unsigned char)fam;
	b[14] = (unsigned char)(blen >> 8);
	b[15] = (unsigned char)blen;
	memcpy(b + 16, body, blen);
	return 16 + blen;
}

/* One network of a proxy_from list, as config.c and admit.c read it (util.h). */
static int
net_valid(const char *s)
{
	struct eg_net n;

	return eg_net_parse(s, &n);
}

static void
test_inet(void)
{
	unsigned char body[12 + 7] = { 192, 0, 2, 7, 127, 0, 0, 1, 0xc3, 0x50, 0x01, 0xbb,
		/* a TLV: type 0x04 (NOOP), length 4 */ 0x04, 0x00, 0x04, 1, 2, 3, 4 };
	unsigned char b[64 + 5];
	struct proxy_hdr h;
	const char *why;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&h.src;
	size_t n = make(b, 0x21, 0x11, body, sizeof(body)), i;

	memcpy(b + n, "\x16\x03\x01\x00\x10", 5);       /* the TLS bytes behind it */
	CHECK(proxyhdr_parse(b, n + 5, &h, &why) == (int)n && h.len == n && !h.local);
	CHECK(sin->sin_family == AF_INET && ntohs(sin->sin_port) == 50000 &&
	    sin->sin_addr.s_addr == htonl(0xc0000207) && h.srclen == sizeof(*sin));
	for (i = 0; i < n; i++)
		CHECK(proxyhdr_parse(b, i, &h, &why) == 0);
	CHECK(proxyhdr_looks_like(b, 1) && proxyhdr_looks_like(b, n));
}

static void
test_inet6_and_local(void)
{
	unsigned char body[36], b[64];
	struct proxy_hdr h;
	const char *why;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&h.src;
	size_t n;

	memset(body, 0, sizeof(body));
	inet_pton(AF_INET6, "2001:db8::7", body);
	body[32] = 0x12;
	body[33] = 0x34;
	n = make(b, 0x21, 0x21, body, sizeof(body));
	CHECK(proxyhdr_parse(b, n, &h, &why) == (int)n);
	CHECK(sin6->sin6_family == AF_INET6 && ntohs(sin6->sin6_port) == 0x1234 &&
	    memcmp(&sin6->sin6_addr, body, 16) == 0);
	/* LOCAL, with or without an address block: the connection's own address stays. */
	n = make(b, 0x20, 0x00, body, 0);
	CHECK(proxyhdr_parse(b, n, &h, &why) == 16 && h.local);
	n = make(b, 0x20, 0x11, body, 12);
	CHECK(proxyhdr_parse(b, n, &h, &why) == 28 && h.local);
}

static void
test_refused(void)
{
	unsigned char body[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x04, 0x00, 0x09, 0 };
	unsigned char b[EG_MAX_PROXY_HEADER + 32];
	struct proxy_hdr h;
	const char *why = NULL;
	size_t n;

	n = make(b, 0x21, 0x11, body, 12);
	b[0] = 0x16;
	CHECK(proxyhdr_parse(b, n, &h, &why) == -1 && why != NULL);
	CHECK(proxyhdr_parse((const unsigned char *)"\x16\x03\x01", 3, &h, &why) == -1);
	n = make(b, 0x11, 0x11, body, 12);             /* version 1 in a v2 header */
	CHECK(proxyhdr_parse(b, n, &h, &why) == -1);
	n = make(b, 0x22, 0x11, body, 12);             /* command 2 */
	CHECK(proxyhdr_parse(b, n, &h, &why) == -1);
	n = make(b, 0x21, 0x31, body, 12);             /* AF_UNIX */
	CHECK(proxyhdr_parse(b, n, &h, &why) == -1);
	n = make(b, 0x21, 0x12, body, 12);             /* UDP */
	CHECK(proxyhdr_parse(b, n, &h, &why) == -1);
	n = make(b, 0x21, 0x00, body, 0);              /* PROXY without an address */
	CHECK(proxyhdr_parse(b, n, &h, &why) == -1);
	n = make(b, 0x21, 0x11, body, 8);              /* address block cut */
	CHECK(proxyhdr_parse(b, n, &h, &why) == -1);
	n = make(b, 0x21, 0x11, body, 16);             /* a TLV of 9 bytes with 1 left */
	CHECK(proxyhdr_parse(b, n, &h, &why) == -1);
	memcpy(b, sig, 12);                            /* longer than EG_MAX_PROXY_HEADER */
	b[12] = 0x21;
	b[13] = 0x11;
	b[14] = 0xff;
	b[15] = 0xff;
	CHECK(proxyhdr_parse(b, 16, &h, &why) == -1);
	/* From a client that may not send one: v1 and v2, even a first byte of either. */
	CHECK(proxyhdr_looks_like((const unsigned char *)"PROXY TCP4 1.2.3.4", 18));
	CHECK(proxyhdr_looks_like((const unsigned char *)"PRO", 3));
	CHECK(!proxyhdr_looks_like((const unsigned char *)"\x16\x03\x01", 3));
	CHECK(!proxyhdr_looks_like((const unsigned char *)"GET / ", 6));
	CHECK(!proxyhdr_looks_like(b, 0));
}

static void
test_networks(void)
{
	struct eg_config cfg;
	struct admit *a;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;

	CHECK(net_valid("10.0.0.0/8") && net_valid("127.0.0.2") &&
	    net_valid("::1/128") && net_valid("2001:db8::/32"));
	CHECK(!net_valid("10.0.0.0/33") && !net_valid("host") &&
	    !net_valid("/8") && !net_valid("10.0.0.0/"));
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_connections = 4;
	cfg.max_connections_per_address = 2;
	cfg.proxy_protocol = 1;
	snprintf(cfg.proxy_from, sizeof(cfg.proxy_from), "%s", "10.1.0.0/16,127.0.0.2,2001:db8::/32");
	CHECK(admit_new(&cfg, &a) == 0);
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	inet_pton(AF_INET, "10.1.200.3", &in.sin_addr);
	CHECK(admit_expects_proxy(a, (struct sockaddr *)&in));
	inet_pton(AF_INET, "10.2.0.1", &in.sin_addr);
	CHECK(!admit_expects_proxy(a, (struct sockaddr *)&in));
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	CHECK(!admit_expects_proxy(a, (struct sockaddr *)&in));
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1::9", &in6.sin6_addr);
	CHECK(admit_expects_proxy(a, (struct sockaddr *)&in6));
	/* Two per address, four in all; what is given back can be taken again. */
	CHECK(admit_take(a, "192.0.2.1", 0) == ADMIT_OK && admit_take(a, "192.0.2.1", 0) == ADMIT_OK);
	CHECK(admit_take(a, "192.0.2.1", 0) == ADMIT_ADDRESS_FULL);
	CHECK(admit_take(a, "192.0.2.2", 0) == ADMIT_OK && admit_take(a, "192.0.2.3", 0) == ADMIT_OK);
	CHECK(admit_take(a, "192.0.2.4", 0) == ADMIT_FULL);
	CHECK(admit_take(a, "192.0.2.4", 1) == ADMIT_OK);     /* in place of a shed one */
	admit_release(a, "192.0.2.1");
	admit_release(a, "192.0.2.4");
	CHECK(admit_take(a, "192.0.2.1", 0) == ADMIT_OK);
	admit_release(a, "192.0.2.1");
	admit_release(a, "192.0.2.1");
	admit_release(a, "192.0.2.1");                  /* one too many: ignored */
	admit_release(a, "192.0.2.2");
	admit_release(a, "192.0.2.3");
	CHECK(admit_take(a, "192.0.2.9", 0) == ADMIT_OK);
	admit_free(a);
	snprintf(cfg.proxy_from, sizeof(cfg.proxy_from), "%s", "not-a-network");
	CHECK(admit_new(&cfg, &a) != 0);
}

/* Many addresses coming and going: the table's deletions keep every one findable. */
static void
test_churn(void)
{
	struct eg_config cfg;
	struct admit *a;
	char addr[32];
	int i, ok = 1;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_connections = 50;
	cfg.max_connections_per_address = 1;
	CHECK(admit_new(&cfg, &a) == 0);
	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", (i / 250) % 250, i % 250);
		if (admit_take(a, addr, 0) != ADMIT_OK)
			ok = 0;
		if (i >= 40) {
			snprintf(addr, sizeof(addr), "10.0.%d.%d", ((i - 40) / 250) % 250,
			    (i - 40) % 250);
			if (admit_take(a, addr, 0) != ADMIT_ADDRESS_FULL)
				ok = 0;
			admit_release(a, addr);
		}
	}
	CHECK(ok);
	admit_free(a);
}

int
main(void)
{
	test_inet();
	test_inet6_and_local();
	test_refused();
	test_networks();
	test_churn();
	return check_report();
}
