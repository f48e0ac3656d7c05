/*
 * args.c - the demo backends' command line: --listen HOST:PORT, --name NAME, --help.
 */
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"

#include "demo/internal.h"

static void
usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s --listen HOST:PORT [--name NAME] [--journal FILE]\n"
	    "  --listen HOST:PORT  address to serve plain HTTP on (port 0 picks a free one)\n"
	    "  --name NAME         backend name reported in every response\n"
	    "  --journal FILE      append \"REQUEST-ID METHOD PATH\" for every request run\n"
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

int
bk_parse_args(int argc, char **argv, struct bk_opts *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "journal", required_argument, NULL, 'j' },
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
		case 'j':
			o->bo_journal = optarg;
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
