/* log.c - operational log on stderr; see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"

/* Set once in log_init() and log_configure(), before any thread starts; read-only
 * afterwards. */
static const char *log_prog = "eidgate";
static enum log_level log_min = LOG_LVL_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;

void
log_init(const char *progname, enum log_level min)
{
	if (progname != NULL)
		log_prog = progname;
	log_min = min;
}

void
log_configure(enum log_format fmt, enum log_level min)
{
	log_fmt = fmt;
	log_min = min;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of a national number written at s: 11 digits, or the printed form
 * YY.MM.DD-SSS.CC (15 bytes); 0 when s holds neither. */
static size_t
nrn_at(const char *s)
{
	static const char printed[] = "dd.dd.dd-ddd.dd";
	size_t i;

	for (i = 0; i < 11 && is_digit(s[i]); i++)
		;
	if (i == 11)
		return 11;
	for (i = 0; printed[i] != '\0'; i++)
		if (printed[i] == 'd' ? !is_digit(s[i]) : s[i] != printed[i])
			return 0;
	return sizeof(printed) - 1;
}

/*
 * The last line of defence of the rule that the operational log never carries a national
 * number in full (it is in full only in the access log): callers mask what they know is
 * one (log_mask_nrn), and every line is scanned here for what slipped through, a name in
 * a certificate or an LDAP error that quotes a DN. Any 11-digit number standing alone
 * (not part of a longer word or number) is masked, checksum or not: a mistyped national
 * number is still personal data, and an 11-digit counter losing 7 digits in the log
 * costs nothing.
 */
void
log_mask_text(char *s)
{
	size_t i = 0, n;

	while (s[i] != '\0') {
		if ((i == 0 || !is_alnum(s[i - 1])) && (n = nrn_at(s + i)) != 0 &&
		    !is_alnum(s[i + n])) {
			size_t k;

			for (k = 2; k < n - 2; k++)
				if (is_digit(s[i + k]))
					s[i + k] = '*';
			i += n;
			continue;
		}
		i++;
	}
}

/* One line of JSON for a SIEM: time (UTC, ms), level, program and message. */
static size_t
json_line(const char *level, const char *msg, char *out, size_t outlen)
{
	char when[32];
	struct timespec ts;
	struct tm tm;
	json_t *o;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		when[0] = '\0';
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ",
	    ts.tv_nsec / 1000000);
	o = json_pack("{s:s,s:s,s:s,s:s}", "time", when, "level", level, "prog", log_prog,
	    "msg", msg);
	if (o == NULL)
		return 0;
	n = json_dumpb(o, out, outlen - 1, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (n == 0 || n >= outlen - 1)
		return 0;
	out[n++] = '\n';
	return n;
}

/* A line break in a message (a name from a certificate, an LDAP error) would let it
 * forge a line of its own. */
static void
flatten(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\n' || s[i] == '\r')
			s[i] = ' ';
}

static void
log_emit(enum log_level lvl, int with_errno, int err, const char *fmt, va_list ap)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char msg[2048], line[4096];
	size_t n;
	int r;

	if (lvl < log_min)
		return;
	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (r < 0)
		return;
	n = (size_t)r < sizeof(msg) ? (size_t)r : sizeof(msg) - 1;
	if (with_errno)
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
	log_mask_text(msg);
	if (log_fmt == LOG_FORMAT_JSON) {
		n = json_line(names[lvl], msg, line, sizeof(line));
	} else {
		r = snprintf(line, sizeof(line), "%s: %s: %s", log_prog, names[lvl], msg);
		n = r < 0 ? 0 : (size_t)r < sizeof(line) - 1 ? (size_t)r : sizeof(line) - 2;
		flatten(line, n);
		if (n > 0)
			line[n++] = '\n';
	}
	/* One write per line so concurrent threads never interleave within a line. */
	if (n > 0 && write(STDERR_FILENO, line, n) < 0)
		return;
}

#define LOG_FN(fn, lvl, witherr)                                  \
	void fn(const char *fmt, ...)                             \
	{                                                         \
		int saved = errno;                                \
		va_list ap;                                       \
		va_start(ap, fmt);                                \
		log_emit(lvl, witherr, saved, fmt, ap);           \
		va_end(ap);                                       \
	}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)

static void
log_fatal_emit(int with_errno, int err, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno)
		fprintf(stderr, "eidgate: %s: %s\n", msg, strerror(err));
	else
		fprintf(stderr, "eidgate: %s\n", msg);
}

void
log_fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_fatal_emit(1, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fatal_emit(0, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_mask_nrn(const char *nrn, char *out, size_t outlen)
{
	if (outlen < 12) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	if (nrn == NULL || !eg_all_digits(nrn, EG_NRN_LEN)) {
		out[0] = '?';
		out[1] = '\0';
		return;
	}
	/* Keep the first two and last two digits: enough to tell people apart in an
	 * operator's log, not enough to recover a birth date and serial. */
	memcpy(out, nrn, 11);
	memset(out + 2, '*', 7);
	out[11] = '\0';
}
