/*
 * parse_backend.c - `backend <name> <url> [timeout=<dur>] [max_body=<size>]
 * [identity=assertion|headers]` (PRODUCT.md §5).
 */
#include <stdlib.h>
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/util.h"
#include "policy/internal.h"

/*
 * Accepts http:// or https:// with a host, an optional port 1-65535 and an optional path,
 * and fills b's parts of it. Refused: user-info (credentials in a policy file end up in
 * logs), query and fragment (the request's own path and query are appended), and
 * anything else a URL parser might read differently from us.
 */
static int
split_url(struct pctx *c, const char *url, size_t max, struct policy_backend *b)
{
	const char *host, *end, *colon, *hs, *he;
	long long port;
	char num[8];

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return pctx_error(c, "backend url must start with http:// or https://");
	b->tls = host - url == 8;
	eg_strlcpy(b->port, b->tls ? "443" : "80", sizeof(b->port));
	if (strlen(url) >= max)
		return pctx_error(c, "backend url too long");
	if (strpbrk(url, "@?#\\") != NULL)
		return pctx_error(c, "backend url must not contain user-info, query or "
		    "fragment ('@', '?', '#', '\\')");
	end = host + strcspn(host, "/");
	hs = host;
	if (host[0] == '[') {
		/* IPv6 literal (RFC 3986 §3.2.2): the port colon comes after ']'. */
		const char *rb = memchr(host, ']', (size_t)(end - host));
		if (rb == NULL || rb == host + 1 || (rb + 1 != end && rb[1] != ':'))
			return pctx_error(c, "backend url has a bad IPv6 host");
		colon = rb + 1 != end ? rb + 1 : NULL;
		hs = host + 1;
		he = rb;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		he = colon != NULL ? colon : end;
	}
	if ((colon != NULL ? colon : end) == host)
		return pctx_error(c, "backend url has no host");
	if ((size_t)(he - hs) >= sizeof(b->host) || (size_t)(end - host) >= sizeof(b->authority))
		return pctx_error(c, "backend url host too long");
	memcpy(b->host, hs, (size_t)(he - hs));
	memcpy(b->authority, host, (size_t)(end - host));
	b->path_at = (size_t)(end - url);
	if (colon == NULL)
		return 0;
	if ((size_t)(end - colon - 1) >= sizeof(num))
		return pctx_error(c, "backend url has a bad port");
	memcpy(num, colon + 1, (size_t)(end - colon - 1));
	num[end - colon - 1] = '\0';
	if (strspn(num, "0123456789") != strlen(num) ||
	    eg_strtonum(num, 1, 65535, &port) != EG_OK)
		return pctx_error(c, "backend url has a bad port '%s'", num);
	eg_strlcpy(b->port, num, sizeof(b->port));
	return 0;
}

/* One origin as a browser sends it: https://host[:port], nothing more, lower case
 * (browsers send the scheme and host in lower case). */
static int
valid_origin(const char *o, size_t len)
{
	size_t i;

	if (len <= 8 || len >= EG_MAX_ORIGIN || strncmp(o, "https://", 8) != 0)
		return 0;
	for (i = 8; i < len; i++)
		if (!((o[i] >= 'a' && o[i] <= 'z') || (o[i] >= '0' && o[i] <= '9') ||
		    o[i] == '.' || o[i] == '-' || o[i] == ':' || o[i] == '[' || o[i] == ']'))
			return 0;
	return 1;
}

/* origins=https://a.example,https://b.example:8443 */
static int
set_origins(struct pctx *c, struct policy_backend *b, const char *v)
{
	const char *e;
	size_t len;

	for (; *v != '\0'; v = *e == ',' ? e + 1 : e) {
		e = v + strcspn(v, ",");
		len = (size_t)(e - v);
		if (!valid_origin(v, len))
			return pctx_error(c, "bad origin '%.*s' (expected https://host[:port], "
			    "lower case)", (int)(len > 60 ? 60 : len), v);
		if (b->norigins == EG_MAX_ORIGINS)
			return pctx_error(c, "more than %d origins", EG_MAX_ORIGINS);
		memcpy(b->origins[b->norigins], v, len);
		b->origins[b->norigins++][len] = '\0';
	}
	return b->norigins > 0 ? 0 : pctx_error(c, "origins= names no origin");
}

static int
set_option(struct pctx *c, struct policy_backend *b, const char *opt, unsigned *seen)
{
	static const char *const keys[] = { "timeout=", "max_body=", "identity=", "origins=",
		"subject=" };
	const char *v;
	size_t k;

	for (k = 0; k < 5; k++)
		if (strncmp(opt, keys[k], strlen(keys[k])) == 0)
			break;
	if (k == 5)
		return pctx_error(c, "unknown backend option '%.40s' (expected timeout=, "
		    "max_body=, identity=, origins= or subject=)", opt);
	if (*seen & (1u << k))
		return pctx_error(c, "backend option '%s' given twice", keys[k]);
	*seen |= 1u << k;
	v = opt + strlen(keys[k]);
	if (k == 0 && (eg_parse_duration_ms(v, &b->timeout_ms) != EG_OK ||
	    b->timeout_ms <= 0))
		return pctx_error(c, "bad timeout '%.40s' (e.g. 250ms, 30s, 2m)", v);
	if (k == 1 && (eg_parse_size(v, &b->max_body) != EG_OK || b->max_body == 0))
		return pctx_error(c, "bad max_body '%.40s' (e.g. 100, 64KiB, 10MiB)", v);
	if (k == 2) {
		if (strcmp(v, "assertion") == 0)
			b->identity = POLICY_IDENTITY_ASSERTION;
		else if (strcmp(v, "headers") == 0)
			b->identity = POLICY_IDENTITY_HEADERS;
		else
			return pctx_error(c, "bad identity '%.40s' (expected assertion or "
			    "headers)", v);
	}
	if (k == 3)
		return set_origins(c, b, v);
	if (k == 4) {
		if (strcmp(v, "nrn") == 0)
			b->subject = POLICY_SUBJECT_NRN;
		else if (strcmp(v, "pseudonym") == 0)
			b->subject = POLICY_SUBJECT_PSEUDONYM;
		else
			return pctx_error(c, "bad subject '%.40s' (expected nrn or pseudonym)", v);
	}
	return 0;
}

static int
add_backend(struct pctx *c, const struct policy_backend *b)
{
	struct policy *p = c->p;
	struct policy_backend *nb;

	if (p->nbackends == EG_MAX_BACKENDS)
		return pctx_error(c, "more than %d backends", EG_MAX_BACKENDS);
	nb = realloc(p->backends, (p->nbackends + 1) * sizeof(*nb));
	if (nb == NULL)
		return pctx_error(c, "out of memory");
	p->backends = nb;
	p->backends[p->nbackends++] = *b;
	return 0;
}

int
parse_backend(struct pctx *c, const struct words *ws)
{
	struct policy_backend b;
	unsigned seen = 0;
	size_t i, n;
	int bad = 0, name_ok = 0;

	memset(&b, 0, sizeof(b));
	if (ws->n < 3)
		return pctx_error(c, "usage: backend <name> <url> [timeout=<dur>] "
		    "[max_body=<size>] [identity=assertion|headers] [origins=<origin>,...] "
		    "[subject=nrn|pseudonym]");
	if (!policy_valid_name(ws->w[1]))
		bad = pctx_error(c, "bad backend name '%.40s' (use [A-Za-z0-9_.-], at most "
		    "%d characters)", ws->w[1], EG_MAX_ID - 1);
	else if (policy_backend_find(c->p, ws->w[1]) != NULL)
		bad = pctx_error(c, "backend '%s' declared twice", ws->w[1]);
	else
		name_ok = 1;
	if (split_url(c, ws->w[2], sizeof(b.url), &b) != 0)
		bad = -1;
	for (i = 3; i < ws->n; i++)
		if (set_option(c, &b, ws->w[i], &seen) != 0)
			bad = -1;
	/* Headers would carry the number itself (X-Eidgate-Nrn): a pseudonym travels in the
	 * signed assertion only. */
	if (b.subject == POLICY_SUBJECT_PSEUDONYM && b.identity == POLICY_IDENTITY_HEADERS)
		bad = pctx_error(c, "subject=pseudonym needs identity=assertion");
	/* A backend with a bad url or option is still declared (the load fails anyway), so
	 * that every rule naming it does not add an "unknown backend" error of its own. */
	if (!name_ok)
		return -1;
	eg_strlcpy(b.name, ws->w[1], sizeof(b.name));
	eg_strlcpy(b.url, ws->w[2], sizeof(b.url));
	/* The request path is appended as is, so the base carries no trailing slash. */
	n = strlen(b.url);
	while (n > 0 && b.url[n - 1] == '/')
		b.url[--n] = '\0';
	return add_backend(c, &b) != 0 ? -1 : bad;
}
