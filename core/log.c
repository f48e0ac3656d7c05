/* log.c - operational log on stderr; see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eidgate/limits.h"
#include "eidgate/log.h"
#include "eidgate/util.h"

/* Set once in log_init() before any thread starts, read-only afterwards. */
static const char *log_prog = "eidgate";
static enum log_level log_min = LOG_LVL_INFO;

void
log_init(const char *progname, enum log_level min)
{
	if (progname != NULL)
		log_prog = progname;
	log_min = min;
}

static void
log_emit(enum log_level lvl, int with_errno, int err, const char *fmt, va_list ap)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char line[2048];
	size_t n;
	int r;

	if (lvl < log_min)
		return;
	r = snprintf(line, sizeof(line), "%s: %s: ", log_prog, names[lvl]);
	if (r < 0)
		return;
	n = (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r < 0)
		return;
	n += (size_t)r;
	if (n >= sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (with_errno) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(err));
		if (r > 0)
			n += (size_t)r;
		if (n >= sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	/* One write per line so concurrent threads never interleave within a line. */
	if (write(STDERR_FILENO, line, n) < 0)
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
