/* util.c - small bounded helpers; see util.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eidgate/err.h"
#include "eidgate/util.h"

size_t
eg_strlcpy(char *dst, const char *src, size_t dstsize)
{
	size_t len = strlen(src);

	if (dstsize > 0) {
		size_t n = len < dstsize - 1 ? len : dstsize - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

int
eg_strtonum(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return EG_ERR_PARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return EG_ERR_PARSE;
	*out = v;
	return EG_OK;
}

/* A unit and what one of it counts (milliseconds, bytes). */
struct unit {
	const char *name;
	unsigned long long mul;
};

/*
 * "123unit" as a number of base units: at least one digit, then one of the n units, no
 * overflow of max. The two parsers below differ only in their units.
 */
static int
parse_scaled(const char *s, const struct unit *units, size_t n, unsigned long long max,
    unsigned long long *out)
{
	const char *p = s;
	unsigned long long v = 0;
	size_t i;

	if (s == NULL || !isdigit((unsigned char)*p))
		return EG_ERR_PARSE;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (~0ULL - d) / 10)
			return EG_ERR_PARSE;
		v = v * 10 + d;
	}
	for (i = 0; i < n; i++)
		if (strcmp(p, units[i].name) == 0 && v <= max / units[i].mul) {
			*out = v * units[i].mul;
			return EG_OK;
		}
	return EG_ERR_PARSE;
}

int
eg_parse_duration_ms(const char *s, int64_t *out_ms)
{
	static const struct unit units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	unsigned long long v;

	if (parse_scaled(s, units, sizeof(units) / sizeof(units[0]), INT64_MAX, &v) != EG_OK)
		return EG_ERR_PARSE;
	*out_ms = (int64_t)v;
	return EG_OK;
}

int
eg_parse_size(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "B", 1 }, { "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 },
		{ "GiB", 1ULL << 30 }, { "TiB", 1ULL << 40 },
	};
	unsigned long long v;

	if (parse_scaled(s, units, sizeof(units) / sizeof(units[0]), UINT64_MAX, &v) != EG_OK)
		return EG_ERR_PARSE;
	*out = v;
	return EG_OK;
}

void
eg_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int
eg_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
eg_all_hex(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789abcdefABCDEF") == strlen(s);
}

int
eg_list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p;

	if (n == 0)
		return 0;
	for (p = list; *p != '\0'; p += strcspn(p, ","), p += *p == ',') {
		if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

int
eg_unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * n)
		return EG_ERR_PARSE;
	for (i = 0; i < n; i++) {
		if ((hi = eg_hexval((unsigned char)s[2 * i])) < 0 ||
		    (lo = eg_hexval((unsigned char)s[2 * i + 1])) < 0)
			return EG_ERR_PARSE;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return EG_OK;
}

size_t
eg_b64url(const unsigned char *in, size_t len, char *out)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = tbl[(v >> 6) & 63];
		out[o++] = tbl[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = tbl[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
eg_b64url_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax,
    size_t *outlen)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i, o = 0;

	if (inlen % 4 == 1)
		return EG_ERR_PARSE;
	for (i = 0; i < inlen; i++) {
		int v = b64url_value(in[i]);
		if (v < 0)
			return EG_ERR_PARSE;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outmax)
				return EG_ERR_TOO_LONG;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, or two encodings would decode to the same bytes. */
	if (acc != 0)
		return EG_ERR_PARSE;
	*outlen = o;
	return EG_OK;
}

void
eg_freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

int
eg_read_file(const char *path, size_t max, char **out, size_t *outlen)
{
	FILE *f;
	char *buf;
	size_t n;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL)
		return EG_ERR_IO;
	buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		return EG_ERR_NOMEM;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		fclose(f);
		free(buf);
		return n > max ? EG_ERR_TOO_LONG : EG_ERR_IO;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	if (outlen != NULL)
		*outlen = n;
	return EG_OK;
}

int64_t
eg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
eg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
eg_format_time(int64_t us, char *out, size_t outlen)
{
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL) {
		eg_strlcpy(out, "?", outlen);
		return;
	}
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (long long)(us % 1000000));
}

int
eg_parse_time(const char *s, int64_t *out_us)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	size_t len = strlen(s);

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return EG_ERR_PARSE;
	if (len > 10) {
		int m = 0;
		if (s[10] != 'T' && s[10] != ' ')
			return EG_ERR_PARSE;
		if (sscanf(s + 11, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5)
			return EG_ERR_PARSE;
		m += 11;
		if (s[m] == ':') {
			int k = 0;
			if (sscanf(s + m + 1, "%2d%n", &sec, &k) != 1 || k != 2)
				return EG_ERR_PARSE;
			m += 3;
		}
		if (s[m] == 'Z')
			m++;
		if ((size_t)m != len)
			return EG_ERR_PARSE;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return EG_ERR_PARSE;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out_us = (int64_t)timegm(&tm) * 1000000;
	return EG_OK;
}

int
eg_all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;       /* also stops at the NUL of a shorter s */
	return s[n] == '\0';
}

void
eg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
eg_net_parse(const char *s, struct eg_net *n)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	long long bits;

	if (hl == 0 || hl >= sizeof(host))
		return 0;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, host, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, host, n->addr) == 1)
		n->family = AF_INET6;
	else
		return 0;
	n->bits = n->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (eg_strtonum(slash + 1, 0, n->bits, &bits) != EG_OK)
			return 0;
		n->bits = (int)bits;
	}
	return 1;
}

int
eg_net_has(const struct eg_net *n, int family, const unsigned char *addr)
{
	int full = n->bits / 8, rest = n->bits % 8;

	if (n->family != family || memcmp(n->addr, addr, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((n->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

/* 01:00 UTC on the last Sunday of month (0-based) of year: when EU summer time starts
 * (March) and ends (October), the rule in force since 1996. */
static time_t
last_sunday_1am(int year, int month)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = month, .tm_mday = 31, .tm_hour = 1 };
	time_t t = timegm(&tm);
	struct tm back;

	gmtime_r(&t, &back);
	return t - (time_t)back.tm_wday * 86400;
}

int64_t
eg_brussels_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	return tt >= last_sunday_1am(tm.tm_year + 1900, 2) &&
	    tt < last_sunday_1am(tm.tm_year + 1900, 9) ? 7200 : 3600;
}
