/*
 * fuzz_h1.c - the backend response reader (forward/h1.c): h1_parse_head() and the
 * chunked decoder h1_chunk_step(), fed whole and piece by piece.
 *
 * Input: one flags byte, then a backend's bytes. Flags bit 0: the bytes are a chunked
 * body alone (no head); otherwise the head is parsed and, when it says chunked, what
 * follows it is decoded as the body.
 * Invariants: the fields handed out are well-formed (token name, value without CR, LF
 * or surrounding blanks); the head's end is found only once the head is complete (every
 * shorter prefix needs more); a Content-Length and chunked never come together; the
 * chunked decoder gives the same body, the same end and the same verdict fed at once,
 * byte by byte and in uneven slices.
 */
#include "fuzz.h"
#include "forward/internal.h"

/* Nothing to set up but silence: the parsers log what they refuse. */
FUZZ_QUIET_INIT

static int
is_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

static void
on_field(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
	size_t i;

	++*(int *)arg;
	FUZZ_ASSERT(nlen > 0);
	for (i = 0; i < nlen; i++)
		FUZZ_ASSERT(is_tchar((unsigned char)name[i]));
	for (i = 0; i < vlen; i++)
		FUZZ_ASSERT(value[i] != '\r' && value[i] != '\n' && value[i] != '\0');
	FUZZ_ASSERT(vlen == 0 || (value[0] != ' ' && value[0] != '\t' &&
	    value[vlen - 1] != ' ' && value[vlen - 1] != '\t'));
}

/* What decoding a chunked body gave. */
struct body {
	enum h1_chunk_result res;       /* END or ERROR, or MORE when the input ran out */
	size_t end;                     /* input bytes consumed up to END or ERROR */
	unsigned char *data;            /* the decoded body */
	size_t dlen;
};

/* Decodes in[0..len) handing the decoder slices of at most `slice` bytes, each in a
 * buffer of exactly its size. */
static void
decode(const unsigned char *in, size_t len, size_t slice, struct body *b)
{
	struct h1_chunked c;
	size_t off = 0;

	memset(&c, 0, sizeof(c));
	memset(b, 0, sizeof(*b));
	b->data = fuzz_dup("", 0);
	b->res = H1_CHUNK_MORE;
	while (off < len) {
		size_t n = len - off < slice ? len - off : slice, pos = 0;
		unsigned char *piece = fuzz_dup(in + off, n);
		enum h1_chunk_result r = H1_CHUNK_MORE;

		while (pos < n) {
			size_t used = 0, dlen = 0;
			const char *d = NULL;

			r = h1_chunk_step(&c, (const char *)piece + pos, n - pos, &used, &d, &dlen);
			FUZZ_ASSERT(used <= n - pos);
			if (r == H1_CHUNK_DATA) {
				FUZZ_ASSERT(dlen > 0 && d >= (const char *)piece + pos &&
				    d + dlen <= (const char *)piece + pos + used);
				b->data = realloc(b->data, b->dlen + dlen);
				FUZZ_ASSERT(b->data != NULL);
				memcpy(b->data + b->dlen, d, dlen);
				b->dlen += dlen;
			} else {
				FUZZ_ASSERT(dlen == 0);
			}
			pos += used;
			if (r == H1_CHUNK_END || r == H1_CHUNK_ERROR)
				break;
			FUZZ_ASSERT(r == H1_CHUNK_DATA || pos == n);
		}
		free(piece);
		off += pos;
		if (r == H1_CHUNK_END || r == H1_CHUNK_ERROR) {
			b->res = r;
			break;
		}
	}
	b->end = off;
}

static void
check_chunked(const unsigned char *in, size_t len, size_t slice)
{
	struct body whole, bytes, slices;

	decode(in, len, len > 0 ? len : 1, &whole);
	decode(in, len, 1, &bytes);
	decode(in, len, slice, &slices);
	FUZZ_ASSERT(whole.res == bytes.res && whole.res == slices.res);
	FUZZ_ASSERT(whole.end == bytes.end && whole.end == slices.end);
	FUZZ_ASSERT(whole.dlen == bytes.dlen && whole.dlen == slices.dlen);
	FUZZ_ASSERT(memcmp(whole.data, bytes.data, whole.dlen) == 0 &&
	    memcmp(whole.data, slices.data, whole.dlen) == 0);
	FUZZ_ASSERT(whole.dlen <= len);
	free(whole.data);
	free(bytes.data);
	free(slices.data);
}

/* Every prefix shorter than the head needs more bytes. Checked at a handful of cuts,
 * each in a buffer of exactly its length. */
static void
check_prefixes(const char *buf, size_t hlen)
{
	size_t cuts[8], i, k;
	struct h1_head h;

	cuts[0] = hlen - 1;
	cuts[1] = hlen > 2 ? hlen - 2 : 0;
	cuts[2] = hlen / 2;
	cuts[3] = 0;
	for (i = 4; i < 8; i++)
		cuts[i] = ((size_t)(unsigned char)buf[i % hlen] * 131 + i * 977) % hlen;
	for (i = 0; i < 8; i++) {
		char *p = (char *)fuzz_dup(buf, cuts[i]);
		k = (size_t)h1_parse_head(p, cuts[i], &h, NULL, NULL);
		FUZZ_ASSERT(k == 0);
		free(p);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct h1_head h;
	const char *buf;
	ssize_t hlen;
	size_t len;
	int nf = 0;

	if (size < 1)
		return 0;
	buf = (const char *)data + 1;
	len = size - 1;
	if (data[0] & 1) {
		check_chunked(data + 1, len, 1 + (data[0] >> 1) % 13);
		return 0;
	}
	memset(&h, 0, sizeof(h));
	hlen = h1_parse_head(buf, len, &h, on_field, &nf);
	FUZZ_ASSERT(hlen >= -1 && hlen <= (ssize_t)len && hlen <= EG_MAX_BACKEND_HEAD);
	if (hlen <= 0)
		return 0;
	FUZZ_ASSERT(nf == h.nfields && h.nfields <= EG_MAX_BACKEND_FIELDS);
	FUZZ_ASSERT(h.status >= 100 && h.status <= 999 && (h.minor == 0 || h.minor == 1));
	FUZZ_ASSERT(!(h.chunked && h.content_length >= 0));
	FUZZ_ASSERT(h.content_length >= -1);
	FUZZ_ASSERT(!h.keep_alive || h.minor == 1);
	(void)h1_has_body(&h, 0);
	check_prefixes(buf, (size_t)hlen);
	if (h.chunked)
		check_chunked(data + 1 + hlen, len - (size_t)hlen, 1 + (data[0] >> 1) % 13);
	return 0;
}
