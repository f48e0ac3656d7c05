/*
 * util.h - small helpers glibc lacks: bounded copies, bounded number parsing, durations,
 * sizes, hex, and secret wiping. All functions are pure and thread-safe.
 */
#ifndef EIDGATE_UTIL_H
#define EIDGATE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Copies src into dst (size dstsize), always NUL-terminates when dstsize > 0. Returns
 * strlen(src): a result >= dstsize means the copy was cut. */
size_t eg_strlcpy(char *dst, const char *src, size_t dstsize);

/* Parses a decimal integer in [min, max]. Returns EG_OK or EG_ERR_PARSE; the whole string
 * must be the number (OpenBSD strtonum semantics without the errstr). */
int eg_strtonum(const char *s, long long min, long long max, long long *out);

/* "250ms", "2s", "10m", "8h" -> milliseconds. A bare number is refused: units are
 * mandatory so that a config never means seconds where the writer thought minutes. */
int eg_parse_duration_ms(const char *s, int64_t *out_ms);

/* "4GiB", "512MiB", "64KiB", "100" (bytes) -> bytes. */
int eg_parse_size(const char *s, uint64_t *out);

/* Lower-case hex of len bytes into out (>= 2*len+1 bytes). */
void eg_hex(const unsigned char *in, size_t len, char *out);
/* FNV-1a (64 bit) of len bytes, going on from h (EG_FNV1A_INIT to start): the hash of
 * eidgate's in-memory tables, which spreads keys and need not resist anyone. */
#define EG_FNV1A_INIT 1469598103934665603ULL
/* (Inline: the policy trie hashes every path segment of every decision with it.) */
static inline uint64_t
eg_fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}
/* The value of one hex digit (either case), -1 for anything else. */
int eg_hexval(int c);
/* 1 when s is one or more hex digits (either case), nothing else. */
int eg_all_hex(const char *s);
/* 1 when item is one of the comma-separated entries of list (exact, case-sensitive). */
int eg_list_has(const char *list, const char *item);
/* Exactly 2n hex digits (either case) into n bytes. EG_OK or EG_ERR_PARSE. */
int eg_unhex(const char *s, unsigned char *out, size_t n);

/* base64url without padding (RFC 7515 §2). out must hold 4*ceil(len/3)+1 bytes. Returns
 * the length written, excluding the NUL. */
size_t eg_b64url(const unsigned char *in, size_t len, char *out);

/* Decodes base64url (no padding). Returns EG_OK or EG_ERR_PARSE; *outlen set on success. */
int eg_b64url_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax,
    size_t *outlen);

/* Wipes and frees a secret buffer of len bytes (NULL is allowed). */
void eg_freezero(void *p, size_t len);

/* Reads a whole file (at most max bytes) into a NUL-terminated malloc'd buffer. */
int eg_read_file(const char *path, size_t max, char **out, size_t *outlen);

/* Microseconds since the epoch (CLOCK_REALTIME) and a monotonic clock in ms. */
int64_t eg_now_us(void);
int64_t eg_mono_ms(void);

/* Formats a time in µs since the epoch as ISO 8601 UTC with microseconds
 * ("2026-11-22T20:01:53.123456Z") into out (>= 32 bytes). */
void eg_format_time(int64_t us, char *out, size_t outlen);
/* Seconds Europe/Brussels is ahead of UTC at t (seconds since the epoch): 7200 in summer
 * time, else 3600. Users read days and ends as they live them in Belgium; the EU rule is
 * computed, so no time zone data (and no process-wide TZ) is needed. */
int64_t eg_brussels_offset(int64_t t);

/* Parses ISO 8601 "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS][Z]" (UTC) into µs since epoch. */
int eg_parse_time(const char *s, int64_t *out_us);

/* 1 when s is exactly n ASCII digits (national numbers, enterprise numbers), else 0.
 * Reads at most n + 1 bytes of s. */
int eg_all_digits(const char *s, size_t n);

/* An IP network as [listen] proxy_from names one: "a.b.c.d", "a.b.c.d/n", "x::y" or
 * "x::y/n" (a bare address is the network of that one address). eg_net_parse: 1 when s
 * is one (n filled), else 0. eg_net_has: 1 when addr (4 or 16 bytes, of family
 * AF_INET or AF_INET6) lies in n. */
struct eg_net {
	int family;
	unsigned char addr[16];
	int bits;
};
int eg_net_parse(const char *s, struct eg_net *n);
int eg_net_has(const struct eg_net *n, int family, const unsigned char *addr);

/* Formats a message into a caller's error buffer err (errlen bytes, always
 * NUL-terminated), for functions that report why they failed (audit/, keyfile.c). Does
 * nothing when err is NULL or errlen is 0. */
void eg_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
