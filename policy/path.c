/*
 * path.c - normalising a raw request target into the one path that both the policy and
 * the backend see (policy.h, policy_normalise_path).
 *
 * Why so strict: a gateway that decides on one reading of a path and forwards bytes a
 * backend reads differently is bypassed (CVE-2007-0450 Tomcat "..%5c", the many
 * "/admin;x=y/" and "%2e%2e/" tricks). So every byte either has exactly one canonical
 * form or the request is refused:
 *   - unreserved characters (RFC 3986 §2.3) are always decoded;
 *   - every other byte that is not a raw pchar is percent-encoded with upper-case hex
 *     (RFC 3986 §2.1 recommends upper case), so "%c3%a9", "%C3%A9" and a raw "é" are equal;
 *   - reserved characters keep the form they came in ("%21" and "!" stay distinct, as
 *     RFC 3986 §6.2.2.2 says they may mean different things);
 *   - anything a backend might decode a second time into a separator or a dot is refused.
 */
#include <string.h>

#include "eidgate/err.h"
#include "eidgate/policy.h"
#include "eidgate/util.h"

/* Where the canonical path is written; len never reaches cap (room for the NUL). */
struct outbuf {
	char *buf;
	size_t cap;
	size_t len;
};

/* A byte of the input with whether it came from a %XX escape. */
struct pbyte {
	unsigned char c;
	int escaped;
};

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 §3.3 pchar minus unreserved and pct-encoded: sub-delims, ':' and '@'. ';' is a
 * sub-delim but is refused before this is asked. */
static int
is_raw_pchar(unsigned char c)
{
	return c != '\0' && strchr("!$&'()*+,=:@", c) != NULL;
}

static int
put(struct outbuf *o, char c)
{
	if (o->len + 1 >= o->cap)
		return EG_ERR_TOO_LONG;
	o->buf[o->len++] = c;
	return EG_OK;
}

static int
put_escaped(struct outbuf *o, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	if (o->len + 3 >= o->cap)
		return EG_ERR_TOO_LONG;
	o->buf[o->len++] = '%';
	o->buf[o->len++] = hex[c >> 4];
	o->buf[o->len++] = hex[c & 0x0f];
	return EG_OK;
}

/* Reads the byte at s[*i] (raw or %XX) and advances *i. Refuses a '%' not followed by
 * two hex digits. */
static int
next_byte(const char *s, size_t n, size_t *i, struct pbyte *b)
{
	int hi, lo;

	if (s[*i] != '%') {
		b->c = (unsigned char)s[(*i)++];
		b->escaped = 0;
		return EG_OK;
	}
	if (*i + 2 >= n)
		return EG_ERR_BAD_PATH;
	hi = eg_hexval((unsigned char)s[*i + 1]);
	lo = eg_hexval((unsigned char)s[*i + 2]);
	if (hi < 0 || lo < 0)
		return EG_ERR_BAD_PATH;
	b->c = (unsigned char)(hi << 4 | lo);
	b->escaped = 1;
	*i += 3;
	return EG_OK;
}

/*
 * Validates one UTF-8 sequence whose lead byte is `lead` (RFC 3629 §4 table: shortest form
 * only, no surrogates, nothing above U+10FFFF) and writes it percent-encoded. Overlong
 * forms such as %C0%AE are how "." has been smuggled past decoders (CVE-2000-0884).
 */
static int
put_utf8(const char *s, size_t n, size_t *i, unsigned char lead, struct outbuf *o)
{
	unsigned char lo = 0x80, hi = 0xBF;
	int more, k, r;
	struct pbyte b;

	if (lead >= 0xC2 && lead <= 0xDF)
		more = 1;
	else if (lead >= 0xE0 && lead <= 0xEF)
		more = 2;
	else if (lead >= 0xF0 && lead <= 0xF4)
		more = 3;
	else
		return EG_ERR_BAD_PATH;
	if (lead == 0xE0)
		lo = 0xA0;
	else if (lead == 0xED)
		hi = 0x9F;
	else if (lead == 0xF0)
		lo = 0x90;
	else if (lead == 0xF4)
		hi = 0x8F;
	if ((r = put_escaped(o, lead)) != EG_OK)
		return r;
	for (k = 0; k < more; k++) {
		if (*i >= n || (r = next_byte(s, n, i, &b)) != EG_OK)
			return EG_ERR_BAD_PATH;
		if (b.c < lo || b.c > hi)
			return EG_ERR_BAD_PATH;
		lo = 0x80;
		hi = 0xBF;
		if ((r = put_escaped(o, b.c)) != EG_OK)
			return r;
	}
	return EG_OK;
}

/* Writes one byte in its canonical form, or refuses it. */
static int
put_canonical(const char *s, size_t n, size_t *i, const struct pbyte *b,
    struct outbuf *o)
{
	unsigned char c = b->c;

	/* ';' starts Tomcat/Jetty path parameters ("/admin;x/"), '\\' is a separator on
	 * Windows and IIS, '/' encoded would split a segment only on the backend. */
	if (c < 0x20 || c == 0x7f || c == '\\' || c == '/' || c == ';')
		return EG_ERR_BAD_PATH;
	/* A raw space or '#' cannot be in a request-target (RFC 9112 §3.2). */
	if (!b->escaped && (c == ' ' || c == '#'))
		return EG_ERR_BAD_PATH;
	if (c >= 0x80)
		return put_utf8(s, n, i, c, o);
	if (is_unreserved(c))
		return put(o, (char)c);
	if (!b->escaped && is_raw_pchar(c))
		return put(o, (char)c);
	return put_escaped(o, c);
}

/*
 * Refuses "%25" followed by two hex digits in the canonical output: a backend or framework
 * that decodes twice would turn "%252e" into "." or "%252f" into "/" after we checked it.
 * Checked on the output, not the input, so "%25%41%42" (which becomes "%25AB") is caught.
 */
static int
double_encoded(const char *seg, size_t n)
{
	size_t i;

	for (i = 0; i + 4 < n; i++)
		if (seg[i] == '%' && seg[i + 1] == '2' && seg[i + 2] == '5' &&
		    eg_hexval((unsigned char)seg[i + 3]) >= 0 &&
		    eg_hexval((unsigned char)seg[i + 4]) >= 0)
			return 1;
	return 0;
}

/* Canonicalises segment s[0..n) onto the end of o. */
static int
put_segment(const char *s, size_t n, struct outbuf *o)
{
	size_t i = 0, start = o->len;
	struct pbyte b;
	int r;

	while (i < n) {
		if ((r = next_byte(s, n, &i, &b)) != EG_OK)
			return r;
		if ((r = put_canonical(s, n, &i, &b, o)) != EG_OK)
			return r;
	}
	return double_encoded(o->buf + start, o->len - start) ? EG_ERR_BAD_PATH : EG_OK;
}

/*
 * Adds segment s[0..n) after o's current content, applying RFC 3986 §5.2.4: "." is
 * dropped, ".." drops the previous segment (above the root it is refused rather than
 * silently clamped, since no honest client sends it). Dot segments are recognised after
 * decoding, so "%2e%2E" is "..". *trailing tells whether the path must end in '/'.
 */
static int
add_segment(const char *s, size_t n, int last, struct outbuf *o, int *trailing)
{
	size_t mark = o->len;
	const char *seg;
	size_t seglen;
	int r;

	*trailing = last;
	if (n == 0)
		return EG_OK;   /* repeated or trailing slash */
	if ((r = put(o, '/')) != EG_OK || (r = put_segment(s, n, o)) != EG_OK)
		return r;
	seg = o->buf + mark + 1;
	seglen = o->len - mark - 1;
	if (seglen == 1 && seg[0] == '.') {
		o->len = mark;
	} else if (seglen == 2 && seg[0] == '.' && seg[1] == '.') {
		o->len = mark;
		if (o->len == 0)
			return EG_ERR_BAD_PATH;
		while (o->len > 0 && o->buf[o->len - 1] != '/')
			o->len--;
		o->len--;       /* the '/' before the dropped segment */
	} else {
		*trailing = 0;
	}
	return EG_OK;
}

static int
normalise_segments(const char *p, size_t n, struct outbuf *o)
{
	size_t start = 1, end;
	int trailing = 1, r;

	while (start <= n) {
		end = start;
		while (end < n && p[end] != '/')
			end++;
		r = add_segment(p + start, end - start, end >= n, o, &trailing);
		if (r != EG_OK)
			return r;
		start = end + 1;
	}
	if (o->len == 0 || trailing)
		return put(o, '/');
	return EG_OK;
}

/* The query is passed on as sent; only bytes no request line may carry are refused. */
static int
copy_query(const char *q, char *query, size_t querylen)
{
	size_t i, n = strlen(q);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)q[i];
		if (c < 0x20 || c == 0x7f || c == ' ' || c == '#')
			return EG_ERR_BAD_PATH;
	}
	if (query == NULL)
		return EG_OK;
	if (n >= querylen)
		return EG_ERR_TOO_LONG;
	memcpy(query, q, n + 1);
	return EG_OK;
}

int
policy_normalise_path(const char *target, char *path, size_t pathlen, char *query,
    size_t querylen)
{
	struct outbuf o = { path, pathlen, 0 };
	const char *qmark;
	size_t plen;
	int r;

	if (query != NULL && querylen > 0)
		query[0] = '\0';
	if (path == NULL || pathlen == 0)
		return EG_ERR_TOO_LONG;
	path[0] = '\0';
	/* Origin-form only (RFC 9112 §3.2.1): absolute-form and "*" never reach a rule. */
	if (target == NULL || target[0] != '/')
		return EG_ERR_BAD_PATH;
	qmark = strchr(target, '?');
	plen = qmark != NULL ? (size_t)(qmark - target) : strlen(target);
	if (qmark != NULL && (r = copy_query(qmark + 1, query, querylen)) != EG_OK)
		return r;
	r = normalise_segments(target, plen, &o);
	if (r != EG_OK) {
		path[0] = '\0';
		return r;
	}
	path[o.len] = '\0';
	return EG_OK;
}

int
policy_path_is_gateway(const char *path)
{
	size_t n = sizeof(EG_GATEWAY_PREFIX) - 1;

	return strncmp(path, EG_GATEWAY_PREFIX, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int
policy_path_is_builtin(const char *path)
{
	return policy_path_is_gateway(path) || strcmp(path, EG_JWKS_PATH) == 0;
}
