/*
 * h1.h - reading a backend's HTTP/1.1 response: the head (status line and header
 * fields) and the chunked transfer coding. proxy/ only; no I/O, no allocation.
 *
 * The backend is trusted less than it seems: a compromised or confused one must not be
 * able to smuggle a second response into the client's connection or make the gateway
 * misjudge where a body ends. So the parser is strict where framing is concerned
 * (RFC 9112 §6.3): a Content-Length must be digits only and agree with any repeat, a
 * Transfer-Encoding other than exactly "chunked" is refused, both together are refused,
 * and a field line with a control character, a space before the colon or an obs-fold
 * is refused. Everything else about the fields is passed on as it came.
 */
#ifndef EIDGATE_PROXY_H1_H
#define EIDGATE_PROXY_H1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest response head accepted (status line and all fields), and most fields. */
#define H1_MAX_HEAD (64 * 1024)
#define H1_MAX_FIELDS 200

struct h1_head {
	int status;                 /* 100..999 */
	int minor;                  /* HTTP/1.x: 0 or 1 */
	int64_t content_length;     /* -1 when absent */
	int chunked;                /* Transfer-Encoding: chunked */
	int keep_alive;             /* HTTP/1.1 without "Connection: close"; a body that
	                             * ends with the connection (neither length nor
	                             * chunked) rules reuse out as well: the caller's part */
	int nfields;
};

/* Called once per field of a complete head; name and value are not NUL-terminated, the
 * value has no leading or trailing whitespace. */
typedef void (*h1_field_cb)(void *arg, const char *name, size_t nlen, const char *value,
    size_t vlen);

/*
 * Parses the response head at the start of buf[0..len). Returns the length of the head
 * (up to and including the empty line) once it is complete, 0 when more bytes are needed
 * (and len is still under H1_MAX_HEAD), or -1 when it is malformed or too large; *h is
 * filled only on success, and on_field (may be NULL) is called only then. An interim
 * (1xx) head parses like any other: the caller skips it.
 */
ssize_t h1_parse_head(const char *buf, size_t len, struct h1_head *h, h1_field_cb on_field,
    void *arg);

/* Does a response to this request method with this head carry a body at all? */
int h1_has_body(const struct h1_head *h, int is_head_request);

/* The chunked transfer coding, decoded as bytes arrive. Start from all zero. */
struct h1_chunked {
	int state;
	uint64_t left;              /* data bytes left in the current chunk */
	unsigned digits, ext, trailer;
};

enum h1_chunk_result {
	H1_CHUNK_MORE = 0,          /* all input used, the body goes on */
	H1_CHUNK_DATA = 1,          /* *data, *dlen is body data */
	H1_CHUNK_END = 2,           /* the last chunk and the trailer section are complete */
	H1_CHUNK_ERROR = -1,        /* malformed framing: the body cannot be trusted */
};

/*
 * Consumes framing from in[0..len), stopping after at most one piece of body data:
 * *used is how many input bytes were consumed (the data returned is among them).
 * Call again with the rest until it returns MORE (needs input) or END. Trailer fields
 * are read and dropped. Chunk sizes are bounded (at most 16 hex digits, no overflow);
 * extensions and trailers are bounded in length.
 */
enum h1_chunk_result h1_chunk_step(struct h1_chunked *c, const char *in, size_t len,
    size_t *used, const char **data, size_t *dlen);

#endif
