/*
 * log.h - the operational log on stderr (the journal under systemd).
 *
 * This is not the access log: log_* never records a decision (see audit.h). Lines carry a
 * level and, for requests, the request id and stage the caller puts in the message.
 * National numbers are masked before they reach this log (log_mask_nrn).
 *
 * log_warn/log_fatal append strerror(errno); log_warnx/log_fatalx do not (relayd style).
 * Thread safety: every function may be called from any thread; a line is written with
 * a single write(2) so lines from different threads do not interleave.
 */
#ifndef EIDGATE_LOG_H
#define EIDGATE_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Lines below `min` are dropped. Call once at startup, before threads start. */
void log_init(const char *progname, enum log_level min);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "eidgate: <msg>" on stderr and exit(1). For startup only, never on a request. */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Writes "85*******60" style masking of an 11-digit national number into out (>= 12
 * bytes). Anything that is not 11 digits becomes "?". */
void log_mask_nrn(const char *nrn, char *out, size_t outlen);

#endif
