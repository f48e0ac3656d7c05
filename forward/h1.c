/*
 * h1.c - a backend's HTTP/1.1 response head and chunked body. Apart from the rest of
 * forward/ because where a response ends is the one thing the backend client must get
 * right: here it is pure functions over bytes, tested on their own (tests/unit/h1_test.c).
 * The rules, and why they are strict where framing is concerned, are in internal.h.
 */
#include <string.h>
#include <strings.h>

#include "eidgate/util.h"
#include "forward/internal.h"

/* RFC 9110 §5.6.2 tchar. */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Finds the end of the line starting at p (before CRLF or LF); NULL when the line is
 * not complete in [p, end). *next is the start of the following line. A CR not followed
 * by LF is an error (-1 in *bad). */
static const char *
line_end(const char *p, const char *end, const char **next, int *bad)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	const char *cr;

	if (lf == NULL) {
		cr = memchr(p, '\r', (size_t)(end - p));
		if (cr != NULL && cr + 1 < end)
			*bad = 1;
		return NULL;
	}
	*next = lf + 1;
	if (lf > p && lf[-1] == '\r')
		lf--;
	if (memchr(p, '\r', (size_t)(lf - p)) != NULL)
		*bad = 1;
	return lf;
}

static int
parse_status_line(const char *p, const char *e, struct h1_head *h)
{
	if (e - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ')
		return -1;
	h->minor = p[7] - '0';
	if (p[9] < '1' || p[9] > '9' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
	    p[11] > '9')
		return -1;
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (e - p > 12 && p[12] != ' ')
		return -1;
	for (p += 12; p < e; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return -1;
	return 0;
}

static int
has_token(const char *v, size_t vlen, const char *token)
{
	size_t tlen = strlen(token), i = 0, s, e;

	while (i < vlen) {
		while (i < vlen && (is_ws(v[i]) || v[i] == ','))
			i++;
		s = i;
		while (i < vlen && v[i] != ',')
			i++;
		e = i;
		while (e > s && is_ws(v[e - 1]))
			e--;
		if (e - s == tlen && strncasecmp(v + s, token, tlen) == 0)
			return 1;
	}
	return 0;
}

static int
parse_length(const char *v, size_t vlen, int64_t *out)
{
	int64_t n = 0;
	size_t i;

	if (vlen == 0 || vlen > 18)
		return -1;
	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	*out = n;
	return 0;
}

/* Framing fields; 0, or -1 when they make the body's end ambiguous. */
static int
framing_field(struct h1_head *h, const char *n, size_t nlen, const char *v, size_t vlen,
    int *close)
{
	int64_t cl;

	if (nlen == 14 && strncasecmp(n, "content-length", 14) == 0) {
		if (parse_length(v, vlen, &cl) != 0 ||
		    (h->content_length >= 0 && h->content_length != cl))
			return -1;
		h->content_length = cl;
	} else if (nlen == 17 && strncasecmp(n, "transfer-encoding", 17) == 0) {
		if (h->chunked || vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
			return -1;
		h->chunked = 1;
	} else if (nlen == 10 && strncasecmp(n, "connection", 10) == 0) {
		if (has_token(v, vlen, "close"))
			*close = 1;
	}
	return 0;
}

/* Splits one field line; -1 when it is not a well-formed field. */
static int
split_field(const char *p, const char *e, const char **v, size_t *nlen, size_t *vlen)
{
	const char *colon = memchr(p, ':', (size_t)(e - p)), *q, *ve;

	if (colon == NULL || colon == p)
		return -1;
	for (q = p; q < colon; q++)
		if (!is_tchar((unsigned char)*q))
			return -1;
	for (q = colon + 1; q < e; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t')
			return -1;
		else if ((unsigned char)*q == 0x7f)
			return -1;
	for (q = colon + 1; q < e && is_ws(*q); q++)
		;
	for (ve = e; ve > q && is_ws(ve[-1]); ve--)
		;
	*nlen = (size_t)(colon - p);
	*v = q;
	*vlen = (size_t)(ve - q);
	return 0;
}

/* Walks the fields of a complete head [p, end); with on_field NULL it only validates. */
static int
walk_fields(const char *p, const char *end, struct h1_head *h, h1_field_cb on_field,
    void *arg, int *close)
{
	const char *e, *next = p, *v;
	size_t nlen, vlen;
	int bad = 0;

	for (;;) {
		if ((e = line_end(p, end, &next, &bad)) == NULL || bad)
			return -1;
		if (e == p)
			return 0;               /* the empty line */
		if (is_ws(*p) || split_field(p, e, &v, &nlen, &vlen) != 0)
			return -1;
		if (on_field == NULL) {
			if (++h->nfields > EG_MAX_BACKEND_FIELDS ||
			    framing_field(h, p, nlen, v, vlen, close) != 0)
				return -1;
		} else {
			on_field(arg, p, nlen, v, vlen);
		}
		p = next;
	}
}

/* Where the head ends (after its empty line), 0 when not yet, -1 on a bare CR. */
static ssize_t
head_length(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *next, *e;
	int bad = 0;

	for (;;) {
		if ((e = line_end(p, end, &next, &bad)) == NULL)
			return bad ? -1 : 0;
		if (bad)
			return -1;
		if (e == p && p != buf)
			return next - buf;
		p = next;
	}
}

ssize_t
h1_parse_head(const char *buf, size_t len, struct h1_head *h, h1_field_cb on_field, void *arg)
{
	struct h1_head t;
	const char *e, *next, *end;
	ssize_t hlen;
	int bad = 0, close = 0;

	if ((hlen = head_length(buf, len > EG_MAX_BACKEND_HEAD ? EG_MAX_BACKEND_HEAD : len)) <= 0)
		return hlen < 0 || len >= EG_MAX_BACKEND_HEAD ? -1 : 0;
	end = buf + hlen;
	memset(&t, 0, sizeof(t));
	t.content_length = -1;
	if ((e = line_end(buf, end, &next, &bad)) == NULL || bad ||
	    parse_status_line(buf, e, &t) != 0 ||
	    walk_fields(next, end, &t, NULL, NULL, &close) != 0)
		return -1;
	if (t.chunked && t.content_length >= 0)
		return -1;
	t.keep_alive = t.minor == 1 && !close;
	if (on_field != NULL)
		walk_fields(next, end, &t, on_field, arg, &close);
	*h = t;
	return hlen;
}

int
h1_has_body(const struct h1_head *h, int is_head_request)
{
	return !is_head_request && h->status >= 200 && h->status != 204 && h->status != 304;
}

/* ---- chunked ------------------------------------------------------------------------ */

enum { CH_SIZE, CH_SIZE_WS, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER,
	CH_TRAILER_LF, CH_DONE };

/* Longest chunk extension and trailer section read (and dropped). */
#define CH_MAX_EXT 4096
#define CH_MAX_TRAILER (64 * 1024)

/* One framing byte; -1 on a framing error. */
static int
chunk_byte(struct h1_chunked *c, char b)
{
	int v;

	switch (c->state) {
	case CH_SIZE:
		if ((v = eg_hexval(b)) >= 0) {
			if (++c->digits > 16)
				return -1;
			c->left = (c->left << 4) | (uint64_t)v;
			return 0;
		}
		if (c->digits == 0)
			return -1;
		/* FALLTHROUGH */
	case CH_SIZE_WS:
		/* RFC 9112 §7.1.1: whitespace after the size only before an extension. */
		if (is_ws(b)) {
			if (++c->ext > CH_MAX_EXT)
				return -1;
			c->state = CH_SIZE_WS;
			return 0;
		}
		if (b == ';') {
			c->state = CH_EXT;
			return 0;
		}
		if (b == '\r') {
			c->state = CH_SIZE_LF;
			return 0;
		}
		if (b != '\n')
			return -1;
		break;
	case CH_EXT:
		if (b == '\r') {
			c->state = CH_SIZE_LF;
			return 0;
		}
		if (b == '\n')
			break;
		if (++c->ext > CH_MAX_EXT || ((unsigned char)b < 0x20 && b != '\t'))
			return -1;
		return 0;
	case CH_SIZE_LF:
		if (b != '\n')
			return -1;
		break;
	case CH_DATA_CR:
		if (b == '\r') {
			c->state = CH_DATA_LF;
			return 0;
		}
		/* FALLTHROUGH */
	case CH_DATA_LF:
		if (b != '\n')
			return -1;
		c->state = CH_SIZE;
		c->digits = c->ext = 0;
		c->left = 0;
		return 0;
	case CH_TRAILER:
		if (++c->trailer > CH_MAX_TRAILER)
			return -1;
		if (b == '\r') {
			c->state = CH_TRAILER_LF;
		} else if (b == '\n') {
			c->state = c->ext == 0 ? CH_DONE : CH_TRAILER;
			c->ext = 0;
		} else {
			c->ext++;               /* bytes on this trailer line */
		}
		return 0;
	case CH_TRAILER_LF:
		if (b != '\n')
			return -1;
		c->state = c->ext == 0 ? CH_DONE : CH_TRAILER;
		c->ext = 0;
		return 0;
	default:
		return -1;
	}
	/* The end of a chunk-size line. */
	c->ext = 0;
	c->state = c->left == 0 ? CH_TRAILER : CH_DATA;
	return 0;
}

enum h1_chunk_result
h1_chunk_step(struct h1_chunked *c, const char *in, size_t len, size_t *used,
    const char **data, size_t *dlen)
{
	size_t i = 0, n;

	*data = NULL;
	*dlen = 0;
	while (i < len) {
		if (c->state == CH_DATA) {
			n = len - i < c->left ? len - i : (size_t)c->left;
			*data = in + i;
			*dlen = n;
			c->left -= n;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			*used = i + n;
			return H1_CHUNK_DATA;
		}
		if (chunk_byte(c, in[i++]) != 0) {
			*used = i;
			return H1_CHUNK_ERROR;
		}
		if (c->state == CH_DONE) {
			*used = i;
			return H1_CHUNK_END;
		}
	}
	*used = i;
	return c->state == CH_DONE ? H1_CHUNK_END : H1_CHUNK_MORE;
}
