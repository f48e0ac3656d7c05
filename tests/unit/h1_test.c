/*
 * h1_test.c - the backend response reader in forward/internal.h: h1_parse_head() on status
 * lines, field lines, framing headers (Content-Length, Transfer-Encoding) and size
 * limits, with a table of request-smuggling tricks; h1_has_body(); and h1_chunk_step()
 * fed whole, byte by byte and in odd slices. Every input is copied into a buffer of
 * exactly its length, so a read past the end shows under AddressSanitizer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "forward/internal.h"

#define LIT(s) s, sizeof(s) - 1
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define S200 "HTTP/1.1 200 OK\r\n"
#define CL0 "Content-Length: 0\r\n"

struct hcase {
	const char *in;
	size_t len;
	int ok;                 /* 1: complete head, 0: needs more, -1: refused */
	size_t body;            /* bytes after the head */
	int status, minor;
	int64_t cl;
	int chunked;
	int keep_alive;         /* -1: not checked (the body may be delimited by close) */
	int nfields;
	const char *fields;     /* "name:value\n"..., or NULL: not checked */
};

#define OKF(s, b, st, mi, cl, ch, ka, nf, f) { LIT(s), 1, b, st, mi, cl, ch, ka, nf, f }
#define OK(s, b, st, mi, cl, ch, ka, nf) OKF(s, b, st, mi, cl, ch, ka, nf, NULL)
#define G(s, cl, ch, ka, nf) OK(S200 s "\r\n", 0, 200, 1, cl, ch, ka, nf)
#define MORE(s) { LIT(s), 0, 0, 0, 0, 0, 0, 0, 0, NULL }
#define BAD(s) { LIT(s), -1, 0, 0, 0, 0, 0, 0, 0, NULL }
#define BS(s) BAD(s "\r\n\r\n")                         /* a bad status line */
#define BF(s) BAD(S200 s "\r\n\r\n")                    /* a bad field line */
#define BCL(v) BF("Content-Length: " v)
#define BTE(v) BF("Transfer-Encoding: " v)
#define CONN(v, ka) G("Connection: " v "\r\n" CL0, 0, 0, ka, 2)

static const struct hcase heads[] = {
	/* status line */
	OKF(S200 "Content-Length: 5\r\n\r\nhello", 5, 200, 1, 5, 0, 1, 1, "Content-Length:5\n"),
	OK("HTTP/1.0 200 OK\r\n" CL0 "\r\n", 0, 200, 0, 0, 0, 0, 1),
	OK("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n" CL0 "\r\n", 0, 200, 0, 0, 0, 0, 2),
	OK("HTTP/1.1 204 No Content\r\n\r\n", 0, 204, 1, -1, 0, 1, 0),
	OK("HTTP/1.1 204 \r\n\r\n", 0, 204, 1, -1, 0, 1, 0),
	OK("HTTP/1.1 204\r\n\r\n", 0, 204, 1, -1, 0, 1, 0),
	OKF("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", 0, 304, 1, -1, 0, 1, 1,
	    "ETag:\"x\"\n"),
	OK("HTTP/1.1 100 Continue\r\n\r\n", 0, 100, 1, -1, 0, -1, 0),
	OK("HTTP/1.1 999 Odd\r\n" CL0 "\r\n", 0, 999, 1, 0, 0, 1, 1),
	OK("HTTP/1.1 404 Not  Found \r\n" CL0 "\r\n", 0, 404, 1, 0, 0, 1, 1),
	G("", -1, 0, -1, 0),
	OK(S200 CL0 "\r\nHTTP/1.1 200 OK\r\n\r\n", 19, 200, 1, 0, 0, 1, 1),
	/* bare LF line endings */
	OK("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", 2, 200, 1, 2, 0, 1, 1),
	OK(S200 "Content-Length: 2\n\r\nhi", 2, 200, 1, 2, 0, 1, 1),
	OK(S200 "X-A: 1\n\n", 0, 200, 1, -1, 0, -1, 1),
	/* incomplete */
	MORE(""), MORE("HTTP/1.1 200 OK\n"), MORE(S200 "Content-Length: 5\r\n"),
	MORE(S200 "\r"),
	/* malformed status lines */
	BS("HTTP/2.0 200 OK"), BS("HTTP/1.2 200 OK"), BS("HTTP/1.10 200 OK"),
	BS("HTTP/1 200 OK"), BS("HTTP/1.1 20 OK"), BS("HTTP/1.1 2000 OK"),
	BS("HTTP/1.1 099 Low"), BS("HTTP/1.1 2x0 OK"), BS("HTTP/1.1  200 OK"),
	BS("HTTP/1.1 200OK"), BS("HTTP/1.1 200\tOK"), BS("HTTP/1.1\t200 OK"), BS("HTTP/1.1"),
	BS("http/1.1 200 OK"), BS(" HTTP/1.1 200 OK"), BS("XHTTP/1.1 200 OK"),
	BS("HTTP/1.1 200 O\rK"), BAD("HTTP/1.1 200 OK\rX-A: 1\r\n\r\n"),
	/* field lines */
	OKF(S200 "X-A: \t b c \t\r\nX-E:\r\nX-F: \r\nLocation: http://h:80/\r\n" CL0 "\r\n",
	    0, 200, 1, 0, 0, 1, 5,
	    "X-A:b c\nX-E:\nX-F:\nLocation:http://h:80/\nContent-Length:0\n"),
	OKF(S200 "X!#$%&'*+-.^_`|~09aZ: v\r\nX-T: a\tb\r\nX-U: caf\xc3\xa9\r\n" CL0 "\r\n",
	    0, 200, 1, 0, 0, 1, 4,
	    "X!#$%&'*+-.^_`|~09aZ:v\nX-T:a\tb\nX-U:caf\xc3\xa9\nContent-Length:0\n"),
	BF(": v"), BF("X-A : v"), BF("X-A\t: v"), BF("X(A): v"), BF("X/A: v"),
	BF("\xc3\xa9: v"), BF("NoColon"), BF("X-A: a\r\n b"), BF("X-A: a\r\n\tb"), BF(" X-A: a"),
	BF("X-A: a\x01" "b"), BF("X-A: a\x1b" "[0m"), BF("X-A: a\x7f"), BF("X-A: a\rb"),
	BF("X-A: 1\r"),
	/* Content-Length */
	G("content-length: 7\r\n", 7, 0, 1, 1),
	G("CONTENT-LENGTH:7\r\n", 7, 0, 1, 1),
	OKF(S200 "Content-Length: \t5\t \r\n\r\n", 0, 200, 1, 5, 0, 1, 1, "Content-Length:5\n"),
	G("Content-Length: 007\r\n", 7, 0, 1, 1),
	G("Content-Length: 999999999999999999\r\n", INT64_C(999999999999999999), 0, 1, 1),
	G("Content-Length: 5\r\nContent-Length: 5\r\n", 5, 0, 1, 2),
	BCL(""), BCL(" "), BCL("+5"), BCL("-1"), BCL("1 0"), BCL("0x5"), BCL("5a"), BCL("5,"),
	BCL("5, 5"), BCL("1000000000000000000"), BCL("5\r\nContent-Length: 6"),
	/* Transfer-Encoding */
	OKF(S200 "Transfer-Encoding: chunked\r\n\r\n", 0, 200, 1, -1, 1, 1, 1,
	    "Transfer-Encoding:chunked\n"),
	G("transfer-encoding: CHUNKED\r\n", -1, 1, 1, 1),
	G("Transfer-Encoding: Chunked\t \r\n", -1, 1, 1, 1),
	G("Transfer-Encoding: chunked\r\nConnection: close\r\n", -1, 1, 0, 2),
	BTE(""), BTE("gzip, chunked"), BTE("identity"), BTE("chunked, gzip"),
	BTE("chunked, chunked"), BTE("chunked;q=1"),
	/* Connection */
	CONN("close", 0), CONN("keep-alive, close", 0), CONN("CLOSE", 0),
	CONN("upgrade,close", 0), CONN("foo , \tClose\t", 0), CONN("Keep-Alive", 1),
	CONN("closed", 1), CONN("x-close, upgrade", 1),
	G("Connection: keep-alive\r\nConnection: close\r\n" CL0, 0, 0, 0, 3),
	OK("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 0, 204, 1, -1, 0, 0, 1),
};

/* A backend that wants the gateway to see a different message boundary than the client. */
static const struct hcase smuggle[] = {
	BCL("5\r\nContent-Length: 50"), BCL("5\r\nTransfer-Encoding: chunked"),
	BTE("chunked\r\nContent-Length: 5"), G("Transfer-Encoding: chunked \r\n", -1, 1, 1, 1),
	BTE("xchunked"), BTE("\x0b" "chunked"), BF("Content-Length : 5"),
	BF("Transfer-Encoding : chunked"), BCL("5\0"), BAD(S200 "X-A: a\0b\r\n" CL0 "\r\n"),
	BTE("chunked\r\n Content-Length: 5"), BTE("chunked\rContent-Length: 5"),
};

struct flog {
	char buf[1024];
	size_t len;
	int calls;
};

static void
on_field(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct flog *f = arg;
	int n;

	f->calls++;
	n = snprintf(f->buf + f->len, sizeof(f->buf) - f->len, "%.*s:%.*s\n", (int)nlen, name,
	    (int)vlen, value);
	if (n > 0 && (size_t)n < sizeof(f->buf) - f->len)
		f->len += (size_t)n;
}

static ssize_t
parse(const char *in, size_t len, struct h1_head *h, struct flog *f)
{
	char *copy = malloc(len != 0 ? len : 1);
	ssize_t r;

	if (copy == NULL)
		abort();
	memcpy(copy, in, len);
	memset(f, 0, sizeof(*f));
	r = h1_parse_head(copy, len, h, on_field, f);
	free(copy);
	return r;
}

static void
show(const char *s, size_t n)
{
	for (; n > 0; s++, n--) {
		if (*s >= 0x20 && *s < 0x7f)
			putchar(*s);
		else
			printf("\\x%02x", (unsigned char)*s);
	}
}

static int
head_ok(const struct hcase *c)
{
	struct h1_head h;
	struct flog f;
	size_t hl = c->len - c->body, k;
	ssize_t r;
	int ok;

	memset(&h, 0, sizeof(h));
	r = parse(c->in, c->len, &h, &f);
	if (c->ok <= 0)
		ok = r == c->ok && f.calls == 0;
	else
		ok = r == (ssize_t)hl && h.status == c->status && h.minor == c->minor &&
		    h.content_length == c->cl && h.chunked == c->chunked &&
		    (c->keep_alive < 0 || h.keep_alive == c->keep_alive) &&
		    h.nfields == c->nfields && f.calls == c->nfields &&
		    (c->fields == NULL || (f.len == strlen(c->fields) &&
		    memcmp(f.buf, c->fields, f.len) == 0)) &&
		    h1_parse_head(c->in, c->len, &h, NULL, NULL) == r;
	if (!ok) {
		printf("  head \"");
		show(c->in, c->len);
		printf("\": r=%zd status=%d minor=%d cl=%lld chunked=%d keep_alive=%d "
		    "nfields=%d calls=%d fields=\"", r, h.status, h.minor,
		    (long long)h.content_length, h.chunked, h.keep_alive, h.nfields, f.calls);
		show(f.buf, f.len);
		printf("\"\n");
	}
	/* Every strict prefix of a good head needs more, and reports no field. */
	for (k = 0; ok && c->ok > 0 && k < hl; k++) {
		if ((r = parse(c->in, k, &h, &f)) != 0 || f.calls != 0) {
			printf("  prefix %zu of \"", k);
			show(c->in, c->len);
			printf("\": r=%zd calls=%d\n", r, f.calls);
			ok = 0;
		}
	}
	return ok;
}

/* Appends pre, n bytes of ch, post. */
static void
put(char *buf, size_t *off, const char *pre, int ch, size_t n, const char *post)
{
	memcpy(buf + *off, pre, strlen(pre));
	*off += strlen(pre);
	memset(buf + *off, ch, n);
	*off += n;
	memcpy(buf + *off, post, strlen(post));
	*off += strlen(post);
}

/* A head of exactly headlen bytes, then one body byte; returns its number of fields. */
static int
big_head(char *buf, size_t headlen)
{
	size_t off = 0, line, left;
	int n = 1;

	put(buf, &off, S200 "Content-Length: 1\r\n", 0, 0, "");
	while ((left = headlen - off - 2) > 0) {
		line = left < 1000 ? left : 1000;
		if (left - line > 0 && left - line < 4)
			line -= 4;              /* the shortest field line is "X:\r\n" */
		put(buf, &off, "X:", 'a', line - 4, "\r\n");
		n++;
	}
	put(buf, &off, "\r\nz", 0, 0, "");
	return n;
}

static void
test_limits(char *buf)
{
	struct h1_head h;
	struct flog f;
	size_t len = 0;
	int i, n = big_head(buf, EG_MAX_BACKEND_HEAD);

	CHECK(parse(buf, EG_MAX_BACKEND_HEAD + 1, &h, &f) == EG_MAX_BACKEND_HEAD && h.nfields == n &&
	    f.calls == n && h.content_length == 1);
	CHECK(parse(buf, EG_MAX_BACKEND_HEAD - 1, &h, &f) == 0);
	CHECK(parse(buf, EG_MAX_BACKEND_HEAD - 2, &h, &f) == 0);
	big_head(buf, EG_MAX_BACKEND_HEAD + 1);
	CHECK(parse(buf, EG_MAX_BACKEND_HEAD + 2, &h, &f) == -1 && f.calls == 0);
	CHECK(parse(buf, EG_MAX_BACKEND_HEAD, &h, &f) == -1);

	put(buf, &len, S200 "X-A: ", 'a', EG_MAX_BACKEND_HEAD, "");       /* an endless field */
	CHECK(parse(buf, EG_MAX_BACKEND_HEAD - 100, &h, &f) == 0);
	CHECK(parse(buf, EG_MAX_BACKEND_HEAD, &h, &f) == -1);
	CHECK(parse(buf, EG_MAX_BACKEND_HEAD + 10, &h, &f) == -1);

	for (n = EG_MAX_BACKEND_FIELDS; n <= EG_MAX_BACKEND_FIELDS + 1; n++) {
		len = 0;
		put(buf, &len, S200, 0, 0, "");
		for (i = 1; i < n; i++)
			put(buf, &len, "X-F: v\r\n", 0, 0, "");
		put(buf, &len, CL0 "\r\n", 0, 0, "");
		if (n == EG_MAX_BACKEND_FIELDS)
			CHECK(parse(buf, len, &h, &f) == (ssize_t)len && h.nfields == n &&
			    f.calls == n);
		else
			CHECK(parse(buf, len, &h, &f) == -1 && f.calls == 0);
	}
}

/* h1_has_body(): status, content_length, chunked, is_head_request, expected */
static const int bodies[][5] = {
	{ 200, 10, 0, 1, 0 }, { 200, -1, 1, 1, 0 }, { 204, -1, 0, 1, 0 }, { 204, -1, 0, 0, 0 },
	{ 304, -1, 0, 0, 0 }, { 304, 10, 0, 0, 0 }, { 100, -1, 0, 0, 0 }, { 101, -1, 0, 0, 0 },
	{ 199, -1, 0, 0, 0 }, { 200, 10, 0, 0, 1 }, { 200, -1, 1, 0, 1 }, { 404, 10, 0, 0, 1 },
};

static void
test_has_body(void)
{
	size_t i;

	for (i = 0; i < NELEM(bodies); i++)
		CHECK(h1_has_body(&(struct h1_head){ .status = bodies[i][0], .minor = 1,
		    .content_length = bodies[i][1], .chunked = bodies[i][2], .keep_alive = 1 },
		    bodies[i][3]) == bodies[i][4]);
}

#define BROKEN 9        /* the decoder broke its own contract */

struct sink {
	char *buf;
	size_t size, len;
};

/*
 * Decodes in[0..len) handed over in slices of slice bytes (0: all at once), each slice
 * copied to a buffer of its own size; a slice is offered until the decoder says MORE.
 */
static int
chunk_ok(const char *in, size_t len, size_t slice, int want, const char *data,
    size_t dlen, size_t rest, struct sink *s)
{
	struct h1_chunked c;
	size_t pos = 0, n, off, used, got;
	const char *d;
	char *p;
	int r = H1_CHUNK_MORE, ok;

	memset(&c, 0, sizeof(c));
	s->len = 0;
	while (pos < len && r == H1_CHUNK_MORE) {
		n = (slice == 0 || len - pos < slice) ? len - pos : slice;
		if ((p = malloc(n)) == NULL)
			abort();
		memcpy(p, in + pos, n);
		for (off = 0; off < n && r != H1_CHUNK_ERROR && r != BROKEN; off += used) {
			used = n + 1;
			d = NULL;
			got = 0;
			r = h1_chunk_step(&c, p + off, n - off, &used, &d, &got);
			if (r == H1_CHUNK_ERROR)
				break;
			if (used > n - off || (r == H1_CHUNK_MORE && used != n - off))
				r = BROKEN;
			else if (r == H1_CHUNK_END)
				n = off + used;
			else if (r == H1_CHUNK_DATA && used > 0 && got <= used && d != NULL &&
			    d >= p + off && d + got <= p + off + used && s->len + got <= s->size) {
				memcpy(s->buf + s->len, d, got);
				s->len += got;
				r = H1_CHUNK_MORE;      /* and go on with this slice */
			} else if (r != H1_CHUNK_MORE)
				r = BROKEN;
		}
		free(p);
		pos += n;
	}
	ok = r == want;
	if (ok && want != H1_CHUNK_ERROR)
		ok = s->len == dlen && memcmp(s->buf, data, dlen) == 0 && pos == len - rest;
	if (!ok) {
		printf("  chunked \"");
		show(in, len < 80 ? len : 80);
		printf("%s\" in slices of %zu: r=%d want %d, %zu data bytes, used %zu of %zu\n",
		    len < 80 ? "" : "...", slice, r, want, s->len, pos, len);
	}
	return ok;
}
struct ccase {
	const char *in;
	size_t len;
	int want;
	const char *data;       /* the body, for END and MORE */
	size_t rest;            /* bytes not consumed after END */
};

#define C_END(s, d, rest) { LIT(s), H1_CHUNK_END, d, rest }
#define C_MORE(s, d) { LIT(s), H1_CHUNK_MORE, d, 0 }
#define C_ERR(s) { LIT(s), H1_CHUNK_ERROR, "", 0 }

static const struct ccase chunks[] = {
	C_END("5\r\nhello\r\n0\r\n\r\n", "hello", 0), C_END("0\r\n\r\n", "", 0),
	C_END("3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n", "abcdefg", 0),
	C_END("5;name=val\r\nhello\r\n0;last\r\n\r\n", "hello", 0),
	C_END("A\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0),
	C_END("a\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0),
	C_END("0000000000000005\r\nhello\r\n0\r\n\r\n", "hello", 0),
	C_END("5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", "hello", 0),
	C_END("0\r\nA: 1\r\nB: 2\r\n\r\n", "", 0), C_END("5\nhello\n0\n\n", "hello", 0),
	C_END("5;x=y\r\nhello\n0\r\nX-T: 1\n\n", "hello", 0),
	C_END("0\r\n\r\nHTTP/1.1", "", 8),
	C_END("2\r\nhi\r\n0\r\nX: y\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", "hi", 19),
	C_MORE("5\r\nhel", "hel"), C_MORE("5\r\nhello\r\n", "hello"), C_MORE("0\r\n", ""),
	C_ERR("g\r\n"), C_ERR("\r\n"), C_ERR("00000000000000005\r\nhello\r\n0\r\n\r\n"),
	C_ERR("10000000000000000\r\n"), C_ERR("5\r\nhelloX"), C_ERR("5\r\nhello0\r\n\r\n"),
	C_ERR("5\r\nhello\rX"), C_ERR("-5\r\n"), C_ERR("+5\r\n"), C_ERR("0x5\r\n"),
	/* whitespace after the size only before an extension (RFC 9112 7.1.1) */
	C_END("5 ;x\r\nhello\r\n0\r\n\r\n", "hello", 0), C_ERR("5 6\r\nhello\r\n0\r\n\r\n"),
};

static void
test_chunks_big(char *in, char *want, struct sink *s)
{
	static const size_t slices[] = { 0, 1, 7 };
	size_t len = 0, i, k;

	put(in, &len, "2710\r\n", 'x', 10000, "\r\n0\r\n\r\n");     /* 10000 bytes */
	memset(want, 'x', 10000);
	for (i = 0; i < NELEM(slices); i++)
		CHECK(chunk_ok(in, len, slices[i], H1_CHUNK_END, want, 10000, 0, s));

	/* a chunk extension of 1000 bytes is fine, one of 5000 is not */
	for (k = 1000; k <= 5000; k += 4000) {
		len = 0;
		put(in, &len, "5;", 'e', k, "\r\nhello\r\n0\r\n\r\n");
		for (i = 0; i < NELEM(slices); i++)
			CHECK(chunk_ok(in, len, slices[i], k == 1000 ? H1_CHUNK_END :
			    H1_CHUNK_ERROR, "hello", 5, 0, s));
	}

	/* a trailer section of 8 fields is fine, one of 100 (80 KiB) is not */
	for (k = 8; k <= 100; k += 92) {
		len = 0;
		put(in, &len, "0\r\n", 0, 0, "");
		for (i = 0; i < k; i++)
			put(in, &len, "X-T: ", 't', 795, "\r\n");
		put(in, &len, "\r\n", 0, 0, "");
		for (i = 0; i < NELEM(slices); i++)
			CHECK(chunk_ok(in, len, slices[i], k == 8 ? H1_CHUNK_END :
			    H1_CHUNK_ERROR, "", 0, 0, s));
	}
}

int
main(void)
{
	static const size_t slices[] = { 0, 1, 2, 7 };
	const struct ccase *c;
	struct sink s;
	char *buf, *want;
	size_t i, j;

	buf = malloc(2 * EG_MAX_BACKEND_HEAD);
	want = malloc(16 * 1024);
	s.size = 128 * 1024;
	s.buf = malloc(s.size);
	if (buf == NULL || want == NULL || s.buf == NULL)
		return 1;
	printf("%zu head cases, %zu smuggling cases, %zu chunked cases\n", NELEM(heads),
	    NELEM(smuggle), NELEM(chunks));
	for (i = 0; i < NELEM(heads); i++)
		CHECK(head_ok(&heads[i]));
	for (i = 0; i < NELEM(smuggle); i++)
		CHECK(head_ok(&smuggle[i]));
	test_limits(buf);
	test_has_body();
	for (c = chunks; c < chunks + NELEM(chunks); c++)
		for (j = 0; j < NELEM(slices); j++)
			CHECK(chunk_ok(c->in, c->len, slices[j], c->want, c->data,
			    strlen(c->data), c->rest, &s));
	test_chunks_big(buf, want, &s);
	free(buf);
	free(want);
	free(s.buf);
	return check_report();
}
